// text-tool through the real loader: the built .so declares itself in its manifest, and the
// tool it creates runs with the config the host resolves from the plugin's schema.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include "plugin_harness.hpp"
#include "util/json_schema.hpp"

using Catch::Matchers::Contains;
using moss::test::create;
using moss::test::load_plugin;

TEST_CASE("the text-tool file declares its name and only the tool kind", "[text-tool][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  const auto& manifest = library->manifest();
  CHECK(manifest.name == "text-tool");
  CHECK(manifest.kinds == static_cast<std::uint32_t>(moss::sdk::Kind::tool));
}

TEST_CASE("the loaded text tool runs with the schema's default config", "[text-tool][load]") {
  auto tool = create<moss::sdk::Tool>(load_plugin(MOSS_PLUGIN_FILE));
  auto info = tool->info();
  REQUIRE(info.ok());
  CHECK(info.value().name == "text");
  auto result = tool->invoke(R"({"op":"reverse","text":"añb"})");
  REQUIRE(result.ok());
  CHECK(result.value() == R"({"result":"bña"})");
}

TEST_CASE("the loaded text tool applies max_input_bytes from its config", "[text-tool][load]") {
  auto tool = create<moss::sdk::Tool>(load_plugin(MOSS_PLUGIN_FILE), R"({"max_input_bytes":2})");
  auto result = tool->invoke(R"({"op":"length","text":"abc"})");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == moss::sdk::Code::invalid_argument);
  CHECK_THAT(result.status().message(), Contains("max_input_bytes (2)"));
}

TEST_CASE("the text-tool config schema refuses unknown keys and non-positive limits",
          "[text-tool][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  auto schema = moss::JsonSchema::compile(library->manifest().config_schema_json, "text-tool");
  REQUIRE(schema.ok());
  CHECK_FALSE(schema.value().validate(nlohmann::json::parse(R"({"max_bytes":1})")).empty());
  CHECK_FALSE(schema.value().validate(nlohmann::json::parse(R"({"max_input_bytes":0})")).empty());
}
