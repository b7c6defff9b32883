// The Guard kind: gates on scores (the Ratchet), and pre/post checks around agent tasks.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "moss/sdk/detail/glue.hpp"
#include "moss/sdk/object.hpp"

namespace moss::sdk {

enum class GuardState : std::int32_t {
  nominal = 1,   // at or above the ratchet point
  warning = 2,   // below it, within the threshold ratio: allowed, counted
  critical = 3,  // below the threshold ratio: not allowed (roll back)
  locked = 4,    // too many consecutive degradations: nothing allowed until the cooldown ends
};

constexpr const char* guard_state_name(GuardState state) noexcept {
  switch (state) {
    case GuardState::nominal: return "NOMINAL";
    case GuardState::warning: return "WARNING";
    case GuardState::critical: return "CRITICAL";
    case GuardState::locked: return "LOCKED";
  }
  return "UNKNOWN";
}

// A score to record, e.g. a candidate's evaluation or a live score during probation.
struct ScoreSample {
  double score = 0.0;       // in [0,1]
  std::string version;      // the version the score belongs to
  std::string action;       // why it is recorded: "evaluate", "probation", "manual", ...
  std::int64_t now_ms = 0;  // the host's clock; guards use it, not their own, so tests can
                            // move time
};

struct Verdict {
  bool allowed = false;
  GuardState state = GuardState::nominal;
  std::string reason;               // one line, for logs and the CLI
  double ratio = 0.0;               // record(): score / ratchet point
  double ratchet_point = 0.0;       // record(): the point after this sample
  std::int64_t lock_until_ms = 0;   // when state is locked: when the lock ends
  std::vector<std::string> events;  // what fired: "degradation", "lock", "unlock"
};

// An agent task as seen by pre_check and post_check.
struct GuardTask {
  std::string task_id;
  std::string agent;
  std::string tool;                // the tool about to run or that ran; may be empty
  std::string input_json;          // the task's or the tool call's input
  std::string input_schema_json;   // the declared input schema; may be empty
  std::string output_schema_json;  // the declared output schema; may be empty
  std::int64_t now_ms = 0;
};

struct GuardOutcome {
  bool success = false;
  std::string output_json;
  double score = 0.0;  // the task's score in [0,1], if it has one
  double elapsed_ms = 0.0;
};

// For reset(): clear the count, the lock and the state; optionally set a new baseline.
struct GuardReset {
  bool set_baseline = false;
  double baseline = 0.0;
};

class Guard : public PluginObject {
 public:
  static constexpr Kind kKind = Kind::guard;

  // Optional (default: allowed, NOMINAL). Records a score and says whether the version it
  // belongs to may stay (the Ratchet). Called for candidate evaluations and live scores.
  // Thread-safe: yes (the host may record from several threads; guards serialise inside).
  virtual Result<Verdict> record(const ScoreSample& sample) noexcept = 0;

  // Optional (default: allowed). Runs before a task or tool call; a refusal blocks it.
  // Thread-safe: yes.
  virtual Result<Verdict> pre_check(const GuardTask& task) noexcept = 0;

  // Optional (default: allowed). Runs after a task or tool call; a refusal marks it failed.
  // Thread-safe: yes.
  virtual Result<Verdict> post_check(const GuardTask& task,
                                     const GuardOutcome& outcome) noexcept = 0;

  // Optional (default "{}"). The guard's statistics as a JSON object. It takes no clock:
  // a guard that reports time-dependent state (a lock's expiry) reads
  // InitContext::host->now_ms(). Thread-safe: yes.
  virtual Result<std::string> stats() const noexcept = 0;

  // Optional (default: ok, nothing to reset). Thread-safe: yes.
  virtual Status reset(const GuardReset& request) noexcept = 0;

  // Optional (default: unimplemented). The full state as JSON text, for persistence.
  // import_state(export_state()) must restore an equivalent guard. Thread-safe: yes.
  virtual Result<std::string> export_state() const noexcept = 0;
  virtual Status import_state(std::string_view state_json) noexcept = 0;
};

namespace detail {

template <class Impl>
class GuardAdapter final : public Guard {
  static constexpr bool kHasRecord = requires(Impl & impl, const ScoreSample& sample) {
    { impl.record(sample) } -> std::convertible_to<Result<Verdict>>;
  };
  static constexpr bool kHasPre = requires(Impl & impl, const GuardTask& task) {
    { impl.pre_check(task) } -> std::convertible_to<Result<Verdict>>;
  };
  static constexpr bool kHasPost =
      requires(Impl & impl, const GuardTask& t, const GuardOutcome& o) {
    { impl.post_check(t, o) } -> std::convertible_to<Result<Verdict>>;
  };
  static constexpr bool kHasExport = requires(const Impl& impl) {
    { impl.export_state() } -> std::convertible_to<Result<std::string>>;
  };
  static constexpr bool kHasImport = requires(Impl & impl, std::string_view s) {
    impl.import_state(s);
  };
  static_assert(kHasRecord || kHasPre || kHasPost,
                "MOSS_PLUGIN as_guard<T>: T needs at least one of "
                "`Result<Verdict> record(const ScoreSample&)`, "
                "`Result<Verdict> pre_check(const GuardTask&)`, "
                "`Result<Verdict> post_check(const GuardTask&, const GuardOutcome&)`");
  static constexpr bool kHasStats = requires(const Impl& impl) {
    { impl.stats() } -> std::convertible_to<Result<std::string>>;
  };
  static constexpr bool kHasReset = requires(Impl & impl, const GuardReset& r) { impl.reset(r); };
  static_assert(kHasExport == kHasImport,
                "MOSS_PLUGIN as_guard<T>: T must have both export_state() and "
                "import_state(std::string_view), or neither");
  static_assert(
      !requires { &Impl::record; } || kHasRecord,
      "MOSS_PLUGIN as_guard<T>: T::record must be "
      "`Result<Verdict> record(const ScoreSample&)`");
  static_assert(
      !requires { &Impl::pre_check; } || kHasPre,
      "MOSS_PLUGIN as_guard<T>: T::pre_check must be "
      "`Result<Verdict> pre_check(const GuardTask&)`");
  static_assert(
      !requires { &Impl::post_check; } || kHasPost,
      "MOSS_PLUGIN as_guard<T>: T::post_check must be "
      "`Result<Verdict> post_check(const GuardTask&, const GuardOutcome&)`");
  static_assert(
      !requires { &Impl::stats; } || kHasStats,
      "MOSS_PLUGIN as_guard<T>: T::stats must be `std::string stats() const`");
  static_assert(
      !requires { &Impl::reset; } || kHasReset,
      "MOSS_PLUGIN as_guard<T>: T::reset must be `void reset(const GuardReset&)` "
      "(or return Status)");
  static_assert(
      !requires { &Impl::export_state; } || kHasExport,
      "MOSS_PLUGIN as_guard<T>: T::export_state must be "
      "`std::string export_state() const`");

  static Verdict allow(const char* why) {
    Verdict v;
    v.allowed = true;
    v.state = GuardState::nominal;
    v.reason = why;
    return v;
  }

 public:
  Status init(const InitContext& context) noexcept override { return call_init(impl_, context); }

  Result<Verdict> record(const ScoreSample& sample) noexcept override {
    return guarded<Result<Verdict>>("Guard::record", [&] {
      if constexpr (kHasRecord) {
        return Result<Verdict>(impl_.record(sample));
      } else {
        return Result<Verdict>(allow("this guard does not track scores"));
      }
    });
  }
  Result<Verdict> pre_check(const GuardTask& task) noexcept override {
    return guarded<Result<Verdict>>("Guard::pre_check", [&] {
      if constexpr (kHasPre) {
        return Result<Verdict>(impl_.pre_check(task));
      } else {
        return Result<Verdict>(allow("this guard has no pre-check"));
      }
    });
  }
  Result<Verdict> post_check(const GuardTask& task, const GuardOutcome& outcome) noexcept override {
    return guarded<Result<Verdict>>("Guard::post_check", [&] {
      if constexpr (kHasPost) {
        return Result<Verdict>(impl_.post_check(task, outcome));
      } else {
        return Result<Verdict>(allow("this guard has no post-check"));
      }
    });
  }
  Result<std::string> stats() const noexcept override {
    return guarded<Result<std::string>>("Guard::stats", [&] {
      if constexpr (kHasStats) {
        return Result<std::string>(impl_.stats());
      } else {
        return Result<std::string>(std::string("{}"));
      }
    });
  }
  Status reset(const GuardReset& request) noexcept override {
    return guarded<Status>("Guard::reset", [&]() -> Status {
      if constexpr (kHasReset) {
        return void_or_status([&] { return impl_.reset(request); });
      } else {
        return Status();
      }
    });
  }
  Result<std::string> export_state() const noexcept override {
    if constexpr (kHasExport) {
      return guarded<Result<std::string>>(
          "Guard::export_state", [&] { return Result<std::string>(impl_.export_state()); });
    } else {
      return Status(Code::unimplemented, "this guard has no persistent state");
    }
  }
  Status import_state(std::string_view state_json) noexcept override {
    if constexpr (kHasImport) {
      return guarded<Status>("Guard::import_state", [&] {
        return void_or_status([&] { return impl_.import_state(state_json); });
      });
    } else {
      return Status(Code::unimplemented, "this guard has no persistent state");
    }
  }

 private:
  Impl impl_;
};

}  // namespace detail

// Registers T as the plugin's Guard in MOSS_PLUGIN(...).
template <class T>
struct as_guard {
  static constexpr Kind kind = Kind::guard;
  using interface = Guard;
  using adapter = detail::GuardAdapter<T>;
};

}  // namespace moss::sdk
