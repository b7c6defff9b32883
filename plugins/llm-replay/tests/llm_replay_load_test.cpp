// llm-replay through the real loader: the built .so declares itself, loads its replay file at
// init (refusing a malformed one with the line), and answers chat requests from it.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "plugin_harness.hpp"
#include "temp_dir.hpp"
#include "util/json_schema.hpp"

using Catch::Matchers::Contains;
using moss::sdk::LLMBackend;
using moss::test::load_plugin;
using moss::test::try_create;
using nlohmann::json;

namespace {

std::string write_file(const moss::test::TempDir& dir, const std::string& content) {
  auto path = dir / "exchanges.jsonl";
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

moss::sdk::ChatRequest ask(const std::string& text) {
  moss::sdk::ChatRequest request;
  request.messages.push_back({"user", text, {}, "", ""});
  return request;
}

}  // namespace

TEST_CASE("the llm-replay file declares its name and only the llm_backend kind", "[replay][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  CHECK(library->manifest().name == "llm-replay");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::llm_backend));
}

TEST_CASE("the loaded backend answers from its file in the default match mode", "[replay][load]") {
  moss::test::TempDir dir;
  const std::string file = write_file(
      dir,
      R"({"match": "capital", "response": {"content": "Paris"}, "usage": {"prompt_tokens": 9, "completion_tokens": 1}})"
      "\n"
      R"({"match": "", "response": {"content": "fallback"}})");
  auto backend = try_create<LLMBackend>(load_plugin(MOSS_PLUGIN_FILE), json{{"file", file}}.dump());
  REQUIRE(backend.ok());
  auto info = backend.value()->info();
  REQUIRE(info.ok());
  CHECK(info.value().name == "replay");
  CHECK(info.value().supports_tools);
  auto first = backend.value()->chat(ask("the capital of France?"), nullptr);
  REQUIRE(first.ok());
  CHECK(first.value().message.content == "Paris");
  CHECK(first.value().usage.prompt_tokens == 9);
  CHECK(backend.value()->chat(ask("anything"), nullptr).value().message.content == "fallback");
  CHECK(backend.value()->chat(ask("more"), nullptr).status().code() == moss::sdk::Code::not_found);
}

TEST_CASE("the loaded backend refuses a malformed replay file at init with its line",
          "[replay][load]") {
  moss::test::TempDir dir;
  const std::string file = write_file(dir, R"({"match": "", "response": {}})"
                                           "\n"
                                           R"({"match": ")"
                                           "\n");
  auto backend = try_create<LLMBackend>(load_plugin(MOSS_PLUGIN_FILE), json{{"file", file}}.dump());
  REQUIRE_FALSE(backend.ok());
  CHECK(backend.status().code() == moss::sdk::Code::invalid_argument);
  CHECK_THAT(backend.status().message(), Contains(file + ":2: not valid JSON"));
}

TEST_CASE("the loaded backend does not offer fine-tuning", "[replay][load]") {
  moss::test::TempDir dir;
  auto backend = try_create<LLMBackend>(
      load_plugin(MOSS_PLUGIN_FILE),
      json{{"file", write_file(dir, R"({"match": "", "response": {}})")}}.dump());
  REQUIRE(backend.ok());
  CHECK(backend.value()->submit_fine_tune("{}", "m").status().code() ==
        moss::sdk::Code::unimplemented);
}

TEST_CASE("the llm-replay config schema requires a file and knows the modes", "[replay][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  auto schema = moss::JsonSchema::compile(library->manifest().config_schema_json, "replay");
  REQUIRE(schema.ok());
  CHECK_FALSE(schema.value().validate(json::object()).empty());
  CHECK_FALSE(schema.value().validate({{"file", "x"}, {"mode", "random"}}).empty());
  CHECK(schema.value().validate({{"file", "x"}, {"mode", "sequence"}}).empty());
}
