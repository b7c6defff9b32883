// Versions are hashed from the bytes read, not from a separate read of the source, so a
// file rewritten while it is being stored can never be filed under the wrong hash.
#include "runtime/version_store.hpp"

#include "util/files.hpp"
#include "util/sha256.hpp"

namespace moss {

Result<StoredFile> VersionStore::store(const std::string& instance,
                                       const std::filesystem::path& source) const {
  auto bytes = read_file(source);
  if (!bytes.ok()) return bytes.status();
  StoredFile stored;
  stored.sha256 = sha256_hex(bytes.value());
  stored.path = path_for(instance, stored.sha256);
  std::error_code ec;
  if (std::filesystem::exists(stored.path, ec)) {
    auto existing = sha256_file(stored.path);
    if (existing.ok() && existing.value() == stored.sha256) return stored;
  }
  Status written = write_file_atomic(stored.path, bytes.value());
  if (!written.ok()) return written;
  // Read-only: a version is immutable, and loads trust its name to be its hash.
  std::filesystem::permissions(stored.path,
                               std::filesystem::perms::owner_read |
                                   std::filesystem::perms::group_read |
                                   std::filesystem::perms::others_read,
                               ec);
  return stored;
}

}  // namespace moss
