// fork/exec of the eval worker with its limits, the wait under a wall deadline, and the
// classification of how it ended. Between fork and exec the child only makes system calls:
// the host may be multi-threaded, so nothing there may allocate or take a lock.
#include "evaluation/isolated.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <sstream>
#include <vector>

#include "loader/loader.hpp"
#include "util/files.hpp"

extern char** environ;

namespace moss {
namespace {

using nlohmann::json;

// The descriptors the worker starts with: 0 /dev/null, 1 and 2 the output pipe, 3 the result
// pipe, 4 the start-up status pipe (close-on-exec). Everything else is closed.
constexpr int kResultFd = 3;
constexpr int kStatusFd = 4;

// The start-up status byte the child writes before exec.
constexpr unsigned char kNetworkIsolated = 1;
constexpr unsigned char kAddressSpaceLimited = 2;
constexpr unsigned char kSetupFailed = 0x80;  // followed by an int errno

std::string signal_name(int signal_number) {
  const char* abbreviation = ::sigabbrev_np(signal_number);
  if (abbreviation == nullptr) return "signal " + std::to_string(signal_number);
  return std::string("SIG") + abbreviation;
}

std::string mebibytes(long long bytes) {
  return std::to_string(bytes / (1024 * 1024)) + " MiB";
}

// Everything the child needs, built before fork.
struct ChildPlan {
  std::vector<std::string> argument_storage;
  std::vector<char*> arguments;
  std::vector<std::string> environment_storage;
  std::vector<char*> environment;
  rlimit cpu{};
  rlimit address_space{};
  rlimit open_files{};
  bool limit_address_space = false;
  bool network_namespace = false;
  pid_t parent = 0;
};

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings)
    pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Appends `option` to a sanitizer's options variable (later options win).
void add_sanitizer_option(std::vector<std::string>& environment, const std::string& variable,
                          const std::string& option) {
  const std::string prefix = variable + "=";
  for (auto& entry : environment) {
    if (entry.compare(0, prefix.size(), prefix) == 0) {
      entry += ":" + option;
      return;
    }
  }
  environment.push_back(prefix + option);
}

ChildPlan make_plan(const WorkerLimits& limits, const std::filesystem::path& binary,
                    const std::vector<std::string>& arguments) {
  ChildPlan plan;
  plan.argument_storage.push_back(binary.string());
  plan.argument_storage.insert(plan.argument_storage.end(), arguments.begin(), arguments.end());
  plan.arguments = c_strings(plan.argument_storage);
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry)
    plan.environment_storage.emplace_back(*entry);
  if (kSanitizerBuild) {
    // In place of RLIMIT_AS: the sanitizer kills the worker when its RSS passes the limit,
    // so a runaway allocation cannot take the machine's memory.
    const std::string rss =
        "hard_rss_limit_mb=" +
        std::to_string(std::max<std::int64_t>(1, limits.address_space_bytes / (1024 * 1024)));
    add_sanitizer_option(plan.environment_storage, "ASAN_OPTIONS", rss);
    add_sanitizer_option(plan.environment_storage, "TSAN_OPTIONS", rss);
  }
  plan.environment = c_strings(plan.environment_storage);

  rlimit current{};
  ::getrlimit(RLIMIT_CPU, &current);
  auto cpu_soft = static_cast<rlim_t>(std::max<std::int64_t>(1, limits.cpu_s));
  auto cpu_hard = cpu_soft + 1;  // SIGXCPU at the soft limit, SIGKILL one second later
  if (current.rlim_max != RLIM_INFINITY) {
    cpu_hard = std::min(cpu_hard, current.rlim_max);
    cpu_soft = std::min(cpu_soft, cpu_hard);
  }
  plan.cpu = {cpu_soft, cpu_hard};
  auto as = static_cast<rlim_t>(limits.address_space_bytes);
  plan.address_space = {as, as};
  plan.limit_address_space = !kSanitizerBuild && limits.address_space_bytes > 0;
  // The worker needs its five descriptors plus room to load a plugin.
  auto files = static_cast<rlim_t>(std::max<std::int64_t>(16, limits.open_files));
  if (::getrlimit(RLIMIT_NOFILE, &current) == 0 && current.rlim_max != RLIM_INFINITY) {
    files = std::min(files, current.rlim_max);  // an unprivileged process cannot raise it
  }
  plan.open_files = {files, files};
  plan.network_namespace = limits.network_namespace;
  plan.parent = ::getpid();
  return plan;
}

[[noreturn]] void setup_failed(int error) {
  unsigned char status[1 + sizeof(int)] = {kSetupFailed};
  std::memcpy(status + 1, &error, sizeof error);
  ssize_t ignored = ::write(kStatusFd, status, sizeof status);
  (void)ignored;
  ::_exit(127);
}

// The child between fork and exec: system calls only.
[[noreturn]] void start_worker(const ChildPlan& plan, int output_fd, int result_fd,
                               int status_fd) noexcept {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != plan.parent) ::_exit(127);  // the host died before prctl
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &default_action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // Lift every descriptor above the target numbers first, so no dup2 clobbers another.
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int lifted[4] = {::fcntl(null_fd, F_DUPFD_CLOEXEC, 10), ::fcntl(output_fd, F_DUPFD_CLOEXEC, 10),
                   ::fcntl(result_fd, F_DUPFD_CLOEXEC, 10),
                   ::fcntl(status_fd, F_DUPFD_CLOEXEC, 10)};
  // The status pipe is the first thing in place, so failures can be reported through it.
  if (lifted[3] < 0 || ::dup2(lifted[3], kStatusFd) < 0) ::_exit(127);
  ::fcntl(kStatusFd, F_SETFD, FD_CLOEXEC);
  if (null_fd < 0 || lifted[0] < 0 || lifted[1] < 0 || lifted[2] < 0) setup_failed(errno);
  if (::dup2(lifted[0], STDIN_FILENO) < 0 || ::dup2(lifted[1], STDOUT_FILENO) < 0 ||
      ::dup2(lifted[1], STDERR_FILENO) < 0 || ::dup2(lifted[2], kResultFd) < 0) {
    setup_failed(errno);
  }
  if (::close_range(kStatusFd + 1, ~0U, 0) != 0) {
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    int highest = files.rlim_cur == RLIM_INFINITY || files.rlim_cur > 65536
                      ? 65536
                      : static_cast<int>(files.rlim_cur);
    for (int fd = kStatusFd + 1; fd < highest; ++fd)
      ::close(fd);
  }

  unsigned char status = 0;
  if (plan.network_namespace) {
    // As root a network namespace is enough; otherwise a user namespace makes it permitted.
    if (::unshare(CLONE_NEWNET) == 0 || ::unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
      status |= kNetworkIsolated;
    }
  }
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0 || ::setrlimit(RLIMIT_CPU, &plan.cpu) != 0 ||
      ::setrlimit(RLIMIT_NOFILE, &plan.open_files) != 0) {
    setup_failed(errno);
  }
  if (plan.limit_address_space) {
    if (::setrlimit(RLIMIT_AS, &plan.address_space) != 0) setup_failed(errno);
    status |= kAddressSpaceLimited;
  }
  if (::write(kStatusFd, &status, 1) != 1) ::_exit(127);
  ::execve(plan.arguments[0], plan.arguments.data(), plan.environment.data());
  setup_failed(errno);
}

// Reads what is available from a non-blocking `fd` into `sink`, at most 1 MiB per call so that
// a writer that never pauses cannot keep the caller from its deadline. Returns false at end
// of file (or on an error).
bool drain(int fd, std::string& sink, std::size_t keep_last, std::size_t refuse_above,
           bool& too_long) {
  char buffer[16384];
  for (int reads = 0; reads < 64; ++reads) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0) return false;
    if (refuse_above != 0 && sink.size() + static_cast<std::size_t>(n) > refuse_above) {
      too_long = true;  // keep reading, so the worker is never blocked on a full pipe
      continue;
    }
    sink.append(buffer, static_cast<std::size_t>(n));
    if (keep_last != 0 && sink.size() > 2 * keep_last) sink.erase(0, sink.size() - keep_last);
  }
  return true;
}

bool has_exited(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  ~Pipe() {
    if (read_end >= 0) ::close(read_end);
    if (write_end >= 0) ::close(write_end);
  }
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end = fds[0];
    write_end = fds[1];
    return true;
  }
  void close_write() {
    ::close(write_end);
    write_end = -1;
  }
};

// How the worker ended, and what it wrote.
struct WorkerExit {
  bool timed_out = false;
  int exit_code = -1;
  int term_signal = 0;
  double cpu_s = 0.0;
  std::string result;
  bool result_too_long = false;
  std::string output_tail;
};

// Reads the child's start-up status: its status byte, then, if setup or exec failed,
// kSetupFailed and errno. Returns the status byte, or the error (the child is then reaped).
Result<unsigned char> await_start(int status_fd, pid_t pid, const std::filesystem::path& binary) {
  unsigned char setup[2 + sizeof(int)] = {};
  std::size_t size = 0;
  while (size < sizeof setup) {
    ssize_t n = ::read(status_fd, setup + size, sizeof setup - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size += static_cast<std::size_t>(n);
  }
  const std::size_t failure_at = (setup[0] & kSetupFailed) != 0 ? 0 : 1;
  if (size != 0 && size <= failure_at) return setup[0];
  int error = 0;
  if (size >= failure_at + 1 + sizeof error)
    std::memcpy(&error, setup + failure_at + 1, sizeof error);
  int ignored = 0;
  while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
  }
  return make_error(Code::unavailable,
                    "cannot start the eval worker '" + binary.string() +
                        "': " + (error != 0 ? std::strerror(error) : "it exited before exec"));
}

// Collects the worker's output and result until it exits or `deadline` passes, then kills
// its process group and reaps it.
WorkerExit supervise(pid_t pid, int output_fd, int result_fd,
                     std::chrono::steady_clock::time_point deadline) {
  WorkerExit exit;
  ::fcntl(output_fd, F_SETFL, O_NONBLOCK);
  ::fcntl(result_fd, F_SETFL, O_NONBLOCK);
  int pidfd = -1;
#ifdef SYS_pidfd_open
  pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#endif
  bool output_open = true;
  bool result_open = true;
  bool unused = false;
  auto read_output = [&] {
    output_open = drain(output_fd, exit.output_tail, kOutputTailBytes, 0, unused);
  };
  auto read_result = [&] {
    result_open = drain(result_fd, exit.result, 0, kMaxResultBytes, exit.result_too_long);
  };
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      exit.timed_out = !has_exited(pid);
      break;
    }
    pollfd fds[3] = {{output_open ? output_fd : -1, POLLIN, 0},
                     {result_open ? result_fd : -1, POLLIN, 0},
                     {pidfd, POLLIN, 0}};
    // Without a pidfd, exit is noticed by polling, in case a grandchild holds the pipes.
    int wait_ms = static_cast<int>(std::min<long long>(left, pidfd >= 0 ? INT_MAX : 20));
    if (::poll(fds, 3, wait_ms) < 0 && errno != EINTR) break;
    if (output_open && fds[0].revents != 0) read_output();
    if (result_open && fds[1].revents != 0) read_result();
    if (pidfd >= 0 ? fds[2].revents != 0 : has_exited(pid)) break;
  }
  // Kill the whole group: on timeout the worker, otherwise whatever it left behind. The
  // worker is not reaped yet, so its pid still names this group.
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  if (output_open) read_output();
  if (result_open) read_result();
  if (pidfd >= 0) ::close(pidfd);
  int wait_status = 0;
  rusage usage{};
  while (::wait4(pid, &wait_status, 0, &usage) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wait_status)) exit.exit_code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) exit.term_signal = WTERMSIG(wait_status);
  // A worker that ended on its own just as the deadline passed was not stopped by it.
  exit.timed_out = exit.timed_out && exit.term_signal == SIGKILL;
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  exit.cpu_s = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  if (exit.output_tail.size() > kOutputTailBytes) {
    exit.output_tail.erase(0, exit.output_tail.size() - kOutputTailBytes);
  }
  return exit;
}

// The sanitizer's report line if it killed the worker for memory (sanitizer builds only).
std::string sanitizer_memory_report(const std::string& output) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("Sanitizer") == std::string::npos) continue;
    for (const char* marker : {"rss limit exhausted", "allocator is out of memory",
                               "requested allocation size", "out of memory"}) {
      if (line.find(marker) != std::string::npos) return line;
    }
  }
  return {};
}

std::string last_line(const std::string& output) {
  std::string text = output;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  auto start = text.rfind('\n');
  return start == std::string::npos ? text : text.substr(start + 1);
}

// Splits a streamed result into its records (the lines ended by a newline) and its final
// document (the text after the last newline; empty if the worker was killed between two
// records). A worker that writes one document has no records.
json split_result(const std::string& result, IsolatedRun& run) {
  std::size_t start = 0;
  for (std::size_t end = result.find('\n'); end != std::string::npos;
       end = result.find('\n', start)) {
    run.records.push_back(json::parse(result.substr(start, end - start), nullptr, false));
    start = end + 1;
  }
  return json::parse(result.substr(start), nullptr, /*allow_exceptions=*/false);
}

WorkerOutcome classify(const WorkerExit& exit, const WorkerLimits& limits, IsolatedRun& run) {
  json document = split_result(exit.result, run);
  std::string outcome;
  if (document.is_object() && document.contains("outcome") && document["outcome"].is_string()) {
    outcome = document["outcome"].get<std::string>();
  }
  long long address_space = -1;
  if (outcome == "crashed" || outcome == "memory_limit") {
    run.in_flight = document.value("in_flight", "");
    address_space = document.value("address_space_bytes", -1LL);
  }
  std::string report_problem;
  if (outcome == "ok" && document.contains("report")) {
    auto report = report_from_json(document["report"]);
    if (report.ok()) {
      run.report = std::move(report.value());
    } else {
      report_problem = report.status().message();
    }
  }
  const std::string limit_text =
      mebibytes(limits.address_space_bytes) + " address-space limit (RLIMIT_AS)";
  auto near_limit = [&] {
    long long margin = std::max<long long>(limits.address_space_bytes / 16, 16LL << 20);
    return run.address_space_limited && address_space >= 0 &&
           address_space >= limits.address_space_bytes - margin;
  };

  if (exit.timed_out) {
    return {OutcomeKind::timeout, "no result within the " + std::to_string(limits.wall_ms) +
                                      " ms wall deadline; killed with SIGKILL"};
  }
  if (exit.term_signal != 0) {
    const std::string name = signal_name(exit.term_signal);
    if (exit.term_signal == SIGXCPU) {
      return {OutcomeKind::cpu_limit, "SIGXCPU: used up the " + std::to_string(limits.cpu_s) +
                                          " s CPU-time limit (RLIMIT_CPU)"};
    }
    if (exit.term_signal == SIGKILL && exit.cpu_s >= static_cast<double>(limits.cpu_s)) {
      return {OutcomeKind::cpu_limit, "SIGKILL at the hard CPU-time limit of " +
                                          std::to_string(limits.cpu_s + 1) +
                                          " s (RLIMIT_CPU), after SIGXCPU was ignored"};
    }
    if (outcome == "crashed" && near_limit()) {
      return {OutcomeKind::memory_limit,
              name + " at " + mebibytes(address_space) + " of the " + limit_text};
    }
    if (run.report) run.in_flight = "teardown";
    return {OutcomeKind::crashed, name};
  }
  if (exit.exit_code == kWorkerExitOutOfMemory) {
    std::string detail = "operator new failed";
    if (address_space >= 0 && run.address_space_limited) {
      detail += " at " + mebibytes(address_space) + " of the " + limit_text;
    } else {
      detail += " (out of memory)";
    }
    return {OutcomeKind::memory_limit, detail};
  }
  for (const json& record : run.records) {
    if (record.is_discarded()) report_problem = "a result line is not JSON";
  }
  if (exit.exit_code == kWorkerExitOk && !exit.result_too_long) {
    if (outcome == "ok" && report_problem.empty()) return {OutcomeKind::ok, ""};
    const std::pair<const char*, OutcomeKind> failures[] = {
        {"load_failed", OutcomeKind::load_failed},
        {"init_failed", OutcomeKind::init_failed},
        {"threw", OutcomeKind::threw}};
    for (const auto& [name, kind] : failures) {
      if (outcome == name && document.contains("detail") && document["detail"].is_string()) {
        return {kind, document["detail"].get<std::string>()};
      }
    }
  }
  if (kSanitizerBuild) {
    std::string report = sanitizer_memory_report(exit.output_tail);
    if (!report.empty()) return {OutcomeKind::memory_limit, report};
  }

  const std::string code = std::to_string(exit.exit_code);
  if (exit.result_too_long) {
    return {OutcomeKind::bad_result,
            "the result is larger than " + mebibytes(kMaxResultBytes) + "; not read"};
  }
  if (exit.result.empty()) {
    std::string detail = "exited with code " + code + " without a result";
    std::string said = last_line(exit.output_tail);
    if (!said.empty()) detail += "; its last output: " + said.substr(0, 300);
    return {OutcomeKind::bad_result, detail};
  }
  if (document.is_discarded()) {
    return {OutcomeKind::bad_result, "the result is not JSON: " + exit.result.substr(0, 200)};
  }
  if (!report_problem.empty()) return {OutcomeKind::bad_result, report_problem};
  if (exit.exit_code != kWorkerExitOk) {
    return {OutcomeKind::bad_result, "exited with code " + code + " after writing its result"};
  }
  return {OutcomeKind::bad_result, "unexpected result: " + exit.result.substr(0, 200)};
}

}  // namespace

const char* outcome_name(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::ok: return "ok";
    case OutcomeKind::crashed: return "crashed";
    case OutcomeKind::cpu_limit: return "cpu_limit";
    case OutcomeKind::memory_limit: return "memory_limit";
    case OutcomeKind::timeout: return "timeout";
    case OutcomeKind::load_failed: return "load_failed";
    case OutcomeKind::init_failed: return "init_failed";
    case OutcomeKind::threw: return "threw";
    case OutcomeKind::bad_result: return "bad_result";
  }
  return "unknown";
}

std::string WorkerOutcome::to_string() const {
  if (detail.empty()) return outcome_name(kind);
  return std::string(outcome_name(kind)) + ": " + detail;
}

json run_to_json(const IsolatedRun& run) {
  json document = {{"outcome", outcome_name(run.outcome.kind)},
                   {"detail", run.outcome.detail},
                   {"in_flight", run.in_flight},
                   {"exit_code", run.exit_code},
                   {"signal", run.term_signal == 0 ? "" : signal_name(run.term_signal)},
                   {"cpu_s", run.cpu_s},
                   {"wall_ms", run.wall_ms},
                   {"network_isolated", run.network_isolated},
                   {"address_space_limited", run.address_space_limited},
                   {"output_tail", run.output_tail}};
  document["report"] = run.report ? report_to_json(*run.report) : json();
  return document;
}

IsolatedEvaluator::IsolatedEvaluator(WorkerLimits limits, std::filesystem::path worker_binary)
    : limits_(limits), worker_binary_(std::move(worker_binary)) {}

Result<IsolatedRun> IsolatedEvaluator::evaluate(const EvalTarget& target) const {
  // Problems that are not the candidate's behaviour are errors, before any child runs.
  auto suite = load_suite(target.suite);
  if (!suite.ok()) return suite.status();
  if (auto inspection = inspect_plugin_file(target.plugin_file); inspection.ok()) {
    Status evaluable = check_evaluable(inspection->manifest);
    if (!evaluable.ok()) return evaluable;
  }

  auto run = this->run(worker_arguments(target, kResultFd));
  if (run.ok() && run->outcome.kind == OutcomeKind::ok && !run->report) {
    run->outcome = {OutcomeKind::bad_result, "the result has no \"report\""};
  }
  return run;
}

Result<IsolatedRun> IsolatedEvaluator::check(const ConformanceJob& job) const {
  return run(conformance_worker_arguments(job, kResultFd));
}

Result<IsolatedRun> IsolatedEvaluator::run(const std::vector<std::string>& arguments) const {
  ChildPlan plan = make_plan(limits_, worker_binary_, arguments);
  Pipe output;
  Pipe result;
  Pipe status;
  if (!output.open() || !result.open() || !status.open()) {
    return make_error(Code::unavailable, "cannot create the eval worker's pipes: " + errno_text());
  }
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return make_error(Code::unavailable, "cannot fork the eval worker: " + errno_text());
  if (pid == 0) start_worker(plan, output.write_end, result.write_end, status.write_end);
  ::setpgid(pid, pid);  // also done in the child; whichever runs first wins the race
  output.close_write();
  result.close_write();
  status.close_write();

  auto started = await_start(status.read_end, pid, worker_binary_);
  if (!started.ok()) return started.status();
  IsolatedRun run;
  run.network_isolated = (started.value() & kNetworkIsolated) != 0;
  run.address_space_limited = (started.value() & kAddressSpaceLimited) != 0;

  WorkerExit exit = supervise(pid, output.read_end, result.read_end,
                              start + std::chrono::milliseconds(limits_.wall_ms));
  run.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  run.exit_code = exit.exit_code;
  run.term_signal = exit.term_signal;
  run.cpu_s = exit.cpu_s;
  try {
    run.outcome = classify(exit, limits_, run);
  } catch (const json::exception& e) {
    // A document of the right outcome but with fields of the wrong types.
    run.outcome = {OutcomeKind::bad_result, std::string("malformed result: ") + e.what()};
  }
  run.output_tail = std::move(exit.output_tail);
  return run;
}

}  // namespace moss
