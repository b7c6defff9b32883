// Runs a real child process and captures its exit status, stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace moss::test {

struct ProcessResult {
  int exit_code = -1;  // valid when signal == 0
  int signal = 0;      // the signal that killed it, or 0
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs `argv` (argv[0] is a path) with the current environment plus `extra_env`
// ("NAME=value"), in `cwd` if not empty. Kills it with SIGKILL after `timeout_ms`.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env = {},
                          const std::string& cwd = {}, int timeout_ms = 60000);

}  // namespace moss::test
