// fewshot-compiler's behaviour, tested on the class directly: which traces become pairs,
// which pairs become examples, and the prompt, dataset, id and request built from them.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "fewshot_compiler.hpp"

using Catch::Matchers::Contains;
using moss::plugins::FewShotCompiler;
using moss::sdk::Code;
using moss::sdk::CompiledModel;
using moss::sdk::CompileOptions;
using moss::sdk::ExecutionTrace;
using moss::sdk::TrainingPair;
using nlohmann::json;

namespace {

ExecutionTrace trace(const std::string& input, const std::string& output, double quality,
                     const std::string& context = "") {
  ExecutionTrace t;
  t.workflow_id = "wf";
  t.input = input;
  t.context_json = context;
  t.steps.push_back({"classify", "llm", input, "intermediate", 0.01, 120.0, true});
  t.steps.push_back({"answer", "llm", "intermediate", output, 0.02, 300.0, true});
  t.final_output = output;
  t.quality = quality;
  return t;
}

std::vector<TrainingPair> extract(const FewShotCompiler& compiler,
                                  const std::vector<ExecutionTrace>& traces,
                                  double threshold = 0.9) {
  auto pairs = compiler.extract_pairs(traces, threshold);
  INFO(pairs.status().to_string());
  REQUIRE(pairs.ok());
  return pairs.value();
}

CompileOptions options(std::int32_t max_examples = 0, double threshold = 0.9) {
  CompileOptions o;
  o.base_model = "small-model";
  o.quality_threshold = threshold;
  o.max_examples = max_examples;
  return o;
}

CompiledModel compile(const FewShotCompiler& compiler, const std::vector<TrainingPair>& pairs,
                      const CompileOptions& o = options()) {
  auto model = compiler.compile(pairs, o);
  INFO(model.status().to_string());
  REQUIRE(model.ok());
  return model.value();
}

std::vector<std::string> inputs(const CompiledModel& model) {
  std::vector<std::string> out;
  for (const auto& e : model.examples)
    out.push_back(e.input);
  return out;
}

}  // namespace

TEST_CASE("a pair takes the trace's input, context, final output and quality", "[compiler]") {
  FewShotCompiler compiler;
  auto pairs = extract(compiler, {trace("2+2?", "4", 0.95, R"({"unit":"none"})")});
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].input == "2+2?");
  CHECK(pairs[0].context_json == R"({"unit":"none"})");
  CHECK(pairs[0].output == "4");
  CHECK(pairs[0].quality == 0.95);
}

TEST_CASE("pairs at or above the quality threshold are kept, those below are not", "[compiler]") {
  FewShotCompiler compiler;
  auto pairs =
      extract(compiler, {trace("a", "1", 0.9), trace("b", "2", 0.89), trace("c", "3", 1.0)});
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[0].input == "a");
  CHECK(pairs[1].input == "c");
}

TEST_CASE("a trace without steps gives no pair", "[compiler]") {
  FewShotCompiler compiler;
  ExecutionTrace t = trace("a", "1", 1.0);
  t.steps.clear();
  CHECK(extract(compiler, {t}).empty());
}

TEST_CASE("a trace with an empty or blank final output gives no pair", "[compiler]") {
  FewShotCompiler compiler;
  CHECK(extract(compiler, {trace("a", "", 1.0), trace("b", " \n", 1.0)}).empty());
}

TEST_CASE("a trace without an input takes its first step's input", "[compiler]") {
  FewShotCompiler compiler;
  ExecutionTrace t = trace("", "1", 1.0);
  t.steps.front().input = "from the first step";
  auto pairs = extract(compiler, {t});
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].input == "from the first step");
}

TEST_CASE("a NaN quality threshold is refused", "[compiler]") {
  FewShotCompiler compiler;
  auto nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(compiler.extract_pairs({}, nan).status().code() == Code::invalid_argument);
  CHECK(compiler.compile({{"a", "", "1", 1.0}}, options(0, nan)).status().code() ==
        Code::invalid_argument);
}

TEST_CASE("compile keeps the max_examples best pairs by quality", "[compiler]") {
  FewShotCompiler compiler;
  std::vector<TrainingPair> pairs = {
      {"q1", "", "a", 0.91}, {"q2", "", "a", 0.99}, {"q3", "", "a", 0.95}, {"q4", "", "a", 0.97}};
  CHECK(inputs(compile(compiler, pairs, options(2))) == std::vector<std::string>{"q2", "q4"});
}

TEST_CASE("equal quality puts the shorter input first", "[compiler]") {
  FewShotCompiler compiler;
  std::vector<TrainingPair> pairs = {{"longer input", "", "a", 0.95}, {"short", "", "a", 0.95}};
  CHECK(inputs(compile(compiler, pairs)) == std::vector<std::string>{"short", "longer input"});
}

TEST_CASE("a repeated input is kept once, with its best output", "[compiler]") {
  FewShotCompiler compiler;
  std::vector<TrainingPair> pairs = {
      {"same", "", "worse", 0.92}, {"same", "", "better", 0.98}, {"other", "", "x", 0.93}};
  CompiledModel model = compile(compiler, pairs);
  REQUIRE(model.examples.size() == 2);
  CHECK(model.examples[0].output == "better");
  CHECK(model.examples[1].input == "other");
}

TEST_CASE("the same input under another context is a different example", "[compiler]") {
  FewShotCompiler compiler;
  std::vector<TrainingPair> pairs = {{"same", R"({"a":1})", "x", 0.95},
                                     {"same", R"({"a":2})", "y", 0.95}};
  CHECK(compile(compiler, pairs).examples.size() == 2);
}

TEST_CASE("compile drops pairs below the options' quality threshold", "[compiler]") {
  FewShotCompiler compiler;
  std::vector<TrainingPair> pairs = {{"a", "", "1", 0.5}, {"b", "", "2", 0.95}};
  CHECK(inputs(compile(compiler, pairs, options(0, 0.9))) == std::vector<std::string>{"b"});
}

TEST_CASE("max_examples 0 falls back to the configured limit, 8 by default", "[compiler]") {
  std::vector<TrainingPair> pairs;
  for (int i = 0; i < 12; ++i)
    pairs.push_back({"q" + std::to_string(i), "", "a", 0.95});
  FewShotCompiler defaults;
  CHECK(compile(defaults, pairs).examples.size() == 8);
  FewShotCompiler configured;
  moss::sdk::InitContext context;
  context.config_json = R"({"max_examples":3})";
  REQUIRE(configured.init(context).ok());
  CHECK(compile(configured, pairs).examples.size() == 3);
  CHECK(compile(configured, pairs, options(5)).examples.size() == 5);
}

TEST_CASE("compile refuses when no pair is usable and says why", "[compiler]") {
  FewShotCompiler compiler;
  auto model =
      compiler.compile({{"a", "", "1", 0.2}, {"", "", "1", 1.0}, {"b", "", " ", 1.0}}, options());
  REQUIRE_FALSE(model.ok());
  CHECK(model.status().code() == Code::invalid_argument);
  CHECK_THAT(model.status().message(),
             Contains("of 3, 1 are below the quality threshold and 2 have an empty input"));
  CHECK(compiler.compile({}, options()).status().code() == Code::invalid_argument);
}

TEST_CASE("the system prompt holds the instructions and the numbered examples", "[compiler]") {
  FewShotCompiler compiler;
  CompiledModel model =
      compile(compiler, {{"2+2?", "", "4", 0.99}, {"3+3?", R"({"base":10})", "6", 0.95}});
  CHECK_THAT(model.system_prompt, Contains("single step what a multi-step workflow"));
  CHECK_THAT(model.system_prompt, Contains("Example 1\nInput:\n2+2?\nOutput:\n4\n"));
  CHECK_THAT(model.system_prompt,
             Contains("Example 2\nInput:\n3+3?\n\nContext:\n{\"base\":10}\nOutput:\n6\n"));
  CHECK(model.base_model == "small-model");
  CHECK(model.weights_path.empty());
}

TEST_CASE("training_jsonl has one chat line per example, properly escaped", "[compiler]") {
  FewShotCompiler compiler;
  const std::string tricky = "say \"hi\"\n\tthen \\ leave — ok";
  CompiledModel model = compile(compiler, {{tricky, "", "done\n", 0.99}, {"b", "", "2", 0.95}});
  std::istringstream lines(model.training_jsonl);
  std::string line;
  std::vector<json> parsed;
  while (std::getline(lines, line))
    parsed.push_back(json::parse(line));
  REQUIRE(parsed.size() == 2);
  const json& messages = parsed[0]["messages"];
  REQUIRE(messages.size() == 2);
  CHECK(messages[0]["role"] == "user");
  CHECK(messages[0]["content"] == tricky);
  CHECK(messages[1]["role"] == "assistant");
  CHECK(messages[1]["content"] == "done\n");
}

TEST_CASE("the model id is stable and changes with the base model or the examples", "[compiler]") {
  FewShotCompiler compiler;
  std::vector<TrainingPair> pairs = {{"a", "", "1", 0.95}, {"b", "", "2", 0.96}};
  const std::string id = compile(compiler, pairs).model_id;
  CHECK(id.rfind("fewshot-", 0) == 0);
  CHECK(compile(compiler, pairs).model_id == id);
  CompileOptions other = options();
  other.base_model = "big-model";
  CHECK(compile(compiler, pairs, other).model_id != id);
  pairs[0].output = "one";
  CHECK(compile(compiler, pairs).model_id != id);
}

TEST_CASE("the model id does not depend on the order the pairs arrive in", "[compiler]") {
  FewShotCompiler compiler;
  std::vector<TrainingPair> pairs = {
      {"a", "", "1", 0.95}, {"b", "", "2", 0.95}, {"c", "", "3", 0.97}};
  std::vector<TrainingPair> reversed(pairs.rbegin(), pairs.rend());
  CHECK(compile(compiler, pairs).model_id == compile(compiler, reversed).model_id);
}

TEST_CASE(
    "render sends the system prompt, the examples as turns, then the input, at "
    "temperature 0",
    "[compiler]") {
  FewShotCompiler compiler;
  CompiledModel model = compile(compiler, {{"2+2?", "", "4", 0.99}, {"3+3?", "", "6", 0.95}});
  auto request = compiler.render(model, "5+5?", "");
  REQUIRE(request.ok());
  const auto& m = request.value().messages;
  REQUIRE(m.size() == 6);
  CHECK(m[0].role == "system");
  CHECK(m[0].content == model.system_prompt);
  CHECK((m[1].role == "user" && m[1].content == "2+2?"));
  CHECK((m[2].role == "assistant" && m[2].content == "4"));
  CHECK((m[3].role == "user" && m[3].content == "3+3?"));
  CHECK((m[4].role == "assistant" && m[4].content == "6"));
  CHECK((m[5].role == "user" && m[5].content == "5+5?"));
  CHECK(request.value().temperature == 0.0);
  CHECK(request.value().model == "small-model");
}

TEST_CASE("render appends a non-empty context to the input", "[compiler]") {
  FewShotCompiler compiler;
  CompiledModel model = compile(compiler, {{"a", "", "1", 0.99}});
  CHECK(compiler.render(model, "q", R"({"k":1})").value().messages.back().content ==
        "q\n\nContext:\n{\"k\":1}");
  CHECK(compiler.render(model, "q", "{}").value().messages.back().content == "q");
  CHECK(compiler.render(model, "q", "null").value().messages.back().content == "q");
}

TEST_CASE("render refuses a model with no prompt and no examples, and an empty input",
          "[compiler]") {
  FewShotCompiler compiler;
  CHECK(compiler.render(CompiledModel{}, "q", "").status().code() == Code::invalid_argument);
  CompiledModel model = compile(compiler, {{"a", "", "1", 0.99}});
  CHECK(compiler.render(model, "  ", "").status().code() == Code::invalid_argument);
}

TEST_CASE("a bad max_examples is refused at init by name", "[compiler]") {
  FewShotCompiler compiler;
  moss::sdk::InitContext context;
  context.config_json = R"({"max_examples":0})";
  auto status = compiler.init(context);
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains("max_examples"));
}
