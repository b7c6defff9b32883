// expect: MOSS_PLUGIN: CONFIG_SCHEMA must be a JSON object
#include <moss/sdk/sdk.hpp>
struct T {
  moss::sdk::ToolInfo info() const { return {}; }
  moss::sdk::Result<std::string> invoke(std::string_view) { return "{}"; }
};
MOSS_PLUGIN("schema", "1.0.0", R"({"type": "object",})", moss::sdk::as_tool<T>)
