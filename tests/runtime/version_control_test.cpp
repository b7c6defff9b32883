// Version control end to end: real plugin files staged into the store, evaluated by the real
// `moss eval-worker` child process, judged by the real ratchet-guard plugin, recorded in a
// real SQLite registry, and hot-swapped in the slot that serves calls.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <thread>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.hpp"
#include "registry/registry.hpp"
#include "runtime/plugin_manager.hpp"
#include "runtime/version_control.hpp"
#include "runtime/worker_evaluator.hpp"
#include "temp_dir.hpp"

#include "deployment.hpp"

using Catch::Matchers::Contains;
using moss::GateDecision;
using moss::VersionRow;
using moss::VersionState;

using moss::test::Deployment;
using moss::test::variant;

TEST_CASE("a better candidate is evaluated in isolation, promoted and served at once",
          "[versions]") {
  Deployment d("worse");
  CHECK(d.call(12) == R"({"double":-1})");
  VersionRow candidate = d.stage("good");
  GateDecision decision = d.evaluate();
  CHECK(decision.action == "promoted");
  CHECK(decision.run.outcome == "ok");
  CHECK(decision.run.score == 1.0);
  CHECK(decision.baseline_score == 0.5);
  CHECK(decision.verdict.state == moss::sdk::GuardState::nominal);
  CHECK(d.state_of(candidate.id) == VersionState::active);
  CHECK(d.call(12) == R"({"double":24})");
}

TEST_CASE("a worse candidate is rejected by the Ratchet and the active version keeps serving",
          "[versions]") {
  Deployment d("good");
  std::int64_t active = d.active_id();
  VersionRow candidate = d.stage("worse");
  GateDecision decision = d.evaluate();
  CHECK(decision.action == "rejected");
  CHECK(decision.verdict.state == moss::sdk::GuardState::critical);
  CHECK_THAT(decision.reason, Contains("CRITICAL"));
  CHECK(d.state_of(candidate.id) == VersionState::rejected);
  CHECK(d.active_id() == active);
  CHECK(d.call(12) == R"({"double":24})");
}

TEST_CASE("a slightly worse candidate gets a WARNING and is promoted", "[versions]") {
  Deployment d("good");
  VersionRow candidate = d.stage("slightly-worse");
  GateDecision decision = d.evaluate();
  CHECK(decision.verdict.state == moss::sdk::GuardState::warning);
  CHECK(decision.action == "promoted");
  CHECK(d.state_of(candidate.id) == VersionState::active);
}

TEST_CASE("a candidate that crashes in evaluation is rejected with the signal's name",
          "[versions][isolation]") {
  Deployment d("good");
  VersionRow candidate = d.stage("crash");
  GateDecision decision = d.evaluate();
  CHECK(decision.action == "rejected");
  CHECK(decision.run.outcome == "crashed");
  CHECK(decision.run.detail == "SIGSEGV");
  CHECK_THAT(decision.reason, Contains("crashed: SIGSEGV"));
  CHECK(d.state_of(candidate.id) == VersionState::rejected);
  CHECK(d.call(4) == R"({"double":8})");  // this process never ran the candidate
}

TEST_CASE("consecutive degradations lock the Ratchet until the cooldown ends", "[versions]") {
  Deployment d("good", "lock_threshold = 2\nlock_duration_s = 60");
  d.stage("worse");
  CHECK(d.evaluate().verdict.state == moss::sdk::GuardState::critical);
  d.stage("crash");
  CHECK(d.evaluate().verdict.state == moss::sdk::GuardState::locked);

  VersionRow waiting = d.stage("slightly-worse");
  std::size_t events = d.event_count();
  auto refused = d.versions().evaluate("doubler");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Contains("is LOCKED until"));
  CHECK_THAT(refused.status().message(), Contains("(in 60 s)"));
  CHECK(d.state_of(waiting.id) == VersionState::candidate);  // nothing changed
  CHECK(d.event_count() == events);

  d.now_ms += 61'000;
  CHECK(d.evaluate().action == "promoted");
}

TEST_CASE("a candidate identical to the serving version is refused, not re-evaluated",
          "[versions]") {
  Deployment d("good");
  auto staged = d.versions().stage_candidate("doubler", variant("good"));
  REQUIRE_FALSE(staged.ok());
  CHECK_THAT(staged.status().message(), Contains("identical to the serving version"));
  auto none = d.versions().evaluate("doubler");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == moss::Code::not_found);
}

TEST_CASE("a file of another plugin cannot be staged for an instance", "[versions]") {
  Deployment d("good");
  auto staged =
      d.versions().stage_candidate("doubler", std::string(MOSS_PLUGINS_DIR) + "/text-tool.so");
  REQUIRE_FALSE(staged.ok());
  CHECK_THAT(staged.status().message(),
             Contains("is plugin 'text-tool', but 'doubler' runs plugin 'fixture-evolvable'"));
}

TEST_CASE("rollback with no previous version is refused and changes nothing", "[versions]") {
  Deployment d("good");
  std::size_t events = d.event_count();
  auto rolled = d.versions().rollback("doubler", std::nullopt);
  REQUIRE_FALSE(rolled.ok());
  CHECK_THAT(rolled.status().message(), Contains("has no previous version to roll back to"));
  CHECK(d.event_count() == events);
}

TEST_CASE("promote with no candidate, or of an unknown version, is refused", "[versions]") {
  Deployment d("good");
  auto none = d.versions().promote("doubler", std::nullopt, true);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == moss::Code::not_found);
  auto unknown = d.versions().promote("doubler", 4242, true);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == moss::Code::not_found);
}

TEST_CASE("a candidate is promoted without evaluation only when forced", "[versions]") {
  Deployment d("good");
  VersionRow candidate = d.stage("worse");
  auto refused = d.versions().promote("doubler", std::nullopt, false);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Contains("--force"));
  auto forced = d.versions().promote("doubler", std::nullopt, true);
  REQUIRE(forced.ok());
  CHECK(forced->id == candidate.id);
  CHECK(d.call(12) == R"({"double":-1})");
  auto events = d.registry().events(std::string("doubler"), 1).value();
  CHECK_THAT(events.front().reason, Contains("forced promotion: not evaluated"));
}

TEST_CASE("rollback returns to the previous version and marks the active one rolled_back",
          "[versions]") {
  Deployment d("good");
  std::int64_t first = d.active_id();
  VersionRow forced = d.stage("worse");
  REQUIRE(d.versions().promote("doubler", std::nullopt, true).ok());
  auto rolled = d.versions().rollback("doubler", std::nullopt);
  REQUIRE(rolled.ok());
  CHECK(rolled->id == first);
  CHECK(d.state_of(forced.id) == VersionState::rolled_back);
  CHECK(d.call(12) == R"({"double":24})");
  // And forward again, to a named version.
  REQUIRE(d.versions().rollback("doubler", forced.id).ok());
  CHECK(d.call(12) == R"({"double":-1})");
}

TEST_CASE("a CRITICAL live score on probation rolls back to the kept predecessor",
          "[versions][probation]") {
  Deployment d("good", "probation_calls = 40\nprobation_window = 10");
  std::int64_t first = d.active_id();
  VersionRow candidate = d.stage("fails-live");  // passes the suite, fails on n >= 100
  GateDecision decision = d.evaluate();
  REQUIRE(decision.action == "probation");
  CHECK(d.state_of(candidate.id) == VersionState::probation);
  CHECK(d.versions().on_probation("doubler"));

  for (int i = 0; i < 10; ++i)
    d.call(100 + i);  // one window of live traffic, all failing
  CHECK(d.active_id() == first);
  CHECK(d.state_of(candidate.id) == VersionState::rolled_back);
  CHECK_FALSE(d.versions().on_probation("doubler"));
  CHECK(d.call(100) == R"({"double":200})");
  auto last = d.registry().events(std::string("doubler"), 1).value().front();
  CHECK_THAT(last.reason, Contains("during probation"));
}

TEST_CASE("probation ends after enough good live calls and the predecessor drains",
          "[versions][probation]") {
  Deployment d("worse", "probation_calls = 20\nprobation_window = 10");
  VersionRow candidate = d.stage("good");
  REQUIRE(d.evaluate().action == "probation");
  for (int i = 0; i < 20; ++i)
    REQUIRE(d.call(i) == "{\"double\":" + std::to_string(2 * i) + "}");
  CHECK(d.state_of(candidate.id) == VersionState::active);
  CHECK_FALSE(d.versions().on_probation("doubler"));
  auto slot = d.plugins().slot("doubler");
  REQUIRE(slot.ok());
  CHECK(slot.value()->predecessor() == nullptr);
}

TEST_CASE("calls made during a promotion never fail", "[versions][swap]") {
  Deployment d("worse");
  d.stage("good");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> calls{0};
  std::thread caller([&] {
    while (!stop.load()) {
      std::string answer = d.call(12);
      if (answer != R"({"double":-1})" && answer != R"({"double":24})") ++failures;
      ++calls;
    }
  });
  GateDecision decision = d.evaluate();
  // Keep calling until the new version has served some calls.
  while (d.call(12) != R"({"double":24})") {
  }
  stop = true;
  caller.join();
  CHECK(decision.action == "promoted");
  CHECK(failures.load() == 0);
  CHECK(calls.load() > 0);
}

TEST_CASE(
    "a restart comes back on the last active version and abandons an interrupted "
    "evaluation",
    "[versions][restart]") {
  Deployment d("worse");
  d.stage("good");
  REQUIRE(d.evaluate().action == "promoted");
  VersionRow interrupted = d.stage("slightly-worse");
  REQUIRE(d.registry()
              .transition(interrupted.id, VersionState::evaluating, "cli", "evaluation started")
              .ok());
  d.start();  // as if the process had been killed here
  CHECK(d.call(12) == R"({"double":24})");
  auto abandoned = d.versions().abandon_interrupted();
  REQUIRE(abandoned.ok());
  CHECK(abandoned.value() == 1);
  CHECK(d.state_of(interrupted.id) == VersionState::rejected);
  CHECK(d.registry().check_consistency().ok());
}

namespace {

// Sampled mode with scripted scores: the statistics, not the worker, are under test.
moss::VersionEvaluator scripted(std::vector<double> baseline, std::vector<double> candidate,
                                std::int64_t candidate_id) {
  auto b = std::make_shared<std::vector<double>>(std::move(baseline));
  auto c = std::make_shared<std::vector<double>>(std::move(candidate));
  return [b, c, candidate_id](const VersionRow& v, const std::string&) {
    auto& scores = v.id == candidate_id ? *c : *b;
    moss::EvaluationRun run;
    run.score = scores.front();
    scores.erase(scores.begin());
    run.passed = 1;
    run.total = 1;
    return moss::sdk::Result<moss::EvaluationRun>(run);
  };
}

GateDecision sampled_decision(std::vector<double> baseline, std::vector<double> candidate) {
  Deployment d("good", "mode = \"sampled\"\nsamples = 5");
  VersionRow staged = d.stage("good-too");
  moss::VersionControl versions(d.plugins(), d.registry(), d.config(), "cli",
                                scripted(std::move(baseline), std::move(candidate), staged.id));
  auto decision = versions.evaluate("doubler");
  INFO(decision.status().to_string());
  REQUIRE(decision.ok());
  return decision.value();
}

}  // namespace

TEST_CASE("sampled mode promotes when the ratio's interval clears the threshold",
          "[versions][sampled]") {
  // The first baseline value is the baseline measurement of a new Ratchet.
  GateDecision d =
      sampled_decision({1.0, 0.9, 0.91, 0.9, 0.92, 0.9}, {0.95, 0.96, 0.95, 0.97, 0.96});
  REQUIRE(d.interval.has_value());
  CHECK(d.interval->verdict == "Successful");
  CHECK(d.action == "promoted");
}

TEST_CASE("sampled mode rejects when the whole interval is below the threshold",
          "[versions][sampled]") {
  GateDecision d = sampled_decision({1.0, 1.0, 1.0, 1.0, 1.0, 1.0}, {0.5, 0.55, 0.5, 0.6, 0.5});
  CHECK(d.interval->verdict == "Failed");
  CHECK(d.action == "rejected");
}

TEST_CASE("sampled mode does not promote an inconclusive candidate and says why",
          "[versions][sampled]") {
  GateDecision d = sampled_decision({1.0, 0.9, 0.9, 0.9, 0.9, 0.9}, {1.0, 0.6, 1.0, 0.7, 1.0});
  CHECK(d.interval->verdict == "Inconclusive");
  CHECK(d.action == "rejected");
  CHECK_THAT(d.reason, Contains("Inconclusive"));
}

TEST_CASE("a registry locked by another process refuses a rollback; the slot keeps serving",
          "[versions][faults]") {
  Deployment d("good");
  d.stage("worse");
  REQUIRE(d.versions().promote("doubler", std::nullopt, true).ok());
  const std::filesystem::path db = d.registry().file();
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t holder = ::fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {  // another process takes the write lock and keeps it
    sqlite3* raw = nullptr;
    sqlite3_open(db.c_str(), &raw);
    sqlite3_exec(raw, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr);
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);

  auto refused = d.versions().rollback("doubler", std::nullopt);
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == moss::Code::unavailable);
  CHECK_THAT(refused.status().message(), Contains("locked by another process"));
  CHECK(d.call(12) == R"({"double":-1})");  // memory follows only committed rows
  REQUIRE(d.versions().rollback("doubler", std::nullopt).ok());
  CHECK(d.call(12) == R"({"double":24})");
}

TEST_CASE("a full registry refuses a promotion; the slot keeps serving", "[versions][faults]") {
  Deployment d("good");
  VersionRow candidate = d.stage("worse");
  d.max_page_count = 1;  // SQLite raises it to the file's size: no page can be added
  d.start();
  // Fill what is left of the last pages, so the next write needs a new page.
  for (int i = 0; i < 200; ++i) {
    moss::NewEvent filler;
    filler.plugin = "doubler";
    filler.type = "filler";
    filler.actor = "cli";
    filler.reason = std::string(200, 'x');
    if (!d.registry().record_event(filler).ok()) break;
  }
  std::int64_t serving = d.active_id();
  auto refused = d.versions().promote("doubler", candidate.id, true);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == moss::Code::resource_exhausted);
  CHECK(d.call(12) == R"({"double":24})");
  CHECK(d.active_id() == serving);
  CHECK(d.state_of(candidate.id) != VersionState::active);
  CHECK(d.registry().check_consistency().ok());
}
