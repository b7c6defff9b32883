// Plugin settings validation: the host, not the plugin, rejects a bad config table, and the
// message names the key and where it is.
#include "config/plugin_settings.hpp"

#include <nlohmann/json.hpp>

#include "util/json_schema.hpp"

namespace moss {

Result<std::string> resolve_plugin_settings(const Config& config, const PluginConfig& plugin,
                                            const std::string& config_schema_json) {
  const std::string section = "[plugins." + plugin.instance + "]";
  auto where = [&](const std::string& path) {
    SourcePosition at = plugin.position;
    std::string top = path.substr(0, path.find('.'));
    for (const auto& [key, position] : plugin.setting_positions) {
      if (key == top) at = position;
    }
    return config.file.string() + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
           ": " + section;
  };

  auto schema = JsonSchema::compile(config_schema_json, where("") + " the plugin's config schema");
  if (!schema.ok()) return schema.status();
  nlohmann::json settings = nlohmann::json::parse(plugin.settings_json);
  schema->apply_defaults(settings);

  std::vector<SchemaViolation> violations = schema->validate(settings);
  if (violations.empty()) return settings.dump();
  std::string message;
  for (const SchemaViolation& v : violations) {
    if (!message.empty()) message += "\n";
    message += where(v.path) + " " + (v.path.empty() ? "" : v.path + ": ") + v.message;
  }
  return Status(Code::invalid_argument, message);
}

}  // namespace moss
