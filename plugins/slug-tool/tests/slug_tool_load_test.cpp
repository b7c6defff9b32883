// slug-tool through the real loader, scored by its own eval suite: the shipped bugs are real
// and the suite exposes each of them (the evolution demo depends on both).
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>

#include <map>
#include <string>

#include "evaluation/evaluator.hpp"
#include "evaluation/suite.hpp"
#include "plugin_harness.hpp"

using moss::test::create;
using moss::test::load_plugin;

namespace {

std::map<std::string, moss::CaseResult> run_suite() {
  auto tool = create<moss::sdk::Tool>(load_plugin(MOSS_PLUGIN_FILE));
  auto suite = moss::load_suite(MOSS_SLUG_TOOL_EVAL);
  REQUIRE(suite.ok());
  moss::EvalReport report = moss::evaluate_tool(*tool, suite.value());
  std::map<std::string, moss::CaseResult> by_id;
  for (const auto& c : report.cases)
    by_id[c.id] = c;
  return by_id;
}

}  // namespace

TEST_CASE("slug-tool slugs ASCII titles correctly", "[slug-tool][load]") {
  auto cases = run_suite();
  for (const char* id : {"ascii-title", "ascii-digits", "ascii-spaces", "ascii-punctuation",
                         "ascii-upper", "ascii-already-slug", "cut-at-word", "cut-exact-fit"}) {
    INFO(id << ": " << cases[id].failure);
    CHECK(cases[id].passed);
  }
}

TEST_CASE("slug-tool ships with its Unicode bug: non-ASCII letters are dropped",
          "[slug-tool][load]") {
  auto cases = run_suite();
  CHECK_FALSE(cases["unicode-cafe"].passed);
  CHECK(cases["unicode-cafe"].actual == R"({"slug":"caf-au-lait"})");
}

TEST_CASE("slug-tool ships with its empty-input bug: an empty slug is not an error",
          "[slug-tool][load]") {
  auto cases = run_suite();
  CHECK_FALSE(cases["empty-text"].passed);
  CHECK(cases["empty-text"].actual == R"({"slug":""})");
}

TEST_CASE("slug-tool ships with its long-word bug: the cut throws out of the plugin",
          "[slug-tool][load]") {
  auto cases = run_suite();
  CHECK_FALSE(cases["cut-long-word"].passed);
  // The SDK glue turns the uncaught std::length_error into an error value.
  CHECK(cases["cut-long-word"].error.rfind("plugin_exception", 0) == 0);
}
