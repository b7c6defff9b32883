// ratchet-guard: the Ratchet (a one-way performance latch) as a moss Guard. A version may stay
// only while its score keeps up with the best score seen; repeated degradation locks it out.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

// How a NOMINAL score moves the ratchet point: to max(point, score) (the Ratchet), or by an
// exponential moving average (the seed's Go NonDivergenceValidator).
enum class BaselinePolicy : std::int32_t { max = 1, ema = 2 };

struct RatchetConfig {
  double initial_score = 0.8;       // the ratchet point before any score; in (0,1]
  double threshold = 0.95;          // score / point at or above this is WARNING, below is CRITICAL
  std::int32_t window_size = 10;    // stats cover the last window_size scores; history keeps 2x
  std::int32_t lock_threshold = 3;  // consecutive degradations that lock the guard
  double lock_duration_s = 300.0;
  BaselinePolicy baseline_policy = BaselinePolicy::max;
  double ema_alpha = 0.1;  // ema only: point = (1 - alpha) * point + alpha * score
};

// Parses the plugin's config table (keys as in RatchetConfig; missing keys keep defaults).
// Errors are invalid_argument and name the key.
sdk::Result<RatchetConfig> parse_ratchet_config(std::string_view config_json);

class RatchetGuard {
 public:
  RatchetGuard();

  // Reads the config and starts from initial_score. Keeps `context.host` to read the clock in
  // stats(), which has no clock parameter.
  sdk::Status init(const sdk::InitContext& context);

  // The Ratchet: judges `sample.score` against the ratchet point at `sample.now_ms`.
  sdk::Result<sdk::Verdict> record(const sdk::ScoreSample& sample);
  // Refuses while locked; ends an expired lock first ("unlock").
  sdk::Result<sdk::Verdict> pre_check(const sdk::GuardTask& task);
  std::string stats() const;
  sdk::Status reset(const sdk::GuardReset& request);
  std::string export_state() const;
  // All or nothing: a document that fails validation leaves the state unchanged.
  sdk::Status import_state(std::string_view state_json);

 private:
  struct Sample {
    std::int64_t timestamp_ms = 0;
    double score = 0.0;
    std::string version;
    std::string action;
  };
  struct State {
    double ratchet_point = 0.0;
    double peak_score = 0.0;
    sdk::GuardState state = sdk::GuardState::nominal;
    std::deque<Sample> history;  // newest last, at most 2 * window_size
    std::int32_t degradation_count = 0;
    std::int64_t lock_until_ms = 0;  // 0 unless locked
  };

  // Ends the lock if it has expired at `now_ms`: the lock covers [lock start, lock_until_ms).
  // Returns true if it ended one.
  static bool end_expired_lock(State& state, std::int64_t now_ms);
  void trim_history(State& state) const;
  static State initial_state(const RatchetConfig& config);

  mutable std::mutex mutex_;
  RatchetConfig config_;
  State state_;
  sdk::HostServices* host_ = nullptr;
};

}  // namespace moss::plugins
