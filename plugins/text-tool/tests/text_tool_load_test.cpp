// text-tool through the real loader: the built .so declares itself in its manifest, and the
// tool it creates runs with the config the host resolves from the plugin's schema.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "loader/loader.hpp"
#include "util/json_schema.hpp"

using Catch::Matchers::Contains;

namespace {

class Host final : public moss::sdk::HostServices {
 public:
  moss::sdk::Result<moss::sdk::ChatResponse> chat(const moss::sdk::ChatRequest&) noexcept override {
    return moss::sdk::Status(moss::sdk::Code::unavailable, "no backend in this test");
  }
  std::int64_t now_ms() const noexcept override { return 0; }
};

std::shared_ptr<moss::Library> load_plugin() {
  auto library = moss::Library::load(MOSS_PLUGIN_FILE);
  INFO(library.status().to_string());
  REQUIRE(library.ok());
  return library.value();
}

// What the host does before init: validate the table against the plugin's schema and
// apply the schema's defaults.
std::string resolve_config(const moss::Library& library, const std::string& table_json) {
  auto schema = moss::JsonSchema::compile(library.manifest().config_schema_json, "text-tool");
  REQUIRE(schema.ok());
  auto table = nlohmann::json::parse(table_json);
  REQUIRE(schema.value().validate(table).empty());
  schema.value().apply_defaults(table);
  return table.dump();
}

std::shared_ptr<moss::sdk::Tool> create_tool(const std::shared_ptr<moss::Library>& library,
                                             const std::string& table_json) {
  static moss::sdk::NullLogger logger;
  static Host host;
  moss::sdk::InitContext context;
  context.instance_name = "text";
  context.config_json = resolve_config(*library, table_json);
  context.logger = &logger;
  context.host = &host;
  auto tool = moss::create_object<moss::sdk::Tool>(library, context);
  INFO(tool.status().to_string());
  REQUIRE(tool.ok());
  return tool.value();
}

}  // namespace

TEST_CASE("the text-tool file declares its name and only the tool kind", "[text-tool][load]") {
  auto library = load_plugin();
  const auto& manifest = library->manifest();
  CHECK(manifest.name == "text-tool");
  CHECK(manifest.kinds == static_cast<std::uint32_t>(moss::sdk::Kind::tool));
}

TEST_CASE("the loaded text tool runs with the schema's default config", "[text-tool][load]") {
  auto tool = create_tool(load_plugin(), "{}");
  auto info = tool->info();
  REQUIRE(info.ok());
  CHECK(info.value().name == "text");
  auto result = tool->invoke(R"({"op":"reverse","text":"añb"})");
  REQUIRE(result.ok());
  CHECK(result.value() == R"({"result":"bña"})");
}

TEST_CASE("the loaded text tool applies max_input_bytes from its config", "[text-tool][load]") {
  auto tool = create_tool(load_plugin(), R"({"max_input_bytes":2})");
  auto result = tool->invoke(R"({"op":"length","text":"abc"})");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == moss::sdk::Code::invalid_argument);
  CHECK_THAT(result.status().message(), Contains("max_input_bytes (2)"));
}

TEST_CASE("the text-tool config schema refuses unknown keys and non-positive limits",
          "[text-tool][load]") {
  auto library = load_plugin();
  auto schema = moss::JsonSchema::compile(library->manifest().config_schema_json, "text-tool");
  REQUIRE(schema.ok());
  CHECK_FALSE(schema.value().validate(nlohmann::json::parse(R"({"max_bytes":1})")).empty());
  CHECK_FALSE(schema.value().validate(nlohmann::json::parse(R"({"max_input_bytes":0})")).empty());
}
