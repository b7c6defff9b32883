// evolver-moss through the real loader: the built .so declares itself, and the evolver it
// creates talks to the LLM only through the host services it is given.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include <deque>
#include <memory>
#include <string>

#include "loader/loader.hpp"
#include "util/json_schema.hpp"

using moss::sdk::Evolver;
using nlohmann::json;

namespace {

// Answers chat requests with scripted replies, in order.
class ScriptedHost final : public moss::sdk::HostServices {
 public:
  moss::sdk::Result<moss::sdk::ChatResponse> chat(const moss::sdk::ChatRequest&) noexcept override {
    if (replies.empty()) return moss::sdk::Status(moss::sdk::Code::unavailable, "no reply left");
    moss::sdk::ChatResponse response;
    response.message.content = replies.front();
    replies.pop_front();
    return response;
  }
  std::int64_t now_ms() const noexcept override { return 42; }
  std::deque<std::string> replies;
};

std::shared_ptr<moss::Library> load_plugin() {
  auto library = moss::Library::load(MOSS_PLUGIN_FILE);
  INFO(library.status().to_string());
  REQUIRE(library.ok());
  return library.value();
}

// What the host does before init: validate the table, then apply the schema's defaults.
std::shared_ptr<Evolver> create_evolver(const std::shared_ptr<moss::Library>& library,
                                        ScriptedHost& host) {
  static moss::sdk::NullLogger logger;
  auto schema = moss::JsonSchema::compile(library->manifest().config_schema_json, "evolver");
  REQUIRE(schema.ok());
  json table = json::object();
  schema.value().apply_defaults(table);
  moss::sdk::InitContext context;
  context.instance_name = "evolver";
  context.config_json = table.dump();
  context.logger = &logger;
  context.host = &host;
  auto evolver = moss::create_object<Evolver>(library, context);
  INFO(evolver.status().to_string());
  REQUIRE(evolver.ok());
  return evolver.value();
}

}  // namespace

TEST_CASE("the evolver-moss file declares its name and only the evolver kind", "[evolver][load]") {
  auto library = load_plugin();
  CHECK(library->manifest().name == "evolver-moss");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::evolver));
}

TEST_CASE("the loaded evolver analyses a failure and proposes a patch through the host",
          "[evolver][load]") {
  ScriptedHost host;
  auto evolver = create_evolver(load_plugin(), host);
  host.replies = {R"(Analysis: {"root_cause": "off by one", "description": "loop ends early"})",
                  "FILE: src/x.cpp\n```cpp\nint x = 1;\n```\n"};
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
  ScriptedHost host;
  auto evolver = create_evolver(load_plugin(), host);
  host.replies = {"I am not sure."};
  auto pattern = evolver->analyze({});
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == moss::sdk::Code::invalid_reply);
}
