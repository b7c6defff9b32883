// ratchet-guard's behaviour, tested on the class directly: the seed's Ratchet semantics
// (seed-notes.md §2), the ema policy, the lock on the sample clock, stats, reset, and state
// round trips. Time is whatever the samples say; no test reads a clock.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "ratchet_guard.hpp"

using Catch::Matchers::Contains;
using moss::plugins::RatchetGuard;
using moss::sdk::Code;
using moss::sdk::GuardState;
using moss::sdk::Verdict;
using nlohmann::json;

namespace {

class FakeClockHost final : public moss::sdk::HostServices {
 public:
  moss::sdk::Result<moss::sdk::ChatResponse> chat(const moss::sdk::ChatRequest&) noexcept override {
    return moss::sdk::Status(Code::unavailable, "no backend in this test");
  }
  std::int64_t now_ms() const noexcept override { return now; }
  std::int64_t now = 0;
};

void configure(RatchetGuard& guard, const std::string& config_json,
               moss::sdk::HostServices* host = nullptr) {
  moss::sdk::NullLogger logger;
  moss::sdk::InitContext context;
  context.config_json = config_json;
  context.logger = &logger;
  context.host = host;
  auto status = guard.init(context);
  INFO(status.to_string());
  REQUIRE(status.ok());
}

Verdict record(RatchetGuard& guard, double score, std::int64_t now_ms = 0) {
  moss::sdk::ScoreSample sample;
  sample.score = score;
  sample.version = "v";
  sample.action = "evaluate";
  sample.now_ms = now_ms;
  auto verdict = guard.record(sample);
  INFO(verdict.status().to_string());
  REQUIRE(verdict.ok());
  return verdict.value();
}

Verdict pre_check(RatchetGuard& guard, std::int64_t now_ms) {
  moss::sdk::GuardTask task;
  task.task_id = "t";
  task.now_ms = now_ms;
  auto verdict = guard.pre_check(task);
  REQUIRE(verdict.ok());
  return verdict.value();
}

json stats(const RatchetGuard& guard) {
  return json::parse(guard.stats());
}

// A guard locked at t=1000 by three CRITICAL scores (default lock: 300 s).
void lock_at_1000(RatchetGuard& guard) {
  record(guard, 0.1, 1000);
  record(guard, 0.1, 1000);
  REQUIRE(record(guard, 0.1, 1000).state == GuardState::locked);
}

}  // namespace

TEST_CASE("the defaults are the seed's parameters", "[ratchet]") {
  RatchetGuard guard;
  configure(guard, "{}");
  json s = stats(guard);
  CHECK(s["ratchet_point"] == 0.8);
  CHECK(s["peak_score"] == 0.8);
  CHECK(s["window_size"] == 10);
  CHECK(s["baseline_policy"] == "max");
  CHECK(s["state"] == "NOMINAL");
}

TEST_CASE("a score at or above the ratchet point is NOMINAL and raises the point to it",
          "[ratchet]") {
  RatchetGuard guard;
  Verdict v = record(guard, 0.9);
  CHECK(v.allowed);
  CHECK(v.state == GuardState::nominal);
  CHECK(v.ratio == Approx(0.9 / 0.8));
  CHECK(v.ratchet_point == 0.9);
  CHECK(v.events.empty());
  CHECK(stats(guard)["peak_score"] == 0.9);
}

TEST_CASE("the ratchet point never falls under the max policy", "[ratchet]") {
  RatchetGuard guard;
  double highest = 0.8;
  for (double score : {0.85, 0.5, 0.84, 0.9, 0.2, 0.89, 0.91, 0.0}) {
    Verdict v = record(guard, score);
    highest = std::max(highest, score);
    CHECK(v.ratchet_point == highest);
    guard.reset({});  // keep the lock out of the way
  }
}

TEST_CASE("a score within the threshold ratio is WARNING: allowed and counted", "[ratchet]") {
  RatchetGuard guard;
  Verdict v = record(guard, 0.78);  // 0.975 of 0.8
  CHECK(v.allowed);
  CHECK(v.state == GuardState::warning);
  CHECK(v.ratchet_point == 0.8);
  CHECK(v.events.empty());
  CHECK(stats(guard)["degradation_count"] == 1);
}

TEST_CASE("a score exactly at the threshold ratio is WARNING", "[ratchet]") {
  RatchetGuard guard;
  REQUIRE(guard.reset({true, 0.5}).ok());
  Verdict v = record(guard, 0.475);  // exactly 0.95 of 0.5
  CHECK(v.ratio == 0.95);
  CHECK(v.state == GuardState::warning);
  CHECK(v.allowed);
}

TEST_CASE("a score below the threshold ratio is CRITICAL: refused, counted, degradation fires",
          "[ratchet]") {
  RatchetGuard guard;
  Verdict v = record(guard, 0.7);
  CHECK_FALSE(v.allowed);
  CHECK(v.state == GuardState::critical);
  CHECK(v.ratio == Approx(0.875));
  CHECK(v.ratchet_point == 0.8);
  CHECK(v.events == std::vector<std::string>{"degradation"});
  CHECK_THAT(v.reason, Contains("roll back"));
  CHECK(stats(guard)["degradation_count"] == 1);
}

TEST_CASE("a score of zero is CRITICAL", "[ratchet]") {
  RatchetGuard guard;
  Verdict v = record(guard, 0.0);
  CHECK(v.ratio == 0.0);
  CHECK(v.state == GuardState::critical);
}

TEST_CASE("a NOMINAL score resets the degradation count", "[ratchet]") {
  RatchetGuard guard;
  record(guard, 0.1);
  record(guard, 0.1);
  record(guard, 0.8);
  CHECK(stats(guard)["degradation_count"] == 0);
  CHECK(record(guard, 0.1).state == GuardState::critical);  // 1 of 3 again, no lock
}

TEST_CASE("lock_threshold consecutive degradations lock until now + lock_duration_s", "[ratchet]") {
  RatchetGuard guard;
  configure(guard, R"({"lock_threshold":2,"lock_duration_s":60})");
  CHECK(record(guard, 0.1, 5000).state == GuardState::critical);
  Verdict v = record(guard, 0.1, 7000);
  CHECK_FALSE(v.allowed);
  CHECK(v.state == GuardState::locked);
  CHECK(v.lock_until_ms == 67000);
  CHECK(v.events == std::vector<std::string>{"degradation", "lock"});
  CHECK(stats(guard)["is_locked"] == true);
}

TEST_CASE("WARNING scores count toward the lock", "[ratchet]") {
  RatchetGuard guard;
  record(guard, 0.78);
  record(guard, 0.78);
  CHECK(record(guard, 0.1).state == GuardState::locked);
}

TEST_CASE("a locked guard refuses scores without recording them", "[ratchet]") {
  RatchetGuard guard;
  lock_at_1000(guard);
  Verdict v = record(guard, 1.0, 2000);
  CHECK_FALSE(v.allowed);
  CHECK(v.state == GuardState::locked);
  CHECK(v.lock_until_ms == 301000);
  CHECK(v.events.empty());
  CHECK(stats(guard)["history_size"] == 3);
  CHECK(stats(guard)["ratchet_point"] == 0.8);
}

TEST_CASE("the lock still holds one millisecond before lock_until_ms", "[ratchet]") {
  RatchetGuard guard;
  lock_at_1000(guard);
  CHECK(record(guard, 1.0, 300999).state == GuardState::locked);
}

TEST_CASE("at lock_until_ms the lock ends: unlock fires, the count resets, the score is judged",
          "[ratchet]") {
  RatchetGuard guard;
  lock_at_1000(guard);
  Verdict v = record(guard, 0.7, 301000);
  CHECK(v.events == std::vector<std::string>{"unlock", "degradation"});
  CHECK(v.state == GuardState::critical);  // judged afresh: 1 degradation, not 4
  CHECK(stats(guard)["degradation_count"] == 1);
  CHECK(stats(guard)["lock_until_ms"] == 0);
}

TEST_CASE("pre_check allows a guard that is not locked", "[ratchet]") {
  RatchetGuard guard;
  record(guard, 0.1);
  Verdict v = pre_check(guard, 0);
  CHECK(v.allowed);
  CHECK(v.state == GuardState::critical);
}

TEST_CASE("pre_check refuses while locked", "[ratchet]") {
  RatchetGuard guard;
  lock_at_1000(guard);
  Verdict v = pre_check(guard, 300999);
  CHECK_FALSE(v.allowed);
  CHECK(v.state == GuardState::locked);
  CHECK(v.lock_until_ms == 301000);
  CHECK_THAT(v.reason, Contains("locked until 301000"));
}

TEST_CASE("pre_check ends an expired lock and reports unlock once", "[ratchet]") {
  RatchetGuard guard;
  lock_at_1000(guard);
  Verdict v = pre_check(guard, 301000);
  CHECK(v.allowed);
  CHECK(v.state == GuardState::nominal);
  CHECK(v.events == std::vector<std::string>{"unlock"});
  CHECK(pre_check(guard, 301001).events.empty());
}

TEST_CASE("NaN, infinite and out-of-range scores are refused and not recorded", "[ratchet]") {
  RatchetGuard guard;
  double bad = GENERATE(std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity(), -0.01, 1.01);
  moss::sdk::ScoreSample sample;
  sample.score = bad;
  auto verdict = guard.record(sample);
  REQUIRE_FALSE(verdict.ok());
  CHECK(verdict.status().code() == Code::invalid_argument);
  CHECK(stats(guard)["history_size"] == 0);
}

TEST_CASE("the ema policy moves the point to 0.9 old + 0.1 new on NOMINAL", "[ratchet]") {
  RatchetGuard guard;
  configure(guard, R"({"baseline_policy":"ema"})");
  CHECK(record(guard, 0.9).ratchet_point == Approx(0.81));
  CHECK(record(guard, 1.0).ratchet_point == Approx(0.829));
  CHECK(record(guard, 0.8).state == GuardState::warning);  // 0.8 < 0.829: not NOMINAL
  CHECK(stats(guard)["peak_score"] == 1.0);
}

TEST_CASE("ema_alpha sets the weight of the new score", "[ratchet]") {
  RatchetGuard guard;
  configure(guard, R"({"baseline_policy":"ema","ema_alpha":0.5})");
  CHECK(record(guard, 1.0).ratchet_point == Approx(0.9));
}

TEST_CASE("history is bounded at twice the window size", "[ratchet]") {
  RatchetGuard guard;
  configure(guard, R"({"window_size":3})");
  for (int i = 0; i < 10; ++i)
    record(guard, 0.9);
  CHECK(stats(guard)["history_size"] == 6);
}

TEST_CASE("stats give avg and min of the last window_size scores", "[ratchet]") {
  RatchetGuard guard;
  configure(guard, R"({"window_size":2,"lock_threshold":100})");
  record(guard, 0.2);
  record(guard, 0.9);
  record(guard, 0.5);
  json s = stats(guard);
  CHECK(s["avg_recent_score"] == Approx(0.7));
  CHECK(s["min_recent_score"] == 0.5);
  CHECK(s["history_size"] == 3);
}

TEST_CASE("stats of an empty history report a zero window", "[ratchet]") {
  RatchetGuard guard;
  json s = stats(guard);
  CHECK(s["avg_recent_score"] == 0.0);
  CHECK(s["min_recent_score"] == 0.0);
  CHECK(s["history_size"] == 0);
  CHECK(s["is_locked"] == false);
}

TEST_CASE("stats show a lock as ended once the host's clock reaches lock_until_ms", "[ratchet]") {
  FakeClockHost host;
  RatchetGuard guard;
  configure(guard, "{}", &host);
  lock_at_1000(guard);
  host.now = 300999;
  CHECK(stats(guard)["is_locked"] == true);
  host.now = 301000;
  json s = stats(guard);
  CHECK(s["is_locked"] == false);
  CHECK(s["state"] == "NOMINAL");
  CHECK(s["degradation_count"] == 0);
}

TEST_CASE("reset clears the count, the lock and the state and keeps the point", "[ratchet]") {
  RatchetGuard guard;
  record(guard, 0.9);
  lock_at_1000(guard);
  REQUIRE(guard.reset({}).ok());
  json s = stats(guard);
  CHECK(s["state"] == "NOMINAL");
  CHECK(s["degradation_count"] == 0);
  CHECK(s["is_locked"] == false);
  CHECK(s["lock_until_ms"] == 0);
  CHECK(s["ratchet_point"] == 0.9);
  CHECK(record(guard, 0.9, 1001).allowed);
}

TEST_CASE("reset with a baseline sets the ratchet point, even lower", "[ratchet]") {
  RatchetGuard guard;
  record(guard, 0.95);
  REQUIRE(guard.reset({true, 0.6}).ok());
  CHECK(stats(guard)["ratchet_point"] == 0.6);
  CHECK(record(guard, 0.6).state == GuardState::nominal);
}

TEST_CASE("reset refuses a baseline of zero or less, which the seed would divide by", "[ratchet]") {
  RatchetGuard guard;
  double bad = GENERATE(0.0, -0.5, 1.5, std::numeric_limits<double>::quiet_NaN());
  auto status = guard.reset({true, bad});
  CHECK(status.code() == Code::invalid_argument);
  CHECK(stats(guard)["ratchet_point"] == 0.8);
}

TEST_CASE("export then import restores an equivalent guard", "[ratchet]") {
  RatchetGuard original;
  configure(original, R"({"lock_threshold":2})");
  record(original, 0.9, 10);
  record(original, 0.86, 20);  // WARNING
  moss::sdk::ScoreSample sample{0.3, "v7", "probation", 30};
  REQUIRE(original.record(sample).ok());  // CRITICAL, locks
  const std::string exported = original.export_state();

  RatchetGuard restored;
  configure(restored, R"({"lock_threshold":2})");
  REQUIRE(restored.import_state(exported).ok());
  CHECK(restored.export_state() == exported);
  CHECK(restored.stats() == original.stats());
  Verdict a = record(original, 0.95, 300030);
  Verdict b = record(restored, 0.95, 300030);
  CHECK(a.events == b.events);
  CHECK(a.state == b.state);
  CHECK(a.ratchet_point == b.ratchet_point);
}

TEST_CASE("import refuses a malformed document and leaves the state unchanged", "[ratchet]") {
  RatchetGuard guard;
  record(guard, 0.9, 10);
  const std::string before = guard.export_state();
  json good = json::parse(before);
  auto with = [&](const char* key, json value) {
    json doc = good;
    doc[key] = std::move(value);
    return doc.dump();
  };
  auto without = [&](const char* key) {
    json doc = good;
    doc.erase(key);
    return doc.dump();
  };
  const std::string bad = GENERATE_COPY(
      std::string("not json"), std::string("[]"), with("format", "ratchet-guard/0"),
      with("ratchet_point", 0.0), with("ratchet_point", "0.9"), with("peak_score", 2.0),
      with("state", "SLEEPY"), with("degradation_count", -1), with("lock_until_ms", 5),
      with("history", json::object()), with("history", json::array({{{"score", 0.5}}})),
      with("history",
           json::array({{{"timestamp_ms", 1}, {"score", 7}, {"version", ""}, {"action", ""}}})),
      without("history"), without("ratchet_point"));
  auto status = guard.import_state(bad);
  INFO(bad);
  CHECK(status.code() == Code::invalid_argument);
  CHECK(guard.export_state() == before);
}

TEST_CASE("an import error names the offending field", "[ratchet]") {
  RatchetGuard guard;
  json doc = json::parse(guard.export_state());
  doc["ratchet_point"] = 0;
  CHECK_THAT(guard.import_state(doc.dump()).message(), Contains("ratchet_point"));
}

TEST_CASE("import keeps the newest samples when the history exceeds twice the window",
          "[ratchet]") {
  RatchetGuard big;
  configure(big, R"({"window_size":5})");
  for (int i = 1; i <= 10; ++i)
    record(big, 0.8 + i * 0.01, i);
  RatchetGuard small;
  configure(small, R"({"window_size":2})");
  REQUIRE(small.import_state(big.export_state()).ok());
  json state = json::parse(small.export_state());
  REQUIRE(state["history"].size() == 4);
  CHECK(state["history"][0]["timestamp_ms"] == 7);
  CHECK(state["history"][3]["timestamp_ms"] == 10);
}

TEST_CASE("a bad config value is refused at init with its key named", "[ratchet]") {
  auto [config, key] = GENERATE(table<std::string, std::string>({
      {R"({"initial_score":0})", "initial_score"},
      {R"({"threshold":1.5})", "threshold"},
      {R"({"window_size":0})", "window_size"},
      {R"({"lock_threshold":2.5})", "lock_threshold"},
      {R"({"lock_duration_s":-1})", "lock_duration_s"},
      {R"({"baseline_policy":"min"})", "baseline_policy"},
      {R"({"ema_alpha":0})", "ema_alpha"},
  }));
  RatchetGuard guard;
  moss::sdk::InitContext context;
  context.config_json = config;
  auto status = guard.init(context);
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains(key));
}

TEST_CASE("initial_score sets the starting point and peak", "[ratchet]") {
  RatchetGuard guard;
  configure(guard, R"({"initial_score":0.5})");
  CHECK(record(guard, 0.5).state == GuardState::nominal);
  CHECK(stats(guard)["peak_score"] == 0.5);
}

TEST_CASE("concurrent records are serialised", "[ratchet]") {
  RatchetGuard guard;
  configure(guard, R"({"window_size":1000,"lock_threshold":1000000})");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&guard, t] {
      for (int i = 0; i < 250; ++i) {
        moss::sdk::ScoreSample sample{(t * 250 + i) / 1000.0, "v", "load", i};
        (void)guard.record(sample);
        (void)guard.stats();
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  json s = stats(guard);
  CHECK(s["history_size"] == 1000);
  CHECK(s["peak_score"] == 0.999);
  CHECK(s["ratchet_point"] == 0.999);
}
