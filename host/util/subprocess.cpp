// posix_spawn rather than fork: the host is multi-threaded and may be large, and spawn
// reports a missing program as an error instead of a child that exits 127.
#include "util/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/files.hpp"

extern char** environ;

namespace moss {
namespace {

using Clock = std::chrono::steady_clock;

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  bool ok() const { return fds_[0] >= 0; }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void close_read() { close_fd(fds_[0]); }
  void close_write() { close_fd(fds_[1]); }

 private:
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int fds_[2] = {-1, -1};
};

// Reads both pipes until they close or the deadline passes. Returns false on timeout.
bool drain(int out_fd, int err_fd, Clock::time_point deadline, std::size_t cap,
           SubprocessResult& result) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  while (open_count > 0) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    if (::poll(fds, 2, static_cast<int>(left)) < 0) continue;  // EINTR
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buffer[8192];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        std::size_t room = cap > sinks[i]->size() ? cap - sinks[i]->size() : 0;
        std::size_t kept = std::min(room, static_cast<std::size_t>(n));
        sinks[i]->append(buffer, kept);
        if (kept < static_cast<std::size_t>(n)) result.output_truncated = true;
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  return true;
}

}  // namespace

std::string SubprocessResult::describe(std::chrono::milliseconds timeout) const {
  if (timed_out) {
    return "timed out after " + std::to_string(timeout.count() / 1000.0).substr(0, 5) + " s";
  }
  if (signal != 0) {
    const char* name = ::sigabbrev_np(signal);
    return std::string("killed by SIG") + (name != nullptr ? name : std::to_string(signal));
  }
  return "exit code " + std::to_string(exit_code);
}

std::filesystem::path find_in_path(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    return ::access(program.c_str(), X_OK) == 0 ? std::filesystem::path(program)
                                                : std::filesystem::path();
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    std::size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {};
}

Result<SubprocessResult> run_subprocess(const std::vector<std::string>& argv,
                                        const SubprocessOptions& options) {
  if (argv.empty()) return Status(Code::invalid_argument, "run_subprocess: empty argv");
  std::filesystem::path program = find_in_path(argv[0]);
  if (program.empty()) {
    return Status(Code::not_found, "'" + argv[0] + "' is not an executable file or in PATH");
  }
  Pipe out;
  Pipe err;
  if (!out.ok() || !err.ok()) {
    return Status(Code::internal, "cannot create a pipe: " + errno_text());
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    env.emplace_back(*e);
  env.insert(env.end(), options.extra_env.begin(), options.extra_env.end());
  std::vector<char*> c_argv;
  for (const auto& a : argv)
    c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (const auto& e : env)
    c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attributes);
  ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out.write_end(), STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, err.write_end(), STDERR_FILENO);
  if (!options.cwd.empty()) {
    ::posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  }
  ::posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t defaults;
  ::sigfillset(&defaults);
  ::posix_spawnattr_setsigdefault(&attributes, &defaults);
  sigset_t none;
  ::sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attributes, &none);
  ::posix_spawnattr_setflags(
      &attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const auto started = Clock::now();
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attributes, c_argv.data(), c_env.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    return Status(rc == ENOENT ? Code::not_found : Code::internal,
                  "cannot run '" + program.string() + "': " + std::strerror(rc));
  }
  out.close_write();
  err.close_write();

  SubprocessResult result;
  if (!drain(out.read_end(), err.read_end(), started + options.timeout, options.max_output_bytes,
             result)) {
    result.timed_out = true;
    ::kill(-pid, SIGKILL);  // the whole group: the compiler driver and what it started
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (result.timed_out) ::kill(-pid, SIGKILL);  // stragglers that outlived the leader
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  return result;
}

}  // namespace moss
