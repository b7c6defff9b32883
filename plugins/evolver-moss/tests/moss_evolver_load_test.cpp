// evolver-moss through the real loader: the built .so declares itself, and the evolver it
// creates talks to the LLM only through the host services it is given.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>

#include "plugin_harness.hpp"

using moss::sdk::Evolver;
using moss::test::create;
using moss::test::load_plugin;
using moss::test::TestHost;

TEST_CASE("the evolver-moss file declares its name and only the evolver kind", "[evolver][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  CHECK(library->manifest().name == "evolver-moss");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::evolver));
}

TEST_CASE("the loaded evolver analyses a failure and proposes a patch through the host",
          "[evolver][load]") {
  TestHost host;
  host.set_clock_ms(42);
  auto evolver = create<Evolver>(load_plugin(MOSS_PLUGIN_FILE), "{}", &host);
  host.set_replies({R"(Analysis: {"root_cause": "off by one", "description": "loop ends early"})",
                    "FILE: src/x.cpp\n```cpp\nint x = 1;\n```\n"});
  moss::sdk::FailureReport failure;
  failure.task_id = "t-1";
  failure.plugin = "text-tool";
  auto pattern = evolver->analyze(failure);
  REQUIRE(pattern.ok());
  CHECK(pattern.value().root_cause == "off by one");
  CHECK(pattern.value().affected_module == "text-tool");
  CHECK(pattern.value().last_occurrence_ms == 42);
  auto patch = evolver->propose(pattern.value(), {{"src/x.cpp", "int x = 0;\n"}}, "");
  REQUIRE(patch.ok());
  CHECK(patch.value().path == "src/x.cpp");
  CHECK(patch.value().body == "int x = 1;\n");
}

TEST_CASE("the loaded evolver reports an unparseable reply as invalid_reply", "[evolver][load]") {
  TestHost host;
  auto evolver = create<Evolver>(load_plugin(MOSS_PLUGIN_FILE), "{}", &host);
  host.set_replies({"I am not sure."});
  auto pattern = evolver->analyze({});
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == moss::sdk::Code::invalid_reply);
}
