// The in-process evaluator: calls, scoring, expected errors, the host's input check, and the
// report's JSON form; against a scripted Tool and against real plugins through the loader.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "evaluation/evaluator.hpp"
#include "plugin_harness.hpp"

namespace moss {
namespace {

// A Tool whose answers the test writes; it records the arguments of every call.
class ScriptedTool final : public sdk::Tool {
 public:
  std::function<sdk::Result<std::string>(std::string_view)> answer = [](std::string_view) {
    return sdk::Result<std::string>(std::string(R"({"v":1})"));
  };
  sdk::Result<sdk::ToolInfo> info_result =
      sdk::ToolInfo{"scripted", "answers as told", R"({"type":"object"})", false};
  std::vector<std::string> calls;

  sdk::Status init(const sdk::InitContext&) noexcept override { return {}; }
  sdk::Result<sdk::ToolInfo> info() const noexcept override { return info_result; }
  sdk::Result<std::string> invoke(std::string_view args) noexcept override {
    calls.emplace_back(args);
    return answer(args);
  }
};

EvalSuite suite_of(const std::string& text) {
  auto suite = parse_suite(text, "t.jsonl");
  INFO(suite.status().to_string());
  REQUIRE(suite.ok());
  return std::move(suite.value());
}

const CaseResult& result_of(const EvalReport& report, const std::string& id) {
  for (const auto& c : report.cases) {
    if (c.id == id) return c;
  }
  FAIL("no result for case " << id);
  throw std::logic_error("unreachable");
}

TEST_CASE("the score is the passed weight over the total weight") {
  ScriptedTool tool;
  EvalReport report =
      evaluate_tool(tool, suite_of(R"({"id":"heavy","input":{},"expect":{"v":1},"weight":3}
{"id":"light","input":{},"expect":{"v":2}})"));
  CHECK(report.total == 2);
  CHECK(report.passed == 1);
  CHECK(report.total_weight == 4.0);
  CHECK(report.passed_weight == 3.0);
  CHECK(report.score == Approx(0.75));
  CHECK(result_of(report, "heavy").passed);
  const CaseResult& light = result_of(report, "light");
  CHECK_FALSE(light.passed);
  CHECK(light.weight == 1.0);
  CHECK(light.actual == R"({"v":1})");
  CHECK(light.failure == "at /v: expected 2, got 1");
}

TEST_CASE("the tool receives the input as compact JSON with sorted keys") {
  ScriptedTool tool;
  evaluate_tool(tool,
                suite_of(R"({"id":"a","input":{"b":1, "a":{"d":2,"c":[3, 4]}},"expect":{}})"));
  REQUIRE(tool.calls.size() == 1);
  CHECK(tool.calls[0] == R"({"a":{"c":[3,4],"d":2},"b":1})");
}

TEST_CASE("a call that fails fails its case with the error text") {
  ScriptedTool tool;
  tool.answer = [](std::string_view) {
    return sdk::Result<std::string>(sdk::Status(sdk::Code::not_found, "no such row"));
  };
  EvalReport report = evaluate_tool(tool, suite_of(R"({"id":"a","input":{},"expect":{}})"));
  const CaseResult& a = result_of(report, "a");
  CHECK_FALSE(a.passed);
  CHECK(a.error == "not_found: no such row");
  CHECK(a.failure == "the call failed: not_found: no such row");
  CHECK(a.actual.empty());
  CHECK(report.score == 0.0);
}

TEST_CASE("an expected error passes only when the call fails with that code") {
  ScriptedTool tool;
  tool.answer = [](std::string_view args) {
    if (args.find("ok") != std::string_view::npos) {
      return sdk::Result<std::string>(std::string("{}"));
    }
    return sdk::Result<std::string>(sdk::Status(sdk::Code::invalid_argument, "bad text"));
  };
  EvalReport report =
      evaluate_tool(tool, suite_of(R"({"id":"same","input":{},"expect":{"error":"invalid_argument"}}
{"id":"other","input":{},"expect":{"error":"not_found"}}
{"id":"none","input":{"ok":1},"expect":{"error":"invalid_argument"}})"));
  CHECK(result_of(report, "same").passed);
  CHECK(result_of(report, "same").error == "invalid_argument: bad text");
  CHECK(result_of(report, "other").failure ==
        "expected error not_found, got invalid_argument: bad text");
  CHECK(result_of(report, "none").failure == "expected error invalid_argument, got an output: {}");
}

TEST_CASE("an input the tool's schema refuses gets the host's invalid_argument, not a call") {
  ScriptedTool tool;
  tool.info_result = sdk::ToolInfo{"scripted", "", R"({"type":"object","required":["text"]})"};
  EvalReport report = evaluate_tool(
      tool, suite_of(R"({"id":"refused","input":{},"expect":{"error":"invalid_argument"}}
{"id":"not-object","input":[1],"expect":{}})"));
  CHECK(tool.calls.empty());
  CHECK(result_of(report, "refused").passed);
  CHECK_THAT(result_of(report, "refused").error,
             Catch::StartsWith("invalid_argument: arguments do not match the tool's input schema"));
  CHECK(result_of(report, "not-object").error ==
        "invalid_argument: tool arguments must be a JSON object");
}

TEST_CASE("if Tool::info fails, every case fails with its error and invoke is never called") {
  ScriptedTool tool;
  tool.info_result = sdk::Status(sdk::Code::internal, "no info today");
  EvalReport report = evaluate_tool(tool, suite_of(R"({"id":"a","input":{},"expect":{}}
{"id":"b","input":{},"expect":{}})"));
  CHECK(tool.calls.empty());
  CHECK(report.passed == 0);
  for (const auto& c : report.cases)
    CHECK(c.error == "internal: no info today");
}

TEST_CASE("an invalid input schema fails every case as an internal error") {
  ScriptedTool tool;
  tool.info_result = sdk::ToolInfo{"scripted", "", R"({"type": 12})"};
  EvalReport report = evaluate_tool(
      tool, suite_of(R"({"id":"a","input":{},"expect":{"error":"invalid_argument"}})"));
  CHECK_FALSE(result_of(report, "a").passed);
  CHECK_THAT(result_of(report, "a").error,
             Catch::StartsWith("internal: the tool's input schema is invalid"));
}

TEST_CASE("an output that is not JSON fails its case") {
  ScriptedTool tool;
  tool.answer = [](std::string_view) { return sdk::Result<std::string>(std::string("hello")); };
  EvalReport report = evaluate_tool(tool, suite_of(R"({"id":"a","input":{},"expect":"hello"})"));
  CHECK(result_of(report, "a").failure == "the output is not valid JSON");
  CHECK(result_of(report, "a").actual == "hello");
}

TEST_CASE("a long output is cut in the record but matched in full") {
  const std::string text(10000, 'x');
  ScriptedTool tool;
  tool.answer = [&](std::string_view) {
    return sdk::Result<std::string>(nlohmann::json(text).dump());
  };
  EvalReport report =
      evaluate_tool(tool, suite_of(R"({"id":"a","input":{},"expect":")" + text + "\"}"));
  CHECK(result_of(report, "a").passed);
  CHECK(result_of(report, "a").actual.size() == kMaxRecordedOutputBytes);
}

TEST_CASE("the before_case hook sees every case, in order, before it runs") {
  ScriptedTool tool;
  std::vector<std::string> seen;
  EvalHooks hooks;
  hooks.before_case = [&](const EvalCase& c) {
    seen.push_back(c.id + "@" + std::to_string(tool.calls.size()));
  };
  evaluate_tool(tool, suite_of(R"({"id":"a","input":{},"expect":{}}
{"id":"b","input":{},"expect":{}})"),
                hooks);
  CHECK(seen == std::vector<std::string>{"a@0", "b@1"});
}

TEST_CASE("only tool plugins can be evaluated, and the refusal says so") {
  PluginManifest manifest;
  manifest.name = "keeper";
  manifest.kinds = static_cast<std::uint32_t>(sdk::Kind::guard);
  Status refused = check_evaluable(manifest);
  CHECK(refused.code() == Code::failed_precondition);
  CHECK(refused.message() ==
        "plugin 'keeper' implements guard, not tool: only tool plugins have evaluation cases so "
        "far");
  manifest.kinds |= static_cast<std::uint32_t>(sdk::Kind::tool);
  CHECK(check_evaluable(manifest).ok());
}

TEST_CASE("a report survives its JSON form, and the totals are recomputed from the cases") {
  ScriptedTool tool;
  EvalReport report =
      evaluate_tool(tool, suite_of(R"({"id":"a","input":{},"expect":{"v":1},"weight":2}
{"id":"b","input":{},"expect":{"v":3}})"));
  nlohmann::json document = report_to_json(report);
  document["score"] = 1.0;  // ignored: recomputed
  auto back = report_from_json(document);
  INFO(back.status().to_string());
  REQUIRE(back.ok());
  CHECK(back->score == Approx(2.0 / 3.0));
  CHECK(back->passed == 1);
  REQUIRE(back->cases.size() == 2);
  CHECK(back->cases[1].failure == report.cases[1].failure);
  CHECK(back->cases[1].actual == R"({"v":1})");
}

TEST_CASE("a document that is not a report is refused") {
  CHECK(report_from_json(nlohmann::json::parse(R"({"cases":[{"id":"a"}]})")).status().code() ==
        Code::invalid_argument);
  CHECK_FALSE(report_from_json(nlohmann::json::parse("[]")).ok());
}

TEST_CASE("fixture-good through the real loader scores by its configured prefix") {
  auto library = test::load_plugin(MOSS_FIXTURE_DIR "/fixture-good.so");
  EvalSuite suite = suite_of(
      R"({"id":"prefixed","input":{"x":1},"expect":{"prefix":">","args":{"x":1}},"weight":3}
{"id":"echoed","input":{"x":2},"expect":{"args":{"x":2}},"match":"subset"})");
  CHECK(evaluate_tool(*test::create<sdk::Tool>(library), suite).score == 1.0);
  EvalReport other = evaluate_tool(*test::create<sdk::Tool>(library, R"({"prefix":"!"})"), suite);
  CHECK(other.score == Approx(0.25));
  CHECK(result_of(other, "prefixed").failure == R"(at /prefix: expected ">", got "!")");
}

TEST_CASE("fixture-thrower's exceptions fail every case with their text, and the run completes") {
  auto library = test::load_plugin(MOSS_FIXTURE_DIR "/fixture-thrower.so");
  EvalReport report =
      evaluate_tool(*test::create<sdk::Tool>(library), suite_of(R"({"id":"a","input":{},"expect":{}}
{"id":"b","input":{},"expect":{}})"));
  REQUIRE(report.cases.size() == 2);
  for (const auto& c : report.cases)
    CHECK(c.error == "plugin_exception: Tool::info threw: boom in info");
  CHECK(report.score == 0.0);
}

TEST_CASE("text-tool's bundled suite passes in full against text-tool") {
  auto library = test::load_plugin(MOSS_TEXT_TOOL_FILE);
  auto suite = load_suite(MOSS_TEXT_TOOL_EVAL_DIR);
  INFO(suite.status().to_string());
  REQUIRE(suite.ok());
  EvalReport report = evaluate_tool(*test::create<sdk::Tool>(library), suite.value());
  for (const auto& c : report.cases) {
    INFO(c.id << ": " << c.failure);
    CHECK(c.passed);
  }
  CHECK(report.score == 1.0);
}

}  // namespace
}  // namespace moss
