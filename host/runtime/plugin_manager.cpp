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
    NewVersion v;
    v.sha256 = stored.sha256;
    v.path = stored.path.string();
    v.plugin_version = inspection->manifest.version;
    v.abi_major = inspection->manifest.abi_major;
    v.abi_minor = inspection->manifest.abi_minor;
    v.toolchain = inspection->manifest.toolchain;
    return v;
  };
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
    log().info(
        "plugin '{}': {} differs from active version {}; kept the active version and "
        "staged the file as candidate #{}",
        plugin.instance, plugin.path.string(), active->sha256.substr(0, 12), row->id);
  }

  status.version_id = active->id;
  status.sha256 = active->sha256;
  status.version_file = active->path;
  auto library = Library::load(active->path, LoadOptions{.never_unload = plugin.never_unload});
  if (!library.ok()) return library.status();

  auto version = std::make_shared<LoadedVersion>(plugin.instance, active->id, library.value());
  auto& logger = loggers_[plugin.instance];
  if (!logger) logger = std::make_unique<PluginLogger>(plugin.instance);
  sdk::InitContext context;
  context.instance_name = plugin.instance;
  context.config_json = settings.value();
  context.state_dir = (config_.state_dir / "instances" / plugin.instance).string();
  if (!config_.file.empty()) {
    context.config_dir = std::filesystem::absolute(config_.file).parent_path().string();
  }
  context.logger = logger.get();
  context.host = host_services_.get();
  std::error_code ec;
  std::filesystem::create_directories(context.state_dir, ec);
  Status created = version->create_objects(context);
  if (!created.ok()) return created;
  instance.slot = std::make_unique<Slot>(plugin.instance);
  instance.slot->publish(std::move(version));
  return Status();
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
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = instances_.find(name);
  if (it == instances_.end()) {
    return Status(Code::not_found, "no plugin instance named '" + name + "'");
  }
  if (!it->second.slot) {
    return Status(Code::failed_precondition,
                  "plugin '" + name + "' is disabled: " + it->second.status.error);
  }
  return it->second.slot.get();
}

}  // namespace moss
