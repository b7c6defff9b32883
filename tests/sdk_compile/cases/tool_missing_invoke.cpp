// expect: as_tool<T>: T needs `Result<std::string> invoke(std::string_view args_json)`
#include <moss/sdk/sdk.hpp>
struct T {
  moss::sdk::ToolInfo info() const { return {}; }
  std::string invoke(int) { return "{}"; }
};
MOSS_PLUGIN("tool", "1.0.0", moss::sdk::kNoConfig, moss::sdk::as_tool<T>)
