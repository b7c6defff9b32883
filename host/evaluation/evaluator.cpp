// Running a suite against a Tool: the host's input check, the call, the match, the score.
#include "evaluation/evaluator.hpp"

#include <chrono>
#include <optional>

#include "util/json_schema.hpp"

namespace moss {
namespace {

using nlohmann::json;

// The tool's input schema, or the error every case gets instead.
Result<JsonSchema> input_schema(sdk::Tool& tool) {
  sdk::Result<sdk::ToolInfo> info = tool.info();
  if (!info.ok()) return info.status();
  auto schema = JsonSchema::compile(info->input_schema_json, "tool '" + info->name + "' input");
  if (!schema.ok()) {
    return make_error(Code::internal,
                      "the tool's input schema is invalid: " + schema.status().message());
  }
  return schema;
}

// What the host answers for `input` before the tool sees it: nullopt if it may be passed on.
std::optional<Status> check_input(const json& input, const JsonSchema& schema) {
  if (!input.is_object()) {
    return make_error(Code::invalid_argument, "tool arguments must be a JSON object");
  }
  std::vector<SchemaViolation> violations = schema.validate(input);
  if (violations.empty()) return std::nullopt;
  std::string message = "arguments do not match the tool's input schema:";
  for (const auto& v : violations)
    message += " " + (v.path.empty() ? "(arguments)" : v.path) + ": " + v.message + ";";
  message.pop_back();
  return make_error(Code::invalid_argument, message);
}

// Decides a case from the call's outcome.
void judge(const EvalCase& c, const sdk::Result<std::string>& output, CaseResult& result) {
  if (!output.ok()) {
    const Status& status = output.status();
    result.error = status.to_string();
    if (c.expected_error == status.code()) {
      result.passed = true;
    } else if (c.expected_error) {
      result.failure = std::string("expected error ") + sdk::code_name(*c.expected_error) +
                       ", got " + result.error;
    } else {
      result.failure = "the call failed: " + result.error;
    }
    return;
  }
  const std::string& text = output.value();
  result.actual =
      text.size() > kMaxRecordedOutputBytes ? text.substr(0, kMaxRecordedOutputBytes) : text;
  if (c.expected_error) {
    result.failure = std::string("expected error ") + sdk::code_name(*c.expected_error) +
                     ", got an output: " + result.actual.substr(0, 120);
    return;
  }
  json actual = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (actual.is_discarded()) {
    result.failure = "the output is not valid JSON";
    return;
  }
  std::optional<std::string> mismatch = match_output(c, actual);
  result.passed = !mismatch;
  if (mismatch) result.failure = *mismatch;
}

}  // namespace

Status check_evaluable(const PluginManifest& manifest) {
  if (manifest.implements(sdk::Kind::tool)) return Status();
  return make_error(Code::failed_precondition,
                    "plugin '" + manifest.name + "' implements " + kinds_to_string(manifest.kinds) +
                        ", not tool: only tool plugins have evaluation cases so far");
}

EvalReport evaluate_tool(sdk::Tool& tool, const EvalSuite& suite, const EvalHooks& hooks) {
  EvalReport report;
  Result<JsonSchema> schema = input_schema(tool);
  for (const EvalCase& c : suite.cases) {
    if (hooks.before_case) hooks.before_case(c);
    CaseResult result;
    result.id = c.id;
    result.weight = c.weight;
    std::optional<Status> refused;
    if (!schema.ok()) {
      refused = schema.status();
    } else {
      refused = check_input(c.input, schema.value());
    }
    if (refused) {
      judge(c, *refused, result);
    } else {
      auto start = std::chrono::steady_clock::now();
      sdk::Result<std::string> output = tool.invoke(c.input.dump());
      result.elapsed_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      judge(c, output, result);
    }
    report.cases.push_back(std::move(result));
  }
  summarize(report);
  return report;
}

void summarize(EvalReport& report) {
  report.passed = 0;
  report.total = report.cases.size();
  report.passed_weight = 0.0;
  report.total_weight = 0.0;
  for (const CaseResult& c : report.cases) {
    report.total_weight += c.weight;
    if (c.passed) {
      ++report.passed;
      report.passed_weight += c.weight;
    }
  }
  report.score = report.total_weight > 0 ? report.passed_weight / report.total_weight : 0.0;
}

json report_to_json(const EvalReport& report) {
  json cases = json::array();
  for (const CaseResult& c : report.cases) {
    cases.push_back({{"id", c.id},
                     {"passed", c.passed},
                     {"weight", c.weight},
                     {"actual", c.actual},
                     {"error", c.error},
                     {"failure", c.failure},
                     {"elapsed_ms", c.elapsed_ms}});
  }
  return {{"cases", std::move(cases)},
          {"passed", report.passed},
          {"total", report.total},
          {"passed_weight", report.passed_weight},
          {"total_weight", report.total_weight},
          {"score", report.score}};
}

Result<EvalReport> report_from_json(const json& document) {
  EvalReport report;
  try {
    for (const json& c : document.at("cases")) {
      CaseResult result;
      result.id = c.at("id").get<std::string>();
      result.passed = c.at("passed").get<bool>();
      result.weight = c.at("weight").get<double>();
      result.actual = c.at("actual").get<std::string>();
      result.error = c.at("error").get<std::string>();
      result.failure = c.at("failure").get<std::string>();
      result.elapsed_ms = c.at("elapsed_ms").get<double>();
      if (!(result.weight > 0)) {
        return make_error(Code::invalid_argument, "case '" + result.id + "' has weight <= 0");
      }
      report.cases.push_back(std::move(result));
    }
  } catch (const json::exception& e) {
    return make_error(Code::invalid_argument, std::string("not an evaluation report: ") + e.what());
  }
  summarize(report);
  return report;
}

}  // namespace moss
