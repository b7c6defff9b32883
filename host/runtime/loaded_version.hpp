// One loaded, initialised version of a plugin instance: its library and one object per kind.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <memory>
#include <string>

#include <moss/sdk/sdk.hpp>

#include "loader/loader.hpp"
#include "runtime/crash_guard.hpp"
#include "util/status.hpp"

namespace moss {

inline constexpr std::size_t kKindCount = std::size(sdk::kAllKinds);

// Index of a kind in kAllKinds (its bit position).
constexpr std::size_t kind_index(sdk::Kind kind) {
  return static_cast<std::size_t>(std::countr_zero(static_cast<std::uint32_t>(kind)));
}

// Objects hold the library, so it stays loaded while any of them is referenced; they are
// destroyed before it. Immutable once created, so any thread holding a lease may use it.
class LoadedVersion {
 public:
  LoadedVersion(std::string instance, std::int64_t version_id, std::shared_ptr<Library> library);

  const std::string& instance() const { return instance_; }
  std::int64_t version_id() const { return version_id_; }
  const Library& library() const { return *library_; }
  // For creating further objects from the same library (they keep it loaded).
  const std::shared_ptr<Library>& shared_library() const { return library_; }
  const PluginManifest& manifest() const { return library_->manifest(); }
  const PluginCallSite& call_site() const { return call_site_; }

  // The object implementing I, or null if this plugin does not implement I's kind.
  template <class I>
  I* get() const {
    return static_cast<I*>(objects_[kind_index(I::kKind)].get());
  }

  // Creates and initialises one object per kind the plugin implements. Called once, before
  // the version is published.
  Status create_objects(const sdk::InitContext& context);

 private:
  std::string instance_;
  std::int64_t version_id_;
  std::shared_ptr<Library> library_;
  PluginCallSite call_site_;
  std::array<std::shared_ptr<sdk::PluginObject>, kKindCount> objects_;
};

}  // namespace moss
