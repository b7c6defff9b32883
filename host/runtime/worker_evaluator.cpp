// Glue between VersionControl and the isolated evaluator: where the suite and settings of an
// instance come from, and how a worker's outcome becomes an EvaluationRun.
#include "runtime/worker_evaluator.hpp"

#include "evaluation/isolated.hpp"
#include "runtime/plugin_manager.hpp"

namespace moss {

WorkerLimits worker_limits(const Config& config) {
  WorkerLimits limits;
  limits.cpu_s = config.evaluation.cpu_s;
  limits.address_space_bytes = config.evaluation.memory_mb * 1024 * 1024;
  limits.open_files = config.evaluation.open_files;
  limits.wall_ms = config.evaluation.wall_s * 1000;
  return limits;
}

VersionEvaluator make_worker_evaluator(const Config& config, const PluginManager& plugins,
                                       const std::filesystem::path& worker_binary) {
  IsolatedEvaluator evaluator(worker_limits(config), worker_binary);
  return [evaluator, &plugins](const VersionRow& version,
                               const std::string& purpose) -> Result<EvaluationRun> {
    auto configured = plugins.configured(version.plugin);
    if (!configured.ok()) return configured.status();
    if (configured->config.eval_dir.empty()) {
      return Status(Code::failed_precondition,
                    "plugin '" + version.plugin +
                        "' has no evaluation suite: set eval in [plugins." + version.plugin +
                        "] to its eval/ folder");
    }
    EvalTarget target;
    target.plugin_file = version.path;
    target.suite = configured->config.eval_dir;
    // The raw table: the version's own schema supplies its defaults in the worker.
    target.settings_json = configured->config.settings_json;
    target.instance = version.plugin;
    auto run = evaluator.evaluate(target);
    if (!run.ok()) return run.status();

    EvaluationRun result;
    result.outcome = outcome_name(run->outcome.kind);
    result.detail = run->outcome.detail;
    if (run->outcome.kind == OutcomeKind::ok && run->report) {
      result.score = run->report->score;
      result.passed = static_cast<std::int64_t>(run->report->passed);
      result.total = static_cast<std::int64_t>(run->report->total);
    }
    nlohmann::json report = run_to_json(run.value());
    report["purpose"] = purpose;
    result.report_json = report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return result;
  };
}

}  // namespace moss
