// expect: MOSS_PLUGIN: plugin classes must be default-constructible
#include <moss/sdk/sdk.hpp>
struct T {
  explicit T(int) {}
  moss::sdk::ToolInfo info() const { return {}; }
  moss::sdk::Result<std::string> invoke(std::string_view) { return "{}"; }
};
MOSS_PLUGIN("ctor", "1.0.0", moss::sdk::kNoConfig, moss::sdk::as_tool<T>)
