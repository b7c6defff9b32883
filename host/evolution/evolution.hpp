// The MOSS evolution loop for one plugin instance:
//   failures -> Evolver.analyze -> Evolver.propose -> Workspace.apply -> Builder ->
//   VersionControl (isolated evaluation, Ratchet, promote or reject) -> Registry.
// Every attempt is a registry row from its start, updated at each stage, so a host killed
// mid-cycle leaves a record that the next start marks abandoned; nothing half-promotes,
// because promotion is VersionControl's single committed switch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "registry/registry.hpp"
#include "runtime/version_control.hpp"
#include "util/status.hpp"

namespace moss {

class PluginManager;

// Where one attempt is, for the terminal: the stage, and a line about it.
using ProgressFn = std::function<void(std::string_view stage, std::string_view detail)>;

struct CycleReport {
  // Set when an attempt ran (its final row); empty when the cycle found nothing to fix.
  std::optional<AttemptRow> attempt;
  std::optional<GateDecision> decision;  // when the candidate reached the Ratchet
  std::optional<double> baseline_score;  // the serving version's score, if measured this cycle
  std::int64_t open_failures = 0;        // failures of the serving version when the cycle began
  std::string summary;                   // one line for the operator
};

// The workspace repository (bare git) of an instance's source.
std::filesystem::path evolution_workspace_dir(const Config& config, const std::string& instance);

class Evolution {
 public:
  // `baseline` evaluates the serving version (the isolated worker in production).
  Evolution(PluginManager& plugins, Registry& registry, const Config& config,
            VersionControl& versions, VersionEvaluator baseline, std::string actor,
            ProgressFn progress = {});

  // One cycle for `instance`. Errors are reasons not to start: failed_precondition for a
  // plugin that is not evolvable, a budget spent, the Ratchet locked or an LLM back-off in
  // force (backoff_until_ms() then says until when); others for a missing evolver or a
  // registry that cannot be written. An attempt that starts always ends in a recorded
  // outcome, returned in the report.
  Result<CycleReport> run_cycle(const std::string& instance);

  // When the last run_cycle was refused for an LLM back-off: when it ends (epoch ms); else 0.
  std::int64_t backoff_until_ms() const { return backoff_until_ms_; }

 private:
  struct Cycle;
  // The day's spend so far, if no budget or lock refuses an attempt now.
  Result<EvolutionSpend> check_budgets(const std::string& instance, std::int64_t parent_version_id);
  Result<FailureRow> pick_failure(Cycle& cycle);
  Result<std::string> source_commit(Cycle& cycle);
  void record_eval_failures(const std::string& instance, std::int64_t version_id,
                            const EvaluationRun& run);
  Result<CycleReport> attempt(Cycle& cycle, FailureRow failure);
  void stage(AttemptRow& attempt, const char* stage, std::string_view detail);

  PluginManager& plugins_;
  Registry& registry_;
  const Config& config_;
  VersionControl& versions_;
  VersionEvaluator baseline_;
  std::string actor_;
  ProgressFn progress_;
  std::int64_t backoff_until_ms_ = 0;
};

}  // namespace moss
