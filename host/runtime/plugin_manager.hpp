// The PluginManager: loads every configured plugin instance at its last active version,
// disables (and records) the ones that fail, and keeps the others running.
#pragma once

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
#include "runtime/loaded_version.hpp"
#include "runtime/slot.hpp"
#include "runtime/version_store.hpp"
#include "util/status.hpp"

namespace moss {

class Registry;
class HostServicesImpl;

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
  // The slot serving `instance`: lease it for each call. not_found if there is no such
  // instance; failed_precondition (with the reason) if it is disabled. The slot lives as long
  // as the manager.
  Result<Slot*> slot(const std::string& instance) const;

  sdk::HostServices& host_services();

 private:
  struct Instance {
    InstanceStatus status;
    std::unique_ptr<Slot> slot;  // null while disabled
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
