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
struct NewVersion;
struct VersionRow;

// The registry's description of a stored version file.
NewVersion describe_version(const PluginManifest& manifest, const StoredFile& stored,
                            std::int64_t parent_id = 0);

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
  // The instance that plays `kind`'s role: `chosen` if not empty (it must be active and of
  // that kind), else the only active instance of the kind. The errors name `config_key`,
  // the setting that chooses one.
  Result<std::string> instance_of_kind(sdk::Kind kind, const std::string& chosen,
                                       std::string_view config_key) const;
  // The slot serving `instance`: lease it for each call. not_found if there is no such
  // instance; failed_precondition (with the reason) if it is disabled. The slot lives as long
  // as the manager. Lock-free: the set of instances is fixed when start() returns, and
  // start() must return before any other method is called.
  Result<Slot*> slot(const std::string& instance) const;

  sdk::HostServices& host_services();

  // Calls `instance`'s tool with `args_json` (a JSON object, already validated by the caller)
  // on the version serving now, and tells the slot's observer how it went. A call that fails
  // because the tool broke (plugin_exception, internal) is recorded as a failure of that
  // version, for evolution.
  Result<std::string> invoke_tool(const std::string& instance, std::string_view args_json);

  // Loads a stored version of an instance with the instance's settings, ready to publish.
  // Runs the plugin's constructors and init in this process: only for versions that passed
  // evaluation, or that served before.
  Result<std::shared_ptr<const LoadedVersion>> load_version(const VersionRow& row);
  // Makes `version` (of `row`) the one the instance serves; see Slot::publish. The caller
  // has committed the change to the registry first.
  void publish(const VersionRow& row, std::shared_ptr<const LoadedVersion> version,
               Slot::Previous previous = Slot::Previous::drain);
  VersionStore& store() { return store_; }

  // An instance's config table and its settings as resolved at load (empty if refused).
  struct Configured {
    PluginConfig config;
    std::string settings_json;
  };
  Result<Configured> configured(const std::string& instance) const;

  // A new object of kind I from the library `instance` serves now, initialised with
  // `settings_json` (validated against the plugin's schema, defaults applied). The caller
  // owns it; it keeps that library loaded. For hosts of per-plugin state, like the Ratchet.
  template <class I>
  Result<std::shared_ptr<I>> make_object(const std::string& instance,
                                         const std::string& settings_json) {
    auto library = library_for(instance, settings_json);
    if (!library.ok()) return library.status();
    sdk::InitContext context = init_context(instance, library->settings_json);
    return create_object<I>(library->library, context);
  }

 private:
  void record_call_failure(const std::string& instance, std::int64_t version_id,
                           std::string_view args_json, const Status& error);
  struct Instance {
    InstanceStatus status;
    PluginConfig config;
    std::string settings_json;   // validated, defaults applied
    std::unique_ptr<Slot> slot;  // never null after start(); serves nothing while disabled
  };
  Result<std::shared_ptr<const LoadedVersion>> load_version(const Instance& instance,
                                                            const VersionRow& row);

  // Where each configured instance's file is, including plugins found in plugin_dirs.
  std::vector<PluginConfig> resolve_instances(std::vector<std::string>& problems) const;
  Status load_instance(const PluginConfig& plugin, Instance& instance);
  struct ConfiguredLibrary {
    std::shared_ptr<Library> library;
    std::string settings_json;  // validated, defaults applied
  };
  Result<ConfiguredLibrary> library_for(const std::string& instance,
                                        const std::string& settings_json) const;
  sdk::InitContext init_context(const std::string& instance, const std::string& settings_json);
  void record_load_failure(const std::string& instance, std::int64_t version_id,
                           const std::string& reason);

  const Config& config_;
  Registry& registry_;
  VersionStore store_;
  std::unique_ptr<HostServicesImpl> host_services_;
  std::mutex loggers_mutex_;
  std::map<std::string, std::unique_ptr<PluginLogger>> loggers_;  // one per instance
  mutable std::mutex mutex_;
  std::map<std::string, Instance> instances_;
};

}  // namespace moss
