// The Planner kind (IdleSpec): learns which tool call tends to follow which, so the host
// can run likely next calls speculatively while it waits.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "moss/sdk/detail/glue.hpp"
#include "moss/sdk/object.hpp"

namespace moss::sdk {

struct PlannedCall {
  std::string tool;
  // Canonical JSON text: the host serialises arguments with sorted keys and no whitespace
  // before learn() and predict(), so equal arguments are equal strings. Speculation is used
  // only on equality.
  std::string arguments_json;
};

struct Prediction {
  std::string id;  // unique per prediction, for tracing hits and misses
  PlannedCall call;
  double confidence = 0.0;  // estimated probability that `call` comes next, in [0,1]
};

class Planner : public PluginObject {
 public:
  static constexpr Kind kKind = Kind::planner;

  // Required. Learns from one finished trace (the tool calls of a task, in order).
  // Thread-safe: yes (learn and predict may run concurrently).
  virtual Status learn(const std::vector<PlannedCall>& trace) noexcept = 0;

  // Required. Up to `max_predictions` likely next calls after `current`, each with
  // confidence >= `min_confidence`, most likely first. `max_predictions` <= 0 and
  // `min_confidence` < 0 ask for the planner's own configured defaults. The caller owns the
  // result.
  // Thread-safe: yes.
  virtual Result<std::vector<Prediction>> predict(const PlannedCall& current,
                                                  std::int32_t max_predictions,
                                                  double min_confidence) noexcept = 0;

  // Optional (default "{}"). Statistics as a JSON object. Thread-safe: yes.
  virtual Result<std::string> stats() const noexcept = 0;

  // Optional (default: unimplemented). The learned state as JSON text;
  // import_state(export_state()) must give the same predictions. Thread-safe: yes.
  virtual Result<std::string> export_state() const noexcept = 0;
  virtual Status import_state(std::string_view state_json) noexcept = 0;
};

namespace detail {

template <class Impl>
class PlannerAdapter final : public Planner {
  static_assert(
      requires(Impl & impl, const std::vector<PlannedCall>& trace) { impl.learn(trace); },
      "MOSS_PLUGIN as_planner<T>: T needs `learn(const std::vector<PlannedCall>&)`");
  static_assert(
      requires(Impl & impl, const PlannedCall& c, std::int32_t n, double p) {
        { impl.predict(c, n, p) } -> std::convertible_to<Result<std::vector<Prediction>>>;
      },
      "MOSS_PLUGIN as_planner<T>: T needs `std::vector<Prediction> "
      "predict(const PlannedCall&, std::int32_t max_predictions, double min_confidence)`");
  static constexpr bool kHasExport = requires(const Impl& impl) {
    { impl.export_state() } -> std::convertible_to<Result<std::string>>;
  };
  static constexpr bool kHasImport = requires(Impl & impl, std::string_view s) {
    impl.import_state(s);
  };
  static constexpr bool kHasStats = requires(const Impl& impl) {
    { impl.stats() } -> std::convertible_to<Result<std::string>>;
  };
  static_assert(kHasExport == kHasImport,
                "MOSS_PLUGIN as_planner<T>: T must have both export_state() and "
                "import_state(std::string_view), or neither");
  static_assert(
      !requires { &Impl::stats; } || kHasStats,
      "MOSS_PLUGIN as_planner<T>: T::stats must be `std::string stats() const`");
  static_assert(
      !requires { &Impl::export_state; } || kHasExport,
      "MOSS_PLUGIN as_planner<T>: T::export_state must be "
      "`std::string export_state() const`");

 public:
  Status init(const InitContext& context) noexcept override { return call_init(impl_, context); }
  Status learn(const std::vector<PlannedCall>& trace) noexcept override {
    return guarded<Status>("Planner::learn",
                           [&] { return void_or_status([&] { return impl_.learn(trace); }); });
  }
  Result<std::vector<Prediction>> predict(const PlannedCall& current, std::int32_t max_predictions,
                                          double min_confidence) noexcept override {
    return guarded<Result<std::vector<Prediction>>>("Planner::predict", [&] {
      return Result<std::vector<Prediction>>(
          impl_.predict(current, max_predictions, min_confidence));
    });
  }
  Result<std::string> stats() const noexcept override {
    return guarded<Result<std::string>>("Planner::stats", [&] {
      if constexpr (kHasStats) {
        return Result<std::string>(impl_.stats());
      } else {
        return Result<std::string>(std::string("{}"));
      }
    });
  }
  Result<std::string> export_state() const noexcept override {
    if constexpr (kHasExport) {
      return guarded<Result<std::string>>(
          "Planner::export_state", [&] { return Result<std::string>(impl_.export_state()); });
    } else {
      return Status(Code::unimplemented, "this planner has no persistent state");
    }
  }
  Status import_state(std::string_view state_json) noexcept override {
    if constexpr (kHasImport) {
      return guarded<Status>("Planner::import_state", [&] {
        return void_or_status([&] { return impl_.import_state(state_json); });
      });
    } else {
      return Status(Code::unimplemented, "this planner has no persistent state");
    }
  }

 private:
  Impl impl_;
};

}  // namespace detail

// Registers T as the plugin's Planner in MOSS_PLUGIN(...).
template <class T>
struct as_planner {
  static constexpr Kind kind = Kind::planner;
  using interface = Planner;
  using adapter = detail::PlannerAdapter<T>;
};

}  // namespace moss::sdk
