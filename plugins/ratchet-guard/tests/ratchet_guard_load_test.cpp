// ratchet-guard through the real loader: the built .so declares itself, and the guard it
// creates applies the config the host resolves from the plugin's schema.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "loader/loader.hpp"
#include "util/json_schema.hpp"

using moss::sdk::Guard;
using moss::sdk::GuardState;
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

moss::JsonSchema config_schema(const moss::Library& library) {
  auto schema = moss::JsonSchema::compile(library.manifest().config_schema_json, "ratchet-guard");
  REQUIRE(schema.ok());
  return std::move(schema.value());
}

// What the host does before init: validate the table, then apply the schema's defaults.
std::shared_ptr<Guard> create_guard(const std::shared_ptr<moss::Library>& library,
                                    const std::string& table_json) {
  static moss::sdk::NullLogger logger;
  static Host host;
  auto schema = config_schema(*library);
  json table = json::parse(table_json);
  REQUIRE(schema.validate(table).empty());
  schema.apply_defaults(table);
  moss::sdk::InitContext context;
  context.instance_name = "ratchet";
  context.config_json = table.dump();
  context.logger = &logger;
  context.host = &host;
  auto guard = moss::create_object<Guard>(library, context);
  INFO(guard.status().to_string());
  REQUIRE(guard.ok());
  return guard.value();
}

moss::sdk::Verdict record(Guard& guard, double score, std::int64_t now_ms) {
  moss::sdk::ScoreSample sample{score, "v1", "evaluate", now_ms};
  auto verdict = guard.record(sample);
  REQUIRE(verdict.ok());
  return verdict.value();
}

}  // namespace

TEST_CASE("the ratchet-guard file declares its name and only the guard kind", "[ratchet][load]") {
  auto library = load_plugin();
  CHECK(library->manifest().name == "ratchet-guard");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::guard));
}

TEST_CASE("the loaded guard starts from the schema's default ratchet point", "[ratchet][load]") {
  auto guard = create_guard(load_plugin(), "{}");
  auto stats = guard->stats();
  REQUIRE(stats.ok());
  CHECK(json::parse(stats.value())["ratchet_point"] == 0.8);
  CHECK(record(*guard, 0.7, 0).state == GuardState::critical);
}

TEST_CASE("the loaded guard locks by its configured threshold and duration", "[ratchet][load]") {
  auto guard = create_guard(load_plugin(), R"({"lock_threshold":1,"lock_duration_s":10})");
  CHECK(record(*guard, 0.1, 1000).lock_until_ms == 11000);
  moss::sdk::GuardTask task;
  task.now_ms = 10999;
  auto pre = guard->pre_check(task);
  REQUIRE(pre.ok());
  CHECK_FALSE(pre.value().allowed);
}

TEST_CASE("the loaded guard's state moves to another instance through export and import",
          "[ratchet][load]") {
  auto library = load_plugin();
  auto first = create_guard(library, "{}");
  record(*first, 0.93, 5);
  auto exported = first->export_state();
  REQUIRE(exported.ok());
  auto second = create_guard(library, "{}");
  REQUIRE(second->import_state(exported.value()).ok());
  CHECK(json::parse(second->stats().value())["ratchet_point"] == 0.93);
  auto refused = second->import_state("{}");
  CHECK(refused.code() == moss::sdk::Code::invalid_argument);
}

TEST_CASE("the loaded guard has no post-check of its own", "[ratchet][load]") {
  auto guard = create_guard(load_plugin(), "{}");
  auto post = guard->post_check({}, {});
  REQUIRE(post.ok());
  CHECK(post.value().allowed);
}

TEST_CASE("the ratchet-guard config schema refuses an unknown policy and a zero point",
          "[ratchet][load]") {
  auto schema = config_schema(*load_plugin());
  CHECK_FALSE(schema.validate(json::parse(R"({"baseline_policy":"min"})")).empty());
  CHECK_FALSE(schema.validate(json::parse(R"({"initial_score":0})")).empty());
  CHECK_FALSE(schema.validate(json::parse(R"({"lock_duration":300})")).empty());
}
