// VersionControl: the life of a plugin instance's versions. Stages candidates, evaluates
// them in the isolated worker, asks the Ratchet, and promotes, rejects or rolls back. Every
// decision is committed to the registry (with the Ratchet state and the evaluation, in one
// transaction) before the slot is switched in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <moss/sdk/guard.hpp>

#include "config/config.hpp"
#include "registry/registry.hpp"
#include "runtime/lease.hpp"
#include "runtime/sampling.hpp"
#include "util/status.hpp"

namespace moss {

class LoadedVersion;
class PluginManager;
class RatchetGate;

// What one evaluation run of a version produced.
struct EvaluationRun {
  std::string outcome = "ok";   // ok, or why it did not complete: crashed, timeout, ...
  std::string detail;           // the exact reason: signal name, limit hit, loader error
  std::optional<double> score;  // set when the run completed
  std::int64_t passed = 0;
  std::int64_t total = 0;
  std::string report_json = "{}";
};

// What `evaluate` decided, for the operator.
struct GateDecision {
  std::string plugin;
  VersionRow candidate;                // its state after the decision
  std::optional<VersionRow> baseline;  // the version it was compared with
  EvaluationRun run;
  std::optional<double> baseline_score;
  sdk::Verdict verdict;
  std::optional<RatioInterval> interval;  // sampled mode only
  std::string action;                     // promoted | probation | rejected
  std::string reason;
  std::vector<PinnedCall> still_draining;  // calls that outlived the drain deadline
  double verdict_to_serving_ms = 0.0;      // from the Ratchet's verdict to the switch
};

// Evaluates a stored version file for an instance. The production implementation runs the
// isolated worker; tests may substitute their own.
using VersionEvaluator =
    std::function<Result<EvaluationRun>(const VersionRow& version, const std::string& purpose)>;

class VersionControl {
 public:
  VersionControl(PluginManager& plugins, Registry& registry, const Config& config,
                 std::string actor, VersionEvaluator evaluator);
  ~VersionControl();

  // Copies `file` into the version store and registers it as a candidate of `instance`.
  // Refuses a file that is not a compatible plugin, is a different plugin than the instance
  // serves, or is a version the registry already has (the active one included).
  Result<VersionRow> stage_candidate(const std::string& instance, const std::filesystem::path& file,
                                     std::int64_t parent_id = 0);

  // Evaluates the newest candidate in isolation, feeds its score to the Ratchet and promotes
  // or rejects it. Refused (nothing changes) while the Ratchet is locked. The first verdict
  // of an instance needs the serving version's score: `baseline`, if the caller has just
  // measured it (and recorded it), else a run of its own.
  Result<GateDecision> evaluate(const std::string& instance,
                                std::optional<EvaluationRun> baseline = std::nullopt);

  // Ok if the instance's Ratchet would let a candidate be evaluated now; the LOCKED error
  // of evaluate() otherwise. Lets the evolution loop stop before it spends LLM tokens.
  Status check_gate_open(const std::string& instance);

  // Promotes a version without the gate: a candidate only with `force` (its evaluation is
  // skipped and the event says so), or a version that served before (retired, rolled back).
  // A forced candidate goes through `evaluating`; if its activation then fails (a full or
  // locked registry), it stays there, serving nothing, until the next start abandons it.
  Result<VersionRow> promote(const std::string& instance, std::optional<std::int64_t> version_id,
                             bool force);

  // Returns to `to` (default: the version that served before the active one), marking the
  // active version rolled_back.
  Result<VersionRow> rollback(const std::string& instance, std::optional<std::int64_t> to);

  // Versions left `evaluating` by a host that stopped mid-evaluation are rejected as
  // abandoned; returns how many. Run once at startup.
  Result<int> abandon_interrupted();

  // Whether `instance` is on probation now (its predecessor kept loaded).
  bool on_probation(const std::string& instance) const;

 private:
  class Probation;
  // Every window of live calls during probation: feeds the success rate to the Ratchet;
  // rolls back to the kept predecessor on a refusal, ends probation after enough calls.
  void judge_probation(const std::string& instance, std::int64_t version_id, std::int64_t calls,
                       std::int64_t failures, bool finished);
  void start_probation(const std::string& instance, std::int64_t version_id);
  void stop_probation(const std::string& instance);

  struct Switched {
    VersionRow row;
    std::chrono::steady_clock::time_point published_at;
    std::vector<PinnedCall> still_draining;
  };
  // Commits `change` (which makes `target` serve), then publishes `loaded` (or `target`
  // loaded now, or the predecessor the slot kept) and waits for the old version to drain.
  // Nothing in memory changes unless the change commits.
  template <class Change>
  Result<Switched> switch_to(const VersionRow& target, std::shared_ptr<const LoadedVersion> loaded,
                             Change&& change, bool probation = false);
  // The instance's Ratchet gate, opened once and kept (under decisions_mutex_): with the
  // state lock held, nothing else changes its saved state. Forgotten, so that it is read
  // again from the registry, whenever a change it judged may not have been committed.
  Result<RatchetGate*> gate_for(const std::string& instance);
  void forget_gate(const std::string& instance);
  // gate_for(), refused while the Ratchet is LOCKED (with until when). Under decisions_mutex_.
  Result<RatchetGate*> open_gate(const std::string& instance);
  Result<VersionRow> after_manual_change(const std::string& instance, Result<Switched> switched);
  Result<VersionRow> newest_candidate(const std::string& instance);
  Status record_baseline(const std::string& instance, std::int64_t version_id,
                         const EvaluationRun& baseline, const std::string& ratchet_state_json);
  Result<GateDecision> decide(const std::string& instance, VersionRow candidate,
                              std::optional<VersionRow> baseline, RatchetGate& gate);
  // Runs the candidate (and, in sampled mode, the baseline interleaved with it).
  Result<EvaluationRun> measure(GateDecision& decision);

  PluginManager& plugins_;
  Registry& registry_;
  const Config& config_;
  std::string actor_;
  VersionEvaluator evaluator_;
  std::function<std::int64_t()> now_ms_;
  std::mutex decisions_mutex_;  // one version decision at a time, CLI or probation
  std::map<std::string, std::unique_ptr<RatchetGate>> gates_;  // under decisions_mutex_
  mutable std::mutex probations_mutex_;
  std::map<std::string, std::unique_ptr<Probation>> probations_;  // kept: slots point at them

 public:
  // Tests move time (Ratchet lock expiry) with this.
  void set_clock_for_testing(std::function<std::int64_t()> now_ms) { now_ms_ = std::move(now_ms); }
};

}  // namespace moss
