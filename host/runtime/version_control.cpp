// VersionControl. The order of every decision is: measure (in the worker), load in the host
// (only versions that ran clean in the worker), verdict, commit to the registry, switch the
// slot. A crash at any point leaves the registry at the last committed state, and the host
// comes back on the last active version.
#include "runtime/version_control.hpp"

#include <chrono>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>
#include "loader/loader.hpp"

#include "logging/logging.hpp"
#include "runtime/loaded_version.hpp"
#include "runtime/plugin_manager.hpp"
#include "runtime/ratchet_gate.hpp"

namespace moss {
namespace {

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_score(double score) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(3) << score;
  return text.str();
}

std::string short_sha(const VersionRow& row) {
  return row.sha256.substr(0, 12);
}

std::string when(std::int64_t unix_ms, std::int64_t now_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::ostringstream text;
  text << std::put_time(&utc, "%Y-%m-%d %H:%M:%S UTC") << " (in "
       << std::max<std::int64_t>(0, (unix_ms - now_ms + 999) / 1000) << " s)";
  return text.str();
}

Status wrong_plugin(const VersionRow& row, const std::string& instance) {
  return Status(Code::invalid_argument, "version " + std::to_string(row.id) + " belongs to '" +
                                            row.plugin + "', not '" + instance + "'");
}

}  // namespace

VersionControl::VersionControl(PluginManager& plugins, Registry& registry, const Config& config,
                               std::string actor, VersionEvaluator evaluator)
    : plugins_(plugins),
      registry_(registry),
      config_(config),
      actor_(std::move(actor)),
      evaluator_(std::move(evaluator)),
      now_ms_(system_now_ms) {}

// Counts the live calls of the version on probation and hands each full window to
// VersionControl::judge_probation.
class VersionControl::Probation final : public CallObserver {
 public:
  Probation(VersionControl& owner, std::string instance)
      : owner_(owner), instance_(std::move(instance)) {}

  void begin(std::int64_t version_id) {
    std::lock_guard lock(mutex_);
    version_id_ = version_id;
    calls_ = window_calls_ = window_failures_ = 0;
  }
  bool active() const {
    std::lock_guard lock(mutex_);
    return version_id_ != 0;
  }

  void on_call(std::int64_t version_id, bool ok) noexcept override {
    std::int64_t calls = 0;
    std::int64_t failures = 0;
    bool finished = false;
    {
      std::lock_guard lock(mutex_);
      // Calls that leased the predecessor before the switch do not count.
      if (version_id_ == 0 || version_id != version_id_) return;
      ++calls_;
      ++window_calls_;
      if (!ok) ++window_failures_;
      if (window_calls_ < owner_.config_.ratchet.probation_window) return;
      calls = window_calls_;
      failures = window_failures_;
      window_calls_ = window_failures_ = 0;
      finished = calls_ >= owner_.config_.ratchet.probation_calls;
    }
    try {
      owner_.judge_probation(instance_, version_id, calls, failures, finished);
    } catch (const std::exception& e) {
      log().error("plugin '{}': probation verdict failed: {}", instance_, e.what());
    }
  }

 private:
  VersionControl& owner_;
  const std::string instance_;
  mutable std::mutex mutex_;
  std::int64_t version_id_ = 0;  // 0: not on probation
  std::int64_t calls_ = 0;
  std::int64_t window_calls_ = 0;
  std::int64_t window_failures_ = 0;
};

VersionControl::~VersionControl() {
  std::lock_guard lock(probations_mutex_);
  for (const auto& [instance, probation] : probations_) {
    if (auto slot = plugins_.slot(instance); slot.ok()) slot.value()->set_observer(nullptr);
  }
}

Result<RatchetGate*> VersionControl::gate_for(const std::string& instance) {
  auto& gate = gates_[instance];
  if (!gate) {
    auto opened = RatchetGate::open(plugins_, config_, registry_, instance);
    if (!opened.ok()) return opened.status();
    gate = std::move(opened.value());
  }
  return gate.get();
}

void VersionControl::forget_gate(const std::string& instance) {
  gates_.erase(instance);
}

Result<VersionRow> VersionControl::after_manual_change(const std::string& instance,
                                                       Result<Switched> switched) {
  if (!switched.ok()) return switched.status();
  stop_probation(instance);  // the operator decided; probation has nothing left to judge
  return switched->row;
}

void VersionControl::start_probation(const std::string& instance, std::int64_t version_id) {
  std::lock_guard lock(probations_mutex_);
  auto& probation = probations_[instance];
  if (!probation) probation = std::make_unique<Probation>(*this, instance);
  probation->begin(version_id);
  if (auto slot = plugins_.slot(instance); slot.ok()) slot.value()->set_observer(probation.get());
}

void VersionControl::stop_probation(const std::string& instance) {
  std::lock_guard lock(probations_mutex_);
  auto it = probations_.find(instance);
  if (it == probations_.end()) return;
  it->second->begin(0);
  if (auto slot = plugins_.slot(instance); slot.ok()) slot.value()->set_observer(nullptr);
}

bool VersionControl::on_probation(const std::string& instance) const {
  std::lock_guard lock(probations_mutex_);
  auto it = probations_.find(instance);
  return it != probations_.end() && it->second->active();
}

void VersionControl::judge_probation(const std::string& instance, std::int64_t version_id,
                                     std::int64_t calls, std::int64_t failures, bool finished) {
  std::lock_guard decisions(decisions_mutex_);
  auto report = [&](const Status& s) {
    if (s.ok()) return;
    log().error("plugin '{}': probation: {}", instance, s.message());
    forget_gate(instance);  // what it recorded may not have been saved
  };
  auto version = registry_.version(version_id);
  if (!version.ok()) return report(version.status());
  if (version->state != VersionState::probation) return;  // decided meanwhile
  auto gate = gate_for(instance);
  if (!gate.ok()) return report(gate.status());
  const double score = static_cast<double>(calls - failures) / static_cast<double>(calls);
  auto verdict = gate.value()->record(score, short_sha(version.value()), "probation", now_ms_());
  if (!verdict.ok()) return report(verdict.status());
  auto state = gate.value()->state_json();
  if (!state.ok()) return report(state.status());
  const std::string verdict_name = sdk::guard_state_name(verdict->state);
  Attachments attachments;
  attachments.ratchet_state_json = state.value();
  attachments.evaluation =
      NewEvaluation{instance,
                    version_id,
                    actors::ratchet,
                    "probation",
                    "ok",
                    std::to_string(calls) + " live calls, " + std::to_string(failures) + " failed",
                    score,
                    calls - failures,
                    calls,
                    verdict_name,
                    "{}"};
  const std::string window =
      "success rate " + format_score(score) + " over " + std::to_string(calls) + " live calls";

  if (!verdict->allowed) {
    auto slot = plugins_.slot(instance);
    if (!slot.ok()) return report(slot.status());
    auto kept = slot.value()->predecessor();
    if (!kept) return report(Status(Code::internal, "no predecessor kept for the rollback"));
    auto target = registry_.version(kept->version_id());
    if (!target.ok()) return report(target.status());
    stop_probation(instance);
    const std::string reason = verdict_name + " during probation (" + window +
                               "): rolled back to version " + std::to_string(target->id);
    auto switched = switch_to(target.value(), kept, [&] {
      return registry_.activate(target->id, actors::ratchet, reason,
                                nlohmann::json{{"from", version_id}, {"score", score}}.dump(),
                                VersionState::rolled_back, attachments);
    });
    if (!switched.ok()) return report(switched.status());
    log().warn("plugin '{}': {}", instance, reason);
    return;
  }
  if (finished) {
    auto active = registry_.transition(version_id, VersionState::active, actors::ratchet,
                                       "probation passed (" + window + ")", "{}",
                                       VersionState::probation, attachments);
    if (!active.ok()) return report(active.status());
    stop_probation(instance);
    if (auto slot = plugins_.slot(instance); slot.ok()) slot.value()->release_predecessor();
    log().info("plugin '{}': version {} passed probation", instance, version_id);
    return;
  }
  report(registry_.record_evaluation(attachments.evaluation.value(), state.value()).status());
}

Result<VersionRow> VersionControl::stage_candidate(const std::string& instance,
                                                   const std::filesystem::path& file,
                                                   std::int64_t parent_id) {
  auto plugin = registry_.plugin(instance);
  if (!plugin.ok()) return plugin.status();
  // A refused file is the caller's bad input (invalid_argument), whatever the reason.
  auto inspection = inspect_plugin_file(file);
  if (!inspection.ok()) return Status(Code::invalid_argument, inspection.status().message());
  Status compatible = check_compatibility(inspection->manifest, file.string());
  if (!compatible.ok()) return Status(Code::invalid_argument, compatible.message());

  auto active = registry_.active_version(instance);
  if (!active.ok()) return active.status();
  if (active.value()) {
    auto serving = inspect_plugin_file(active.value()->path);
    if (serving.ok() && serving->manifest.name != inspection->manifest.name) {
      return Status(Code::invalid_argument, file.string() + " is plugin '" +
                                                inspection->manifest.name + "', but '" + instance +
                                                "' runs plugin '" + serving->manifest.name + "'");
    }
  }
  auto known = registry_.version_by_sha(instance, inspection->sha256);
  if (!known.ok()) return known.status();
  if (known.value()) {
    const VersionRow& same = *known.value();
    if (serves_calls(same.state)) {
      return Status(Code::failed_precondition,
                    file.string() + " is identical to the serving version " +
                        std::to_string(same.id) + " (sha256 " + short_sha(same) +
                        "); it is not staged and will not be re-evaluated");
    }
    return Status(Code::failed_precondition,
                  file.string() + " is already version " + std::to_string(same.id) + " (" +
                      std::string(to_string(same.state)) + ", sha256 " + short_sha(same) + ")");
  }
  auto stored = plugins_.store().store(instance, file);
  if (!stored.ok()) return stored.status();
  if (stored->sha256 != inspection->sha256) {
    return Status(Code::failed_precondition,
                  file.string() + " changed while it was being staged; stage it again");
  }
  return registry_.register_version(
      instance, describe_version(inspection->manifest, stored.value(), parent_id),
      VersionState::candidate, actor_, "staged from " + file.string());
}

Result<VersionRow> VersionControl::newest_candidate(const std::string& instance) {
  auto versions = registry_.versions(instance);
  if (!versions.ok()) return versions.status();
  for (const VersionRow& v : versions.value()) {
    if (v.state == VersionState::candidate) return v;
  }
  return Status(Code::not_found, "plugin '" + instance +
                                     "' has no candidate; stage one with `moss candidate add " +
                                     instance + " FILE`");
}

Result<RatchetGate*> VersionControl::open_gate(const std::string& instance) {
  auto gate = gate_for(instance);
  if (!gate.ok()) return gate.status();
  const std::int64_t now = now_ms_();
  auto open = gate.value()->check(now);
  if (!open.ok()) return open.status();
  if (!open->allowed) {
    return Status(Code::failed_precondition, "the Ratchet of '" + instance + "' is LOCKED until " +
                                                 when(open->lock_until_ms, now) +
                                                 "; no candidate is evaluated until then (" +
                                                 open->reason + ")");
  }
  return gate;
}

Status VersionControl::check_gate_open(const std::string& instance) {
  std::lock_guard decisions(decisions_mutex_);
  return open_gate(instance).status();
}

Result<GateDecision> VersionControl::evaluate(const std::string& instance,
                                              std::optional<EvaluationRun> known_baseline) {
  std::lock_guard decisions(decisions_mutex_);
  auto candidate = newest_candidate(instance);
  if (!candidate.ok()) return candidate.status();
  auto gate = open_gate(instance);
  if (!gate.ok()) return gate.status();
  auto evaluating = registry_.transition(candidate->id, VersionState::evaluating, actor_,
                                         "evaluation started", "{}", VersionState::candidate);
  if (!evaluating.ok()) return evaluating.status();
  auto active = registry_.active_version(instance);
  if (!active.ok()) return active.status();

  // The first verdict for a plugin needs its baseline: the serving version's real score.
  if (gate.value()->is_new() && active.value()) {
    auto baseline = known_baseline ? Result<EvaluationRun>(std::move(*known_baseline))
                                   : evaluator_(*active.value(), "baseline");
    if (!baseline.ok()) return baseline.status();
    if (baseline->score) {
      // A zero baseline would make every ratio infinite; the guard refuses it.
      Status reset = gate.value()->reset(std::max(*baseline->score, 1e-6));
      if (!reset.ok()) return reset;
    }
    auto state = gate.value()->state_json();
    if (!state.ok()) return state.status();
    // A baseline the caller measured is recorded already; only the state it set is new.
    Status recorded =
        known_baseline
            ? registry_.save_ratchet_state(instance, state.value(), actor_,
                                           "baseline from the last evaluation of version " +
                                               std::to_string(active.value()->id))
            : record_baseline(instance, active.value()->id, baseline.value(), state.value());
    if (!recorded.ok()) {
      forget_gate(instance);
      return recorded;
    }
  }
  auto decision = decide(instance, evaluating.value(), active.value(), *gate.value());
  if (!decision.ok()) forget_gate(instance);  // its verdict may not have been saved
  return decision;
}

Status VersionControl::record_baseline(const std::string& instance, std::int64_t version_id,
                                       const EvaluationRun& baseline,
                                       const std::string& ratchet_state_json) {
  NewEvaluation record{instance,
                       version_id,
                       actor_,
                       "baseline",
                       baseline.outcome,
                       baseline.detail,
                       baseline.score,
                       baseline.passed,
                       baseline.total,
                       "",
                       baseline.report_json};
  return registry_.record_evaluation(record, ratchet_state_json).status();
}

Result<EvaluationRun> VersionControl::measure(GateDecision& decision) {
  const bool sampled = config_.ratchet.mode == "sampled" && decision.baseline.has_value();
  if (!sampled) {
    if (decision.baseline) {
      auto last = registry_.evaluations(decision.plugin, 1, decision.baseline->id);
      if (last.ok() && !last->empty()) decision.baseline_score = last->front().score;
    }
    return evaluator_(decision.candidate, "candidate");
  }
  // Interleaved, so drift on the machine affects both sides alike.
  std::vector<double> candidate_scores;
  std::vector<double> baseline_scores;
  nlohmann::json samples = nlohmann::json::array();
  EvaluationRun last;
  for (std::int64_t i = 0; i < config_.ratchet.samples; ++i) {
    auto baseline = evaluator_(*decision.baseline, "sample");
    if (!baseline.ok()) return baseline.status();
    auto candidate = evaluator_(decision.candidate, "sample");
    if (!candidate.ok()) return candidate.status();
    if (candidate->outcome != "ok") return candidate;  // a crash needs no statistics
    baseline_scores.push_back(baseline->score.value_or(0.0));
    candidate_scores.push_back(candidate->score.value_or(0.0));
    samples.push_back(
        {{"baseline", baseline_scores.back()}, {"candidate", candidate_scores.back()}});
    last = std::move(candidate.value());
  }
  auto mean = [](const std::vector<double>& v) {
    double sum = 0.0;
    for (double x : v)
      sum += x;
    return sum / static_cast<double>(v.size());
  };
  decision.interval = ratio_interval(candidate_scores, baseline_scores, config_.ratchet.confidence,
                                     config_.ratchet.threshold);
  decision.baseline_score = mean(baseline_scores);
  last.score = mean(candidate_scores);
  nlohmann::json report = nlohmann::json::parse(last.report_json, nullptr, false);
  if (!report.is_object()) report = nlohmann::json::object();
  report["samples"] = samples;
  report["interval"] = {{"mean", decision.interval->mean},
                        {"lower", decision.interval->lower},
                        {"upper", decision.interval->upper},
                        {"confidence", config_.ratchet.confidence},
                        {"verdict", decision.interval->verdict}};
  last.report_json = report.dump();
  return last;
}

Result<GateDecision> VersionControl::decide(const std::string& instance, VersionRow candidate,
                                            std::optional<VersionRow> baseline, RatchetGate& gate) {
  GateDecision decision;
  decision.plugin = instance;
  decision.candidate = candidate;
  decision.baseline = std::move(baseline);
  auto run = measure(decision);
  if (!run.ok()) return run.status();
  decision.run = std::move(run.value());
  const bool completed = decision.run.outcome == "ok";

  // Only a version that ran clean in the worker is loaded here; loading before the verdict
  // keeps the verdict-to-serving time to a commit and a pointer switch.
  std::shared_ptr<const LoadedVersion> loaded;
  std::string load_error;
  if (completed) {
    auto version = plugins_.load_version(candidate);
    if (version.ok()) {
      loaded = std::move(version.value());
    } else {
      load_error = version.status().message();
    }
  }

  // A run that did not complete scores 0: repeated crashes degrade and lock like bad scores.
  const double score = completed ? decision.run.score.value_or(0.0) : 0.0;
  auto verdict = gate.record(score, short_sha(candidate), "evaluate", now_ms_());
  if (!verdict.ok()) return verdict.status();
  decision.verdict = verdict.value();
  const auto verdict_at = std::chrono::steady_clock::now();
  auto state = gate.state_json();
  if (!state.ok()) return state.status();

  std::string verdict_name = sdk::guard_state_name(decision.verdict.state);
  if (decision.interval) verdict_name += "/" + decision.interval->verdict;
  Attachments attachments;
  attachments.ratchet_state_json = state.value();
  attachments.evaluation = NewEvaluation{instance,
                                         candidate.id,
                                         actor_,
                                         "candidate",
                                         decision.run.outcome,
                                         decision.run.detail,
                                         decision.run.score,
                                         decision.run.passed,
                                         decision.run.total,
                                         verdict_name,
                                         decision.run.report_json};
  nlohmann::json data = {{"outcome", decision.run.outcome},
                         {"score", score},
                         {"ratio", decision.verdict.ratio},
                         {"ratchet_point", decision.verdict.ratchet_point},
                         {"verdict", verdict_name}};

  const bool sampled_ok = !decision.interval || decision.interval->verdict == "Successful";
  if (completed && loaded && decision.verdict.allowed && sampled_ok) {
    const bool probation = config_.ratchet.probation_calls > 0;
    decision.reason = verdict_name + ": score " + format_score(score) + ", ratchet point " +
                      format_score(decision.verdict.ratchet_point);
    auto switched = switch_to(
        candidate, std::move(loaded),
        [&] {
          return registry_.transition(
              candidate.id, probation ? VersionState::probation : VersionState::active, actor_,
              decision.reason, data.dump(), VersionState::evaluating, attachments);
        },
        probation);
    if (!switched.ok()) return switched.status();
    decision.verdict_to_serving_ms =
        std::chrono::duration<double, std::milli>(switched->published_at - verdict_at).count();
    decision.candidate = switched->row;
    decision.still_draining = std::move(switched->still_draining);
    decision.action = probation ? "probation" : "promoted";
    if (probation) start_probation(instance, candidate.id);
    return decision;
  }

  if (!completed) {
    decision.reason = decision.run.outcome + ": " + decision.run.detail;
  } else if (!loaded) {
    decision.reason = "passed in the worker but failed to load in the host: " + load_error;
  } else if (!sampled_ok) {
    decision.reason = decision.interval->verdict + ": candidate/baseline ratio " +
                      format_score(decision.interval->mean) + ", interval [" +
                      format_score(decision.interval->lower) + ", " +
                      format_score(decision.interval->upper) + "] against threshold " +
                      format_score(config_.ratchet.threshold);
  } else {
    decision.reason = verdict_name + ": " + decision.verdict.reason;
  }
  auto rejected =
      registry_.transition(candidate.id, VersionState::rejected, actor_, decision.reason,
                           data.dump(), VersionState::evaluating, attachments);
  if (!rejected.ok()) return rejected.status();
  decision.candidate = rejected.value();
  decision.action = "rejected";
  return decision;
}

template <class Change>
Result<VersionControl::Switched> VersionControl::switch_to(
    const VersionRow& target, std::shared_ptr<const LoadedVersion> loaded, Change&& change,
    bool probation) {
  auto slot = plugins_.slot(target.plugin);
  if (!loaded && slot.ok()) {
    auto kept = slot.value()->predecessor();  // a rollback during probation reloads nothing
    if (kept && kept->version_id() == target.id) loaded = kept;
  }
  if (!loaded) {
    auto version = plugins_.load_version(target);
    if (!version.ok()) return version.status();
    loaded = std::move(version.value());
  }
  auto committed = change();
  if (!committed.ok()) return committed.status();
  plugins_.publish(committed.value(), std::move(loaded),
                   probation ? Slot::Previous::keep_for_probation : Slot::Previous::drain);
  Switched switched{committed.value(), std::chrono::steady_clock::now(), {}};
  if (auto serving = plugins_.slot(target.plugin); serving.ok()) {
    switched.still_draining =
        serving.value()->drain(std::chrono::milliseconds(config_.evaluation.drain_ms));
    for (const PinnedCall& call : switched.still_draining) {
      log().warn("plugin '{}': the replaced version is still pinned by thread {} in {}",
                 target.plugin, call.os_thread_id, call.method);
    }
  }
  return switched;
}

Result<VersionRow> VersionControl::promote(const std::string& instance,
                                           std::optional<std::int64_t> version_id, bool force) {
  std::lock_guard decisions(decisions_mutex_);
  auto target = version_id ? registry_.version(*version_id) : newest_candidate(instance);
  if (!target.ok()) return target.status();
  if (target->plugin != instance) return wrong_plugin(target.value(), instance);
  const std::string label = "version " + std::to_string(target->id);
  switch (target->state) {
    case VersionState::candidate: {
      if (!force) {
        return Status(Code::failed_precondition,
                      label + " is a candidate: `moss evaluate " + instance +
                          "` evaluates and gates it; `--force` promotes it without evaluation");
      }
      auto skipped = registry_.transition(target->id, VersionState::evaluating, actor_,
                                          "forced promotion: evaluation skipped by the operator",
                                          "{}", VersionState::candidate);
      if (!skipped.ok()) return skipped.status();
      return after_manual_change(instance, switch_to(skipped.value(), nullptr, [&] {
                                   return registry_.transition(
                                       skipped->id, VersionState::active, actor_,
                                       "forced promotion: not evaluated", R"({"forced":true})",
                                       VersionState::evaluating);
                                 }));
    }
    case VersionState::retired:
    case VersionState::rolled_back:
      return after_manual_change(instance, switch_to(target.value(), nullptr, [&] {
                                   return registry_.activate(target->id, actor_,
                                                             "promoted again by the operator", "{}",
                                                             VersionState::retired);
                                 }));
    case VersionState::active:
    case VersionState::probation:
      return Status(Code::failed_precondition, label + " already serves");
    case VersionState::evaluating:
      return Status(Code::failed_precondition, label + " is being evaluated");
    case VersionState::rejected:
      return Status(Code::failed_precondition,
                    label + " was rejected; rejected versions stay rejected (stage a new one)");
  }
  return Status(Code::internal, label + " has an unknown state");
}

Result<VersionRow> VersionControl::rollback(const std::string& instance,
                                            std::optional<std::int64_t> to) {
  std::lock_guard decisions(decisions_mutex_);
  auto active = registry_.active_version(instance);
  if (!active.ok()) return active.status();
  if (!active.value()) {
    return Status(Code::failed_precondition,
                  "plugin '" + instance + "' serves no version, so there is nothing to roll back");
  }
  const VersionRow current = *active.value();
  VersionRow target;
  if (to) {
    auto row = registry_.version(*to);
    if (!row.ok()) return row.status();
    if (row->plugin != instance) return wrong_plugin(row.value(), instance);
    if (row->state != VersionState::retired && row->state != VersionState::rolled_back) {
      return Status(Code::failed_precondition,
                    "version " + std::to_string(row->id) + " is " +
                        std::string(to_string(row->state)) +
                        "; a rollback returns to a version that served before (retired or "
                        "rolled_back)");
    }
    target = row.value();
  } else {
    // The version the current one replaced: the most recently retired.
    auto previous = registry_.last_retired(instance);
    if (!previous.ok()) return previous.status();
    if (!previous.value()) {
      return Status(Code::failed_precondition,
                    "plugin '" + instance + "' has no previous version to roll back to: version " +
                        std::to_string(current.id) + " is the only one that has served");
    }
    target = *previous.value();
  }
  const std::string reason = "rollback from version " + std::to_string(current.id);
  return after_manual_change(instance, switch_to(target, nullptr, [&] {
                               return registry_.activate(
                                   target.id, actor_, reason,
                                   nlohmann::json{{"from", current.id}}.dump(),
                                   VersionState::rolled_back);
                             }));
}

Result<int> VersionControl::abandon_interrupted() {
  auto plugins = registry_.plugins();
  if (!plugins.ok()) return plugins.status();
  int abandoned = 0;
  for (const PluginRow& plugin : plugins.value()) {
    auto versions = registry_.versions(plugin.name);
    if (!versions.ok()) return versions.status();
    for (const VersionRow& v : versions.value()) {
      if (v.state != VersionState::evaluating) continue;
      auto rejected = registry_.transition(v.id, VersionState::rejected, actors::startup,
                                           "abandoned: the host stopped during its evaluation",
                                           "{}", VersionState::evaluating);
      if (!rejected.ok()) return rejected.status();
      ++abandoned;
    }
  }
  return abandoned;
}

}  // namespace moss
