// The Evolver kind (after MOSS): turns recorded failures into source patches for a plugin.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "moss/sdk/detail/glue.hpp"
#include "moss/sdk/object.hpp"

namespace moss::sdk {

// One step of a failed task's trace.
struct TraceStep {
  std::string module;  // the plugin (or module) the step ran in; may be empty
  std::string action;  // e.g. "invoke", "eval_case", "guard.pre"
  std::string detail;  // input, output or error text of the step
  bool ok = false;
};

// A failed task, as recorded by the host.
struct FailureReport {
  std::string task_id;
  bool success = false;
  std::string error;
  std::vector<TraceStep> trace;
  double score = 0.0;          // the benchmark score of the run, in [0,1]
  std::string plugin;          // the plugin instance that ran
  std::string plugin_version;  // the version (sha256) that ran
};

// What an Evolver concluded about a failure (or a group of similar failures).
struct FailurePattern {
  std::string pattern_id;  // stable: a hash of the task id
  std::string description;
  std::string root_cause;
  std::string affected_module;  // first trace step naming a module, else the LLM's answer,
                                // else the plugin that ran
  std::int64_t occurrence_count = 0;
  std::int64_t last_occurrence_ms = 0;  // Unix epoch milliseconds
};

// A file of the plugin's source tree; `path` is relative to the plugin's root.
struct SourceFile {
  std::string path;
  std::string content;
};

// How a Patch's body is to be read. The host applies every form to the plugin's source tree
// (a git repository) and refuses, with the reason, a patch that does not apply.
//
// search_replace: one or more blocks, each
//     <<<<<<< SEARCH
//     lines of `path` as they are now (exactly, whitespace included)
//     =======
//     the lines that replace them
//     >>>>>>> REPLACE
// applied in order; each SEARCH text must occur exactly once, as whole lines, in the file as
// it stands when its block is applied. An empty SEARCH text is allowed only for a file that
// does not exist yet (the REPLACE text becomes its content). Markers are written with 7
// characters as above; readers also accept 5 to 9.
//
// unified_diff: hunk line numbers and counts are hints; a hunk applies where its context
// and removed lines occur exactly once (at or after the previous hunk), and is refused
// otherwise.
enum class PatchFormat : std::int32_t {
  full_file = 1,       // body is the complete new content of `path`
  unified_diff = 2,    // body is a unified diff; paths relative to the plugin root, with or
                       // without git's a/ b/ prefixes; `path` is informative
  search_replace = 3,  // body is one or more SEARCH/REPLACE blocks for `path`
};

struct Patch {
  PatchFormat format = PatchFormat::full_file;
  std::string path;  // relative to the plugin root, e.g. "src/tool.cpp"
  std::string body;
  std::string description;  // what the patch changes and why
};

class Evolver : public PluginObject {
 public:
  static constexpr Kind kKind = Kind::evolver;

  // Required. Analyses one failure (typically through InitContext::host->chat) and returns
  // its pattern. `occurrence_count` is 1; the host merges patterns with the same id.
  // Errors: invalid_reply if the model's answer cannot be parsed, with the reason.
  // Thread-safe: no; the host runs one evolution cycle per plugin at a time.
  virtual Result<FailurePattern> analyze(const FailureReport& failure) noexcept = 0;

  // Required. Proposes a patch to `sources` (the faulty plugin's current source files)
  // that fixes `pattern`. `context` is free text from the host (eval results, build log
  // of a previous attempt). Errors: invalid_reply for an answer that holds no usable patch.
  // Thread-safe: no.
  virtual Result<Patch> propose(const FailurePattern& pattern,
                                const std::vector<SourceFile>& sources,
                                std::string_view context) noexcept = 0;
};

namespace detail {

template <class Impl>
class EvolverAdapter final : public Evolver {
  static_assert(
      requires(Impl & impl, const FailureReport& failure) {
        { impl.analyze(failure) } -> std::convertible_to<Result<FailurePattern>>;
      },
      "MOSS_PLUGIN as_evolver<T>: T needs `Result<FailurePattern> analyze(const FailureReport&)`");
  static_assert(
      requires(Impl & impl, const FailurePattern& pattern, const std::vector<SourceFile>& sources,
               std::string_view context) {
        { impl.propose(pattern, sources, context) } -> std::convertible_to<Result<Patch>>;
      },
      "MOSS_PLUGIN as_evolver<T>: T needs `Result<Patch> propose(const FailurePattern&, "
      "const std::vector<SourceFile>&, std::string_view)`");

 public:
  Status init(const InitContext& context) noexcept override { return call_init(impl_, context); }
  Result<FailurePattern> analyze(const FailureReport& failure) noexcept override {
    return guarded<Result<FailurePattern>>(
        "Evolver::analyze", [&] { return Result<FailurePattern>(impl_.analyze(failure)); });
  }
  Result<Patch> propose(const FailurePattern& pattern, const std::vector<SourceFile>& sources,
                        std::string_view context) noexcept override {
    return guarded<Result<Patch>>("Evolver::propose", [&] {
      return Result<Patch>(impl_.propose(pattern, sources, context));
    });
  }

 private:
  Impl impl_;
};

}  // namespace detail

// Registers T as the plugin's Evolver in MOSS_PLUGIN(...).
template <class T>
struct as_evolver {
  static constexpr Kind kind = Kind::evolver;
  using interface = Evolver;
  using adapter = detail::EvolverAdapter<T>;
};

}  // namespace moss::sdk
