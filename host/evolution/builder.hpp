// The Builder: compiles a plugin's source tree into a candidate .so against the SDK, with the
// flags moss_add_plugin uses, in a child process with a time limit. The compiler's output is
// kept for the record; a failed build is an outcome, not an error of the host.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "util/status.hpp"

namespace moss {

struct BuildSettings {
  std::string compiler = "c++";
  std::vector<std::string> extra_flags;  // after the SDK's flags
  std::chrono::seconds timeout{120};
  std::filesystem::path sdk_include_dir;  // empty: the SDK this host was built with
  bool use_ccache = true;                 // when ccache is in PATH
};

// The [self_evolution] build keys.
BuildSettings build_settings(const Config& config);

struct BuildOutcome {
  bool ok = false;
  std::string reason;  // why it failed: "exit code 1", "timed out after 120 s", ...
  std::string log;     // the command line, then the compiler's stdout and stderr
  double elapsed_ms = 0.0;
};

// The compiler command that builds every .cpp file under `source_dir`/src into `output`.
// failed_precondition if the SDK cannot be found or there is no source file.
Result<std::vector<std::string>> build_command(const BuildSettings& settings,
                                               const std::filesystem::path& source_dir,
                                               const std::filesystem::path& output);

// Runs build_command, writing to a temporary name that is renamed to `output` only when the
// compiler succeeds, so a half-written library never exists under `output`.
Result<BuildOutcome> build_plugin(const BuildSettings& settings,
                                  const std::filesystem::path& source_dir,
                                  const std::filesystem::path& output);

}  // namespace moss
