// RatchetGate: the host side of the Ratchet. The semantics live in the guard plugin; the
// host only feeds it scores, keeps its state durable and acts on its verdicts.
#include "runtime/ratchet_gate.hpp"

#include <nlohmann/json.hpp>

#include "registry/registry.hpp"
#include "runtime/plugin_manager.hpp"

namespace moss {

std::string ratchet_settings_json(const RatchetConfig& c) {
  return nlohmann::json{
      {"initial_score", c.initial_score},     {"threshold", c.threshold},
      {"window_size", c.window_size},         {"lock_threshold", c.lock_threshold},
      {"lock_duration_s", c.lock_duration_s}, {"baseline_policy", c.baseline_policy}}
      .dump();
}

Result<std::unique_ptr<RatchetGate>> RatchetGate::open(PluginManager& plugins, const Config& config,
                                                       Registry& registry,
                                                       const std::string& instance) {
  auto guard =
      plugins.make_object<sdk::Guard>(config.ratchet.guard, ratchet_settings_json(config.ratchet));
  if (!guard.ok()) {
    return Status(guard.status().code(), "the Ratchet guard ([ratchet] guard = '" +
                                             config.ratchet.guard +
                                             "') is unavailable: " + guard.status().message());
  }
  auto saved = registry.ratchet_state(instance);
  if (!saved.ok()) return saved.status();
  if (saved.value()) {
    Status imported = guard.value()->import_state(*saved.value());
    if (!imported.ok()) {
      return Status(imported.code(), "the saved Ratchet state of '" + instance +
                                         "' was refused by the guard: " + imported.message());
    }
  }
  return std::unique_ptr<RatchetGate>(
      new RatchetGate(std::move(guard.value()), !saved.value().has_value()));
}

Result<sdk::Verdict> RatchetGate::check(std::int64_t now_ms) {
  sdk::GuardTask task;
  task.task_id = "evaluate";
  task.now_ms = now_ms;
  return guard_->pre_check(task);
}

Result<sdk::Verdict> RatchetGate::record(double score, const std::string& version,
                                         const std::string& action, std::int64_t now_ms) {
  sdk::ScoreSample sample;
  sample.score = score;
  sample.version = version;
  sample.action = action;
  sample.now_ms = now_ms;
  is_new_ = false;
  return guard_->record(sample);
}

Status RatchetGate::reset(double baseline) {
  sdk::GuardReset request;
  request.set_baseline = true;
  request.baseline = baseline;
  is_new_ = false;
  return guard_->reset(request);
}

Result<std::string> RatchetGate::state_json() const {
  return guard_->export_state();
}

Result<std::string> RatchetGate::stats() const {
  return guard_->stats();
}

}  // namespace moss
