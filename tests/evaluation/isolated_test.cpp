// The isolated evaluator against real child processes: a good plugin scores as expected, and
// every fault (crash, abort, hang, CPU, memory, exceptions, load and init failures) is
// classified with its exact reason while this process carries on.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "evaluation/isolated.hpp"
#include "loader/loader.hpp"
#include "temp_dir.hpp"

namespace moss {
namespace {

using test::TempDir;

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(MOSS_FIXTURE_DIR) / name;
}

std::filesystem::path write_suite(const TempDir& dir, const std::string& text) {
  std::filesystem::path file = dir / "cases.jsonl";
  std::ofstream(file) << text;
  return file;
}

const std::string kOneCase = R"({"id":"only","input":{},"expect":{}})";

// Runs `plugin` on `suite` in a worker; fails the test if the evaluator returns an error.
IsolatedRun run_isolated(const std::filesystem::path& plugin, const std::filesystem::path& suite,
                         const std::string& settings = "{}", WorkerLimits limits = {}) {
  IsolatedEvaluator evaluator(limits, MOSS_EVAL_WORKER);
  auto run = evaluator.evaluate({plugin, suite, settings, ""});
  INFO(run.status().to_string());
  REQUIRE(run.ok());
  UNSCOPED_INFO("run: " << run_to_json(run.value()).dump(2));
  return std::move(run.value());
}

std::size_t open_descriptor_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++count;
  return count;
}

// Whether this system lets a process make itself a network namespace, as the worker tries.
bool network_namespace_permitted() {
  pid_t pid = ::fork();
  if (pid == 0) {
    bool made = ::unshare(CLONE_NEWNET) == 0 || ::unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0;
    ::_exit(made ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

const std::string kEchoSuite =
    R"({"id":"prefixed","input":{"x":1},"expect":{"prefix":">","args":{"x":1}},"weight":3}
{"id":"echoed","input":{"x":2},"expect":{"args":{"x":2}},"match":"subset"})";

TEST_CASE("a good plugin is evaluated in a worker and scores by its settings") {
  TempDir dir;
  auto suite = write_suite(dir, kEchoSuite);
  IsolatedRun defaults = run_isolated(fixture("fixture-good.so"), suite);
  CHECK(defaults.outcome.kind == OutcomeKind::ok);
  CHECK(defaults.outcome.detail.empty());
  CHECK(defaults.exit_code == 0);
  REQUIRE(defaults.report);
  CHECK(defaults.report->score == 1.0);

  IsolatedRun other = run_isolated(fixture("fixture-good.so"), suite, R"({"prefix":"!"})");
  CHECK(other.outcome.kind == OutcomeKind::ok);
  REQUIRE(other.report);
  CHECK(other.report->score == Approx(0.25));
  CHECK(other.report->passed == 1);
}

TEST_CASE("the worker's output is captured, and its limits and namespace are recorded") {
  TempDir dir;
  IsolatedRun run = run_isolated(fixture("fixture-good.so"), write_suite(dir, kOneCase));
  CHECK_THAT(run.output_tail, Catch::Contains("[plugin info] echo fixture initialised"));
  CHECK(run.address_space_limited == !kSanitizerBuild);
  CHECK(run.network_isolated == network_namespace_permitted());
  CHECK(run.in_flight.empty());
}

TEST_CASE("without the network namespace option the worker shares the host's network") {
  TempDir dir;
  WorkerLimits limits;
  limits.network_namespace = false;
  IsolatedRun run =
      run_isolated(fixture("fixture-good.so"), write_suite(dir, kOneCase), "{}", limits);
  CHECK(run.outcome.kind == OutcomeKind::ok);
  CHECK_FALSE(run.network_isolated);
}

TEST_CASE("text-tool's bundled suite passes in full in a worker") {
  IsolatedRun run = run_isolated(MOSS_TEXT_TOOL_FILE, MOSS_TEXT_TOOL_EVAL_DIR);
  CHECK(run.outcome.kind == OutcomeKind::ok);
  REQUIRE(run.report);
  CHECK(run.report->score == 1.0);
}

TEST_CASE("a segfault is classified as crashed: SIGSEGV, in the case that ran") {
  TempDir dir;
  IsolatedRun run = run_isolated(fixture("fixture-crasher.so"),
                                 write_suite(dir, R"({"id":"segv","input":{},"expect":{}})"));
  CHECK(run.outcome.kind == OutcomeKind::crashed);
  CHECK(run.outcome.detail == "SIGSEGV");
  CHECK(run.outcome.to_string() == "crashed: SIGSEGV");
  CHECK(run.term_signal == SIGSEGV);
  CHECK(run.in_flight == "case 'segv'");
  CHECK_FALSE(run.report);
}

TEST_CASE("an abort is classified as crashed: SIGABRT") {
  TempDir dir;
  IsolatedRun run =
      run_isolated(fixture("fixture-crasher.so"),
                   write_suite(dir, R"({"id":"boom","input":{"abort":true},"expect":{}})"));
  CHECK(run.outcome.kind == OutcomeKind::crashed);
  CHECK(run.outcome.detail == "SIGABRT");
  CHECK(run.term_signal == SIGABRT);
  CHECK(run.in_flight == "case 'boom'");
}

TEST_CASE("an abort in a static initialiser is a crash while loading") {
  TempDir dir;
  IsolatedRun run = run_isolated(fixture("fixture-static-abort.so"), write_suite(dir, kOneCase));
  CHECK(run.outcome.kind == OutcomeKind::crashed);
  CHECK(run.outcome.detail == "SIGABRT");
  CHECK(run.in_flight == "load");
}

TEST_CASE("an infinite loop is stopped at the wall deadline and classified as timeout") {
  TempDir dir;
  WorkerLimits limits;
  limits.wall_ms = 2000;
  IsolatedRun run =
      run_isolated(fixture("fixture-looper.so"), write_suite(dir, kOneCase), "{}", limits);
  CHECK(run.outcome.kind == OutcomeKind::timeout);
  CHECK(run.outcome.detail == "no result within the 2000 ms wall deadline; killed with SIGKILL");
  CHECK(run.term_signal == SIGKILL);
}

TEST_CASE("an infinite loop under a short CPU limit is classified as cpu_limit") {
  TempDir dir;
  WorkerLimits limits;
  limits.cpu_s = 1;
  IsolatedRun run =
      run_isolated(fixture("fixture-looper.so"), write_suite(dir, kOneCase), "{}", limits);
  CHECK(run.outcome.kind == OutcomeKind::cpu_limit);
  CHECK(run.outcome.detail == "SIGXCPU: used up the 1 s CPU-time limit (RLIMIT_CPU)");
}

TEST_CASE("unbounded allocation with operator new is classified as memory_limit") {
  TempDir dir;
  WorkerLimits limits;
  limits.address_space_bytes = 256LL << 20;
  IsolatedRun run =
      run_isolated(fixture("fixture-hog.so"), write_suite(dir, kOneCase), "{}", limits);
  CHECK(run.outcome.kind == OutcomeKind::memory_limit);
  if (kSanitizerBuild) {
    CHECK_THAT(run.outcome.detail, Catch::Contains("rss limit exhausted"));
  } else {
    CHECK(run.exit_code == kWorkerExitOutOfMemory);
    CHECK_THAT(run.outcome.detail,
               Catch::StartsWith("operator new failed at ") &&
                   Catch::EndsWith(" MiB of the 256 MiB address-space limit (RLIMIT_AS)"));
    CHECK(run.in_flight == "case 'only'");
  }
}

TEST_CASE("unbounded malloc that crashes at the address-space limit is memory_limit") {
  TempDir dir;
  WorkerLimits limits;
  limits.address_space_bytes = 256LL << 20;
  IsolatedRun run = run_isolated(fixture("fixture-hog.so"), write_suite(dir, kOneCase),
                                 R"({"allocator":"malloc"})", limits);
  CHECK(run.outcome.kind == OutcomeKind::memory_limit);
  if (!kSanitizerBuild) {
    CHECK(run.term_signal == SIGSEGV);
    CHECK_THAT(run.outcome.detail,
               Catch::StartsWith("SIGSEGV at ") &&
                   Catch::EndsWith(" MiB of the 256 MiB address-space limit (RLIMIT_AS)"));
  }
}

TEST_CASE("a tool that throws fails each case with the exception text and the run completes") {
  TempDir dir;
  IsolatedRun run = run_isolated(fixture("fixture-thrower.so"),
                                 write_suite(dir, R"({"id":"a","input":{},"expect":{}}
{"id":"b","input":{},"expect":{}})"));
  CHECK(run.outcome.kind == OutcomeKind::ok);
  REQUIRE(run.report);
  REQUIRE(run.report->cases.size() == 2);
  for (const CaseResult& c : run.report->cases) {
    CHECK_FALSE(c.passed);
    CHECK(c.error == "plugin_exception: Tool::info threw: boom in info");
  }
  CHECK(run.report->score == 0.0);
}

TEST_CASE("an init that throws is classified as threw, with the exception text") {
  TempDir dir;
  IsolatedRun run = run_isolated(fixture("fixture-thrower.so"), write_suite(dir, kOneCase),
                                 R"({"throw_in_init":true})");
  CHECK(run.outcome.kind == OutcomeKind::threw);
  CHECK_THAT(run.outcome.detail, Catch::EndsWith("tool init failed: init threw: boom in init"));
}

TEST_CASE("a constructor that throws is classified as threw") {
  TempDir dir;
  IsolatedRun run = run_isolated(fixture("fixture-ctor-throws.so"), write_suite(dir, kOneCase));
  CHECK(run.outcome.kind == OutcomeKind::threw);
  CHECK_THAT(run.outcome.detail, Catch::Contains("cannot construct"));
}

TEST_CASE("settings the plugin's schema refuses are classified as init_failed") {
  TempDir dir;
  IsolatedRun run =
      run_isolated(fixture("fixture-good.so"), write_suite(dir, kOneCase), R"({"prefix":5})");
  CHECK(run.outcome.kind == OutcomeKind::init_failed);
  CHECK_THAT(run.outcome.detail, Catch::StartsWith("settings for 'fixture-good': prefix: "));
}

TEST_CASE("a file the loader refuses is classified as load_failed with the loader's message") {
  // An ABI mismatch, and a file cut in half.
  const std::string name = GENERATE("fixture-abi-major.so", "fixture-truncated.so");
  INFO(name);
  TempDir dir;
  IsolatedRun run = run_isolated(fixture(name), write_suite(dir, kOneCase));
  CHECK(run.outcome.kind == OutcomeKind::load_failed);
  // The loader refuses these files before dlopen, so asking it here runs no plugin code.
  CHECK(run.outcome.detail == Library::load(fixture(name)).status().message());
  CHECK_FALSE(run.outcome.detail.empty());
}

TEST_CASE("a plugin that implements no tool is refused before any worker runs") {
  TempDir dir;
  IsolatedEvaluator evaluator({}, MOSS_EVAL_WORKER);
  auto run = evaluator.evaluate({MOSS_RATCHET_GUARD_FILE, write_suite(dir, kOneCase), "{}", ""});
  REQUIRE_FALSE(run.ok());
  CHECK(run.status().code() == Code::failed_precondition);
  CHECK_THAT(run.status().message(),
             Catch::EndsWith("not tool: only tool plugins have evaluation cases so far"));
}

TEST_CASE("a suite that does not parse is an error, not an outcome") {
  TempDir dir;
  IsolatedEvaluator evaluator({}, MOSS_EVAL_WORKER);
  auto suite = write_suite(dir, R"({"id":"a","input":{}})");
  auto run = evaluator.evaluate({fixture("fixture-good.so"), suite, "{}", ""});
  REQUIRE_FALSE(run.ok());
  CHECK(run.status().message() == suite.string() + ":1: case \"a\": \"expect\" is required");
}

TEST_CASE("a worker binary that cannot be run is an error naming it") {
  TempDir dir;
  IsolatedEvaluator evaluator({}, dir / "no-such-worker");
  auto run = evaluator.evaluate({fixture("fixture-good.so"), write_suite(dir, kOneCase), "{}", ""});
  REQUIRE_FALSE(run.ok());
  CHECK(run.status().code() == Code::unavailable);
  CHECK(run.status().message() == "cannot start the eval worker '" +
                                      (dir / "no-such-worker").string() +
                                      "': No such file or directory");
}

TEST_CASE("the host process is intact after its workers crash, hang and run out of memory") {
  TempDir dir;
  auto suite = write_suite(dir, kOneCase);
  const std::size_t descriptors = open_descriptor_count();
  const pid_t self = ::getpid();
  WorkerLimits limits;
  limits.address_space_bytes = 256LL << 20;
  WorkerLimits short_deadline;
  short_deadline.wall_ms = 1000;
  CHECK(run_isolated(fixture("fixture-crasher.so"), suite, "{}", limits).outcome.kind ==
        OutcomeKind::crashed);
  CHECK(run_isolated(fixture("fixture-looper.so"), suite, "{}", short_deadline).outcome.kind ==
        OutcomeKind::timeout);
  CHECK(run_isolated(fixture("fixture-hog.so"), suite, "{}", limits).outcome.kind ==
        OutcomeKind::memory_limit);

  CHECK(::getpid() == self);
  CHECK(open_descriptor_count() == descriptors);
  errno = 0;
  CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);  // every worker was reaped
  CHECK(errno == ECHILD);
  // And it still evaluates a good plugin.
  CHECK(run_isolated(fixture("fixture-good.so"), suite, "{}", limits).outcome.kind ==
        OutcomeKind::ok);
}

// `moss eval-worker`, the worker the host really uses, through the moss binary's CLI.
TEST_CASE("the moss binary serves as the eval worker", "[moss-binary]") {
  TempDir dir;
  IsolatedEvaluator evaluator({}, MOSS_BINARY);
  auto run =
      evaluator.evaluate({fixture("fixture-good.so"), write_suite(dir, kEchoSuite), "{}", ""});
  INFO(run.status().to_string());
  REQUIRE(run.ok());
  INFO(run_to_json(run.value()).dump(2));
  CHECK(run->outcome.kind == OutcomeKind::ok);
  REQUIRE(run->report);
  CHECK(run->report->score == 1.0);
}

}  // namespace
}  // namespace moss
