// The PluginManager: loads every configured plugin instance at its last active version,
// disables (and records) the ones that fail, and keeps the others running.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <moss/sdk/sdk.hpp>

#include "config/config.hpp"
#include "loader/loader.hpp"
#include "logging/logging.hpp"
#include "runtime/crash_guard.hpp"
#include "runtime/version_store.hpp"
#include "util/status.hpp"

namespace moss {

class Registry;
class HostServicesImpl;

inline constexpr std::size_t kKindCount = std::size(sdk::kAllKinds);

// Index of a kind in kAllKinds (its bit position).
constexpr std::size_t kind_index(sdk::Kind kind) {
  return static_cast<std::size_t>(std::countr_zero(static_cast<std::uint32_t>(kind)));
}

// One loaded, initialised version of a plugin instance: its library and one object per kind.
// Objects hold the library, so it stays loaded while any of them is referenced.
class LoadedVersion {
 public:
  LoadedVersion(std::string instance, std::int64_t version_id, std::shared_ptr<Library> library);

  const std::string& instance() const { return instance_; }
  std::int64_t version_id() const { return version_id_; }
  const Library& library() const { return *library_; }
  const PluginManifest& manifest() const { return library_->manifest(); }
  const PluginCallSite& call_site() const { return call_site_; }

  // The object implementing I, or null if this plugin does not implement I's kind.
  template <class I>
  I* get() const {
    return static_cast<I*>(objects_[kind_index(I::kKind)].get());
  }

  // Creates and initialises one object per kind the plugin implements.
  Status create_objects(const sdk::InitContext& context);

 private:
  std::string instance_;
  std::int64_t version_id_;
  std::shared_ptr<Library> library_;
  PluginCallSite call_site_;
  std::array<std::shared_ptr<sdk::PluginObject>, kKindCount> objects_;
};

enum class InstanceState {
  active = 1,    // loaded and serving
  disabled = 2,  // refused or failed; `error` says why
};

struct InstanceStatus {
  std::string instance;
  InstanceState state = InstanceState::disabled;
  std::string error;                       // why it is disabled
  std::filesystem::path source;            // the configured (or discovered) file
  std::optional<PluginManifest> manifest;  // known once the file could be inspected
  std::int64_t version_id = 0;
  std::string sha256;
  std::filesystem::path version_file;  // the content-addressed copy that is loaded
};

class PluginManager {
 public:
  PluginManager(const Config& config, Registry& registry);
  ~PluginManager();
  PluginManager(const PluginManager&) = delete;
  PluginManager& operator=(const PluginManager&) = delete;

  // Loads every enabled instance. Failures are logged, recorded as `load_failed` events and
  // leave that instance disabled; they never stop the others. Returns how many failed.
  std::size_t start();

  std::vector<InstanceStatus> status() const;
  // The serving version of `instance`, or not_found / failed_precondition (disabled).
  Result<std::shared_ptr<const LoadedVersion>> active(const std::string& instance) const;

  sdk::HostServices& host_services();

 private:
  struct Instance {
    InstanceStatus status;
    std::shared_ptr<const LoadedVersion> version;
  };

  // Where each configured instance's file is, including plugins found in plugin_dirs.
  std::vector<PluginConfig> resolve_instances(std::vector<std::string>& problems) const;
  Status load_instance(const PluginConfig& plugin, Instance& instance);
  void record_load_failure(const std::string& instance, std::int64_t version_id,
                           const std::string& reason);

  const Config& config_;
  Registry& registry_;
  VersionStore store_;
  std::unique_ptr<HostServicesImpl> host_services_;
  std::map<std::string, std::unique_ptr<PluginLogger>> loggers_;
  mutable std::mutex mutex_;
  std::map<std::string, Instance> instances_;
};

}  // namespace moss
