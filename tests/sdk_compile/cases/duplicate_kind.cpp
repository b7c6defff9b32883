// expect: MOSS_PLUGIN: each kind may be registered at most once per plugin
#include <moss/sdk/sdk.hpp>
struct T {
  moss::sdk::ToolInfo info() const { return {}; }
  moss::sdk::Result<std::string> invoke(std::string_view) { return "{}"; }
};
MOSS_PLUGIN("twice", "1.0.0", moss::sdk::kNoConfig, moss::sdk::as_tool<T>, moss::sdk::as_tool<T>)
