// fewshot-compiler: pair extraction, example selection, prompt and dataset building.
#include "fewshot_compiler.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

namespace moss::plugins {
namespace {

using nlohmann::json;
using sdk::Code;
using sdk::Result;
using sdk::Status;

constexpr const char* kInstructions =
    "You answer in a single step what a multi-step workflow used to produce.\n"
    "Follow the worked examples below: give the same kind of answer, in the same format and "
    "level of detail, and reply with the answer only.\n";

Status invalid(const std::string& message) {
  return Status(Code::invalid_argument, message);
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// FNV-1a 64 over length-prefixed fields, so ("ab","c") and ("a","bc") differ.
class Fnv1a64 {
 public:
  void add(std::string_view field) {
    const std::string length = std::to_string(field.size()) + ":";
    for (unsigned char c : length)
      mix(c);
    for (unsigned char c : field)
      mix(c);
  }
  std::string hex() const {
    char text[17] = {};
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash_));
    return text;
  }

 private:
  void mix(unsigned char c) {
    hash_ ^= c;
    hash_ *= 0x100000001b3ULL;
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::string user_message(std::string_view input, std::string_view context_json) {
  std::string message(input);
  if (!context_json.empty() && context_json != "{}" && context_json != "null") {
    message += "\n\nContext:\n";
    message += context_json;
  }
  return message;
}

Status FewShotCompiler::init(const sdk::InitContext& context) {
  json config = json::parse(context.config_json.empty() ? "{}" : context.config_json, nullptr,
                            /*allow_exceptions=*/false);
  if (!config.is_object()) return invalid("config must be a JSON object");
  if (auto it = config.find("max_examples"); it != config.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 1000) {
      return invalid("max_examples: must be an integer in [1, 1000]");
    }
    max_examples_ = it->get<std::int32_t>();
  }
  return Status();
}

Result<std::vector<sdk::TrainingPair>> FewShotCompiler::extract_pairs(
    const std::vector<sdk::ExecutionTrace>& traces, double quality_threshold) const {
  if (std::isnan(quality_threshold)) return invalid("quality_threshold is NaN");
  std::vector<sdk::TrainingPair> pairs;
  for (const sdk::ExecutionTrace& trace : traces) {
    if (trace.steps.empty() || is_blank(trace.final_output)) continue;
    if (!(trace.quality >= quality_threshold)) continue;  // also drops a NaN quality
    const std::string& input = trace.input.empty() ? trace.steps.front().input : trace.input;
    if (is_blank(input)) continue;
    pairs.push_back({input, trace.context_json, trace.final_output, trace.quality});
  }
  return pairs;
}

Result<sdk::CompiledModel> FewShotCompiler::compile(const std::vector<sdk::TrainingPair>& pairs,
                                                    const sdk::CompileOptions& options) const {
  if (std::isnan(options.quality_threshold)) return invalid("quality_threshold is NaN");
  const auto limit =
      static_cast<std::size_t>(options.max_examples > 0 ? options.max_examples : max_examples_);

  std::size_t below = 0;
  std::size_t empty = 0;
  std::vector<const sdk::TrainingPair*> usable;
  for (const sdk::TrainingPair& pair : pairs) {
    if (is_blank(pair.input) || is_blank(pair.output)) {
      ++empty;
    } else if (!(pair.quality >= options.quality_threshold)) {
      ++below;
    } else {
      usable.push_back(&pair);
    }
  }
  // Best first; the remaining keys only make the order (and so the model id) deterministic.
  std::sort(usable.begin(), usable.end(), [](const auto* a, const auto* b) {
    if (a->quality != b->quality) return a->quality > b->quality;
    if (a->input.size() != b->input.size()) return a->input.size() < b->input.size();
    return std::tie(a->input, a->context_json, a->output) <
           std::tie(b->input, b->context_json, b->output);
  });

  sdk::CompiledModel model;
  model.base_model = options.base_model;
  std::set<std::string> seen_turns;
  for (const sdk::TrainingPair* pair : usable) {
    if (model.examples.size() == limit) break;
    if (!seen_turns.insert(user_message(pair->input, pair->context_json)).second) continue;
    model.examples.push_back(*pair);
  }
  if (model.examples.empty()) {
    return invalid("no usable training pairs: of " + std::to_string(pairs.size()) + ", " +
                   std::to_string(below) + " are below the quality threshold and " +
                   std::to_string(empty) + " have an empty input or output");
  }

  Fnv1a64 id;
  id.add(model.base_model);
  model.system_prompt = kInstructions;
  for (std::size_t i = 0; i < model.examples.size(); ++i) {
    const sdk::TrainingPair& example = model.examples[i];
    const std::string user = user_message(example.input, example.context_json);
    model.system_prompt += "\nExample " + std::to_string(i + 1) + "\nInput:\n" + user +
                           "\nOutput:\n" + example.output + "\n";
    json line = {{"messages",
                  {{{"role", "user"}, {"content", user}},
                   {{"role", "assistant"}, {"content", example.output}}}}};
    model.training_jsonl += line.dump() + "\n";
    id.add(user);
    id.add(example.output);
  }
  model.model_id = "fewshot-" + id.hex();
  return model;
}

Result<sdk::ChatRequest> FewShotCompiler::render(const sdk::CompiledModel& model,
                                                 std::string_view input,
                                                 std::string_view context_json) const {
  if (model.system_prompt.empty() && model.examples.empty()) {
    return invalid("not a compiled model: no system prompt and no examples");
  }
  if (is_blank(input)) return invalid("input is empty");
  sdk::ChatRequest request;
  request.model = model.base_model;
  request.temperature = 0.0;
  if (!model.system_prompt.empty())
    request.messages.push_back({"system", model.system_prompt, {}, "", ""});
  for (const sdk::TrainingPair& example : model.examples) {
    request.messages.push_back(
        {"user", user_message(example.input, example.context_json), {}, "", ""});
    request.messages.push_back({"assistant", example.output, {}, "", ""});
  }
  request.messages.push_back({"user", user_message(input, context_json), {}, "", ""});
  return request;
}

}  // namespace moss::plugins
