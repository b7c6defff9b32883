// ratchet-guard through the real loader: the built .so declares itself, and the guard it
// creates applies the config the host resolves from the plugin's schema.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include <utility>

#include "plugin_harness.hpp"
#include "util/json_schema.hpp"

using moss::sdk::Guard;
using moss::sdk::GuardState;
using moss::test::create;
using moss::test::load_plugin;
using nlohmann::json;

namespace {

moss::JsonSchema config_schema(const moss::Library& library) {
  auto schema = moss::JsonSchema::compile(library.manifest().config_schema_json, "ratchet-guard");
  REQUIRE(schema.ok());
  return std::move(schema.value());
}

moss::sdk::Verdict record(Guard& guard, double score, std::int64_t now_ms) {
  moss::sdk::ScoreSample sample{score, "v1", "evaluate", now_ms};
  auto verdict = guard.record(sample);
  REQUIRE(verdict.ok());
  return verdict.value();
}

}  // namespace

TEST_CASE("the ratchet-guard file declares its name and only the guard kind", "[ratchet][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  CHECK(library->manifest().name == "ratchet-guard");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::guard));
}

TEST_CASE("the loaded guard starts from the schema's default ratchet point", "[ratchet][load]") {
  auto guard = create<Guard>(load_plugin(MOSS_PLUGIN_FILE));
  auto stats = guard->stats();
  REQUIRE(stats.ok());
  CHECK(json::parse(stats.value())["ratchet_point"] == 0.8);
  CHECK(record(*guard, 0.7, 0).state == GuardState::critical);
}

TEST_CASE("the loaded guard locks by its configured threshold and duration", "[ratchet][load]") {
  auto guard =
      create<Guard>(load_plugin(MOSS_PLUGIN_FILE), R"({"lock_threshold":1,"lock_duration_s":10})");
  CHECK(record(*guard, 0.1, 1000).lock_until_ms == 11000);
  moss::sdk::GuardTask task;
  task.now_ms = 10999;
  auto pre = guard->pre_check(task);
  REQUIRE(pre.ok());
  CHECK_FALSE(pre.value().allowed);
}

TEST_CASE("the loaded guard's state moves to another instance through export and import",
          "[ratchet][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  auto first = create<Guard>(library);
  record(*first, 0.93, 5);
  auto exported = first->export_state();
  REQUIRE(exported.ok());
  auto second = create<Guard>(library);
  REQUIRE(second->import_state(exported.value()).ok());
  CHECK(json::parse(second->stats().value())["ratchet_point"] == 0.93);
  auto refused = second->import_state("{}");
  CHECK(refused.code() == moss::sdk::Code::invalid_argument);
}

TEST_CASE("the loaded guard has no post-check of its own", "[ratchet][load]") {
  auto guard = create<Guard>(load_plugin(MOSS_PLUGIN_FILE));
  auto post = guard->post_check({}, {});
  REQUIRE(post.ok());
  CHECK(post.value().allowed);
}

TEST_CASE("the ratchet-guard config schema refuses an unknown policy and a zero point",
          "[ratchet][load]") {
  auto schema = config_schema(*load_plugin(MOSS_PLUGIN_FILE));
  CHECK_FALSE(schema.validate(json::parse(R"({"baseline_policy":"min"})")).empty());
  CHECK_FALSE(schema.validate(json::parse(R"({"initial_score":0})")).empty());
  CHECK_FALSE(schema.validate(json::parse(R"({"lock_duration":300})")).empty());
}
