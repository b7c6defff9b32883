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

// A planner initialised with `settings_json`, as the host would do it.
std::unique_ptr<@CLASS@> make_planner(const std::string& settings_json = "{}") {
  static sdk::NullLogger logger;
  sdk::InitContext context;
  context.instance_name = "@NAME@";
  context.config_json = settings_json;
  context.logger = &logger;
  auto planner = std::make_unique<@CLASS@>();
  CHECK(planner->init(context).ok());
  return planner;
}

const sdk::PlannedCall kSearch{"search", R"({"q":"moss"})"};
const sdk::PlannedCall kOpen{"open", R"({"id":1})"};
const sdk::PlannedCall kSummarize{"summarize", "{}"};

std::vector<sdk::Prediction> predict(const @CLASS@& planner, const sdk::PlannedCall& current,
                                     std::int32_t max = 5, double min_confidence = 0.0) {
  auto predictions = planner.predict(current, max, min_confidence);
  CHECK(predictions.ok());
  return predictions.ok() ? predictions.value() : std::vector<sdk::Prediction>{};
}

void learn_sample(@CLASS@& planner) {
  CHECK(planner.learn({kSearch, kOpen, kSummarize}).ok());
  CHECK(planner.learn({kSearch, kOpen}).ok());
  CHECK(planner.learn({kSearch, kSummarize}).ok());
}

void test_predicts_the_most_frequent_successors_first() {
  auto planner = make_planner();
  learn_sample(*planner);
  const auto after_search = predict(*planner, kSearch);
  CHECK(after_search.size() == 2);
  if (after_search.size() == 2) {
    CHECK(after_search[0].call.tool == "open");
    CHECK(after_search[0].call.arguments_json == R"({"id":1})");
    CHECK(std::abs(after_search[0].confidence - 2.0 / 3.0) < 1e-12);
    CHECK(after_search[1].call.tool == "summarize");
    CHECK(after_search[0].id != after_search[1].id);
  }
  CHECK(predict(*planner, kSearch, 1).size() == 1);
  CHECK(predict(*planner, kSearch, 5, 0.5).size() == 1);
  CHECK(predict(*planner, kSearch, 0).empty());
  CHECK(predict(*planner, kSearch, -1).empty());
  // Other arguments make another call.
  CHECK(predict(*planner, {"search", R"({"q":"other"})"}).empty());
}

void test_min_observations() {
  auto planner = make_planner();  // min_observations 2
  CHECK(planner->learn({kOpen, kSummarize}).ok());
  CHECK(predict(*planner, kOpen).empty());
  CHECK(planner->learn({kOpen, kSummarize}).ok());
  CHECK(predict(*planner, kOpen).size() == 1);
  auto eager = make_planner(R"({"min_observations": 1})");
  CHECK(eager->learn({kOpen, kSummarize}).ok());
  CHECK(predict(*eager, kOpen).size() == 1);
}

void test_a_call_without_a_tool_is_refused_and_nothing_is_learned() {
  auto planner = make_planner(R"({"min_observations": 1})");
  CHECK(planner->learn({kSearch, kOpen, {"", "{}"}}).code() == sdk::Code::invalid_argument);
  CHECK(predict(*planner, kSearch).empty());
  CHECK(!planner->predict(kSearch, 3, 1.5).ok());
}

void test_max_calls_bounds_memory() {
  auto planner = make_planner(R"({"max_calls": 1, "min_observations": 1})");
  CHECK(planner->learn({kSearch, kOpen, kSummarize}).ok());
  const json stats = json::parse(planner->stats());
  CHECK(stats["calls"] == 1);
  CHECK(stats["transitions"] == 1);
  CHECK(stats["dropped"] == 1);
  CHECK(predict(*planner, kOpen).empty());
}

void test_state_round_trips() {
  auto first = make_planner();
  learn_sample(*first);
  auto second = make_planner();
  CHECK(second->import_state(first->export_state()).ok());
  CHECK(json::parse(second->export_state()) == json::parse(first->export_state()));
  const auto a = predict(*first, kSearch);
  const auto b = predict(*second, kSearch);
  CHECK(a.size() == b.size());
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    CHECK(a[i].call.tool == b[i].call.tool && a[i].confidence == b[i].confidence);
  }
}

void test_foreign_or_damaged_state_is_refused_and_changes_nothing() {
  auto planner = make_planner();
  learn_sample(*planner);
  const std::string before = planner->export_state();
  json wrong_sum = json::parse(before);
  wrong_sum["learned"] = 99;
  json other = json::parse(before);
  other["format"] = "someone-else/1";
  for (const std::string& bad : {std::string("not json"), std::string("[1, 2]"),
                                 std::string("\"text\""), wrong_sum.dump(), other.dump()}) {
    CHECK(planner->import_state(bad).code() == sdk::Code::invalid_argument);
  }
  CHECK(planner->export_state() == before);
}

}  // namespace

int main() {
  test_predicts_the_most_frequent_successors_first();
  test_min_observations();
  test_a_call_without_a_tool_is_refused_and_nothing_is_learned();
  test_max_calls_bounds_memory();
  test_state_round_trips();
  test_foreign_or_damaged_state_is_refused_and_changes_nothing();
  if (failures == 0) std::printf("@NAME@: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
