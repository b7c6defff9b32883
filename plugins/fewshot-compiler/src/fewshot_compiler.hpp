// fewshot-compiler: compiles a multi-step workflow into one few-shot prompt. The best traced
// runs become worked examples, and one model call replaces the pipeline. It also exports them
// as a chat fine-tuning dataset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

// The user turn for `input`: the input, then its context unless that is empty, "{}" or "null".
std::string user_message(std::string_view input, std::string_view context_json);

class FewShotCompiler {
 public:
  static constexpr std::int32_t kDefaultMaxExamples = 8;

  // Config: {"max_examples": 8}, used when CompileOptions::max_examples is 0.
  sdk::Status init(const sdk::InitContext& context);

  // One pair per trace with steps, an input (the trace's, else its first step's) and a
  // non-blank final output, whose quality is >= `quality_threshold`.
  sdk::Result<std::vector<sdk::TrainingPair>> extract_pairs(
      const std::vector<sdk::ExecutionTrace>& traces, double quality_threshold) const;

  // Keeps the best pairs (quality, then shorter input) with distinct user turns, at most
  // max_examples, and builds the system prompt, the fine-tuning JSONL and a stable model id.
  sdk::Result<sdk::CompiledModel> compile(const std::vector<sdk::TrainingPair>& pairs,
                                          const sdk::CompileOptions& options) const;

  // The single call: system prompt, the examples as user/assistant turns, then the input.
  sdk::Result<sdk::ChatRequest> render(const sdk::CompiledModel& model, std::string_view input,
                                       std::string_view context_json) const;

 private:
  std::int32_t max_examples_ = kDefaultMaxExamples;
};

}  // namespace moss::plugins
