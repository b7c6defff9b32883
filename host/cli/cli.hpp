// The `moss` command line: one binary, subcommands, documented exit codes.
#pragma once

namespace moss::cli {

// Exit codes, stable for scripts (documented in README.md and `moss --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,        // the operation ran and failed (e.g. a plugin call returned an error)
  kExitUsage = 2,          // bad command line
  kExitConfig = 3,         // the config file is invalid
  kExitPluginRefused = 4,  // a plugin file was refused (not a plugin, wrong ABI, ...)
  kExitNotFound = 5,       // no such plugin instance or version
  kExitStorage = 6,        // the registry cannot be opened or written (locked, read-only, ...)
};

int run(int argc, char** argv);

}  // namespace moss::cli
