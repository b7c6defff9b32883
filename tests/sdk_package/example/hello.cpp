// The smallest useful moss plugin: a tool that greets.
#include <moss/sdk/sdk.hpp>

struct Hello {
  moss::sdk::ToolInfo info() const {
    return {"hello", "Greets someone",
            R"({"type":"object","properties":{"name":{"type":"string"}}})", false};
  }
  moss::sdk::Result<std::string> invoke(std::string_view args_json) {
    return "{\"greeting\":\"hello\",\"to\":" + std::string(args_json) + "}";
  }
};

MOSS_PLUGIN("hello", "1.0.0", moss::sdk::kNoConfig, moss::sdk::as_tool<Hello>)
