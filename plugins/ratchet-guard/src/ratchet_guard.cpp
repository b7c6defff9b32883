// ratchet-guard: the seed's RatchetGuardrails (seed-notes.md §2) with its clock, its
// divide-by-zero and its unchecked inputs fixed.
#include "ratchet_guard.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

namespace moss::plugins {
namespace {

using nlohmann::json;
using sdk::Code;
using sdk::GuardState;
using sdk::Result;
using sdk::Status;

constexpr const char* kStateFormat = "ratchet-guard/1";

Status invalid(const std::string& message) {
  return Status(Code::invalid_argument, message);
}

std::string num(double value) {
  char text[32] = {};
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

bool is_score(double value) {
  return std::isfinite(value) && value >= 0.0 && value <= 1.0;
}
bool is_baseline(double value) {
  return std::isfinite(value) && value > 0.0 && value <= 1.0;
}

// Reads an optional number field; `accept` says whether a value is in range.
template <class Accept>
Status read_number(const json& doc, const char* key, double& out, Accept accept,
                   const char* range) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status();
  if (!it->is_number() || !accept(it->get<double>())) {
    return invalid(std::string(key) + ": must be a number " + range);
  }
  out = it->get<double>();
  return Status();
}

Status read_integer(const json& doc, const char* key, std::int64_t& out, std::int64_t min,
                    std::int64_t max) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status();
  if (!it->is_number_integer() || it->get<std::int64_t>() < min || it->get<std::int64_t>() > max) {
    return invalid(std::string(key) + ": must be an integer in [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
  }
  out = it->get<std::int64_t>();
  return Status();
}

bool parse_state_name(const std::string& name, GuardState& out) {
  for (GuardState s :
       {GuardState::nominal, GuardState::warning, GuardState::critical, GuardState::locked}) {
    if (name == sdk::guard_state_name(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

}  // namespace

Result<RatchetConfig> parse_ratchet_config(std::string_view config_json) {
  json doc = json::parse(config_json.empty() ? std::string_view("{}") : config_json, nullptr,
                         /*allow_exceptions=*/false);
  if (!doc.is_object()) return invalid("config must be a JSON object");
  RatchetConfig config;
  const auto in_unit = [](double v) { return v > 0.0 && v <= 1.0; };
  Status s = read_number(doc, "initial_score", config.initial_score, in_unit, "in (0, 1]");
  if (s.ok()) s = read_number(doc, "threshold", config.threshold, in_unit, "in (0, 1]");
  if (s.ok()) s = read_number(doc, "ema_alpha", config.ema_alpha, in_unit, "in (0, 1]");
  if (s.ok()) {
    s = read_number(
        doc, "lock_duration_s", config.lock_duration_s,
        [](double v) { return v >= 0.0 && v <= 1e9; }, "in [0, 1e9]");
  }
  std::int64_t window = config.window_size;
  std::int64_t lock_threshold = config.lock_threshold;
  if (s.ok()) s = read_integer(doc, "window_size", window, 1, 100000);
  if (s.ok()) s = read_integer(doc, "lock_threshold", lock_threshold, 1, 1000000);
  if (!s.ok()) return s;
  config.window_size = static_cast<std::int32_t>(window);
  config.lock_threshold = static_cast<std::int32_t>(lock_threshold);
  if (auto it = doc.find("baseline_policy"); it != doc.end()) {
    if (*it == "max") {
      config.baseline_policy = BaselinePolicy::max;
    } else if (*it == "ema") {
      config.baseline_policy = BaselinePolicy::ema;
    } else {
      return invalid("baseline_policy: must be \"max\" or \"ema\"");
    }
  }
  return config;
}

RatchetGuard::RatchetGuard() : state_(initial_state(config_)) {}

RatchetGuard::State RatchetGuard::initial_state(const RatchetConfig& config) {
  State state;
  state.ratchet_point = config.initial_score;
  state.peak_score = config.initial_score;
  return state;
}

Status RatchetGuard::init(const sdk::InitContext& context) {
  auto config = parse_ratchet_config(context.config_json);
  if (!config.ok()) return config.status();
  std::lock_guard lock(mutex_);
  config_ = config.value();
  state_ = initial_state(config_);
  host_ = context.host;
  return Status();
}

bool RatchetGuard::end_expired_lock(State& state, std::int64_t now_ms) {
  if (state.state != GuardState::locked || now_ms < state.lock_until_ms) return false;
  state.state = GuardState::nominal;
  state.degradation_count = 0;
  state.lock_until_ms = 0;
  return true;
}

void RatchetGuard::trim_history(State& state) const {
  const auto limit = static_cast<std::size_t>(config_.window_size) * 2;
  while (state.history.size() > limit)
    state.history.pop_front();
}

Result<sdk::Verdict> RatchetGuard::record(const sdk::ScoreSample& sample) {
  if (!is_score(sample.score)) {
    return invalid("score must be a number in [0, 1], got " + num(sample.score));
  }
  std::lock_guard lock(mutex_);
  State& s = state_;
  sdk::Verdict verdict;
  if (end_expired_lock(s, sample.now_ms)) verdict.events.emplace_back("unlock");
  // The point is always > 0: init, reset and import refuse anything else, and neither policy
  // can lower it.
  verdict.ratio = sample.score / s.ratchet_point;
  if (s.state == GuardState::locked) {
    verdict.allowed = false;
    verdict.state = GuardState::locked;
    verdict.ratchet_point = s.ratchet_point;
    verdict.lock_until_ms = s.lock_until_ms;
    verdict.reason = "locked after " + std::to_string(s.degradation_count) +
                     " consecutive degradations until " + std::to_string(s.lock_until_ms) +
                     " ms; score " + num(sample.score) + " not recorded";
    return verdict;
  }

  s.history.push_back({sample.now_ms, sample.score, sample.version, sample.action});
  trim_history(s);

  const double old_point = s.ratchet_point;
  if (verdict.ratio >= 1.0) {
    if (config_.baseline_policy == BaselinePolicy::max) {
      s.ratchet_point = std::max(s.ratchet_point, sample.score);
    } else {
      s.ratchet_point =
          (1.0 - config_.ema_alpha) * s.ratchet_point + config_.ema_alpha * sample.score;
    }
    s.peak_score = std::max(s.peak_score, sample.score);
    s.degradation_count = 0;
    s.state = GuardState::nominal;
    verdict.allowed = true;
    verdict.reason = "score " + num(sample.score) + " >= ratchet point " + num(old_point) +
                     "; point now " + num(s.ratchet_point);
  } else if (verdict.ratio >= config_.threshold) {
    ++s.degradation_count;
    s.state = GuardState::warning;
    verdict.allowed = true;
    verdict.reason =
        "score " + num(sample.score) + " is " + num(verdict.ratio) + " of the ratchet point " +
        num(old_point) + ", within threshold " + num(config_.threshold) + "; degradation " +
        std::to_string(s.degradation_count) + " of " + std::to_string(config_.lock_threshold);
  } else {
    ++s.degradation_count;
    s.state = GuardState::critical;
    verdict.allowed = false;
    verdict.events.emplace_back("degradation");
    verdict.reason = "score " + num(sample.score) + " is " + num(verdict.ratio) +
                     " of the ratchet point " + num(old_point) + ", below threshold " +
                     num(config_.threshold) + ": roll back";
    if (s.degradation_count >= config_.lock_threshold) {
      s.state = GuardState::locked;
      s.lock_until_ms = sample.now_ms + std::llround(config_.lock_duration_s * 1000.0);
      verdict.events.emplace_back("lock");
      verdict.reason += "; locked after " + std::to_string(s.degradation_count) +
                        " consecutive degradations until " + std::to_string(s.lock_until_ms) +
                        " ms";
    }
  }
  verdict.state = s.state;
  verdict.ratchet_point = s.ratchet_point;
  verdict.lock_until_ms = s.lock_until_ms;
  return verdict;
}

Result<sdk::Verdict> RatchetGuard::pre_check(const sdk::GuardTask& task) {
  std::lock_guard lock(mutex_);
  sdk::Verdict verdict;
  if (end_expired_lock(state_, task.now_ms)) verdict.events.emplace_back("unlock");
  verdict.state = state_.state;
  verdict.ratchet_point = state_.ratchet_point;
  verdict.lock_until_ms = state_.lock_until_ms;
  verdict.allowed = state_.state != GuardState::locked;
  verdict.reason = verdict.allowed
                       ? "ratchet not locked"
                       : "ratchet locked until " + std::to_string(state_.lock_until_ms) +
                             " ms after " + std::to_string(state_.degradation_count) +
                             " consecutive degradations";
  return verdict;
}

std::string RatchetGuard::stats() const {
  std::lock_guard lock(mutex_);
  // stats() gets no clock, so an expired lock is shown as ended by the host's clock; the
  // stored state changes (and "unlock" fires) at the next record or pre_check.
  State view = state_;
  if (host_ != nullptr) end_expired_lock(view, host_->now_ms());
  const auto window = std::min(view.history.size(), static_cast<std::size_t>(config_.window_size));
  double sum = 0.0;
  double min = window > 0 ? 1.0 : 0.0;
  for (auto it = view.history.end() - static_cast<std::ptrdiff_t>(window); it != view.history.end();
       ++it) {
    sum += it->score;
    min = std::min(min, it->score);
  }
  json stats = {
      {"state", sdk::guard_state_name(view.state)},
      {"ratchet_point", view.ratchet_point},
      {"peak_score", view.peak_score},
      {"degradation_count", view.degradation_count},
      {"is_locked", view.state == GuardState::locked},
      {"lock_until_ms", view.lock_until_ms},
      {"avg_recent_score", window > 0 ? sum / static_cast<double>(window) : 0.0},
      {"min_recent_score", min},
      {"window_size", config_.window_size},
      {"history_size", view.history.size()},
      {"baseline_policy", config_.baseline_policy == BaselinePolicy::max ? "max" : "ema"},
  };
  return stats.dump();
}

Status RatchetGuard::reset(const sdk::GuardReset& request) {
  if (request.set_baseline && !is_baseline(request.baseline)) {
    return invalid("baseline must be a number in (0, 1], got " + num(request.baseline));
  }
  std::lock_guard lock(mutex_);
  if (request.set_baseline) {
    state_.ratchet_point = request.baseline;
    state_.peak_score = std::max(state_.peak_score, request.baseline);
  }
  state_.degradation_count = 0;
  state_.lock_until_ms = 0;
  state_.state = GuardState::nominal;
  return Status();
}

std::string RatchetGuard::export_state() const {
  std::lock_guard lock(mutex_);
  json history = json::array();
  for (const Sample& sample : state_.history) {
    history.push_back({{"timestamp_ms", sample.timestamp_ms},
                       {"score", sample.score},
                       {"version", sample.version},
                       {"action", sample.action}});
  }
  json doc = {
      {"format", kStateFormat},
      {"ratchet_point", state_.ratchet_point},
      {"peak_score", state_.peak_score},
      {"state", sdk::guard_state_name(state_.state)},
      {"degradation_count", state_.degradation_count},
      {"lock_until_ms", state_.lock_until_ms},
      {"history", std::move(history)},
  };
  return doc.dump();
}

Status RatchetGuard::import_state(std::string_view state_json) {
  json doc = json::parse(state_json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return invalid("state: not a JSON object");
  if (doc.value("format", std::string()) != kStateFormat) {
    return invalid(std::string("state: format must be \"") + kStateFormat + "\"");
  }
  for (const char* key :
       {"ratchet_point", "peak_score", "state", "degradation_count", "lock_until_ms", "history"}) {
    if (!doc.contains(key)) return invalid(std::string("state: ") + key + ": missing");
  }
  State next;
  Status s = read_number(doc, "ratchet_point", next.ratchet_point, is_baseline, "in (0, 1]");
  if (s.ok()) s = read_number(doc, "peak_score", next.peak_score, is_score, "in [0, 1]");
  std::int64_t count = 0;
  if (s.ok()) s = read_integer(doc, "degradation_count", count, 0, 1000000);
  if (s.ok()) {
    s = read_integer(doc, "lock_until_ms", next.lock_until_ms, 0,
                     std::numeric_limits<std::int64_t>::max());
  }
  if (!s.ok()) return invalid("state: " + s.message());
  next.degradation_count = static_cast<std::int32_t>(count);
  if (!doc["state"].is_string() || !parse_state_name(doc["state"].get<std::string>(), next.state)) {
    return invalid("state: state: must be NOMINAL, WARNING, CRITICAL or LOCKED");
  }
  if ((next.state == GuardState::locked) != (next.lock_until_ms > 0)) {
    return invalid("state: lock_until_ms: must be > 0 exactly when the state is LOCKED");
  }
  const json& history = doc["history"];
  if (!history.is_array()) return invalid("state: history: must be an array");
  for (std::size_t i = 0; i < history.size(); ++i) {
    const json& entry = history[i];
    const std::string where = "state: history[" + std::to_string(i) + "]: ";
    if (!entry.is_object()) return invalid(where + "must be an object");
    for (const char* key : {"timestamp_ms", "score", "version", "action"}) {
      if (!entry.contains(key)) return invalid(where + key + ": missing");
    }
    Sample sample;
    s = read_number(entry, "score", sample.score, is_score, "in [0, 1]");
    if (s.ok()) {
      s = read_integer(entry, "timestamp_ms", sample.timestamp_ms,
                       std::numeric_limits<std::int64_t>::min(),
                       std::numeric_limits<std::int64_t>::max());
    }
    if (!s.ok()) return invalid(where + s.message());
    if (!entry["version"].is_string() || !entry["action"].is_string()) {
      return invalid(where + "version and action: must be strings");
    }
    sample.version = entry["version"].get<std::string>();
    sample.action = entry["action"].get<std::string>();
    next.history.push_back(std::move(sample));
  }
  std::lock_guard lock(mutex_);
  // The window may have shrunk since the export: keep the newest samples.
  trim_history(next);
  state_ = std::move(next);
  return Status();
}

}  // namespace moss::plugins
