// The Compiler kind: distils a multi-step workflow into a single-call route.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "moss/sdk/detail/glue.hpp"
#include "moss/sdk/object.hpp"
#include "moss/sdk/types.hpp"

namespace moss::sdk {

struct StepResult {
  std::string step_name;
  std::string agent_type;
  std::string input;
  std::string output;
  double cost_usd = 0.0;
  double latency_ms = 0.0;
  bool ok = false;
};

// One run of a multi-step workflow, as traced by the host.
struct ExecutionTrace {
  std::string workflow_id;
  std::string input;         // the first step's task
  std::string context_json;  // the request's context object; may be empty
  std::vector<StepResult> steps;
  std::string final_output;
  double total_cost_usd = 0.0;
  double total_latency_ms = 0.0;
  std::int64_t timestamp_ms = 0;
  double quality = 0.0;  // scored by the host's scorer, in [0,1]
};

struct TrainingPair {
  std::string input;
  std::string context_json;
  std::string output;
  double quality = 0.0;
};

struct CompileOptions {
  std::string base_model;           // the model the compiled route calls
  double quality_threshold = 0.90;  // pairs below it are dropped
  std::int32_t max_examples = 0;    // 0: the compiler's choice
};

// A compiled route: one model call that replaces the whole pipeline.
struct CompiledModel {
  std::string model_id;
  std::string base_model;
  std::string system_prompt;           // the distilled instructions of the single call
  std::vector<TrainingPair> examples;  // the pairs it was compiled from (after filtering)
  std::string training_jsonl;          // chat fine-tuning JSONL: {"messages":[user, assistant]}
  std::string weights_path;            // set when a fine-tuned model exists; empty otherwise
};

class Compiler : public PluginObject {
 public:
  static constexpr Kind kKind = Kind::compiler;

  // Required. Turns traces into training pairs (input: the first step's task and context;
  // output: the final output), keeping those with quality >= `quality_threshold`.
  // Thread-safe: yes.
  virtual Result<std::vector<TrainingPair>> extract_pairs(const std::vector<ExecutionTrace>& traces,
                                                          double quality_threshold) noexcept = 0;

  // Required. Builds the compiled route from training pairs. Errors: invalid_argument if
  // there are no usable pairs. Thread-safe: yes.
  virtual Result<CompiledModel> compile(const std::vector<TrainingPair>& pairs,
                                        const CompileOptions& options) noexcept = 0;

  // Required. The single model call for `input` through `model`. The host sends it through
  // its LLM backend and measures cost, latency and quality. Thread-safe: yes.
  virtual Result<ChatRequest> render(const CompiledModel& model, std::string_view input,
                                     std::string_view context_json) noexcept = 0;

  // Optional (default: default_complexity below, the seed's formula).
  // Complexity in [0,1]; the router sends requests at or below its threshold to the
  // compiled route. Thread-safe: yes.
  virtual Result<double> estimate_complexity(std::string_view message,
                                             std::string_view context_json) noexcept = 0;
};

// The seed's complexity estimate: 0.3 + length share (capped at 0.4) + 0.3 with context.
// The length is in characters (UTF-8 code points), as the seed's len() counts them.
inline double default_complexity(std::string_view message, std::string_view context_json) {
  std::size_t characters = 0;
  for (char c : message) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++characters;  // not a continuation
  }
  double length_share = static_cast<double>(characters) / 1000.0;
  if (length_share > 0.4) length_share = 0.4;
  bool has_context = !context_json.empty() && context_json != "{}" && context_json != "null";
  double c = 0.3 + length_share + (has_context ? 0.3 : 0.0);
  return c > 1.0 ? 1.0 : c;
}

namespace detail {

template <class Impl>
class CompilerAdapter final : public Compiler {
  static_assert(
      requires(Impl & impl, const std::vector<ExecutionTrace>& traces, double q) {
        { impl.extract_pairs(traces, q) } -> std::convertible_to<Result<std::vector<TrainingPair>>>;
      },
      "MOSS_PLUGIN as_compiler<T>: T needs `Result<std::vector<TrainingPair>> "
      "extract_pairs(const std::vector<ExecutionTrace>&, double)`");
  static_assert(
      requires(Impl & impl, const std::vector<TrainingPair>& p, const CompileOptions& o) {
        { impl.compile(p, o) } -> std::convertible_to<Result<CompiledModel>>;
      },
      "MOSS_PLUGIN as_compiler<T>: T needs `Result<CompiledModel> "
      "compile(const std::vector<TrainingPair>&, const CompileOptions&)`");
  static_assert(
      requires(Impl & impl, const CompiledModel& m, std::string_view s) {
        { impl.render(m, s, s) } -> std::convertible_to<Result<ChatRequest>>;
      },
      "MOSS_PLUGIN as_compiler<T>: T needs `Result<ChatRequest> "
      "render(const CompiledModel&, std::string_view input, std::string_view context_json)`");

 public:
  Status init(const InitContext& context) noexcept override { return call_init(impl_, context); }
  Result<std::vector<TrainingPair>> extract_pairs(const std::vector<ExecutionTrace>& traces,
                                                  double quality_threshold) noexcept override {
    return guarded<Result<std::vector<TrainingPair>>>("Compiler::extract_pairs", [&] {
      return Result<std::vector<TrainingPair>>(impl_.extract_pairs(traces, quality_threshold));
    });
  }
  Result<CompiledModel> compile(const std::vector<TrainingPair>& pairs,
                                const CompileOptions& options) noexcept override {
    return guarded<Result<CompiledModel>>(
        "Compiler::compile", [&] { return Result<CompiledModel>(impl_.compile(pairs, options)); });
  }
  Result<ChatRequest> render(const CompiledModel& model, std::string_view input,
                             std::string_view context_json) noexcept override {
    return guarded<Result<ChatRequest>>("Compiler::render", [&] {
      return Result<ChatRequest>(impl_.render(model, input, context_json));
    });
  }
  Result<double> estimate_complexity(std::string_view message,
                                     std::string_view context_json) noexcept override {
    return guarded<Result<double>>("Compiler::estimate_complexity", [&] {
      static_assert(
          !requires { &Impl::estimate_complexity; } ||
              requires { impl_.estimate_complexity(message, context_json); },
          "MOSS_PLUGIN as_compiler<T>: T::estimate_complexity must be "
          "`double estimate_complexity(std::string_view, std::string_view)`");
      if constexpr (requires { impl_.estimate_complexity(message, context_json); }) {
        return Result<double>(impl_.estimate_complexity(message, context_json));
      } else {
        return Result<double>(default_complexity(message, context_json));
      }
    });
  }

 private:
  Impl impl_;
};

}  // namespace detail

// Registers T as the plugin's Compiler in MOSS_PLUGIN(...).
template <class T>
struct as_compiler {
  static constexpr Kind kind = Kind::compiler;
  using interface = Compiler;
  using adapter = detail::CompilerAdapter<T>;
};

}  // namespace moss::sdk
