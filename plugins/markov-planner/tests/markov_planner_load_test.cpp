// markov-planner through the real loader: the built .so declares itself, and the planner it
// creates learns, predicts with the schema's default limits, and exports its counts.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include "plugin_harness.hpp"
#include "util/json_schema.hpp"

using moss::sdk::Planner;
using moss::test::create;
using moss::test::load_plugin;
using nlohmann::json;

namespace {

// search -> fetch 3 times out of 4, search -> summarize once.
void teach(Planner& planner) {
  for (const char* next : {"fetch", "fetch", "summarize", "fetch"}) {
    REQUIRE(planner.learn({{"search", R"({"q":"x"})"}, {next, "{}"}}).ok());
  }
}

}  // namespace

TEST_CASE("the markov-planner file declares its name and only the planner kind",
          "[planner][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  CHECK(library->manifest().name == "markov-planner");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::planner));
}

TEST_CASE("the loaded planner predicts with the schema's default confidence floor",
          "[planner][load]") {
  auto planner = create<Planner>(load_plugin(MOSS_PLUGIN_FILE));
  teach(*planner);
  auto predictions = planner->predict({"search", "{}"}, 0, -1.0);
  REQUIRE(predictions.ok());
  REQUIRE(predictions.value().size() == 1);  // summarize (0.25) is below 0.6
  CHECK(predictions.value()[0].call.tool == "fetch");
  CHECK(predictions.value()[0].confidence == 0.75);
}

TEST_CASE("the loaded planner uses its configured confidence floor", "[planner][load]") {
  auto planner = create<Planner>(load_plugin(MOSS_PLUGIN_FILE), R"({"min_confidence":0.2})");
  teach(*planner);
  CHECK(planner->predict({"search", "{}"}, 0, -1.0).value().size() == 2);
}

TEST_CASE("the loaded planner's counts move to another instance through export and import",
          "[planner][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  auto first = create<Planner>(library);
  teach(*first);
  auto second = create<Planner>(library);
  REQUIRE(second->import_state(first->export_state().value()).ok());
  CHECK(json::parse(second->stats().value())["transitions"] == 4);
  CHECK(second->predict({"search", "{}"}, 3, 0.0).value().size() == 2);
}

TEST_CASE("the markov-planner config schema refuses a zero speculation limit", "[planner][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  auto schema = moss::JsonSchema::compile(library->manifest().config_schema_json, "planner");
  REQUIRE(schema.ok());
  CHECK_FALSE(schema.value().validate(json::parse(R"({"max_speculations":0})")).empty());
}
