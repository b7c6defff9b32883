// The host side of the conformance kit: runs the checks in conformance workers, resuming
// after a worker that died, then the eval suite in the isolated evaluator.
#include "evaluation/conformance.hpp"

#include "evaluation/suite.hpp"

namespace moss {
namespace {

using nlohmann::json;

// How many failing cases the eval_suite check names.
constexpr std::size_t kFailuresShown = 5;

CheckResult eval_suite_check(const Result<IsolatedRun>& run, const std::filesystem::path& suite) {
  const std::string id = "eval_suite";
  if (!run.ok()) return {id, CheckStatus::failed, run.status().message()};
  if (run->outcome.kind != OutcomeKind::ok) {
    std::string detail = run->outcome.to_string();
    if (!run->in_flight.empty()) detail += " (in " + run->in_flight + ")";
    return {id, CheckStatus::failed, detail};
  }
  const EvalReport& report = *run->report;
  std::string summary = std::to_string(report.passed) + "/" + std::to_string(report.total) +
                        " cases of " + suite.string() + " passed, score " +
                        std::to_string(report.score).substr(0, 5);
  if (report.passed == report.total) return {id, CheckStatus::passed, summary};
  std::size_t shown = 0;
  for (const CaseResult& c : report.cases) {
    if (c.passed || shown++ == kFailuresShown) continue;
    summary += "; '" + c.id + "': " + c.failure;
  }
  if (report.total - report.passed > kFailuresShown) summary += "; ...";
  return {id, CheckStatus::failed, summary};
}

}  // namespace

const char* check_status_name(CheckStatus status) {
  switch (status) {
    case CheckStatus::passed: return "passed";
    case CheckStatus::failed: return "failed";
    case CheckStatus::skipped: return "skipped";
  }
  return "unknown";
}

json check_to_json(const CheckResult& check) {
  return {{"id", check.id}, {"status", check_status_name(check.status)}, {"detail", check.detail}};
}

Result<CheckResult> check_from_json(const json& document) {
  if (!document.is_object() || !document.contains("id") || !document["id"].is_string() ||
      !document.contains("status") || !document["status"].is_string() ||
      !document.contains("detail") || !document["detail"].is_string()) {
    return make_error(Code::invalid_argument, "not a check result: " + document.dump());
  }
  CheckResult check{document["id"], CheckStatus::failed, document["detail"]};
  const std::string status = document["status"];
  for (CheckStatus s : {CheckStatus::passed, CheckStatus::failed, CheckStatus::skipped}) {
    if (status == check_status_name(s)) {
      check.status = s;
      return check;
    }
  }
  return make_error(Code::invalid_argument, "unknown check status '" + status + "'");
}

bool ConformanceReport::passed() const {
  for (const CheckResult& check : checks) {
    if (check.status == CheckStatus::failed) return false;
  }
  return true;
}

json conformance_to_json(const ConformanceReport& report) {
  json checks = json::array();
  for (const CheckResult& check : report.checks)
    checks.push_back(check_to_json(check));
  return {{"plugin", report.manifest.name},
          {"version", report.manifest.version},
          {"kinds", kinds_to_string(report.manifest.kinds)},
          {"passed", report.passed()},
          {"checks", checks},
          {"workers", report.workers},
          {"eval", report.eval ? run_to_json(*report.eval) : json()}};
}

Result<ConformanceReport> check_conformance(const IsolatedEvaluator& evaluator,
                                            const ConformanceTarget& target,
                                            const PluginManifest& manifest) {
  // Only Tools have case semantics so far; another kind's suite is not read.
  const Status evaluable = check_evaluable(manifest);
  const bool has_suite = target.suite && evaluable.ok();
  if (has_suite) {
    auto suite = load_suite(*target.suite);
    if (!suite.ok()) return suite.status();
  }

  ConformanceReport report;
  report.manifest = manifest;
  const std::vector<ConformanceCheck> checks = conformance_checks(report.manifest);
  ConformanceJob job{target.plugin_file, target.settings_json,
                     has_suite ? *target.suite : std::filesystem::path(), 0};
  while (job.from < checks.size()) {
    auto run = evaluator.check(job);
    if (!run.ok()) return run.status();
    ++report.workers;
    for (const json& record : run->records) {
      auto check = check_from_json(record.value("check", json()));
      if (!check.ok()) return check.status();
      report.checks.push_back(std::move(check.value()));
    }
    job.from = report.checks.size();
    if (run->outcome.kind == OutcomeKind::ok) break;
    if (job.from >= checks.size()) break;  // died in teardown, after the last check
    // The worker died in check `job.from`, or before any check, loading the plugin (the
    // first check runs no plugin code). A check that killed it fails with the reason, and a
    // fresh worker resumes after it; a plugin that cannot load fails them all.
    std::string detail = run->outcome.to_string();
    if (job.from == 0 && run->records.empty()) {
      if (!run->in_flight.empty()) detail += " in " + run->in_flight;
      report.checks.push_back({checks[job.from].id, CheckStatus::failed, detail});
      for (std::size_t i = job.from + 1; i < checks.size(); ++i) {
        report.checks.push_back({checks[i].id, CheckStatus::skipped, "the plugin did not load"});
      }
      break;
    }
    if (!run->in_flight.empty()) detail += " in " + run->in_flight;
    report.checks.push_back({checks[job.from].id, CheckStatus::failed, detail});
    job.from = report.checks.size();
  }

  const std::string eval_id = "eval_suite";
  if (!evaluable.ok()) {
    report.checks.push_back({eval_id, CheckStatus::skipped, evaluable.message()});
  } else if (!target.suite) {
    report.checks.push_back({eval_id, CheckStatus::skipped, "no eval suite (pass --suite)"});
  } else {
    auto run = evaluator.evaluate({target.plugin_file, *target.suite, target.settings_json, ""});
    report.checks.push_back(eval_suite_check(run, *target.suite));
    if (run.ok()) report.eval = std::move(run.value());
  }
  return report;
}

}  // namespace moss
