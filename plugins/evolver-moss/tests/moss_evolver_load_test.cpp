// evolver-moss through the real loader: the built .so declares itself, its config schema is
// resolved by the host's own code, and the evolver it creates talks to the LLM only through
// the host services it is given.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>

#include "plugin_harness.hpp"

using Catch::Matchers::Contains;
using moss::sdk::Evolver;
using moss::test::create;
using moss::test::load_plugin;
using moss::test::TestHost;

namespace {

moss::sdk::FailureReport failure() {
  moss::sdk::FailureReport report;
  report.task_id = "t-1";
  report.error = "lower(\"A\") returned \"A\"";
  report.plugin = "text-tool";
  return report;
}

}  // namespace

TEST_CASE("the evolver-moss file declares its name and only the evolver kind", "[evolver][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  CHECK(library->manifest().name == "evolver-moss");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::evolver));
}

TEST_CASE("the loaded evolver analyses a failure and proposes a diff through the host",
          "[evolver][load]") {
  TestHost host;
  host.set_clock_ms(42);
  auto evolver = create<Evolver>(load_plugin(MOSS_PLUGIN_FILE), "{}", &host);
  host.set_replies(
      {"Analysis:\n```json\n{\"root_cause\": \"off by one\", \"description\": \"loop ends "
       "early\"}\n```",
       "The loop stops one short.\n```diff\n--- a/src/x.cpp\n+++ b/src/x.cpp\n@@ -1 +1 @@\n"
       "-int x = 0;\n+int x = 1;\n```\n"});
  auto pattern = evolver->analyze(failure());
  REQUIRE(pattern.ok());
  CHECK(pattern.value().root_cause == "off by one");
  CHECK(pattern.value().affected_module == "text-tool");
  CHECK(pattern.value().last_occurrence_ms == 42);
  auto patch = evolver->propose(pattern.value(), {{"src/x.cpp", "int x = 0;\n"}}, "");
  REQUIRE(patch.ok());
  CHECK(patch.value().format == moss::sdk::PatchFormat::unified_diff);
  CHECK(patch.value().path == "src/x.cpp");
  CHECK(patch.value().body ==
        "--- a/src/x.cpp\n+++ b/src/x.cpp\n@@ -1 +1 @@\n-int x = 0;\n+int x = 1;\n");
  CHECK(patch.value().description == "The loop stops one short.");
}

TEST_CASE("the loaded evolver proposes SEARCH/REPLACE blocks and complete files",
          "[evolver][load]") {
  TestHost host;
  auto evolver = create<Evolver>(load_plugin(MOSS_PLUGIN_FILE), "{}", &host);
  const std::vector<moss::sdk::SourceFile> sources = {{"src/x.cpp", "int x = 0;\n"},
                                                      {"src/y.cpp", "int y = 0;\n"}};
  host.set_replies(
      {"src/y.cpp\n```cpp\n<<<<<<< SEARCH\nint y = 0;\n=======\nint y = 1;\n"
       ">>>>>>> REPLACE\n```\n",
       "File: src/x.cpp\n```cpp\nint x = 2;\n```\n"});
  auto blocks = evolver->propose({}, sources, "");
  REQUIRE(blocks.ok());
  CHECK(blocks.value().format == moss::sdk::PatchFormat::search_replace);
  CHECK(blocks.value().path == "src/y.cpp");
  auto file = evolver->propose({}, sources, "");
  REQUIRE(file.ok());
  CHECK(file.value().format == moss::sdk::PatchFormat::full_file);
  CHECK(file.value().path == "src/x.cpp");
  CHECK(file.value().body == "int x = 2;\n");
}

TEST_CASE("the loaded evolver reports unparseable replies as invalid_reply", "[evolver][load]") {
  TestHost host;
  auto evolver = create<Evolver>(load_plugin(MOSS_PLUGIN_FILE), "{}", &host);
  host.set_replies({"I am not sure.", "I would change the loop."});
  auto pattern = evolver->analyze({});
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == moss::sdk::Code::invalid_reply);
  auto patch = evolver->propose({}, {{"src/x.cpp", "int x;\n"}}, "");
  REQUIRE_FALSE(patch.ok());
  CHECK(patch.status().code() == moss::sdk::Code::invalid_reply);
  CHECK_THAT(patch.status().message(), Contains("the reply holds no code"));
}

TEST_CASE("the host applies the schema's max_reply_bytes to the loaded evolver",
          "[evolver][load]") {
  TestHost host;
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  auto evolver = create<Evolver>(library, R"({"max_reply_bytes": 10})", &host);
  host.set_replies({"```\nint x = 1;\n```\n"});
  auto patch = evolver->propose({}, {{"src/x.cpp", "int x;\n"}}, "");
  REQUIRE_FALSE(patch.ok());
  CHECK(patch.status().message() == "reply is 19 bytes, the limit is 10 (max_reply_bytes)");
  CHECK_FALSE(moss::test::try_create<Evolver>(library, R"({"max_reply_bytes": 0})", &host).ok());
  CHECK_FALSE(moss::test::try_create<Evolver>(library, R"({"prompt_dri": ""})", &host).ok());
}
