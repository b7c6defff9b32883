// Runs a child program to completion: both output streams drained through poll() (a chatty
// child cannot block), a wall-clock deadline after which the child's whole process group is
// killed, and a cap on how much output is kept.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "util/status.hpp"

namespace moss {

struct SubprocessOptions {
  std::vector<std::string> extra_env;  // "NAME=value", added to this process's environment
  std::filesystem::path cwd;           // empty: this process's
  std::chrono::milliseconds timeout{60000};
  std::size_t max_output_bytes = 4 * 1024 * 1024;  // per stream; the rest is dropped
};

struct SubprocessResult {
  int exit_code = -1;  // valid when signal == 0 and !timed_out
  int signal = 0;      // the signal that ended it, or 0
  bool timed_out = false;
  bool output_truncated = false;
  std::string out;
  std::string err;
  double elapsed_ms = 0.0;

  bool succeeded() const { return !timed_out && signal == 0 && exit_code == 0; }
  // "exit code 1", "killed by SIGSEGV", "timed out after 120 s".
  std::string describe(std::chrono::milliseconds timeout) const;
};

// Runs `argv` (argv[0] is looked up in PATH if it has no '/'). The child runs in a process
// group of its own, so a timeout kills what it started too (a compiler's cc1plus and ld).
// Errors only when the child cannot be started: not_found for a missing program.
Result<SubprocessResult> run_subprocess(const std::vector<std::string>& argv,
                                        const SubprocessOptions& options = {});

// `program` if it holds a '/' and is executable, else its path found in PATH; or empty.
std::filesystem::path find_in_path(const std::string& program);

}  // namespace moss
