// Unit test of @CLASS@. It compiles the plugin source in and calls the class directly, with
// no host and no test framework: each failed check prints its place, and the exit code is 0
// only if every check passed. `moss plugin test` (the conformance test) covers the built .so
// through the real loader.
#include "../src/@NAME@.cpp"

#include <cstdio>
#include <string>

namespace {

int failures = 0;

void check(bool passed, const char* what, const char* file, int line) {
  if (passed) return;
  ++failures;
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
}
#define CHECK(condition) check((condition), #condition, __FILE__, __LINE__)

// A compiler initialised with `settings_json`, as the host would do it.
@CLASS@ make_compiler(const std::string& settings_json = "{}") {
  static sdk::NullLogger logger;
  sdk::InitContext context;
  context.instance_name = "@NAME@";
  context.config_json = settings_json;
  context.logger = &logger;
  @CLASS@ compiler;
  CHECK(compiler.init(context).ok());
  return compiler;
}

sdk::ExecutionTrace trace(std::string input, std::string output, double quality,
                          bool steps_ok = true) {
  sdk::ExecutionTrace t;
  t.workflow_id = "summarise";
  t.input = std::move(input);
  t.steps = {{"draft", "writer", t.input, "draft", 0.01, 50.0, steps_ok},
             {"edit", "editor", "draft", output, 0.01, 50.0, true}};
  t.final_output = std::move(output);
  t.quality = quality;
  return t;
}

void test_extract_pairs_keeps_the_best_successful_traces() {
  const @CLASS@ compiler = make_compiler();
  auto pairs = compiler.extract_pairs(
      {trace("report A", "summary A", 0.92), trace("report A", "better summary A", 0.97),
       trace("report B", "summary B", 0.95), trace("report C", "poor summary", 0.4),
       trace("report D", "summary D", 0.99, false), trace("", "no input", 1.0)},
      0.9);
  CHECK(pairs.ok());
  if (!pairs.ok()) return;
  CHECK(pairs.value().size() == 2);
  if (pairs.value().size() == 2) {
    CHECK(pairs.value()[0].output == "better summary A");  // best first, one per input
    CHECK(pairs.value()[1].input == "report B");
  }
  CHECK(compiler.extract_pairs({}, 1.5).status().code() == sdk::Code::invalid_argument);
}

void test_compile_takes_the_best_examples() {
  const @CLASS@ compiler = make_compiler(R"({"max_examples": 2, "instructions": "Summarise."})");
  const std::vector<sdk::TrainingPair> pairs = {{"a", "", "A", 0.91},
                                                {"b", R"({"lang":"en"})", "B", 0.99},
                                                {"c", "", "C", 0.95},
                                                {"d", "", "D", 0.5}};
  auto model = compiler.compile(pairs, {"small-model", 0.9, 0});
  CHECK(model.ok());
  if (!model.ok()) return;
  CHECK(model->system_prompt == "Summarise.");
  CHECK(model->base_model == "small-model");
  CHECK(model->examples.size() == 2);
  CHECK(model->examples[0].input == "b" && model->examples[1].input == "c");
  CHECK(std::count(model->training_jsonl.begin(), model->training_jsonl.end(), '\n') == 2);
  CHECK(model->model_id == compiler.compile(pairs, {"small-model", 0.9, 0})->model_id);
  CHECK(model->model_id != compiler.compile(pairs, {"other-model", 0.9, 0})->model_id);
  CHECK(compiler.compile(pairs, {"small-model", 0.9, 3})->examples.size() == 3);
  CHECK(compiler.compile({}, {}).status().code() == sdk::Code::invalid_argument);
  CHECK(compiler.compile(pairs, {"m", 0.999, 0}).status().code() == sdk::Code::invalid_argument);
}

void test_render_builds_one_few_shot_call() {
  const @CLASS@ compiler = make_compiler();
  auto model = compiler.compile({{"report A", "", "summary A", 0.95}}, {"small-model", 0.9, 0});
  CHECK(model.ok());
  if (!model.ok()) return;
  auto request = compiler.render(model.value(), "report Z", R"({"lang":"fr"})");
  CHECK(request.ok());
  if (!request.ok()) return;
  const auto& messages = request->messages;
  CHECK(request->model == "small-model");
  CHECK(messages.size() == 4);
  if (messages.size() == 4) {
    CHECK(messages[0].role == "system");
    CHECK(messages[1].role == "user" && messages[1].content == "report A");
    CHECK(messages[2].role == "assistant" && messages[2].content == "summary A");
    CHECK(messages[3].content == "report Z\n\nContext: {\"lang\":\"fr\"}");
  }
  CHECK(compiler.render(model.value(), "", "{}").status().code() == sdk::Code::invalid_argument);
  CHECK(compiler.render(model.value(), "x", "{not json").status().code() ==
        sdk::Code::invalid_argument);
  CHECK(compiler.render(sdk::CompiledModel{}, "x", "{}").status().code() ==
        sdk::Code::invalid_argument);
}

}  // namespace

int main() {
  test_extract_pairs_keeps_the_best_successful_traces();
  test_compile_takes_the_best_examples();
  test_render_builds_one_few_shot_call();
  if (failures == 0) std::printf("@NAME@: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
