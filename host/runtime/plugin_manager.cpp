// Plugin instances from config to serving objects. Every step that can fail turns into a
// disabled instance with a precise reason, a log line and a registry event; the host goes on.
#include "runtime/plugin_manager.hpp"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "config/plugin_settings.hpp"
#include "registry/registry.hpp"
#include "runtime/host_services.hpp"
#include "util/json_schema.hpp"
#include "util/sha256.hpp"

namespace moss {

PluginManager::PluginManager(const Config& config, Registry& registry)
    : config_(config),
      registry_(registry),
      store_(config.versions_dir()),
      host_services_(std::make_unique<HostServicesImpl>(*this, config.llm_backend)) {}

PluginManager::~PluginManager() = default;

sdk::HostServices& PluginManager::host_services() {
  return *host_services_;
}

std::vector<PluginConfig> PluginManager::resolve_instances(
    std::vector<std::string>& problems) const {
  std::vector<PluginConfig> resolved = config_.plugins;
  std::map<std::string, std::filesystem::path> found;  // manifest name -> file
  std::set<std::string> ambiguous;
  for (const std::filesystem::path& dir : config_.plugin_dirs) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".so")
        files.push_back(entry.path());
    }
    if (ec) {
      problems.push_back("plugin_dirs: cannot read " + dir.string() + ": " + ec.message());
      continue;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      auto inspection = inspect_plugin_file(file);
      // A file that cannot be inspected becomes an instance named after the file, so its
      // refusal is visible like any other.
      std::string name = inspection.ok() ? inspection->manifest.name : file.stem().string();
      auto [it, inserted] = found.emplace(name, file);
      if (!inserted) ambiguous.insert(name);
    }
  }
  for (PluginConfig& plugin : resolved) {
    if (!plugin.path.empty()) continue;
    auto it = found.find(plugin.instance);
    if (it != found.end()) plugin.path = it->second;
  }
  for (const auto& [name, file] : found) {
    bool configured = std::any_of(resolved.begin(), resolved.end(),
                                  [&](const PluginConfig& p) { return p.instance == name; });
    if (configured) continue;
    PluginConfig discovered;
    discovered.instance = name;
    discovered.path = file;
    resolved.push_back(std::move(discovered));
  }
  for (const std::string& name : ambiguous) {
    problems.push_back("plugin_dirs hold several files for plugin '" + name + "'");
  }
  return resolved;
}

Status PluginManager::load_instance(const PluginConfig& plugin, Instance& instance) {
  InstanceStatus& status = instance.status;
  if (plugin.path.empty()) {
    return Status(Code::not_found, "[plugins." + plugin.instance +
                                       "] has no path and no plugin of that name was found in "
                                       "plugin_dirs");
  }
  auto inspection = inspect_plugin_file(plugin.path);
  if (!inspection.ok()) return inspection.status();
  status.manifest = inspection->manifest;
  Status compatible = check_compatibility(inspection->manifest, plugin.path.string());
  if (!compatible.ok()) return compatible;
  auto settings = resolve_plugin_settings(config_, plugin, inspection->manifest.config_schema_json);
  if (!settings.ok()) return settings.status();

  Status registered = registry_.upsert_plugin(plugin.instance, inspection->manifest.kinds,
                                              plugin.path.string(), "startup");
  if (!registered.ok()) return registered;

  // The last active version wins over the configured file: a restart must come back on the
  // known-good version. A different configured file becomes a candidate to be evaluated.
  auto serving = registry_.active_version(plugin.instance);
  if (!serving.ok()) return serving.status();
  std::optional<VersionRow> active = serving.value();
  auto new_version = [&](const StoredFile& stored) {
    return describe_version(inspection->manifest, stored);
  };
  instance.settings_json = settings.value();
  if (!active) {
    auto stored = store_.store(plugin.instance, plugin.path);
    if (!stored.ok()) return stored.status();
    auto row = registry_.register_version(plugin.instance, new_version(stored.value()),
                                          VersionState::candidate, "startup",
                                          "first version of a configured plugin");
    if (!row.ok()) return row.status();
    auto activated = registry_.activate(row->id, "startup", "first version of a configured plugin",
                                        "{}", VersionState::retired);
    if (!activated.ok()) return activated.status();
    active = activated.value();
  } else if (active->sha256 != inspection->sha256) {
    auto stored = store_.store(plugin.instance, plugin.path);
    if (!stored.ok()) return stored.status();
    auto row = registry_.register_version(plugin.instance, new_version(stored.value()),
                                          VersionState::candidate, "startup",
                                          "configured file differs from the active version");
    if (!row.ok()) return row.status();
    if (row->state == VersionState::candidate) {
      log().info(
          "plugin '{}': {} differs from active version {}; kept the active version, the "
          "file is candidate #{}",
          plugin.instance, plugin.path.string(), active->sha256.substr(0, 12), row->id);
    } else {
      log().info("plugin '{}': {} is version {} ({}); kept the active version {}", plugin.instance,
                 plugin.path.string(), row->id, to_string(row->state),
                 active->sha256.substr(0, 12));
    }
  }

  status.version_id = active->id;
  status.sha256 = active->sha256;
  status.version_file = active->path;
  auto version = load_version(instance, active.value());
  if (!version.ok()) return version.status();
  status.manifest = version.value()->manifest();  // the active version's, not the file's
  instance.slot->publish(std::move(version.value()));
  return Status();
}

Result<std::shared_ptr<const LoadedVersion>> PluginManager::load_version(const Instance& instance,
                                                                         const VersionRow& row) {
  auto library = Library::load(row.path, LoadOptions{.never_unload = instance.config.never_unload,
                                                     .known_sha256 = row.sha256});
  if (!library.ok()) return library.status();
  auto version = std::make_shared<LoadedVersion>(row.plugin, row.id, library.value());
  Status created = version->create_objects(init_context(row.plugin, instance.settings_json));
  if (!created.ok()) return created;
  return std::shared_ptr<const LoadedVersion>(std::move(version));
}

Result<std::shared_ptr<const LoadedVersion>> PluginManager::load_version(const VersionRow& row) {
  Instance* instance = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = instances_.find(row.plugin);
    if (it == instances_.end()) {
      return Status(Code::not_found, "no plugin instance named '" + row.plugin + "'");
    }
    instance = &it->second;  // entries are never erased
  }
  return load_version(*instance, row);
}

void PluginManager::publish(const VersionRow& row, std::shared_ptr<const LoadedVersion> version,
                            Slot::Previous previous) {
  std::lock_guard<std::mutex> lock(mutex_);
  Instance& instance = instances_.at(row.plugin);  // load_version checked it exists
  instance.status.state = InstanceState::active;
  instance.status.error.clear();
  instance.status.manifest = version->manifest();
  instance.status.version_id = row.id;
  instance.status.sha256 = row.sha256;
  instance.status.version_file = row.path;
  instance.slot->publish(std::move(version), previous);
}

Result<std::string> PluginManager::instance_of_kind(sdk::Kind kind, const std::string& chosen,
                                                    std::string_view config_key) const {
  const std::string kind_text = sdk::kind_name(kind);
  std::string found;
  for (const InstanceStatus& s : status()) {
    const bool of_kind = s.manifest && s.manifest->implements(kind);
    if (!chosen.empty() && s.instance == chosen) {
      if (!of_kind) {
        return Status(Code::failed_precondition, std::string(config_key) + " names '" + chosen +
                                                     "', which is not a " + kind_text + " plugin");
      }
      if (s.state != InstanceState::active) {
        return Status(Code::unavailable, std::string(config_key) + " names '" + chosen +
                                             "', which is disabled: " + s.error);
      }
      return chosen;
    }
    if (chosen.empty() && of_kind && s.state == InstanceState::active) {
      if (!found.empty()) {
        return Status(Code::failed_precondition, "several " + kind_text + " plugins are loaded ('" +
                                                     found + "', '" + s.instance + "'); set " +
                                                     std::string(config_key) +
                                                     " in moss.toml to choose one");
      }
      found = s.instance;
    }
  }
  if (!chosen.empty()) {
    return Status(Code::not_found, std::string(config_key) + " names '" + chosen +
                                       "', which is not a configured plugin");
  }
  if (found.empty()) return Status(Code::unavailable, "no " + kind_text + " plugin is loaded");
  return found;
}

Result<std::string> PluginManager::invoke_tool(const std::string& instance,
                                               std::string_view args_json) {
  auto serving = slot(instance);
  if (!serving.ok()) return serving.status();
  std::int64_t version_id = 0;
  Result<std::string> result = [&]() -> Result<std::string> {
    Lease lease = serving.value()->lease("Tool::invoke");
    if (!lease.ok()) return lease.status();
    auto* tool = lease->get<sdk::Tool>();
    if (tool == nullptr) {
      return Status(Code::invalid_argument, "plugin '" + instance + "' is not a tool");
    }
    version_id = lease->version_id();
    return tool->invoke(args_json);
  }();
  // After the lease: an observer may roll back, which waits for this version to drain.
  if (CallObserver* observer = serving.value()->observer(); observer && version_id != 0) {
    observer->on_call(version_id, result.ok());
  }
  if (!result.ok()) record_call_failure(instance, version_id, args_json, result.status());
  return result;
}

void PluginManager::record_call_failure(const std::string& instance, std::int64_t version_id,
                                        std::string_view args_json, const Status& error) {
  // Only a tool that broke is the plugin's failure; a refused input is the caller's.
  if (error.code() != Code::plugin_exception && error.code() != Code::internal) return;
  constexpr std::size_t kMaxArgsBytes = 2048;
  std::string args(args_json.substr(0, kMaxArgsBytes));
  NewFailure failure;
  failure.plugin = instance;
  failure.version_id = version_id;
  failure.source = failure_sources::tool_call;
  failure.task_id = "call:" + sha256_hex(args_json).substr(0, 16);
  failure.error = error.to_string();
  failure.trace_json =
      nlohmann::json::array({{{"module", instance},
                              {"action", "invoke"},
                              {"detail", "arguments " + args + ": " + failure.error},
                              {"ok", false}}})
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (Status recorded = registry_.record_failure(failure).status(); !recorded.ok()) {
    spdlog::warn("cannot record the failed call of '{}': {}", instance, recorded.message());
  }
}

Result<PluginManager::Configured> PluginManager::configured(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = instances_.find(name);
  if (it == instances_.end()) {
    return Status(Code::not_found, "no plugin instance named '" + name + "'");
  }
  return Configured{it->second.config, it->second.settings_json};
}

NewVersion describe_version(const PluginManifest& manifest, const StoredFile& stored,
                            std::int64_t parent_id) {
  NewVersion v;
  v.sha256 = stored.sha256;
  v.path = stored.path.string();
  v.plugin_version = manifest.version;
  v.abi_major = manifest.abi_major;
  v.abi_minor = manifest.abi_minor;
  v.toolchain = manifest.toolchain;
  v.parent_id = parent_id;
  return v;
}

sdk::InitContext PluginManager::init_context(const std::string& instance,
                                             const std::string& settings_json) {
  sdk::InitContext context;
  {
    std::lock_guard lock(loggers_mutex_);
    auto& logger = loggers_[instance];
    if (!logger) logger = std::make_unique<PluginLogger>(instance);
    context.logger = logger.get();
  }
  context.instance_name = instance;
  context.config_json = settings_json;
  context.state_dir = (config_.state_dir / "instances" / instance).string();
  if (!config_.file.empty()) {
    context.config_dir = std::filesystem::absolute(config_.file).parent_path().string();
  }
  context.host = host_services_.get();
  std::error_code ec;
  std::filesystem::create_directories(context.state_dir, ec);
  return context;
}

Result<PluginManager::ConfiguredLibrary> PluginManager::library_for(
    const std::string& instance, const std::string& settings_json) const {
  auto serving = slot(instance);
  if (!serving.ok()) return serving.status();
  auto version = serving.value()->active();
  if (!version)
    return Status(Code::failed_precondition, "plugin '" + instance + "' serves nothing");
  auto schema = JsonSchema::compile(version->manifest().config_schema_json,
                                    "plugin '" + instance + "' config schema");
  if (!schema.ok()) return schema.status();
  nlohmann::json settings = nlohmann::json::parse(settings_json, nullptr, false);
  if (settings.is_discarded()) {
    return Status(Code::invalid_argument, "settings for '" + instance + "' are not JSON");
  }
  schema->apply_defaults(settings);
  std::vector<SchemaViolation> violations = schema->validate(settings);
  if (!violations.empty()) {
    return Status(Code::invalid_argument, "settings for '" + instance +
                                              "': " + violations.front().path + ": " +
                                              violations.front().message);
  }
  return ConfiguredLibrary{version->shared_library(), settings.dump()};
}

std::size_t PluginManager::start() {
  install_crash_reporter();
  std::vector<std::string> problems;
  std::vector<PluginConfig> plugins = resolve_instances(problems);
  for (const std::string& problem : problems)
    log().warn("{}", problem);

  std::size_t failed = 0;
  for (const PluginConfig& plugin : plugins) {
    Instance instance;
    instance.slot = std::make_unique<Slot>(plugin.instance);  // serves nothing until published
    instance.config = plugin;
    instance.status.instance = plugin.instance;
    instance.status.source = plugin.path;
    if (!plugin.enabled) {
      instance.status.error = "disabled in config";
    } else if (Status loaded = load_instance(plugin, instance); loaded.ok()) {
      instance.status.state = InstanceState::active;
      log().info("plugin '{}' {} ({}) active at version {}", plugin.instance,
                 instance.status.manifest->version,
                 kinds_to_string(instance.status.manifest->kinds),
                 instance.status.sha256.substr(0, 12));
    } else {
      ++failed;
      instance.status.error = loaded.message();
      log().error("plugin '{}' disabled: {}", plugin.instance, loaded.message());
      record_load_failure(plugin.instance, instance.status.version_id, loaded.message());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    instances_[plugin.instance] = std::move(instance);
  }
  return failed;
}

void PluginManager::record_load_failure(const std::string& instance, std::int64_t version_id,
                                        const std::string& reason) {
  // A failure that repeats on every start is one fact, not a new event each time.
  auto last = registry_.events(instance, 1);
  if (last.ok() && !last->empty() && last->front().type == "load_failed" &&
      last->front().reason == reason) {
    return;
  }
  NewEvent event;
  event.plugin = instance;
  event.version_id = version_id;
  event.type = "load_failed";
  event.actor = "startup";
  event.reason = reason;
  Status recorded = registry_.record_event(event);
  if (!recorded.ok()) log().error("could not record the failure: {}", recorded.message());
}

std::vector<InstanceStatus> PluginManager::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<InstanceStatus> out;
  for (const auto& [name, instance] : instances_)
    out.push_back(instance.status);
  return out;
}

Result<Slot*> PluginManager::slot(const std::string& name) const {
  // The map and its slots are fixed once start() returns: no lock on the call path.
  auto it = instances_.find(name);
  if (it == instances_.end()) {
    return Status(Code::not_found, "no plugin instance named '" + name + "'");
  }
  if (!it->second.slot->serving()) {
    std::lock_guard<std::mutex> lock(mutex_);
    return Status(Code::failed_precondition,
                  "plugin '" + name + "' is disabled: " + it->second.status.error);
  }
  return it->second.slot.get();
}

}  // namespace moss
