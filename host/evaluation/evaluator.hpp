// The in-process evaluator: runs a suite against a Tool object and scores it. Candidates are
// never evaluated in the host itself; the eval worker (worker.hpp) runs this in a child.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <moss/sdk/tool.hpp>
#include <nlohmann/json.hpp>

#include "evaluation/suite.hpp"
#include "loader/loader.hpp"
#include "util/status.hpp"

namespace moss {

// Longer tool outputs are cut to this many bytes in CaseResult::actual (matching always sees
// the whole output).
inline constexpr std::size_t kMaxRecordedOutputBytes = 4096;

struct CaseResult {
  std::string id;
  bool passed = false;
  double weight = 1.0;
  std::string actual;       // the tool's output (JSON text, cut to kMaxRecordedOutputBytes), if any
  std::string error;        // the call's error as "code: message", if it failed
  std::string failure;      // why the case failed, one line; empty when it passed
  double elapsed_ms = 0.0;  // time spent in Tool::invoke
};

struct EvalReport {
  std::vector<CaseResult> cases;  // in suite order
  std::size_t passed = 0;
  std::size_t total = 0;
  double passed_weight = 0.0;
  double total_weight = 0.0;
  double score = 0.0;  // passed_weight / total_weight, in [0, 1]; 0 without cases
};

struct EvalHooks {
  // Called before each case runs; the eval worker uses it to know which case was in flight.
  std::function<void(const EvalCase&)> before_case;
};

// Ok if the plugin has case semantics: only Tool plugins do so far. Otherwise a
// failed_precondition error that says so.
Status check_evaluable(const PluginManifest& manifest);

// Runs every case against `tool` the way the host's `moss call` does: Tool::info once for the
// input schema, each input validated against it (a violation is the host's invalid_argument
// error, the tool is not called), then Tool::invoke with the input as compact JSON, keys
// sorted. If info fails or its schema is invalid, every case fails with that error. A case
// passes when its expectation matches (suite.hpp); errors never stop the run.
EvalReport evaluate_tool(sdk::Tool& tool, const EvalSuite& suite, const EvalHooks& hooks = {});

// Sets the totals and the score of `report` from its cases.
void summarize(EvalReport& report);

nlohmann::json report_to_json(const EvalReport& report);
// Reads report_to_json's form; the totals and the score are recomputed from the cases.
Result<EvalReport> report_from_json(const nlohmann::json& document);

}  // namespace moss
