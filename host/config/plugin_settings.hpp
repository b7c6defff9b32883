// Checks a [plugins.<name>] table against the JSON Schema its plugin declares, before init.
#pragma once

#include <string>

#include "config/config.hpp"
#include "util/status.hpp"

namespace moss {

// Returns the plugin's settings as JSON text with the schema's defaults applied, or an error
// per violated key: "file:line:column: [plugins.x] key: problem".
Result<std::string> resolve_plugin_settings(const Config& config, const PluginConfig& plugin,
                                            const std::string& config_schema_json);

}  // namespace moss
