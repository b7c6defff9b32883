// The eval worker: the child process (`moss eval-worker`, hidden) that loads a candidate
// through the real loader, runs its suite and writes ONE JSON document to a pipe given by
// file descriptor, never to stdout, so nothing the plugin prints can corrupt it.
//
// The document is one of:
//   {"outcome": "ok", "report": <report_to_json>}
//   {"outcome": "load_failed" | "init_failed" | "threw", "detail": "<message>"}
//   {"outcome": "crashed", "signal": <number>, "in_flight": "<what>",
//    "address_space_bytes": <bytes>}          written by the fatal-signal handler
//   {"outcome": "memory_limit", "signal": 0, "in_flight": "<what>",
//    "address_space_bytes": <bytes>}          written when operator new fails; the worker
//                                             then exits with kWorkerExitOutOfMemory
// "in_flight" is what was running: "load", "init", "case '<id>'", "teardown".
// IsolatedEvaluator (isolated.hpp) turns the document and the exit status into an outcome.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "util/status.hpp"

namespace boost::program_options {
class options_description;
class variables_map;
}  // namespace boost::program_options

namespace moss {

struct PluginManifest;

// What to evaluate.
struct EvalTarget {
  std::filesystem::path plugin_file;
  std::filesystem::path suite;       // a .jsonl file or an eval/ folder of them
  std::string settings_json = "{}";  // the instance's own settings: its [plugins.<name>] table
                                     // without the host's keys; defaults are applied and it is
                                     // validated against the plugin's config schema
  std::string instance;              // the instance name init receives; empty: the plugin's name
};

// What to check for conformance (conformance.hpp), in `moss conformance-worker`: the same
// process, limits and fault reporting as the eval worker, but its result pipe carries one
// line per finished check, {"check": <check_to_json>}, before the final document
// ({"outcome": "ok"} once every check has run, or one of the documents above).
struct ConformanceJob {
  std::filesystem::path plugin_file;
  std::string settings_json = "{}";  // as EvalTarget::settings_json
  std::filesystem::path suite;       // optional: its cases give the Tool checks sample inputs
  std::size_t from = 0;              // the index of the first check to run
};

// The worker's exit codes. Any other status comes from plugin code (exit(), a signal).
inline constexpr int kWorkerExitOk = 0;            // the result document was written
inline constexpr int kWorkerExitUsage = 2;         // bad arguments, unreadable suite, bad fd
inline constexpr int kWorkerExitNoResult = 3;      // the result document could not be written
inline constexpr int kWorkerExitOutOfMemory = 86;  // operator new failed

// The settings init receives: `settings_json` with the config schema's defaults applied,
// validated against it, as the host resolves a config table. `instance` names it in errors.
Result<std::string> resolve_worker_settings(const std::string& settings_json,
                                            const PluginManifest& manifest,
                                            const std::string& instance);

// The worker's arguments after the program path: {"eval-worker", "--plugin=...", ...}.
std::vector<std::string> worker_arguments(const EvalTarget& target, int result_fd);

// --plugin, --suite, --settings (JSON, or "-" for standard input), --instance, --result-fd.
void add_worker_options(boost::program_options::options_description& options);

// Runs the worker from parsed options (the `moss eval-worker` subcommand); returns the exit
// code.
int run_eval_worker(const boost::program_options::variables_map& options);

// Runs the worker: installs the fault reporting, loads, inits, evaluates, writes the document
// to `result_fd`, then destroys the tool and unloads the plugin. Returns the exit code.
int run_eval_worker(const EvalTarget& target, int result_fd);

// The conformance worker's arguments after the program path, its options (--plugin,
// --settings, --suite, --from, --result-fd) and its body.
std::vector<std::string> conformance_worker_arguments(const ConformanceJob& job, int result_fd);
void add_conformance_worker_options(boost::program_options::options_description& options);
int run_conformance_worker(const boost::program_options::variables_map& options);
int run_conformance_worker(const ConformanceJob& job, int result_fd);

// A main() for a standalone worker binary: argv[1] may be "eval-worker"; the rest are the
// options above.
int eval_worker_main(int argc, char** argv);

}  // namespace moss
