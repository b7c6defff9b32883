// llm-openai's pure parts: the config, the request body, replies, error envelopes, the error
// mapping and the retry delay.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "openai_config.hpp"
#include "openai_wire.hpp"

using Catch::Matchers::Contains;
using moss::sdk::ChatMessage;
using moss::sdk::ChatRequest;
using moss::sdk::Code;
using nlohmann::json;
namespace openai = moss::plugins::openai;

namespace {

json body_of(const ChatRequest& request, const std::string& model = "m", bool stream = false) {
  auto body = openai::build_chat_body(request, model, stream);
  INFO(body.status().to_string());
  REQUIRE(body.ok());
  return json::parse(body.value());
}

ChatRequest ask(const std::string& text) {
  ChatRequest request;
  request.messages.push_back({"user", text, {}, "", ""});
  return request;
}

}  // namespace

TEST_CASE("an empty config gives the documented defaults", "[openai][config]") {
  auto config = openai::parse_openai_config("");
  REQUIRE(config.ok());
  CHECK(config.value().base_url == "http://127.0.0.1:8080/v1");
  CHECK(config.value().model.empty());
  CHECK(config.value().api_key_env.empty());
  CHECK(config.value().timeout_ms == 60000);
  CHECK(config.value().connect_timeout_ms == 5000);
  CHECK(config.value().max_retries == 3);
  CHECK(config.value().retry_backoff_ms == 500);
  CHECK(config.value().price_per_1k_prompt == 0.0);
  CHECK_FALSE(config.value().stream);
}

TEST_CASE("a trailing slash on base_url is dropped", "[openai][config]") {
  auto config = openai::parse_openai_config(R"({"base_url":"http://localhost:11434/v1/"})");
  REQUIRE(config.ok());
  CHECK(config.value().base_url == "http://localhost:11434/v1");
}

TEST_CASE("an api_key in the config is refused with a pointer to api_key_env", "[openai][config]") {
  auto config = openai::parse_openai_config(R"({"api_key":"sk-secret"})");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == Code::invalid_argument);
  CHECK_THAT(config.status().message(), Contains("api_key_env"));
  CHECK_THAT(config.status().message(), !Contains("sk-secret"));
}

TEST_CASE("config values of the wrong type or range are refused naming the key",
          "[openai][config]") {
  auto check = [](const std::string& config_json, const std::string& key) {
    auto config = openai::parse_openai_config(config_json);
    INFO(config_json);
    REQUIRE_FALSE(config.ok());
    CHECK(config.status().code() == Code::invalid_argument);
    CHECK_THAT(config.status().message(), Contains(key));
  };
  check(R"({"base_url":"ftp://host/v1"})", "base_url");
  check(R"({"base_url":"http:///v1"})", "base_url");
  check(R"({"timeout_ms":0})", "timeout_ms");
  check(R"({"timeout_ms":"5s"})", "timeout_ms");
  check(R"({"connect_timeout_ms":1.5})", "connect_timeout_ms");
  check(R"({"max_retries":-1})", "max_retries");
  check(R"({"retry_backoff_ms":1e9})", "retry_backoff_ms");
  check(R"({"price_per_1k_prompt":-1})", "price_per_1k_prompt");
  check(R"({"stream":"yes"})", "stream");
  check(R"({"api_key_env":"sk-abc def"})", "api_key_env");
  check(R"({"modle":"x"})", "modle");
}

TEST_CASE("credentials in a URL are left out of messages", "[openai][config]") {
  CHECK(openai::redact_url("https://user:secret@api.example.com/v1/chat/completions") ==
        "https://api.example.com/v1/chat/completions");
  CHECK(openai::redact_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1");
}

TEST_CASE("the body carries every role, tool calls as functions and tool results by call id",
          "[openai][request]") {
  ChatRequest request;
  request.messages.push_back({"system", "be brief", {}, "", ""});
  request.messages.push_back({"user", "weather in Paris?", {}, "", "alice"});
  request.messages.push_back(
      {"assistant", "", {{"call_1", "weather", R"({"city":"Paris"})"}}, "", ""});
  request.messages.push_back({"tool", "sunny", {}, "call_1", "weather"});
  json body = body_of(request);
  const json& messages = body.at("messages");
  REQUIRE(messages.size() == 4);
  CHECK(messages[0] == json{{"role", "system"}, {"content", "be brief"}});
  CHECK(messages[1] == json{{"role", "user"}, {"content", "weather in Paris?"}, {"name", "alice"}});
  CHECK(messages[2].at("content").is_null());
  CHECK(messages[2].at("tool_calls") == json::parse(R"([{"id":"call_1","type":"function",
                          "function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}])"));
  CHECK(messages[3] == json{{"role", "tool"}, {"content", "sunny"}, {"tool_call_id", "call_1"}});
}

TEST_CASE("tools become functions with their input schema as parameters", "[openai][request]") {
  ChatRequest request = ask("hi");
  request.tools.push_back(
      {"text", "Transforms text", R"({"type":"object","properties":{"s":{"type":"string"}}})"});
  request.tools.push_back({"ping", "", ""});
  json body = body_of(request);
  CHECK(body.at("tools")[0] == json::parse(R"({"type":"function","function":{
          "name":"text","description":"Transforms text",
          "parameters":{"type":"object","properties":{"s":{"type":"string"}}}}})"));
  CHECK(body.at("tools")[1].at("function").at("parameters") ==
        json::parse(R"({"type":"object","properties":{}})"));
  CHECK_FALSE(body.at("tools")[1].at("function").contains("description"));
}

TEST_CASE("max_tokens, seed and model are sent only when set", "[openai][request]") {
  ChatRequest request = ask("hi");
  json defaults = body_of(request, "");
  CHECK_FALSE(defaults.contains("max_tokens"));
  CHECK_FALSE(defaults.contains("seed"));
  CHECK_FALSE(defaults.contains("model"));
  CHECK(defaults.at("temperature") == 0.7);
  CHECK(defaults.at("stream") == false);
  CHECK_FALSE(defaults.contains("stream_options"));

  request.max_tokens = 64;
  request.seed = 0;
  request.temperature = 0.0;
  json set = body_of(request, "llama3", /*stream=*/true);
  CHECK(set.at("max_tokens") == 64);
  CHECK(set.at("seed") == 0);
  CHECK(set.at("model") == "llama3");
  CHECK(set.at("temperature") == 0.0);
  CHECK(set.at("stream") == true);
  CHECK(set.at("stream_options") == json{{"include_usage", true}});
}

TEST_CASE("a request with an unknown role or a non-JSON tool schema is refused",
          "[openai][request]") {
  ChatRequest bad_role = ask("hi");
  bad_role.messages.push_back({"narrator", "x", {}, "", ""});
  auto body = openai::build_chat_body(bad_role, "m", false);
  REQUIRE_FALSE(body.ok());
  CHECK(body.status().code() == Code::invalid_argument);
  CHECK_THAT(body.status().message(), Contains("messages[1].role"));

  ChatRequest bad_schema = ask("hi");
  bad_schema.tools.push_back({"t", "d", "{not json"});
  body = openai::build_chat_body(bad_schema, "m", false);
  REQUIRE_FALSE(body.ok());
  CHECK_THAT(body.status().message(), Contains("tools[0]"));
}

TEST_CASE("invalid UTF-8 in a message is replaced, not fatal", "[openai][request]") {
  json body = body_of(ask(std::string("caf\xC3", 4)));
  CHECK(body.at("messages")[0].at("content") == "caf\xEF\xBF\xBD");
}

TEST_CASE("a completion's content, tool calls, finish reason, model and usage are read",
          "[openai][reply]") {
  auto reply = openai::parse_chat_completion(R"({
      "model":"qwen","choices":[{"index":0,"finish_reason":"tool_calls","message":{
        "role":"assistant","content":null,"tool_calls":[
          {"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
          {"id":"b","type":"function","function":{"name":"g","arguments":{"y":[2]}}},
          {"id":"c","type":"function","function":{"name":"h","arguments":""}}]}}],
      "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}})");
  REQUIRE(reply.ok());
  CHECK(reply.value().message.role == "assistant");
  CHECK(reply.value().message.content.empty());
  REQUIRE(reply.value().message.tool_calls.size() == 3);
  CHECK(reply.value().message.tool_calls[0].arguments_json == R"({"x":1})");
  CHECK(reply.value().message.tool_calls[1].id == "b");
  CHECK(reply.value().message.tool_calls[1].arguments_json == R"({"y":[2]})");
  CHECK(reply.value().message.tool_calls[2].arguments_json == "{}");
  CHECK(reply.value().finish_reason == "tool_calls");
  CHECK(reply.value().model == "qwen");
  CHECK(reply.value().usage.prompt_tokens == 10);
  CHECK(reply.value().usage.completion_tokens == 5);
}

TEST_CASE("content sent as an array of parts is joined", "[openai][reply]") {
  auto reply = openai::parse_chat_completion(
      R"({"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]})");
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "ab");
}

TEST_CASE("a reply that is not JSON, has no choices or no message is invalid_reply",
          "[openai][reply]") {
  auto check = [](const std::string& body, const std::string& reason) {
    auto reply = openai::parse_chat_completion(body);
    INFO(body);
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.status().code() == Code::invalid_reply);
    CHECK_THAT(reply.status().message(), Contains(reason));
  };
  check("{\"choices\": [", "not valid JSON");
  check("[1]", "not a JSON object");
  check(R"({"id":"x"})", "no \"choices\"");
  check(R"({"choices":[]})", "\"choices\" is empty");
  check(R"({"choices":[{"text":"legacy"}]})", "no \"message\"");
  check(R"({"choices":[{"message":{"content":5}}]})", "content");
  check(R"({"choices":[{"message":{"tool_calls":[{"function":{"arguments":"{}"}}]}}]})",
        "function.name");
}

TEST_CASE("every error envelope form is read", "[openai][errors]") {
  auto nested = openai::parse_error_envelope(
      R"({"error":{"message":"Invalid model","type":"invalid_request_error","code":"model_not_found"}})");
  REQUIRE(nested);
  CHECK(nested->message == "Invalid model");
  CHECK(nested->type == "invalid_request_error");
  CHECK(nested->code == "model_not_found");

  auto llama = openai::parse_error_envelope(
      R"({"error":{"code":400,"message":"too big","type":"exceed_context_size_error"}})");
  REQUIRE(llama);
  CHECK(llama->code == "400");
  CHECK(llama->status_hint == 400);

  auto flat = openai::parse_error_envelope(
      R"({"object":"error","message":"bad temperature","type":"BadRequestError","param":null,"code":400})");
  REQUIRE(flat);
  CHECK(flat->message == "bad temperature");
  CHECK(flat->status_hint == 400);

  auto text = openai::parse_error_envelope(R"({"error":"model 'x' not found"})");
  REQUIRE(text);
  CHECK(text->message == "model 'x' not found");

  auto detail = openai::parse_error_envelope(R"({"detail":"Not Found"})");
  REQUIRE(detail);
  CHECK(detail->message == "Not Found");

  CHECK_FALSE(openai::parse_error_envelope(R"({"error":null,"choices":[]})"));
  CHECK_FALSE(openai::parse_error_envelope("not json"));
  CHECK_FALSE(openai::parse_error_envelope(R"({"id":"x"})"));
}

TEST_CASE("context overflow is recognised by code, type and the servers' phrasings",
          "[openai][errors]") {
  CHECK(openai::is_context_overflow({"x", "invalid_request_error", "context_length_exceeded", 0}));
  CHECK(openai::is_context_overflow({"x", "exceed_context_size_error", "400", 400}));
  CHECK(openai::is_context_overflow(
      {"This model's maximum context length is 4096 tokens. However, you requested 5000", "", "",
       0}));
  CHECK(openai::is_context_overflow(
      {"the request exceeds the available context size, try increasing it", "", "", 0}));
  CHECK(openai::is_context_overflow({"input exceeds the model's context window", "", "", 0}));
  CHECK_FALSE(openai::is_context_overflow({"Rate limit reached for tokens", "", "", 0}));
}

TEST_CASE("error replies map to codes, and only 429 and 5xx are retryable", "[openai][errors]") {
  const std::string where = "POST http://h/v1/chat/completions: HTTP ";
  auto map = [&](std::int32_t status, const std::string& body) {
    return openai::classify_error_reply(status, body, where + std::to_string(status));
  };
  auto limited = map(429, R"({"error":{"message":"slow down","type":"rate_limit_exceeded"}})");
  CHECK(limited.status.code() == Code::resource_exhausted);
  CHECK(limited.retryable);
  CHECK_THAT(limited.status.message(), Contains("HTTP 429") && Contains("slow down"));

  auto quota = map(429, R"({"error":{"message":"no credit","code":"insufficient_quota"}})");
  CHECK(quota.status.code() == Code::resource_exhausted);
  CHECK_FALSE(quota.retryable);

  auto down = map(503, "");
  CHECK(down.status.code() == Code::unavailable);
  CHECK(down.retryable);
  CHECK_THAT(down.status.message(), Contains("empty body"));

  CHECK(map(401, R"({"error":{"message":"bad key"}})").status.code() == Code::failed_precondition);
  CHECK(map(403, "forbidden").status.code() == Code::failed_precondition);
  auto bad = map(400, R"({"error":{"message":"bad temperature"}})");
  CHECK(bad.status.code() == Code::invalid_argument);
  CHECK_FALSE(bad.retryable);
  CHECK(map(404, "<html>nope</html>").status.code() == Code::invalid_argument);

  auto overflow = map(400, R"({"error":{"message":"x","code":"context_length_exceeded"}})");
  CHECK(overflow.status.code() == Code::context_overflow);
  CHECK_FALSE(overflow.retryable);
  CHECK(map(413, R"({"error":"prompt is too long for the context window"})").status.code() ==
        Code::context_overflow);
  // A 5xx that says the context overflowed is not worth repeating either.
  auto overflow_500 = map(500, R"({"error":{"message":"exceeds the available context size"}})");
  CHECK(overflow_500.status.code() == Code::context_overflow);
  CHECK_FALSE(overflow_500.retryable);
}

TEST_CASE("an error envelope in a 200 reply maps by the status or type it names",
          "[openai][errors]") {
  auto map = [](const std::string& body) {
    return openai::classify_error_reply(200, body, "POST u: HTTP 200");
  };
  CHECK(map(R"({"error":{"code":400,"message":"bad"}})").status.code() == Code::invalid_argument);
  CHECK(map(R"({"error":{"message":"bad","type":"invalid_request_error"}})").status.code() ==
        Code::invalid_argument);
  CHECK(map(R"({"error":{"message":"later","type":"rate_limit_error"}})").status.code() ==
        Code::resource_exhausted);
  auto unknown = map(R"({"error":"model crashed"})");
  CHECK(unknown.status.code() == Code::unavailable);
  CHECK(unknown.retryable);
  CHECK_THAT(unknown.status.message(), Contains("HTTP 200") && Contains("model crashed"));
}

TEST_CASE("Retry-After wins over the backoff, capped; otherwise the backoff doubles with jitter",
          "[openai][retry]") {
  CHECK(openai::retry_delay_ms(0, 500, "2", "", 0.3) == 2000);
  CHECK(openai::retry_delay_ms(0, 500, " 0.25 ", "", 0.3) == 250);
  CHECK(openai::retry_delay_ms(0, 500, "100000", "", 0.3) == openai::kMaxRetryAfterMs);
  CHECK(openai::retry_delay_ms(0, 500, "9", "1500", 0.3) == 1500);
  // An HTTP date is not read: the backoff applies.
  CHECK(openai::retry_delay_ms(0, 500, "Wed, 21 Oct 2015 07:28:00 GMT", "", 1.0) == 500);
  CHECK(openai::retry_delay_ms(0, 500, "", "", 1.0) == 500);
  CHECK(openai::retry_delay_ms(0, 500, "", "", 0.0) == 250);
  CHECK(openai::retry_delay_ms(2, 500, "", "", 1.0) == 2000);
  CHECK(openai::retry_delay_ms(2, 500, "", "", 0.0) == 1000);
  CHECK(openai::retry_delay_ms(9, 500, "", "", 1.0) == openai::kMaxBackoffMs);
  CHECK(openai::retry_delay_ms(3, 0, "", "", 1.0) == 0);
}
