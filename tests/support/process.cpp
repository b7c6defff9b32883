// The tests' view of moss::run_subprocess: a failure to start is an exception, not a Status.
#include "process.hpp"

#include <stdexcept>

#include "util/subprocess.hpp"

namespace moss::test {

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env, const std::string& cwd,
                          int timeout_ms) {
  SubprocessOptions options;
  options.extra_env = extra_env;
  options.cwd = cwd;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  options.max_output_bytes = 64 * 1024 * 1024;
  auto ran = run_subprocess(argv, options);
  if (!ran.ok()) throw std::runtime_error(ran.status().message());
  ProcessResult result;
  result.exit_code = ran->exit_code;
  result.signal = ran->signal;
  result.timed_out = ran->timed_out;
  result.out = std::move(ran->out);
  result.err = std::move(ran->err);
  return result;
}

}  // namespace moss::test
