// Rollback latency during probation: a host with a real registry file, the real ratchet-guard
// and a scripted evaluator (every version scores 1.0, so no worker runs) puts a candidate on
// probation, its predecessor kept loaded, and times the way back to that predecessor:
//   manual:    VersionControl::rollback(instance, nullopt);
//   automatic: the failing live call that completes a probation window, until the slot
//              serves the predecessor again and the instance is off probation;
//   phases:    the steps of the automatic path taken one by one through the public API
//              (Ratchet verdict, registry commit, publish, drain), each timed apart.
#include <time.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "groups.hpp"
#include "registry/registry.hpp"
#include "runtime/loaded_version.hpp"
#include "runtime/plugin_manager.hpp"
#include "runtime/ratchet_gate.hpp"
#include "runtime/slot.hpp"
#include "runtime/version_control.hpp"

namespace moss::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kManual = "rollback/probation/manual";
constexpr const char* kAutomatic = "rollback/probation/automatic";
constexpr const char* kPhases = "rollback/probation/phases";
constexpr const char* kInstance = "doubler";

// Each iteration stages, evaluates and loads a new file, and leaves a version in the
// registry: a fixed count keeps a run's store and registry bounded.
constexpr int kIterations = 200;
constexpr std::int64_t kProbationWindow = 10;
// Probation never passes during a run: every candidate leaves it by a rollback.
constexpr std::int64_t kProbationCalls = 1'000'000;
constexpr int kDrainMs = 1000;
constexpr double kGoalUs = 1000.0;

// Every version scores 1.0: NOMINAL against a 1.0 baseline, so each candidate is put on
// probation without a worker process.
VersionEvaluator perfect_scores() {
  return [](const VersionRow&, const std::string&) {
    EvaluationRun run;
    run.score = 1.0;
    run.passed = 1;
    run.total = 1;
    return Result<EvaluationRun>(run);
  };
}

// A host like `moss serve`'s with one instance, "doubler", of fixture-evolvable.
class ProbationHost {
 public:
  static Result<std::unique_ptr<ProbationHost>> open() {
    std::unique_ptr<ProbationHost> host(new ProbationHost());
    std::ofstream(host->dir_ / "moss.toml")
        << "state_dir = \"state\"\n"
        << "[ratchet]\nprobation_calls = " << kProbationCalls
        << "\nprobation_window = " << kProbationWindow << "\n"
        << "[evaluation]\ndrain_ms = " << kDrainMs << "\n"
        << "[plugins.ratchet-guard]\npath = \"" << MOSS_BENCH_RATCHET_GUARD_FILE << "\"\n"
        << "[plugins." << kInstance << "]\npath = \"" << plugin_file().string() << "\"\n";
    auto config = load_config(host->dir_ / "moss.toml");
    if (!config.ok()) return config.status();
    host->config_ = std::move(config.value());
    auto registry = Registry::open(host->config_.registry_file());
    if (!registry.ok()) return registry.status();
    host->registry_ = std::move(registry.value());
    host->plugins_ = std::make_unique<PluginManager>(host->config_, *host->registry_);
    if (host->plugins_->start() != 0) {
      return Status(Code::internal, "the bench host could not load its plugins");
    }
    host->versions_ = std::make_unique<VersionControl>(*host->plugins_, *host->registry_,
                                                       host->config_, "cli", perfect_scores());
    auto slot = host->plugins_->slot(kInstance);
    if (!slot.ok()) return slot.status();
    host->slot_ = slot.value();
    auto active = host->registry_->active_version(kInstance);
    if (!active.ok()) return active.status();
    host->baseline_id_ = active.value()->id;
    return host;
  }

  ~ProbationHost() {
    versions_.reset();  // clears its observer from the slot first
    plugins_.reset();
    registry_.reset();
  }

  Registry& registry() { return *registry_; }
  PluginManager& plugins() { return *plugins_; }
  VersionControl& versions() { return *versions_; }
  const Config& config() const { return config_; }
  Slot& slot() { return *slot_; }
  std::int64_t baseline_id() const { return baseline_id_; }

  // Stages a copy of `file` with a unique trailer (a new sha256: the registry refuses a file
  // it already has) as a candidate.
  Result<VersionRow> stage(const std::filesystem::path& file) {
    auto copy = dir_ / ("candidate-" + std::to_string(++copies_) + ".so");
    std::error_code ec;
    std::filesystem::copy_file(file, copy, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) return Status(Code::internal, "copy " + file.string() + ": " + ec.message());
    std::ofstream(copy, std::ios::app | std::ios::binary) << "moss-bench-" << copies_;
    auto staged = versions_->stage_candidate(kInstance, copy);
    std::filesystem::remove(copy, ec);
    return staged;
  }

  // Stages a copy of `file` and evaluates it: it serves on probation, the active version
  // kept loaded as its predecessor.
  Result<VersionRow> put_on_probation(const std::filesystem::path& file) {
    auto staged = stage(file);
    if (!staged.ok()) return staged.status();
    auto decision = versions_->evaluate(kInstance);
    if (!decision.ok()) return decision.status();
    if (decision->action != "probation") {
      return Status(Code::internal,
                    "the candidate was " + decision->action + ": " + decision->reason);
    }
    return decision->candidate;
  }

  // Puts a staged copy of `file` on probation the way VersionControl::decide does, but
  // without VersionControl: a Ratchet verdict, one commit, a publish that keeps the
  // predecessor. Nothing else then believes the instance is on probation.
  Result<VersionRow> put_on_probation_by_hand(const std::filesystem::path& file) {
    auto staged = stage(file);
    if (!staged.ok()) return staged.status();
    auto evaluating =
        registry_->transition(staged->id, VersionState::evaluating, actors::cli,
                              "bench: evaluation skipped", "{}", VersionState::candidate);
    if (!evaluating.ok()) return evaluating.status();
    auto loaded = plugins_->load_version(evaluating.value());
    if (!loaded.ok()) return loaded.status();
    auto gate = RatchetGate::open(*plugins_, config_, *registry_, kInstance);
    if (!gate.ok()) return gate.status();
    if (gate.value()->is_new()) {
      Status reset = gate.value()->reset(1.0);
      if (!reset.ok()) return reset;
    }
    auto verdict = gate.value()->record(1.0, staged->sha256.substr(0, 12), "evaluate", now_ms());
    if (!verdict.ok()) return verdict.status();
    auto state = gate.value()->state_json();
    if (!state.ok()) return state.status();
    Attachments attachments;
    attachments.ratchet_state_json = state.value();
    auto probation =
        registry_->transition(staged->id, VersionState::probation, actors::cli,
                              "bench: on probation", "{}", VersionState::evaluating, attachments);
    if (!probation.ok()) return probation.status();
    plugins_->publish(probation.value(), std::move(loaded.value()),
                      Slot::Previous::keep_for_probation);
    return probation;
  }

  static std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }

 private:
  ProbationHost() = default;

  test::TempDir dir_;
  Config config_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<PluginManager> plugins_;
  std::unique_ptr<VersionControl> versions_;
  Slot* slot_ = nullptr;
  std::int64_t baseline_id_ = 0;
  std::uint64_t copies_ = 0;
};

// The calling thread's CPU time: next to the wall time, it tells work from waiting (for the
// CPU on a busy machine, for the disk, or for a lock).
Clock::duration thread_cpu() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(now.tv_sec) +
                                                     std::chrono::nanoseconds(now.tv_nsec));
}

std::string doubler_args(std::int64_t n) {
  return "{\"n\":" + std::to_string(n) + "}";
}

// True if the slot serves `version_id` through the very object it kept as the predecessor.
bool serves_kept(Slot& slot, const std::shared_ptr<const LoadedVersion>& kept,
                 std::int64_t version_id) {
  auto active = slot.active();
  return active != nullptr && active.get() == kept.get() && active->version_id() == version_id;
}

// VersionControl::rollback(instance, nullopt) of a version on probation.
void manual_rollback(benchmark::State& state) {
  auto host = ProbationHost::open();
  if (!host.ok()) return state.SkipWithError(host.status().to_string().c_str());
  ProbationHost& h = *host.value();
  Samples whole;
  Samples cpu;
  whole.reserve(kIterations);
  cpu.reserve(kIterations);
  for (auto _ : state) {
    auto candidate = h.put_on_probation(plugin_file());
    if (!candidate.ok()) return state.SkipWithError(candidate.status().to_string().c_str());
    auto kept = h.slot().predecessor();
    if (!kept || kept->version_id() != h.baseline_id()) {
      return state.SkipWithError("the predecessor is not kept loaded during probation");
    }

    auto cpu_start = thread_cpu();
    auto start = Clock::now();
    auto rolled = h.versions().rollback(kInstance, std::nullopt);
    auto end = Clock::now();
    auto cpu_end = thread_cpu();

    if (!rolled.ok()) return state.SkipWithError(rolled.status().to_string().c_str());
    if (rolled->id != h.baseline_id() || !serves_kept(h.slot(), kept, h.baseline_id())) {
      return state.SkipWithError("the rollback did not reuse the kept predecessor");
    }
    if (h.versions().on_probation(kInstance) || h.slot().draining() != 0) {
      return state.SkipWithError("still on probation, or the candidate did not drain");
    }
    whole.add(end - start);
    cpu.add(cpu_end - cpu_start);
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
  }
  whole.set_counters(state);
  cpu.set_counters(state, "cpu_");
}

// The live call that completes a failing probation window (evolvable-fails-live errs on
// n >= 100), until the predecessor serves again and the instance is off probation. The
// Ratchet's verdict and the rollback run in that call's thread, after its lease.
void automatic_rollback(benchmark::State& state) {
  auto host = ProbationHost::open();
  if (!host.ok()) return state.SkipWithError(host.status().to_string().c_str());
  ProbationHost& h = *host.value();
  Samples whole;
  Samples call;
  Samples cpu;
  whole.reserve(kIterations);
  call.reserve(kIterations);
  cpu.reserve(kIterations);
  std::int64_t pending_at_return = 0;  // iterations not yet rolled back when the call returned
  for (auto _ : state) {
    auto candidate = h.put_on_probation(MOSS_BENCH_FAILS_LIVE_FILE);
    if (!candidate.ok()) return state.SkipWithError(candidate.status().to_string().c_str());
    auto kept = h.slot().predecessor();
    if (!kept) return state.SkipWithError("the predecessor is not kept loaded during probation");
    for (std::int64_t i = 0; i + 1 < kProbationWindow; ++i) {
      if (h.plugins().invoke_tool(kInstance, doubler_args(100 + i)).ok()) {
        return state.SkipWithError("a live call on evolvable-fails-live succeeded");
      }
    }
    if (!h.versions().on_probation(kInstance)) {
      return state.SkipWithError("probation ended before its window was complete");
    }

    auto cpu_start = thread_cpu();
    auto start = Clock::now();
    auto last = h.plugins().invoke_tool(kInstance, doubler_args(100 + kProbationWindow));
    auto returned = Clock::now();
    auto cpu_returned = thread_cpu();
    bool done_at_return = true;
    while (h.versions().on_probation(kInstance) || !serves_kept(h.slot(), kept, h.baseline_id())) {
      done_at_return = false;
      if (Clock::now() - start > std::chrono::milliseconds(kDrainMs * 5)) {
        return state.SkipWithError("no rollback after a failing probation window");
      }
    }
    auto end = Clock::now();

    if (last.ok()) return state.SkipWithError("the window's last live call succeeded");
    if (!done_at_return) ++pending_at_return;
    whole.add(end - start);
    call.add(returned - start);
    cpu.add(cpu_returned - cpu_start);
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
  }
  whole.set_counters(state);
  call.set_counters(state, "call_");
  cpu.set_counters(state, "cpu_");
  state.counters["pending_at_return"] = static_cast<double>(pending_at_return);
}

// The automatic rollback's steps one by one, as VersionControl takes them after a failing
// window: the Ratchet's verdict (guard object made, saved state imported, score recorded,
// state exported), the registry commit (the predecessor active, the candidate rolled_back,
// with the Ratchet state and the live evaluation), the publish of the kept predecessor, and
// the drain that destroys and unloads the candidate.
void rollback_phases(benchmark::State& state) {
  auto host = ProbationHost::open();
  if (!host.ok()) return state.SkipWithError(host.status().to_string().c_str());
  ProbationHost& h = *host.value();
  Samples whole, verdict_us, commit_us, publish_us, drain_us;
  for (auto _ : state) {
    auto candidate = h.put_on_probation_by_hand(MOSS_BENCH_FAILS_LIVE_FILE);
    if (!candidate.ok()) return state.SkipWithError(candidate.status().to_string().c_str());

    auto start = Clock::now();
    auto gate = RatchetGate::open(h.plugins(), h.config(), h.registry(), kInstance);
    if (!gate.ok()) return state.SkipWithError(gate.status().to_string().c_str());
    auto verdict =
        gate.value()->record(0.0, candidate->sha256.substr(0, 12), "probation", h.now_ms());
    auto ratchet_state = gate.value()->state_json();
    auto judged = Clock::now();
    if (!verdict.ok() || !ratchet_state.ok() || verdict->allowed) {
      return state.SkipWithError("the Ratchet did not refuse a failing probation window");
    }
    Attachments attachments;
    attachments.ratchet_state_json = ratchet_state.value();
    attachments.evaluation =
        NewEvaluation{kInstance,
                      candidate->id,
                      actors::ratchet,
                      "probation",
                      "ok",
                      std::to_string(kProbationWindow) + " live calls, all failed",
                      0.0,
                      0,
                      kProbationWindow,
                      sdk::guard_state_name(verdict->state),
                      "{}"};
    auto kept = h.slot().predecessor();
    auto committed =
        h.registry().activate(h.baseline_id(), actors::ratchet, "bench: CRITICAL during probation",
                              nlohmann::json{{"from", candidate->id}, {"score", 0.0}}.dump(),
                              VersionState::rolled_back, attachments);
    auto commit_end = Clock::now();
    if (!committed.ok()) return state.SkipWithError(committed.status().to_string().c_str());
    h.plugins().publish(committed.value(), kept);
    auto published = Clock::now();
    auto pins = h.slot().drain(std::chrono::milliseconds(kDrainMs));
    auto end = Clock::now();

    if (!pins.empty() || !serves_kept(h.slot(), kept, h.baseline_id())) {
      return state.SkipWithError("the kept predecessor does not serve, or the candidate pins");
    }
    whole.add(end - start);
    verdict_us.add(judged - start);
    commit_us.add(commit_end - judged);
    publish_us.add(published - commit_end);
    drain_us.add(end - published);
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
  }
  whole.set_counters(state);
  verdict_us.set_counters(state, "verdict_");
  commit_us.set_counters(state, "commit_");
  publish_us.set_counters(state, "publish_");
  drain_us.set_counters(state, "drain_");
}

void summary(const Results& r, std::ostream& out) {
  if (!r.ran("rollback/")) return;
  out << "\n4. Rollback during probation to the kept predecessor (µs; goal <= " << fixed(kGoalUs, 0)
      << " µs)\n";
  auto c = [&](const char* name, const std::string& counter) {
    const Figures* f = r.find(name);
    return f != nullptr ? f->counter(counter) : std::numeric_limits<double>::quiet_NaN();
  };
  Table table({"variant", "p50", "p99", "max", "cpu p50", "cpu p99", "goal p50", "goal p99"});
  for (const char* name : {kManual, kAutomatic, kPhases}) {
    table.row({name, fixed(c(name, "p50_us"), 1), fixed(c(name, "p99_us"), 1),
               fixed(c(name, "max_us"), 1), fixed(c(name, "cpu_p50_us"), 1),
               fixed(c(name, "cpu_p99_us"), 1), goal(c(name, "p50_us"), kGoalUs),
               goal(c(name, "p99_us"), kGoalUs)});
  }
  table.print(out);
  out << "   manual: VersionControl::rollback(instance, nullopt). automatic: from the start of "
         "the\n"
         "   failing live call that completes a probation window of "
      << kProbationWindow << " calls until the predecessor\n   serves and on_probation() is false; "
      << "the rollback runs inside that call, which returns after\n   "
      << fixed(c(kAutomatic, "call_p50_us"), 1) << " µs (p50), "
      << fixed(c(kAutomatic, "call_p99_us"), 1) << " µs (p99); iterations rolled back only after "
      << "it returned: " << fixed(c(kAutomatic, "pending_at_return"), 0)
      << ".\n   cpu: the thread's CPU time (wall well above it is waiting: for a core, the disk "
         "or a lock).\n";
  Table phases({"phases of the automatic path (phases run)", "p50", "p99", "max"});
  for (const char* phase : {"verdict_", "commit_", "publish_", "drain_"}) {
    std::string prefix(phase);
    phases.row({prefix.substr(0, prefix.size() - 1), fixed(c(kPhases, prefix + "p50_us"), 1),
                fixed(c(kPhases, prefix + "p99_us"), 1), fixed(c(kPhases, prefix + "max_us"), 1)});
  }
  phases.print(out);
  out << "   verdict: RatchetGate::open (guard object + saved state) + record + state_json. "
         "commit:\n   Registry::activate with the Ratchet state and the evaluation. publish: "
         "PluginManager::publish\n   of the kept predecessor. drain: Slot::drain, which "
         "destroys and dlcloses the candidate.\n";
}

}  // namespace

Result<Group> rollback_probation_group() {
  auto single = [](const char* name, auto body) {
    return benchmark::RegisterBenchmark(name, body)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(kIterations);
  };
  single(kManual, manual_rollback);
  single(kAutomatic, automatic_rollback);
  single(kPhases, rollback_phases);

  Group group;
  group.summary = summary;
  group.facts = std::string("probation: ratchet-guard ") + MOSS_BENCH_RATCHET_GUARD_FILE +
                ", live failures from " + MOSS_BENCH_FAILS_LIVE_FILE + "\n";
  return group;
}

}  // namespace moss::bench
