// expect: MOSS_PLUGIN: NAME must be 1-64 characters of [A-Za-z0-9_.-]
#include <moss/sdk/sdk.hpp>
struct T {
  moss::sdk::ToolInfo info() const { return {}; }
  moss::sdk::Result<std::string> invoke(std::string_view) { return "{}"; }
};
MOSS_PLUGIN("bad name!", "1.0.0", moss::sdk::kNoConfig, moss::sdk::as_tool<T>)
