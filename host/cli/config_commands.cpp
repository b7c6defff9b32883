// moss config check: validates a config file and every plugin table in it, without running
// any plugin code.
#include "cli/common.hpp"
#include "config/plugin_settings.hpp"
#include "loader/loader.hpp"

namespace moss::cli {
namespace {

struct PluginCheck {
  std::string instance;
  std::string file;
  std::string error;  // empty: ok
};

PluginCheck check_plugin(const Config& config, const PluginConfig& plugin) {
  PluginCheck check{plugin.instance, plugin.path.string(), ""};
  if (plugin.path.empty()) {
    // Resolved at startup from plugin_dirs by the manifest name.
    for (const auto& dir : config.plugin_dirs) {
      std::error_code ec;
      for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        auto inspection = inspect_plugin_file(entry.path());
        if (inspection.ok() && inspection->manifest.name == plugin.instance) {
          check.file = entry.path().string();
        }
      }
    }
    if (check.file.empty()) {
      check.error = "no path, and no plugin named '" + plugin.instance + "' in plugin_dirs";
      return check;
    }
  }
  auto inspection = inspect_plugin_file(check.file);
  if (!inspection.ok()) {
    check.error = inspection.status().message();
    return check;
  }
  Status compatible = check_compatibility(inspection->manifest, check.file);
  if (!compatible.ok()) {
    check.error = compatible.message();
    return check;
  }
  PluginConfig resolved = plugin;
  resolved.path = check.file;
  auto settings =
      resolve_plugin_settings(config, resolved, inspection->manifest.config_schema_json);
  if (!settings.ok()) check.error = settings.status().message();
  return check;
}

int check(Context& context) {
  std::string file = context.positional("file");
  auto config = file.empty() ? context.load_config() : moss::load_config(file);
  if (!config.ok()) {
    if (context.json) {
      print_json(context, {{"valid", false}, {"errors", config.status().message()}});
      return kExitConfig;
    }
    return fail(context, config.status(), kExitConfig);
  }
  std::vector<PluginCheck> checks;
  bool valid = true;
  for (const PluginConfig& plugin : config->plugins) {
    checks.push_back(check_plugin(config.value(), plugin));
    valid = valid && checks.back().error.empty();
  }
  if (context.json) {
    nlohmann::json plugins = nlohmann::json::array();
    for (const auto& c : checks) {
      plugins.push_back({{"instance", c.instance},
                         {"file", c.file},
                         {"ok", c.error.empty()},
                         {"error", c.error}});
    }
    print_json(context, {{"valid", valid},
                         {"file", config->file.string()},
                         {"state_dir", config->state_dir.string()},
                         {"plugins", plugins}});
  } else {
    context.out << config->file.string() << ": " << (valid ? "valid" : "INVALID") << "\n"
                << "state_dir: " << config->state_dir.string() << "\n";
    for (const auto& c : checks) {
      context.out << "  [plugins." << c.instance << "] "
                  << (c.error.empty() ? "ok (" + c.file + ")" : "error: " + c.error) << "\n";
    }
  }
  return valid ? kExitOk : kExitConfig;
}

}  // namespace

std::vector<Command> config_commands() {
  return {{{"config", "check"},
           "[FILE]",
           "Validate a config file and every plugin table in it (no plugin code runs)",
           "Checks TOML syntax, known keys, types and ranges, then inspects each plugin file and\n"
           "validates its table against the plugin's declared schema. Exit code 3 if invalid.",
           [](po::options_description& o, po::positional_options_description& p) {
             o.add_options()("file", po::value<std::string>(),
                             "config file (default: see --config)");
             p.add("file", 1);
           },
           check}};
}

}  // namespace moss::cli
