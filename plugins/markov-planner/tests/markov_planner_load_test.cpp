// markov-planner through the real loader: the built .so declares itself, and the planner it
// creates learns, predicts with the schema's default limits, and exports its counts.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "loader/loader.hpp"
#include "util/json_schema.hpp"

using moss::sdk::PlannedCall;
using moss::sdk::Planner;
using nlohmann::json;

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

// What the host does before init: validate the table, then apply the schema's defaults.
std::shared_ptr<Planner> create_planner(const std::shared_ptr<moss::Library>& library,
                                        const std::string& table_json) {
  static moss::sdk::NullLogger logger;
  static Host host;
  auto schema = moss::JsonSchema::compile(library->manifest().config_schema_json, "planner");
  REQUIRE(schema.ok());
  json table = json::parse(table_json);
  REQUIRE(schema.value().validate(table).empty());
  schema.value().apply_defaults(table);
  moss::sdk::InitContext context;
  context.instance_name = "planner";
  context.config_json = table.dump();
  context.logger = &logger;
  context.host = &host;
  auto planner = moss::create_object<Planner>(library, context);
  INFO(planner.status().to_string());
  REQUIRE(planner.ok());
  return planner.value();
}

// search -> fetch 3 times out of 4, search -> summarize once.
void teach(Planner& planner) {
  for (const char* next : {"fetch", "fetch", "summarize", "fetch"}) {
    REQUIRE(planner.learn({{"search", R"({"q":"x"})"}, {next, "{}"}}).ok());
  }
}

}  // namespace

TEST_CASE("the markov-planner file declares its name and only the planner kind",
          "[planner][load]") {
  auto library = load_plugin();
  CHECK(library->manifest().name == "markov-planner");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::planner));
}

TEST_CASE("the loaded planner predicts with the schema's default confidence floor",
          "[planner][load]") {
  auto planner = create_planner(load_plugin(), "{}");
  teach(*planner);
  auto predictions = planner->predict({"search", "{}"}, 0, -1.0);
  REQUIRE(predictions.ok());
  REQUIRE(predictions.value().size() == 1);  // summarize (0.25) is below 0.6
  CHECK(predictions.value()[0].call.tool == "fetch");
  CHECK(predictions.value()[0].confidence == 0.75);
}

TEST_CASE("the loaded planner uses its configured confidence floor", "[planner][load]") {
  auto planner = create_planner(load_plugin(), R"({"min_confidence":0.2})");
  teach(*planner);
  CHECK(planner->predict({"search", "{}"}, 0, -1.0).value().size() == 2);
}

TEST_CASE("the loaded planner's counts move to another instance through export and import",
          "[planner][load]") {
  auto library = load_plugin();
  auto first = create_planner(library, "{}");
  teach(*first);
  auto second = create_planner(library, "{}");
  REQUIRE(second->import_state(first->export_state().value()).ok());
  CHECK(json::parse(second->stats().value())["transitions"] == 4);
  CHECK(second->predict({"search", "{}"}, 3, 0.0).value().size() == 2);
}

TEST_CASE("the markov-planner config schema refuses a zero speculation limit", "[planner][load]") {
  auto library = load_plugin();
  auto schema = moss::JsonSchema::compile(library->manifest().config_schema_json, "planner");
  REQUIRE(schema.ok());
  CHECK_FALSE(schema.value().validate(json::parse(R"({"max_speculations":0})")).empty());
}
