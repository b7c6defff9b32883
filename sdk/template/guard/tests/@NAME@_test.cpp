// Unit test of @CLASS@. It compiles the plugin source in and calls the class directly, with
// no host and no test framework: each failed check prints its place, and the exit code is 0
// only if every check passed. `moss plugin test` (the conformance test) covers the built .so
// through the real loader.
#include "../src/@NAME@.cpp"

#include <cstdio>
#include <memory>
#include <string>

namespace {

int failures = 0;

void check(bool passed, const char* what, const char* file, int line) {
  if (passed) return;
  ++failures;
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
}
#define CHECK(condition) check((condition), #condition, __FILE__, __LINE__)

// A guard initialised with `settings_json`, as the host would do it.
std::unique_ptr<@CLASS@> make_guard(const std::string& settings_json = "{}") {
  static sdk::NullLogger logger;
  sdk::InitContext context;
  context.instance_name = "@NAME@";
  context.config_json = settings_json;
  context.logger = &logger;
  auto guard = std::make_unique<@CLASS@>();
  CHECK(guard->init(context).ok());
  return guard;
}

sdk::Verdict record(@CLASS@& guard, double score) {
  auto verdict = guard.record({score, "v-" + std::to_string(score), "evaluate", 1000});
  CHECK(verdict.ok());
  return verdict.ok() ? verdict.value() : sdk::Verdict{};
}

void test_scores_are_judged_against_the_best() {
  auto guard = make_guard();  // min_score 0.5, max_drop 0.1
  CHECK(record(*guard, 0.6).state == sdk::GuardState::nominal);
  CHECK(record(*guard, 0.8).state == sdk::GuardState::nominal);
  const sdk::Verdict small_drop = record(*guard, 0.75);
  CHECK(small_drop.allowed && small_drop.state == sdk::GuardState::warning);
  CHECK(small_drop.ratchet_point == 0.8);
  const sdk::Verdict large_drop = record(*guard, 0.65);
  CHECK(!large_drop.allowed && large_drop.state == sdk::GuardState::critical);
  const sdk::Verdict below_floor = record(*guard, 0.4);
  CHECK(!below_floor.allowed && below_floor.events == std::vector<std::string>{"below_min_score"});
  const json stats = json::parse(guard->stats());
  CHECK(stats["best"] == 0.8);
  CHECK(stats["recorded"] == 5);
  CHECK(stats["refused"] == 2);
}

void test_scores_outside_the_unit_interval_are_refused() {
  auto guard = make_guard();
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    auto verdict = guard->record({bad, "v", "evaluate", 1});
    CHECK(!verdict.ok() && verdict.status().code() == sdk::Code::invalid_argument);
  }
  CHECK(json::parse(guard->stats())["recorded"] == 0);
}

void test_settings() {
  auto strict = make_guard(R"({"min_score": 0.9, "max_drop": 0.0})");
  CHECK(!record(*strict, 0.85).allowed);
  CHECK(record(*strict, 0.95).allowed);
  CHECK(!record(*strict, 0.94).allowed);  // no drop allowed at all
  @CLASS@ refused;
  sdk::InitContext context;
  context.config_json = R"({"min_score": 2})";
  CHECK(refused.init(context).code() == sdk::Code::invalid_argument);
}

void test_state_round_trips() {
  auto first = make_guard();
  record(*first, 0.7);
  record(*first, 0.9);
  record(*first, 0.6);
  auto second = make_guard();
  CHECK(second->import_state(first->export_state()).ok());
  CHECK(json::parse(second->export_state()) == json::parse(first->export_state()));
  CHECK(record(*second, 0.75).state == record(*first, 0.75).state);
}

void test_foreign_or_damaged_state_is_refused_and_changes_nothing() {
  auto guard = make_guard();
  record(*guard, 0.9);
  const std::string before = guard->export_state();
  json damaged = json::parse(before);
  damaged["recorded"] = "many";
  json other = json::parse(before);
  other["format"] = "someone-else/1";
  for (const std::string& bad :
       {std::string("not json"), std::string("[1, 2]"), damaged.dump(), other.dump()}) {
    CHECK(guard->import_state(bad).code() == sdk::Code::invalid_argument);
  }
  CHECK(guard->export_state() == before);
}

void test_reset() {
  auto guard = make_guard();
  record(*guard, 0.9);
  CHECK(guard->reset({true, 0.6}).ok());
  CHECK(json::parse(guard->stats())["best"] == 0.6);
  CHECK(record(*guard, 0.55).allowed);  // within max_drop of the new baseline
  CHECK(guard->reset({true, 7.0}).code() == sdk::Code::invalid_argument);
}

}  // namespace

int main() {
  test_scores_are_judged_against_the_best();
  test_scores_outside_the_unit_interval_are_refused();
  test_settings();
  test_state_round_trips();
  test_foreign_or_damaged_state_is_refused_and_changes_nothing();
  test_reset();
  if (failures == 0) std::printf("@NAME@: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
