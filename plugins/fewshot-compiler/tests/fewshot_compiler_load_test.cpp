// fewshot-compiler through the real loader: the built .so declares itself, compiles traces
// into a single call, and leaves the complexity estimate to the SDK's default.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>

#include <string>
#include <vector>

#include "plugin_harness.hpp"

using moss::sdk::Compiler;
using moss::test::create;
using moss::test::load_plugin;

namespace {

std::vector<moss::sdk::ExecutionTrace> traces(int count) {
  std::vector<moss::sdk::ExecutionTrace> out;
  for (int i = 0; i < count; ++i) {
    moss::sdk::ExecutionTrace t;
    t.input = "question " + std::to_string(i);
    t.steps.push_back({"answer", "llm", t.input, "answer", 0.0, 0.0, true});
    t.final_output = "answer " + std::to_string(i);
    t.quality = 0.95;
    out.push_back(t);
  }
  return out;
}

}  // namespace

TEST_CASE("the fewshot-compiler file declares its name and only the compiler kind",
          "[compiler][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  CHECK(library->manifest().name == "fewshot-compiler");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::compiler));
}

TEST_CASE("the loaded compiler keeps the schema's default of 8 examples", "[compiler][load]") {
  auto compiler = create<Compiler>(load_plugin(MOSS_PLUGIN_FILE));
  auto pairs = compiler->extract_pairs(traces(12), 0.9);
  REQUIRE(pairs.ok());
  REQUIRE(pairs.value().size() == 12);
  moss::sdk::CompileOptions options;
  options.base_model = "m";
  auto model = compiler->compile(pairs.value(), options);
  REQUIRE(model.ok());
  CHECK(model.value().examples.size() == 8);
  auto request = compiler->render(model.value(), "question 99", "");
  REQUIRE(request.ok());
  CHECK(request.value().messages.size() == 1 + 2 * 8 + 1);
}

TEST_CASE("the loaded compiler uses its configured max_examples", "[compiler][load]") {
  auto compiler = create<Compiler>(load_plugin(MOSS_PLUGIN_FILE), R"({"max_examples":2})");
  auto model = compiler->compile(compiler->extract_pairs(traces(5), 0.9).value(), {});
  REQUIRE(model.ok());
  CHECK(model.value().examples.size() == 2);
}

TEST_CASE("the loaded compiler refuses pairs it cannot use", "[compiler][load]") {
  auto compiler = create<Compiler>(load_plugin(MOSS_PLUGIN_FILE));
  CHECK(compiler->compile({}, {}).status().code() == moss::sdk::Code::invalid_argument);
}

TEST_CASE("the loaded compiler estimates complexity with the SDK's default formula",
          "[compiler][load]") {
  auto compiler = create<Compiler>(load_plugin(MOSS_PLUGIN_FILE));
  const std::string message(250, 'x');
  auto estimate = compiler->estimate_complexity(message, R"({"user":1})");
  REQUIRE(estimate.ok());
  CHECK(estimate.value() == moss::sdk::default_complexity(message, R"({"user":1})"));
  CHECK(estimate.value() == Approx(0.3 + 0.25 + 0.3));
}
