// expect: MOSS_PLUGIN: T::init must be `void init(const moss::sdk::InitContext&)`
#include <moss/sdk/sdk.hpp>
struct T {
  void init() {}
  moss::sdk::ToolInfo info() const { return {}; }
  moss::sdk::Result<std::string> invoke(std::string_view) { return "{}"; }
};
MOSS_PLUGIN("init", "1.0.0", moss::sdk::kNoConfig, moss::sdk::as_tool<T>)
