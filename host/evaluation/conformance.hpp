// The conformance kit behind `moss plugin test`: checks a plugin file against the SDK's
// contract, kind by kind. host/evaluation/README.md lists every check and what it demands.
//
// Two halves:
//   - the checks themselves (conformance_checks.cpp), which call plugin code and so only ever
//     run inside the conformance worker (`moss conformance-worker`, worker.hpp), each on
//     objects of its own;
//   - check_conformance (conformance.cpp), which runs in the host: it starts the worker, and
//     when the worker dies in a check (a crash, a hang, a memory hog) records that check as
//     failed with the reason and starts a fresh worker at the next one, so one bad method
//     never hides the rest. Then it runs the plugin's eval suite, if it has one, in the
//     isolated evaluator.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <moss/sdk/object.hpp>
#include <nlohmann/json.hpp>

#include "evaluation/isolated.hpp"
#include "loader/loader.hpp"
#include "util/status.hpp"

namespace moss {

enum class CheckStatus {
  passed = 1,
  failed = 2,
  skipped = 3,  // not applicable, or an optional method the plugin does not implement
};

// "passed", "failed", "skipped".
const char* check_status_name(CheckStatus status);

struct CheckResult {
  std::string id;  // e.g. "tool.input_schema"
  CheckStatus status = CheckStatus::failed;
  std::string detail;  // why it failed or was skipped; what was seen when it passed
};

nlohmann::json check_to_json(const CheckResult& check);
Result<CheckResult> check_from_json(const nlohmann::json& document);

// What one check is given, inside the worker.
struct CheckContext {
  std::shared_ptr<Library> library;
  std::string settings_json = "{}";  // the caller's settings, before defaults
  std::string instance;              // the instance name init receives
  sdk::Logger* logger = nullptr;
  sdk::HostServices* host = nullptr;
  // Tool inputs the plugin should accept: the inputs of its eval suite's cases that expect
  // success. May be empty.
  std::vector<nlohmann::json> sample_inputs;
};

struct ConformanceCheck {
  std::string id;
  std::string summary;  // what it demands, one line
  std::function<CheckResult(CheckContext&)> run;
};

// The checks for a plugin with this manifest, in the order they run: the general ones
// ("descriptor", "config_schema", "init"), then each implemented kind's. The host uses the
// ids to resume after a worker dies; the worker runs them.
std::vector<ConformanceCheck> conformance_checks(const PluginManifest& manifest);

// What `moss plugin test` checks.
struct ConformanceTarget {
  std::filesystem::path plugin_file;
  std::string settings_json = "{}";
  std::optional<std::filesystem::path> suite;  // eval suite (.jsonl or folder), if any
};

struct ConformanceReport {
  PluginManifest manifest;
  std::vector<CheckResult> checks;  // in order; the eval suite is the last, "eval_suite"
  std::optional<IsolatedRun> eval;  // the suite's run, when there was one
  std::size_t workers = 0;          // worker processes started for the checks
  bool passed() const;              // no check failed
};

nlohmann::json conformance_to_json(const ConformanceReport& report);

// Runs every check and the eval suite. `manifest` is the file's, already read and found
// compatible with this host (inspect_plugin_file, check_compatibility): refusals that need no
// plugin code are the caller's. Errors (not check failures): the suite cannot be read, the
// worker cannot be started.
Result<ConformanceReport> check_conformance(const IsolatedEvaluator& evaluator,
                                            const ConformanceTarget& target,
                                            const PluginManifest& manifest);

}  // namespace moss
