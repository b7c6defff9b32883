// The content-addressed store of plugin versions: <state>/versions/<instance>/<sha256>.so.
// A stored file is immutable; two versions never share a path (dlopen dedupes by path).
#pragma once

#include <filesystem>
#include <string>

#include "util/status.hpp"

namespace moss {

struct StoredFile {
  std::string sha256;
  std::filesystem::path path;
};

class VersionStore {
 public:
  explicit VersionStore(std::filesystem::path root) : root_(std::move(root)) {}

  // Copies `source` into the store under the hash of the bytes actually copied, written to
  // a temporary name and renamed. Storing the same content twice is a no-op.
  Result<StoredFile> store(const std::string& instance, const std::filesystem::path& source) const;

  std::filesystem::path path_for(const std::string& instance, const std::string& sha256) const {
    return root_ / instance / (sha256 + ".so");
  }

 private:
  std::filesystem::path root_;
};

}  // namespace moss
