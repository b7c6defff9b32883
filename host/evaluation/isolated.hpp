// The isolated evaluator: runs a candidate's suite in a child process (the eval worker,
// worker.hpp) under rlimits, a SIGKILL wall deadline and, where the OS allows, its own
// network namespace, and classifies how the child ended. The host process is never exposed
// to candidate code: it only forks, execs and reads two pipes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "evaluation/evaluator.hpp"
#include "evaluation/worker.hpp"
#include "util/status.hpp"

namespace moss {

// Sanitizer runtimes reserve terabytes of shadow address space, so RLIMIT_AS cannot be
// applied to a sanitized worker; the sanitizer's own RSS limit stands in (isolated.cpp).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif
#else
inline constexpr bool kSanitizerBuild = false;
#endif

struct WorkerLimits {
  std::int64_t cpu_s = 10;                       // RLIMIT_CPU soft limit (SIGXCPU); hard is +1 s
  std::int64_t address_space_bytes = 1LL << 30;  // RLIMIT_AS
  std::int64_t open_files = 64;                  // RLIMIT_NOFILE (at least 16 is applied)
  std::int64_t wall_ms = 30000;                  // then the worker's process group gets SIGKILL
  bool network_namespace = true;                 // try unshare(CLONE_NEWNET); best effort
};

enum class OutcomeKind {
  ok = 1,            // the suite ran; the report is there
  crashed = 2,       // killed by a signal; detail: its name, e.g. "SIGSEGV"
  cpu_limit = 3,     // RLIMIT_CPU: SIGXCPU, or SIGKILL at the hard limit
  memory_limit = 4,  // an allocation failed, or a crash at the RLIMIT_AS edge
  timeout = 5,       // the wall deadline passed; SIGKILL
  load_failed = 6,   // the loader refused the file; detail: the loader's message
  init_failed = 7,   // the settings or init refused; detail: the message
  threw = 8,         // the constructor or init threw; detail: the exception text
  bad_result = 9,    // no usable result document, or one with a non-zero exit
};

// "ok", "crashed", "cpu_limit", "memory_limit", "timeout", "load_failed", "init_failed",
// "threw", "bad_result".
const char* outcome_name(OutcomeKind kind);

struct WorkerOutcome {
  OutcomeKind kind = OutcomeKind::bad_result;
  std::string detail;  // the exact reason; empty for ok

  // "crashed: SIGSEGV", or "ok".
  std::string to_string() const;
};

struct IsolatedRun {
  WorkerOutcome outcome;
  std::optional<EvalReport> report;     // the suite's report, when the worker finished it (also
                                        // if it then crashed in teardown)
  std::vector<nlohmann::json> records;  // what the worker streamed before its final document:
                                        // the conformance worker's finished checks
  std::string in_flight;                // what ran when the worker died: "load", "init",
                                        // "case '<id>'", "teardown"; empty if it did not die
  int exit_code = -1;                   // valid when term_signal is 0
  int term_signal = 0;                  // the signal that ended the worker, or 0
  double cpu_s = 0.0;                   // user + system CPU time of the worker
  std::int64_t wall_ms = 0;
  bool network_isolated = false;       // it ran in its own network namespace
  bool address_space_limited = false;  // RLIMIT_AS was applied (never in sanitizer builds)
  std::string output_tail;             // the last kOutputTailBytes of its stdout and stderr
};

inline constexpr std::size_t kOutputTailBytes = 64 * 1024;
// A longer result document is not read (bad_result).
inline constexpr std::size_t kMaxResultBytes = 64 * 1024 * 1024;

nlohmann::json run_to_json(const IsolatedRun& run);

class IsolatedEvaluator {
 public:
  // `worker_binary` is run as `worker_binary eval-worker --plugin=... ...`: the moss binary
  // itself by default; tests pass a binary that runs eval_worker_main.
  explicit IsolatedEvaluator(WorkerLimits limits = {},
                             std::filesystem::path worker_binary = "/proc/self/exe");

  // Evaluates `target` in a fresh worker and waits for it (at most the wall deadline plus
  // the time to reap it). Errors (not outcomes): the suite does not parse, the plugin file is
  // readable and implements no tool, the worker cannot be started. Everything the candidate
  // does, including failing to load, is an outcome.
  Result<IsolatedRun> evaluate(const EvalTarget& target) const;

  // Runs the conformance worker on `job` (worker.hpp) and waits for it. Its checks are in
  // `records`; outcome ok means it ran all of them. Errors: the worker cannot be started.
  Result<IsolatedRun> check(const ConformanceJob& job) const;

  const WorkerLimits& limits() const { return limits_; }

 private:
  // Starts `worker_binary_` with `arguments` and the result pipe, supervises and classifies.
  Result<IsolatedRun> run(const std::vector<std::string>& arguments) const;

  WorkerLimits limits_;
  std::filesystem::path worker_binary_;
};

}  // namespace moss
