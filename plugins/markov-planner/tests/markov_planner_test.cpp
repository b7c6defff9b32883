// markov-planner's behaviour, tested on the class directly: counting, probabilities derived
// from counts (not the seed's in-place normalisation), argument tracking, limits, ids, stats
// and state round trips.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "markov_planner.hpp"

using Catch::Matchers::Contains;
using moss::plugins::MarkovPlanner;
using moss::sdk::Code;
using moss::sdk::PlannedCall;
using moss::sdk::Prediction;
using nlohmann::json;

namespace {

PlannedCall call(const std::string& tool, const std::string& args = "{}") {
  return {tool, args};
}

void learn(MarkovPlanner& planner, const std::vector<PlannedCall>& trace) {
  auto status = planner.learn(trace);
  INFO(status.to_string());
  REQUIRE(status.ok());
}

std::vector<Prediction> predict(const MarkovPlanner& planner, const std::string& tool, int max = 10,
                                double min = 0.0) {
  auto predictions = planner.predict(call(tool), max, min);
  INFO(predictions.status().to_string());
  REQUIRE(predictions.ok());
  return predictions.value();
}

void configure(MarkovPlanner& planner, const std::string& config_json) {
  moss::sdk::InitContext context;
  context.config_json = config_json;
  auto status = planner.init(context);
  INFO(status.to_string());
  REQUIRE(status.ok());
}

}  // namespace

TEST_CASE("a prediction follows the counted transition", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("search"), call("fetch")});
  auto predictions = predict(planner, "search");
  REQUIRE(predictions.size() == 1);
  CHECK(predictions[0].call.tool == "fetch");
  CHECK(predictions[0].confidence == 1.0);
}

TEST_CASE("learning traces one by one gives the probabilities of their pooled counts",
          "[planner]") {
  // The seed normalises in place after each trace; after these three traces it would say
  // 0.25 / 0.75 instead of 1/3 / 2/3.
  MarkovPlanner planner;
  learn(planner, {call("a"), call("b")});
  learn(planner, {call("a"), call("c")});
  learn(planner, {call("a"), call("c")});
  auto predictions = predict(planner, "a");
  REQUIRE(predictions.size() == 2);
  CHECK(predictions[0].call.tool == "c");
  CHECK(predictions[0].confidence == Approx(2.0 / 3.0));
  CHECK(predictions[1].call.tool == "b");
  CHECK(predictions[1].confidence == Approx(1.0 / 3.0));
}

TEST_CASE("separate traces and one trace with the same transitions predict the same", "[planner]") {
  MarkovPlanner separate;
  learn(separate, {call("a"), call("b")});
  learn(separate, {call("a"), call("c")});
  learn(separate, {call("a"), call("c")});
  MarkovPlanner together;
  learn(together, {call("a"), call("c"), call("a"), call("b"), call("a"), call("c")});
  auto x = predict(separate, "a");
  auto y = predict(together, "a");
  REQUIRE(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(x[i].call.tool == y[i].call.tool);
    CHECK(x[i].confidence == y[i].confidence);
  }
}

TEST_CASE("a prediction carries the most frequent arguments seen for that transition",
          "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("ls", R"({"dir":"/"})"), call("cat", R"({"file":"a"})")});
  learn(planner, {call("ls", R"({"dir":"/tmp"})"), call("cat", R"({"file":"b"})")});
  learn(planner, {call("ls"), call("cat", R"({"file":"b"})")});
  auto predictions = predict(planner, "ls");
  REQUIRE(predictions.size() == 1);
  CHECK(predictions[0].call.arguments_json == R"({"file":"b"})");
}

TEST_CASE("confidence is the probability of the exact call, arguments included", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("a"), call("b", "1"), call("a"), call("b", "1"), call("a"), call("b", "2"),
                  call("a"), call("c")});
  auto predictions = predict(planner, "a");
  REQUIRE(predictions.size() == 2);
  CHECK(predictions[0].call.tool == "b");
  CHECK(predictions[0].call.arguments_json == "1");
  CHECK(predictions[0].confidence == 0.5);  // b("1") 2 of 4, not b 3 of 4
  CHECK(predictions[1].confidence == 0.25);
}

TEST_CASE("equally frequent argument texts resolve to the smallest text", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("a"), call("b", "zz"), call("a"), call("b", "aa")});
  CHECK(predict(planner, "a")[0].call.arguments_json == "aa");
}

TEST_CASE("the current call's arguments do not change the prediction", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("a", "x"), call("b")});
  auto predictions = planner.predict(call("a", "something else"), 3, 0.0);
  REQUIRE(predictions.ok());
  CHECK(predictions.value().size() == 1);
}

TEST_CASE("predictions below min_confidence are dropped", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("a"), call("b"), call("a"), call("b"), call("a"), call("c")});
  auto predictions = predict(planner, "a", 10, 0.6);
  REQUIRE(predictions.size() == 1);
  CHECK(predictions[0].call.tool == "b");
}

TEST_CASE("at most max_predictions come back, most likely first, ties by tool name", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("a"), call("d"), call("a"), call("d"), call("a"), call("c"), call("a"),
                  call("b"), call("a"), call("e")});
  auto predictions = predict(planner, "a", 3, 0.0);
  REQUIRE(predictions.size() == 3);
  CHECK(predictions[0].call.tool == "d");
  CHECK(predictions[1].call.tool == "b");
  CHECK(predictions[2].call.tool == "c");
}

TEST_CASE("max_predictions <= 0 and min_confidence < 0 fall back to the configured limits",
          "[planner]") {
  MarkovPlanner planner;
  configure(planner, R"({"max_speculations":1,"min_confidence":0.3})");
  learn(planner, {call("a"), call("b"), call("a"), call("b"), call("a"), call("c"), call("a"),
                  call("d"), call("a"), call("d")});
  auto predictions = planner.predict(call("a"), 0, -1.0);
  REQUIRE(predictions.ok());
  REQUIRE(predictions.value().size() == 1);
  CHECK(predictions.value()[0].call.tool == "b");
  CHECK(planner.predict(call("a"), 0, 0.0).value().size() == 1);
  CHECK(planner.predict(call("a"), 5, -1.0).value().size() == 2);  // b and d at 0.4
}

TEST_CASE("the default limits are three predictions at confidence 0.6", "[planner]") {
  MarkovPlanner planner;
  json stats = json::parse(planner.stats());
  CHECK(stats["max_speculations"] == 3);
  CHECK(stats["min_confidence"] == 0.6);
}

TEST_CASE("an unknown tool predicts nothing", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("a"), call("b")});
  CHECK(predict(planner, "b").empty());
  CHECK(predict(planner, "zzz").empty());
}

TEST_CASE("every prediction gets a unique id", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("a"), call("b"), call("a"), call("c")});
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    for (const auto& p : predict(planner, "a")) {
      CHECK_FALSE(p.id.empty());
      CHECK(ids.insert(p.id).second);
    }
  }
  CHECK(ids.size() == 100);
}

TEST_CASE("two planner objects do not hand out the same ids", "[planner]") {
  MarkovPlanner first;
  MarkovPlanner second;
  learn(first, {call("a"), call("b")});
  learn(second, {call("a"), call("b")});
  CHECK(predict(first, "a")[0].id != predict(second, "a")[0].id);
}

TEST_CASE("a NaN min_confidence is refused", "[planner]") {
  MarkovPlanner planner;
  auto result = planner.predict(call("a"), 3, std::numeric_limits<double>::quiet_NaN());
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == Code::invalid_argument);
}

TEST_CASE("a trace with a nameless call is refused whole", "[planner]") {
  MarkovPlanner planner;
  auto status = planner.learn({call("a"), call("b"), call("")});
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains("trace[2]"));
  CHECK(predict(planner, "a").empty());
  CHECK(json::parse(planner.stats())["traces_learned"] == 0);
}

TEST_CASE("stats count traces, transitions and distinct patterns", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("a"), call("b"), call("a"), call("b")});
  learn(planner, {call("a")});
  learn(planner, {});
  json stats = json::parse(planner.stats());
  CHECK(stats["traces_learned"] == 3);
  CHECK(stats["transitions"] == 3);
  CHECK(stats["patterns_learned"] == 2);  // a->b, b->a
  CHECK(stats["tools_with_successors"] == 2);
}

TEST_CASE("export then import gives the same predictions and stats", "[planner]") {
  MarkovPlanner original;
  learn(original, {call("a", "1"), call("b", R"({"q":"x\"y"})"), call("a"), call("c", "é")});
  learn(original, {call("a"), call("b", R"({"q":"x\"y"})")});
  MarkovPlanner restored;
  REQUIRE(restored.import_state(original.export_state()).ok());
  CHECK(restored.export_state() == original.export_state());
  CHECK(restored.stats() == original.stats());
  auto x = predict(original, "a");
  auto y = predict(restored, "a");
  REQUIRE(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(x[i].call.tool == y[i].call.tool);
    CHECK(x[i].call.arguments_json == y[i].call.arguments_json);
    CHECK(x[i].confidence == y[i].confidence);
  }
}

TEST_CASE("import refuses a malformed document and leaves the model unchanged", "[planner]") {
  MarkovPlanner planner;
  learn(planner, {call("a"), call("b")});
  const std::string before = planner.export_state();
  json good = json::parse(before);
  auto edit = [&](auto change) {
    json doc = good;
    change(doc);
    return doc.dump();
  };
  const std::string bad = GENERATE_COPY(
      std::string("{"), std::string("null"),
      edit([](json& d) { d["format"] = "markov-planner/2"; }),
      edit([](json& d) { d["traces"] = -1; }), edit([](json& d) { d["transitions"] = "a->b"; }),
      edit([](json& d) { d["transitions"][0]["from"] = ""; }),
      edit([](json& d) { d["transitions"][0]["count"] = 0; }),
      edit([](json& d) { d["transitions"][0]["count"] = 2; }),  // arguments sum to 1
      edit([](json& d) { d["transitions"][0]["arguments"] = json::array(); }),
      edit([](json& d) { d["transitions"][0]["arguments"][0]["json"] = 5; }),
      edit([](json& d) { d["transitions"].push_back(d["transitions"][0]); }));
  INFO(bad);
  auto status = planner.import_state(bad);
  CHECK(status.code() == Code::invalid_argument);
  CHECK(planner.export_state() == before);
}

TEST_CASE("a bad config value is refused at init with its key named", "[planner]") {
  auto [config, key] = GENERATE(table<std::string, std::string>({
      {R"({"max_speculations":0})", "max_speculations"},
      {R"({"max_speculations":"3"})", "max_speculations"},
      {R"({"min_confidence":1.5})", "min_confidence"},
  }));
  MarkovPlanner planner;
  moss::sdk::InitContext context;
  context.config_json = config;
  auto status = planner.init(context);
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains(key));
}

TEST_CASE("concurrent learning and predicting lose no counts", "[planner]") {
  MarkovPlanner planner;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&planner, t] {
      for (int i = 0; i < 200; ++i) {
        (void)planner.learn({call("a"), call(t % 2 == 0 ? "b" : "c")});
        (void)planner.predict(call("a"), 3, 0.0);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  json stats = json::parse(planner.stats());
  CHECK(stats["traces_learned"] == 800);
  CHECK(stats["transitions"] == 800);
  auto predictions = predict(planner, "a");
  REQUIRE(predictions.size() == 2);
  CHECK(predictions[0].confidence == 0.5);
}
