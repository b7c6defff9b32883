// The Ratchet gate of one plugin instance: a Guard object made from the configured guard
// plugin (ratchet-guard by default), whose state lives in the registry and is saved in the
// same transaction as every version change it decides.
#pragma once

#include <memory>
#include <string>

#include <moss/sdk/guard.hpp>

#include "config/config.hpp"
#include "util/status.hpp"

namespace moss {

class PluginManager;
class Registry;

class RatchetGate {
 public:
  // Makes the guard for `instance` with the [ratchet] parameters and loads its saved state.
  static Result<std::unique_ptr<RatchetGate>> open(PluginManager& plugins, const Config& config,
                                                   Registry& registry, const std::string& instance);

  // True until a first score or baseline is recorded: the registry held no state.
  bool is_new() const { return is_new_; }

  // Whether evaluation may proceed now (refused while LOCKED; the verdict says until when).
  Result<sdk::Verdict> check(std::int64_t now_ms);
  // Feeds a score; the verdict says whether the version may serve.
  Result<sdk::Verdict> record(double score, const std::string& version, const std::string& action,
                              std::int64_t now_ms);
  // Clears count and lock and sets the ratchet point (the baseline of a first evaluation).
  Status reset(double baseline);
  // The state to save with the change the verdict causes.
  Result<std::string> state_json() const;
  // The guard's statistics (state, point, peak, count, lock, window), as JSON.
  Result<std::string> stats() const;

 private:
  explicit RatchetGate(std::shared_ptr<sdk::Guard> guard, bool is_new)
      : guard_(std::move(guard)), is_new_(is_new) {}

  std::shared_ptr<sdk::Guard> guard_;
  bool is_new_;
};

// The [ratchet] parameters as the guard plugin's settings (its config keys are the same).
std::string ratchet_settings_json(const RatchetConfig& config);

}  // namespace moss
