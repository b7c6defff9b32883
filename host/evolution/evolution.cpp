#include "evolution/evolution.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <system_error>

#include <moss/sdk/evolver.hpp>
#include <nlohmann/json.hpp>

#include "evaluation/suite.hpp"
#include "evolution/builder.hpp"
#include "evolution/workspace.hpp"
#include "runtime/host_services.hpp"
#include "runtime/plugin_manager.hpp"
#include "util/sha256.hpp"

namespace moss {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::size_t kContextLogBytes = 4000;  // of a previous build log, in propose's context
constexpr int kFailuresConsidered = 100;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string tail(std::string_view text, std::size_t bytes) {
  if (text.size() <= bytes) return std::string(text);
  return "..." + std::string(text.substr(text.size() - bytes));
}

std::string short_commit(std::string_view commit) {
  return std::string(commit.substr(0, 10));
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

const char* format_name(sdk::PatchFormat format) {
  switch (format) {
    case sdk::PatchFormat::full_file: return "full_file";
    case sdk::PatchFormat::unified_diff: return "unified_diff";
    case sdk::PatchFormat::search_replace: return "search_replace";
  }
  return "unknown";
}

sdk::FailureReport to_report(const FailureRow& failure, const std::string& version_sha) {
  sdk::FailureReport report;
  report.task_id = failure.task_id;
  report.success = false;
  report.error = failure.error;
  report.score = failure.score.value_or(0.0);
  report.plugin = failure.plugin;
  report.plugin_version = version_sha;
  json trace = json::parse(failure.trace_json, nullptr, false);
  if (trace.is_array()) {
    for (const json& step : trace) {
      if (!step.is_object()) continue;
      sdk::TraceStep s;
      s.module = step.value("module", "");
      s.action = step.value("action", "");
      s.detail = step.value("detail", "");
      s.ok = step.value("ok", false);
      report.trace.push_back(std::move(s));
    }
  }
  return report;
}

// Calls `f` with the Evolver `instance` serves, under a lease.
template <class F>
auto with_evolver(PluginManager& plugins, const std::string& instance, const char* what, F f)
    -> decltype(f(std::declval<sdk::Evolver&>())) {
  auto slot = plugins.slot(instance);
  if (!slot.ok()) return slot.status();
  Lease lease = slot.value()->lease(what);
  if (!lease.ok()) return lease.status();
  auto* evolver = lease->get<sdk::Evolver>();
  if (evolver == nullptr) {
    return Status(Code::failed_precondition, "'" + instance + "' is not an Evolver plugin");
  }
  return f(*evolver);
}

}  // namespace

struct Evolution::Cycle {
  std::string instance;
  PluginConfig plugin;
  VersionRow active;
  std::string evolver;
  std::optional<Workspace> workspace;
  std::string parent_commit;
  CycleReport report;
  std::optional<EvaluationRun> baseline;
  EvolutionSpend spent;  // the day's LLM spend when the cycle began  // the serving version's run,
                         // if measured this cycle
};

Evolution::Evolution(PluginManager& plugins, Registry& registry, const Config& config,
                     VersionControl& versions, VersionEvaluator baseline, std::string actor,
                     ProgressFn progress)
    : plugins_(plugins),
      registry_(registry),
      config_(config),
      versions_(versions),
      baseline_(std::move(baseline)),
      actor_(std::move(actor)),
      progress_(std::move(progress)) {}

fs::path evolution_workspace_dir(const Config& config, const std::string& instance) {
  return config.state_dir / "evolution" / instance / "source.git";
}

void Evolution::stage(AttemptRow& attempt, const char* stage, std::string_view detail) {
  attempt.stage = stage;
  // Progress is best effort: a registry that cannot take it now fails the attempt's end.
  (void)registry_.update_attempt(attempt);
  if (progress_) progress_(stage, detail);
}

Result<EvolutionSpend> Evolution::check_budgets(const std::string& instance,
                                                std::int64_t parent_version_id) {
  const SelfEvolutionConfig& se = config_.self_evolution;
  if (!se.enabled) {
    return Status(Code::failed_precondition, "self-evolution is off ([self_evolution] enabled)");
  }
  const std::int64_t now = now_ms();
  auto spend = registry_.evolution_spend(instance, now - kDayMs);
  if (!spend.ok()) return spend.status();
  if (spend->attempts >= se.max_patches_per_day) {
    return Status(Code::failed_precondition,
                  "'" + instance + "' has had " + std::to_string(spend->attempts) +
                      " patches in the last 24 h (max_patches_per_day = " +
                      std::to_string(se.max_patches_per_day) + ")");
  }
  if (se.max_tokens_per_day > 0 && spend->tokens >= se.max_tokens_per_day) {
    return Status(Code::failed_precondition,
                  "'" + instance + "' has used " + std::to_string(spend->tokens) +
                      " LLM tokens in the last 24 h (max_tokens_per_day = " +
                      std::to_string(se.max_tokens_per_day) + ")");
  }
  if (se.max_cost_usd_per_day > 0 && spend->cost_usd >= se.max_cost_usd_per_day) {
    return Status(Code::failed_precondition,
                  "'" + instance + "' has spent " + std::to_string(spend->cost_usd) +
                      " USD on the LLM in the last 24 h (max_cost_usd_per_day = " +
                      std::to_string(se.max_cost_usd_per_day) + ")");
  }
  auto recent =
      registry_.attempts(instance, static_cast<int>(se.max_consecutive_build_failures) + 32);
  if (!recent.ok()) return recent.status();
  std::int64_t build_failures = 0;
  for (const AttemptRow& a : recent.value()) {
    if (a.outcome != attempt_outcomes::build_failed || a.parent_version_id != parent_version_id) {
      break;
    }
    ++build_failures;
  }
  if (build_failures >= se.max_consecutive_build_failures) {
    return Status(Code::failed_precondition,
                  "evolution of '" + instance + "' is paused: the last " +
                      std::to_string(build_failures) + " attempts on version " +
                      std::to_string(parent_version_id) +
                      " failed to build (max_consecutive_build_failures = " +
                      std::to_string(se.max_consecutive_build_failures) +
                      "); it resumes when another version serves");
  }
  std::int64_t llm_failures = 0;
  for (const AttemptRow& a : recent.value()) {
    if (a.outcome != attempt_outcomes::llm_failed) break;
    ++llm_failures;
  }
  if (llm_failures > 0 && se.llm_backoff_s > 0) {
    const std::int64_t wait_ms = std::min<std::int64_t>(
        se.llm_backoff_s * 1000 << std::min<std::int64_t>(llm_failures - 1, 20), kDayMs);
    const std::int64_t until = recent->front().finished_at_ms + wait_ms;
    if (now < until) {
      backoff_until_ms_ = until;
      return Status(Code::failed_precondition, "backing off after " + std::to_string(llm_failures) +
                                                   " failed LLM attempt(s): next attempt in " +
                                                   std::to_string((until - now + 999) / 1000) +
                                                   " s");
    }
  }
  Status gate = versions_.check_gate_open(instance);
  if (!gate.ok()) return gate;
  return spend;
}

Result<std::string> Evolution::source_commit(Cycle& cycle) {
  auto known = registry_.version_commit(cycle.active.id);
  if (!known.ok()) return known.status();
  if (!known->empty()) return known.value();
  // The serving version has no recorded source: it is the configured source tree.
  auto commit = cycle.workspace->snapshot(cycle.plugin.source_dir, "",
                                          "version " + std::to_string(cycle.active.id) + " (" +
                                              cycle.active.sha256.substr(0, 12) +
                                              "): snapshot of " + cycle.plugin.source_dir.string());
  if (!commit.ok()) return commit.status();
  Status linked = registry_.set_version_commit(cycle.active.id, commit.value());
  if (!linked.ok()) return linked;
  return commit;
}

void Evolution::record_eval_failures(const std::string& instance, std::int64_t version_id,
                                     const EvaluationRun& run) {
  json report = json::parse(run.report_json, nullptr, false);
  if (report.is_discarded()) return;
  NewFailure failure;
  failure.plugin = instance;
  failure.version_id = version_id;
  failure.source = failure_sources::eval_case;
  failure.score = run.score;
  if (run.outcome != "ok") {
    // The whole run failed: one failure for the case that was in flight.
    // The worker names what ran: "load", "init", "case '<id>'", "teardown".
    std::string in_flight = report.value("in_flight", "");
    if (in_flight.size() > 7 && in_flight.starts_with("case '") && in_flight.ends_with('\'')) {
      in_flight = in_flight.substr(6, in_flight.size() - 7);
    }
    failure.task_id = "eval:" + (in_flight.empty() ? std::string("run") : in_flight);
    failure.error = run.outcome + ": " + run.detail;
    failure.trace_json = dump(json::array({{{"module", instance},
                                            {"action", "eval_case"},
                                            {"detail", failure.error},
                                            {"ok", false}}}));
    (void)registry_.record_failure(failure);
    return;
  }
  const json& cases = report["report"]["cases"];
  if (!cases.is_array()) return;
  // The inputs and expectations are in the suite, not in the report.
  std::map<std::string, const EvalCase*> by_id;
  auto configured = plugins_.configured(instance);
  Result<EvalSuite> suite = configured.ok() && !configured->config.eval_dir.empty()
                                ? load_suite(configured->config.eval_dir)
                                : Result<EvalSuite>(Status(Code::not_found, "no suite"));
  if (suite.ok()) {
    for (const EvalCase& c : suite->cases)
      by_id[c.id] = &c;
  }
  for (const json& c : cases) {
    if (c.value("passed", true)) continue;
    const std::string id = c.value("id", "");
    failure.task_id = "eval:" + id;
    failure.error = c.value("failure", "");
    std::string detail;
    if (auto it = by_id.find(id); it != by_id.end()) {
      detail = "input " + dump(it->second->input) + ", expected " + dump(it->second->expect);
    }
    const std::string error = c.value("error", "");
    detail += (detail.empty() ? "" : ", ") +
              (error.empty() ? "got " + c.value("actual", "") : "error " + error);
    failure.trace_json = dump(json::array(
        {{{"module", instance}, {"action", "eval_case"}, {"detail", detail}, {"ok", false}}}));
    (void)registry_.record_failure(failure);
  }
}

Result<FailureRow> Evolution::pick_failure(Cycle& cycle) {
  auto open = registry_.failures(cycle.instance, kFailuresConsidered, cycle.active.id);
  if (!open.ok()) return open.status();
  // The serving version's suite runs once: its score is what a candidate must beat, and its
  // failing cases are the loop's input.
  auto scored = registry_.evaluations(cycle.instance, 1, cycle.active.id);
  if (!scored.ok()) return scored.status();
  if (open->empty() || scored->empty()) {
    if (progress_) progress_("baseline", "evaluating version " + std::to_string(cycle.active.id));
    auto run = baseline_(cycle.active, "baseline");
    if (!run.ok()) return run.status();
    NewEvaluation record{cycle.instance,  cycle.active.id, actor_,      "baseline", run->outcome,
                         run->detail,     run->score,      run->passed, run->total, "",
                         run->report_json};
    (void)registry_.record_evaluation(record);
    cycle.report.baseline_score = run->score;
    record_eval_failures(cycle.instance, cycle.active.id, run.value());
    cycle.baseline = std::move(run.value());
    open = registry_.failures(cycle.instance, kFailuresConsidered, cycle.active.id);
    if (!open.ok()) return open.status();
  }
  cycle.report.open_failures = static_cast<std::int64_t>(open->size());
  if (open->empty()) return Status(Code::not_found, "no failure to fix");
  // The failure with the fewest attempts on this version so far; the oldest among equals.
  auto tried = registry_.attempts(cycle.instance, 1000);
  if (!tried.ok()) return tried.status();
  auto attempts_on = [&](const FailureRow& f) {
    return std::count_if(tried->begin(), tried->end(), [&](const AttemptRow& a) {
      return a.failure_id == f.id && a.parent_version_id == cycle.active.id;
    });
  };
  const FailureRow* best = nullptr;
  for (auto it = open->rbegin(); it != open->rend(); ++it) {
    if (best == nullptr || attempts_on(*it) < attempts_on(*best)) best = &*it;
  }
  return *best;
}

Result<CycleReport> Evolution::run_cycle(const std::string& instance) {
  Cycle cycle;
  cycle.instance = instance;
  auto configured = plugins_.configured(instance);
  if (!configured.ok()) return configured.status();
  cycle.plugin = configured->config;
  if (cycle.plugin.source_dir.empty()) {
    return Status(Code::failed_precondition,
                  "'" + instance +
                      "' is not evolvable: set source = \"<its source folder>\" in "
                      "[plugins." +
                      instance + "]");
  }
  auto active = registry_.active_version(instance);
  if (!active.ok()) return active.status();
  if (!active.value()) {
    return Status(Code::failed_precondition, "'" + instance + "' has no serving version");
  }
  cycle.active = *active.value();
  auto evolver = plugins_.instance_of_kind(sdk::Kind::evolver, config_.self_evolution.evolver,
                                           "[self_evolution] evolver");
  if (!evolver.ok()) return evolver.status();
  cycle.evolver = evolver.value();
  backoff_until_ms_ = 0;
  auto spent = check_budgets(instance, cycle.active.id);
  if (!spent.ok()) return spent.status();
  cycle.spent = spent.value();

  auto workspace = Workspace::open(evolution_workspace_dir(config_, instance));
  if (!workspace.ok()) return workspace.status();
  cycle.workspace.emplace(std::move(workspace.value()));
  auto commit = source_commit(cycle);
  if (!commit.ok()) return commit.status();
  cycle.parent_commit = commit.value();

  auto failure = pick_failure(cycle);
  if (!failure.ok()) {
    if (failure.status().code() != Code::not_found) return failure.status();
    cycle.report.summary = "nothing to fix: version " + std::to_string(cycle.active.id) +
                           " has no recorded failure and passes its eval suite";
    return cycle.report;
  }
  return attempt(cycle, std::move(failure.value()));
}

Result<CycleReport> Evolution::attempt(Cycle& cycle, FailureRow failure) {
  const SelfEvolutionConfig& se = config_.self_evolution;
  auto started = registry_.start_attempt(cycle.instance, cycle.active.id, actor_);
  if (!started.ok()) return started.status();
  AttemptRow attempt = std::move(started.value());
  attempt.failure_id = failure.id;
  attempt.parent_commit = cycle.parent_commit;

  // The day's remaining LLM budget caps this attempt's chat calls.
  const EvolutionSpend& spent = cycle.spent;
  UsageScope usage(se.max_tokens_per_day > 0 ? se.max_tokens_per_day - spent.tokens : 0,
                   se.max_cost_usd_per_day > 0 ? se.max_cost_usd_per_day - spent.cost_usd : 0.0);
  // The usage so far is saved at every stage, so a host killed mid-attempt still counts it.
  auto take_usage = [&] {
    attempt.prompt_tokens = usage.usage().prompt_tokens;
    attempt.completion_tokens = usage.usage().completion_tokens;
    attempt.cost_usd = usage.usage().cost_usd;
  };
  auto advance = [&](const char* next, std::string_view detail) {
    take_usage();
    stage(attempt, next, detail);
  };
  auto finish = [&](const char* outcome, const std::string& reason) -> Result<CycleReport> {
    take_usage();
    auto finished = registry_.finish_attempt(attempt, outcome, reason);
    if (!finished.ok()) return finished.status();
    cycle.report.attempt = finished.value();
    cycle.report.summary = std::string(outcome) + ": " + reason;
    if (progress_) progress_(outcome, reason);
    return cycle.report;
  };

  advance(attempt_stages::analyze, "failure #" + std::to_string(failure.id) + " (" +
                                       failure.task_id + "): " + tail(failure.error, 160));
  auto pattern = with_evolver(plugins_, cycle.evolver, "Evolver::analyze", [&](sdk::Evolver& e) {
    return e.analyze(to_report(failure, cycle.active.sha256));
  });
  if (!pattern.ok())
    return finish(attempt_outcomes::llm_failed, "analyze: " + pattern.status().to_string());
  PatternRow row{cycle.instance,
                 pattern->pattern_id,
                 pattern->description,
                 pattern->root_cause,
                 pattern->affected_module,
                 pattern->occurrence_count,
                 pattern->last_occurrence_ms};
  (void)registry_.record_pattern(row, failure.id);
  attempt.pattern_id = pattern->pattern_id;

  auto sources = cycle.workspace->files(cycle.parent_commit);
  if (!sources.ok()) return finish(attempt_outcomes::failed, sources.status().message());
  std::string context = "Failing eval cases of the serving version:\n";
  auto open = registry_.failures(cycle.instance, 20, cycle.active.id);
  if (open.ok()) {
    for (const FailureRow& f : open.value()) {
      json trace = json::parse(f.trace_json, nullptr, false);
      std::string detail = trace.is_array() && !trace.empty() && trace[0].is_object()
                               ? trace[0].value("detail", "")
                               : "";
      context +=
          "- " + f.task_id + ": " + f.error + (detail.empty() ? "" : " (" + detail + ")") + "\n";
    }
  }
  auto previous = registry_.attempts(cycle.instance, 2);
  if (previous.ok() && previous->size() > 1) {
    const AttemptRow& last = (*previous)[1];  // [0] is this attempt
    if (last.parent_version_id == cycle.active.id && !last.outcome.empty()) {
      context += "\nThe previous attempt on this version ended " + last.outcome + ": " +
                 last.reason + "\n";
      if (last.outcome == attempt_outcomes::build_failed) {
        context += "Its build log:\n" + tail(last.build_log, kContextLogBytes) + "\n";
      }
    }
  }
  advance(attempt_stages::propose,
          "pattern " + pattern->pattern_id + ": " + tail(pattern->root_cause, 160));
  auto patch = with_evolver(plugins_, cycle.evolver, "Evolver::propose", [&](sdk::Evolver& e) {
    return e.propose(pattern.value(), sources.value(), context);
  });
  if (!patch.ok())
    return finish(attempt_outcomes::llm_failed, "propose: " + patch.status().to_string());
  attempt.patch_format = format_name(patch->format);
  attempt.patch_path = patch->path;
  attempt.patch_body = patch->body;
  attempt.patch_description = patch->description;
  attempt.patch_id = sha256_hex(patch->body);

  advance(attempt_stages::apply, std::string(format_name(patch->format)) + " for " + patch->path +
                                     " (" + std::to_string(patch->body.size()) + " bytes)");
  const std::string message =
      "attempt " + std::to_string(attempt.id) + ": " +
      (patch->description.empty() ? pattern->description : patch->description);
  auto applied = cycle.workspace->apply(cycle.parent_commit, patch.value(), message);
  if (!applied.ok()) return finish(attempt_outcomes::patch_refused, applied.status().message());
  attempt.commit = applied.value();

  advance(attempt_stages::build, "commit " + short_commit(attempt.commit));
  const fs::path build_dir =
      config_.state_dir / "evolution" / cycle.instance / "builds" / attempt.commit;
  const fs::path output = build_dir / (cycle.instance + ".so");
  std::error_code ec;
  fs::remove_all(build_dir, ec);
  Status checked_out = cycle.workspace->checkout(attempt.commit, build_dir);
  if (!checked_out.ok()) return finish(attempt_outcomes::failed, checked_out.message());
  auto built = build_plugin(build_settings(config_), build_dir, output);
  if (!built.ok()) {
    fs::remove_all(build_dir, ec);
    return finish(attempt_outcomes::build_failed, built.status().message());
  }
  attempt.build_log = built->log;
  attempt.build_ms = built->elapsed_ms;
  if (!built->ok) {
    fs::remove_all(build_dir, ec);
    return finish(attempt_outcomes::build_failed, built->reason);
  }

  auto staged = versions_.stage_candidate(cycle.instance, output, cycle.active.id);
  fs::remove_all(build_dir, ec);  // the version store holds its own copy now
  if (!staged.ok()) return finish(attempt_outcomes::rejected, staged.status().message());
  attempt.version_id = staged->id;
  (void)registry_.set_version_commit(staged->id, attempt.commit);
  advance(attempt_stages::evaluate,
          "version " + std::to_string(staged->id) + " (" + staged->sha256.substr(0, 12) +
              "), built in " + std::to_string(static_cast<int>(built->elapsed_ms)) + " ms");
  auto decision = versions_.evaluate(cycle.instance, cycle.baseline);
  if (!decision.ok()) return finish(attempt_outcomes::failed, decision.status().message());
  record_eval_failures(cycle.instance, staged->id, decision->run);
  cycle.report.decision = decision.value();
  const bool serves = decision->action == "promoted" || decision->action == "probation";
  return finish(serves ? attempt_outcomes::promoted : attempt_outcomes::rejected, decision->reason);
}

}  // namespace moss
