// llm-openai through the real loader: the built .so declares itself and its config schema,
// the host's schema step fills in the defaults, and the loaded backend chats with a real HTTP
// server on 127.0.0.1 (plain and streamed), and reports failures as error values.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <string>
#include <vector>

#include "fake_openai_server.hpp"
#include "plugin_harness.hpp"
#include "util/json_schema.hpp"

using Catch::Matchers::Contains;
using moss::sdk::Code;
using moss::sdk::LLMBackend;
using moss::test::completion_json;
using moss::test::delta_chunk;
using moss::test::FakeOpenAi;
using moss::test::load_plugin;
using moss::test::try_create;
using nlohmann::json;

namespace {

moss::sdk::ChatRequest ask(const std::string& text) {
  moss::sdk::ChatRequest request;
  request.messages.push_back({"user", text, {}, "", ""});
  return request;
}

class RecordingSink final : public moss::sdk::ChatStreamSink {
 public:
  void on_text(std::string_view fragment) noexcept override { fragments.emplace_back(fragment); }
  std::vector<std::string> fragments;
};

}  // namespace

TEST_CASE("the llm-openai file declares its name and only the llm_backend kind", "[openai][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  CHECK(library->manifest().name == "llm-openai");
  CHECK(library->manifest().kinds == static_cast<std::uint32_t>(moss::sdk::Kind::llm_backend));
}

TEST_CASE("the llm-openai config schema has defaults and refuses keys and bad values",
          "[openai][load]") {
  auto library = load_plugin(MOSS_PLUGIN_FILE);
  auto schema = moss::JsonSchema::compile(library->manifest().config_schema_json, "openai");
  REQUIRE(schema.ok());
  json settings = json::object();
  schema.value().apply_defaults(settings);
  CHECK(settings == json::parse(R"({"base_url":"http://127.0.0.1:8080/v1","model":"",
      "api_key_env":"","timeout_ms":60000,"connect_timeout_ms":5000,"max_retries":3,
      "retry_backoff_ms":500,"price_per_1k_prompt":0,"price_per_1k_completion":0,
      "stream":false})"));
  CHECK(schema.value().validate(settings).empty());
  CHECK_FALSE(schema.value().validate({{"api_key", "sk-x"}}).empty());
  CHECK_FALSE(schema.value().validate({{"base_url", "localhost:8080"}}).empty());
  CHECK_FALSE(schema.value().validate({{"api_key_env", "sk-proj-123"}}).empty());
  CHECK_FALSE(schema.value().validate({{"timeout_ms", 0}}).empty());
  CHECK_FALSE(schema.value().validate({{"max_retries", 11}}).empty());
  CHECK_FALSE(schema.value().validate({{"stream", "yes"}}).empty());
  CHECK(
      schema.value()
          .validate({{"base_url", "https://api.openai.com/v1"}, {"api_key_env", "OPENAI_API_KEY"}})
          .empty());
}

TEST_CASE("the loaded backend chats with a real server and prices the reply", "[openai][load]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    response.set_content(completion_json("Bonjour", 2000, 500), "application/json");
  });
  auto backend =
      try_create<LLMBackend>(load_plugin(MOSS_PLUGIN_FILE), json{{"base_url", server.base_url()},
                                                                 {"model", "tiny"},
                                                                 {"price_per_1k_prompt", 0.01},
                                                                 {"price_per_1k_completion", 0.03}}
                                                                .dump());
  INFO(backend.status().to_string());
  REQUIRE(backend.ok());
  auto info = backend.value()->info();
  REQUIRE(info.ok());
  CHECK(info.value().name == "openai-compatible");
  CHECK(info.value().model == "tiny");
  auto reply = backend.value()->chat(ask("say hello in French"), nullptr);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "Bonjour");
  CHECK(reply.value().usage.cost_usd == Approx(2.0 * 0.01 + 0.5 * 0.03));
  CHECK(server.request_json(0).at("model") == "tiny");
}

TEST_CASE("the loaded backend streams text to a sink owned by the caller", "[openai][load]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    moss::test::send_in_pieces(response,
                               {moss::test::sse_body({delta_chunk({{"content", "one "}}),
                                                      delta_chunk({{"content", "two"}}, "stop")})});
  });
  auto backend = try_create<LLMBackend>(load_plugin(MOSS_PLUGIN_FILE),
                                        json{{"base_url", server.base_url()}}.dump());
  REQUIRE(backend.ok());
  RecordingSink sink;
  auto request = ask("count");
  request.stream = true;
  auto reply = backend.value()->chat(request, &sink);
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "one two");
  CHECK(sink.fragments == std::vector<std::string>{"one ", "two"});
}

TEST_CASE("init through the loader fails naming an unset api_key_env variable", "[openai][load]") {
  ::unsetenv("MOSS_TEST_LLM_OPENAI_UNSET");
  auto backend = try_create<LLMBackend>(load_plugin(MOSS_PLUGIN_FILE),
                                        json{{"api_key_env", "MOSS_TEST_LLM_OPENAI_UNSET"}}.dump());
  REQUIRE_FALSE(backend.ok());
  CHECK(backend.status().code() == Code::failed_precondition);
  CHECK_THAT(backend.status().message(), Contains("MOSS_TEST_LLM_OPENAI_UNSET"));
}

TEST_CASE("the loaded backend reports an unreachable server as unavailable", "[openai][load]") {
  const std::string url = "http://127.0.0.1:" + std::to_string(moss::test::unused_port()) + "/v1";
  auto backend = try_create<LLMBackend>(
      load_plugin(MOSS_PLUGIN_FILE),
      json{{"base_url", url}, {"max_retries", 1}, {"retry_backoff_ms", 1}}.dump());
  REQUIRE(backend.ok());
  auto reply = backend.value()->chat(ask("anyone?"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::unavailable);
  CHECK_THAT(reply.status().message(), Contains(url));
}
