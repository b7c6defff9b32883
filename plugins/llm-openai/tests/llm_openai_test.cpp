// llm-openai's behaviour over real HTTP: the class talks to a cpp-httplib server on 127.0.0.1
// that answers in the OpenAI wire format (plain, streamed, failing, slow, malformed).
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_openai_server.hpp"
#include "llm_openai.hpp"

using Catch::Matchers::Contains;
using moss::plugins::LlmOpenAi;
using moss::sdk::ChatRequest;
using moss::sdk::Code;
using moss::test::completion_json;
using moss::test::delta_chunk;
using moss::test::FakeOpenAi;
using moss::test::send_in_pieces;
using moss::test::sse_body;
using nlohmann::json;

namespace {

// A backend initialised against `base_url` with `settings` on top; waits between retries are
// recorded in `sleeps` instead of slept.
class Backend {
 public:
  Backend(const std::string& base_url, json settings = json::object()) {
    settings["base_url"] = base_url;
    if (!settings.contains("retry_backoff_ms")) settings["retry_backoff_ms"] = 100;
    backend_.set_sleep_for_testing([this](std::int64_t delay_ms) {
      std::lock_guard lock(mutex_);
      sleeps_.push_back(delay_ms);
    });
    moss::sdk::InitContext context;
    context.config_json = settings.dump();
    context.logger = &logger_;
    status_ = backend_.init(context);
  }

  const moss::sdk::Status& init_status() const { return status_; }
  LlmOpenAi& operator*() {
    INFO(status_.to_string());
    REQUIRE(status_.ok());
    return backend_;
  }
  LlmOpenAi* operator->() { return &**this; }
  std::vector<std::int64_t> sleeps() {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  moss::sdk::NullLogger logger_;
  LlmOpenAi backend_;
  moss::sdk::Status status_;
  std::mutex mutex_;
  std::vector<std::int64_t> sleeps_;
};

ChatRequest ask(const std::string& text) {
  ChatRequest request;
  request.messages.push_back({"user", text, {}, "", ""});
  return request;
}

class RecordingSink final : public moss::sdk::ChatStreamSink {
 public:
  void on_text(std::string_view fragment) noexcept override { fragments.emplace_back(fragment); }
  std::vector<std::string> fragments;
};

void reply_json(httplib::Response& response, int status, const std::string& body) {
  response.status = status;
  response.set_content(body, "application/json");
}

std::string tool_fragment(const json& fields) {
  return delta_chunk({{"tool_calls", {fields}}});
}

}  // namespace

TEST_CASE("a plain completion returns the message, model, usage, cost and latency",
          "[openai][http]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, completion_json("Paris", 1200, 300, "stop", "served-model"));
  });
  Backend backend(server.base_url(),
                  {{"price_per_1k_prompt", 0.5}, {"price_per_1k_completion", 2.0}});
  auto reply = backend->chat(ask("capital of France?"), nullptr);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  CHECK(reply.value().message.role == "assistant");
  CHECK(reply.value().message.content == "Paris");
  CHECK(reply.value().finish_reason == "stop");
  CHECK(reply.value().model == "served-model");
  CHECK(reply.value().usage.prompt_tokens == 1200);
  CHECK(reply.value().usage.completion_tokens == 300);
  CHECK(reply.value().usage.cost_usd == Approx(1.2 * 0.5 + 0.3 * 2.0));
  CHECK(reply.value().latency_ms > 0.0);
  REQUIRE(server.request_count() == 1);
  CHECK(server.requests()[0].path == "/v1/chat/completions");
  CHECK(server.requests()[0].accept == "application/json");
}

TEST_CASE("the request body carries roles, tool calls, tool results, tools and settings",
          "[openai][http]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, completion_json("ok"));
  });
  Backend backend(server.base_url(), {{"model", "config-model"}});
  ChatRequest request;
  request.messages.push_back({"system", "you are terse", {}, "", ""});
  request.messages.push_back({"user", "shout hi", {}, "", ""});
  request.messages.push_back(
      {"assistant", "calling", {{"call_9", "text", R"({"op":"upper","text":"hi"})"}}, "", ""});
  request.messages.push_back({"tool", "HI", {}, "call_9", ""});
  request.tools.push_back(
      {"text", "Text operations", R"({"type":"object","properties":{"op":{"type":"string"}}})"});
  request.model = "request-model";
  request.temperature = 0.25;
  request.max_tokens = 128;
  request.seed = 42;
  REQUIRE(backend->chat(request, nullptr).ok());

  json body = server.request_json(0);
  CHECK(body.at("model") == "request-model");
  CHECK(body.at("temperature") == 0.25);
  CHECK(body.at("max_tokens") == 128);
  CHECK(body.at("seed") == 42);
  CHECK(body.at("stream") == false);
  const json& messages = body.at("messages");
  REQUIRE(messages.size() == 4);
  CHECK(messages[0].at("role") == "system");
  CHECK(messages[1] == json{{"role", "user"}, {"content", "shout hi"}});
  CHECK(messages[2].at("content") == "calling");
  CHECK(messages[2].at("tool_calls")[0] ==
        json{{"id", "call_9"},
             {"type", "function"},
             {"function", {{"name", "text"}, {"arguments", R"({"op":"upper","text":"hi"})"}}}});
  CHECK(messages[3] == json{{"role", "tool"}, {"content", "HI"}, {"tool_call_id", "call_9"}});
  CHECK(body.at("tools") == json::parse(R"([{"type":"function","function":{"name":"text",
            "description":"Text operations",
            "parameters":{"type":"object","properties":{"op":{"type":"string"}}}}}])"));
}

TEST_CASE("the config model is used when the request names none", "[openai][http]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    // Like llama.cpp's server, answer without naming a model.
    reply_json(response, 200,
               R"({"choices":[{"index":0,"message":{"role":"assistant","content":"x"}}]})");
  });
  Backend backend(server.base_url(), {{"model", "config-model"}});
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE(reply.ok());
  CHECK(server.request_json(0).at("model") == "config-model");
  CHECK(reply.value().model == "config-model");
  CHECK_FALSE(server.request_json(0).contains("max_tokens"));
  CHECK_FALSE(server.request_json(0).contains("seed"));
}

TEST_CASE("the API key comes from the api_key_env variable as a bearer token",
          "[openai][http][key]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, completion_json("ok"));
  });
  ::setenv("MOSS_TEST_LLM_OPENAI_KEY", "sk-test-0123456789", 1);
  Backend with_key(server.base_url(), {{"api_key_env", "MOSS_TEST_LLM_OPENAI_KEY"}});
  REQUIRE(with_key->chat(ask("hi"), nullptr).ok());
  Backend without_key(server.base_url());
  REQUIRE(without_key->chat(ask("hi"), nullptr).ok());
  ::unsetenv("MOSS_TEST_LLM_OPENAI_KEY");

  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].authorization == "Bearer sk-test-0123456789");
  CHECK(requests[1].authorization.empty());
  CHECK_THAT(requests[0].body, !Contains("sk-test"));
}

TEST_CASE("init fails naming the variable when api_key_env is unset or empty",
          "[openai][http][key]") {
  ::unsetenv("MOSS_TEST_LLM_OPENAI_MISSING");
  Backend unset("http://127.0.0.1:9/v1", {{"api_key_env", "MOSS_TEST_LLM_OPENAI_MISSING"}});
  CHECK(unset.init_status().code() == Code::failed_precondition);
  CHECK_THAT(unset.init_status().message(),
             Contains("MOSS_TEST_LLM_OPENAI_MISSING") && Contains("not set"));

  ::setenv("MOSS_TEST_LLM_OPENAI_MISSING", "", 1);
  Backend empty("http://127.0.0.1:9/v1", {{"api_key_env", "MOSS_TEST_LLM_OPENAI_MISSING"}});
  CHECK(empty.init_status().code() == Code::failed_precondition);
  CHECK_THAT(empty.init_status().message(), Contains("MOSS_TEST_LLM_OPENAI_MISSING is empty"));
  ::unsetenv("MOSS_TEST_LLM_OPENAI_MISSING");
}

TEST_CASE("streamed content reaches the sink as it arrives, lines split across reads",
          "[openai][http][stream]") {
  const std::string body = sse_body(
      {delta_chunk({{"role", "assistant"}, {"content", ""}}), delta_chunk({{"content", "The "}}),
       delta_chunk({{"content", "answer "}}), delta_chunk({{"content", "is 42."}}),
       delta_chunk(json::object(), "stop"),
       R"({"model":"test-model","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":4}})"});
  FakeOpenAi server([&](std::size_t, const httplib::Request&, httplib::Response& response) {
    // Cut inside lines and inside JSON strings, not only between events.
    std::vector<std::string> pieces;
    for (std::size_t at = 0; at < body.size(); at += 37)
      pieces.push_back(body.substr(at, 37));
    send_in_pieces(response, pieces);
  });
  Backend backend(server.base_url());
  RecordingSink sink;
  ChatRequest request = ask("question");
  request.stream = true;
  auto reply = backend->chat(request, &sink);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  CHECK(sink.fragments == std::vector<std::string>{"The ", "answer ", "is 42."});
  CHECK(reply.value().message.content == "The answer is 42.");
  CHECK(reply.value().finish_reason == "stop");
  CHECK(reply.value().usage.prompt_tokens == 11);
  CHECK(reply.value().usage.completion_tokens == 4);
  json sent = server.request_json(0);
  CHECK(sent.at("stream") == true);
  CHECK(sent.at("stream_options") == json{{"include_usage", true}});
  CHECK(server.requests()[0].accept == "text/event-stream");
}

TEST_CASE("stream = true in the config streams requests that did not ask to",
          "[openai][http][stream]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    send_in_pieces(response, {sse_body({delta_chunk({{"content", "streamed"}}, "stop")})});
  });
  Backend backend(server.base_url(), {{"stream", true}});
  RecordingSink sink;
  auto reply = backend->chat(ask("hi"), &sink);
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "streamed");
  CHECK(sink.fragments == std::vector<std::string>{"streamed"});
  CHECK(server.request_json(0).at("stream") == true);
}

TEST_CASE("streamed tool calls split into fragments by index are reassembled",
          "[openai][http][stream]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    send_in_pieces(
        response,
        {sse_body({tool_fragment({{"index", 0},
                                  {"id", "call_1"},
                                  {"type", "function"},
                                  {"function", {{"name", "get_weather"}, {"arguments", ""}}}}),
                   tool_fragment({{"index", 1},
                                  {"id", "call_2"},
                                  {"type", "function"},
                                  {"function", {{"name", "get_time"}, {"arguments", "{\"tz\":"}}}}),
                   tool_fragment({{"index", 0}, {"function", {{"arguments", "{\"city\":"}}}}),
                   tool_fragment({{"index", 0}, {"function", {{"arguments", "\"Oslo\"}"}}}}),
                   tool_fragment({{"index", 1}, {"function", {{"arguments", "\"CET\"}"}}}}),
                   delta_chunk(json::object(), "tool_calls")})});
  });
  Backend backend(server.base_url());
  ChatRequest request = ask("weather and time in Oslo");
  request.stream = true;
  auto reply = backend->chat(request, nullptr);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  const auto& calls = reply.value().message.tool_calls;
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].id == "call_1");
  CHECK(calls[0].name == "get_weather");
  CHECK(json::parse(calls[0].arguments_json) == json{{"city", "Oslo"}});
  CHECK(calls[1].id == "call_2");
  CHECK(calls[1].name == "get_time");
  CHECK(json::parse(calls[1].arguments_json) == json{{"tz", "CET"}});
  CHECK(reply.value().finish_reason == "tool_calls");
}

TEST_CASE("streamed tool calls without index or id, with arguments as objects, are merged",
          "[openai][http][stream]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    send_in_pieces(
        response,
        {sse_body({tool_fragment({{"function", {{"name", "lookup"}}}}),
                   tool_fragment({{"function", {{"arguments", {{"key", "a"}}}}}}),
                   tool_fragment({{"function", {{"name", "store"}, {"arguments", {{"v", 1}}}}}}),
                   delta_chunk(json::object(), "tool_calls")})});
  });
  Backend backend(server.base_url(), {{"stream", true}});
  auto reply = backend->chat(ask("go"), nullptr);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  const auto& calls = reply.value().message.tool_calls;
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].id.empty());
  CHECK(calls[0].name == "lookup");
  CHECK(json::parse(calls[0].arguments_json) == json{{"key", "a"}});
  CHECK(calls[1].name == "store");
  CHECK(json::parse(calls[1].arguments_json) == json{{"v", 1}});
}

TEST_CASE("a server that ignores stream and sends one JSON reply is still understood",
          "[openai][http][stream]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, completion_json("whole", 3, 1));
  });
  Backend backend(server.base_url(), {{"stream", true}});
  RecordingSink sink;
  auto reply = backend->chat(ask("hi"), &sink);
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "whole");
  CHECK(reply.value().usage.prompt_tokens == 3);
  CHECK(sink.fragments.empty());
}

TEST_CASE("a server that streams although not asked to is still understood",
          "[openai][http][stream]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    response.set_content(
        sse_body({delta_chunk({{"content", "un"}}), delta_chunk({{"content", "asked"}}, "stop")}),
        "text/event-stream");
  });
  Backend backend(server.base_url());
  RecordingSink sink;
  auto reply = backend->chat(ask("hi"), &sink);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "unasked");
  CHECK(reply.value().finish_reason == "stop");
  CHECK(sink.fragments.empty());
  CHECK(server.request_json(0).at("stream") == false);
}

TEST_CASE("an error event in the middle of a stream is an error", "[openai][http][stream]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    send_in_pieces(
        response, {"data: " + delta_chunk({{"content", "partial"}}) + "\n\n",
                   "data: {\"error\":{\"message\":\"the model crashed\",\"type\":\"server_error\"}}"
                   "\n\n"});
  });
  Backend backend(server.base_url(), {{"stream", true}});
  RecordingSink sink;
  auto reply = backend->chat(ask("hi"), &sink);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::unavailable);
  CHECK_THAT(reply.status().message(),
             Contains("the model crashed") && Contains("HTTP 200") && Contains(server.base_url()));
  // Text had reached the sink, so the call was not repeated.
  CHECK(server.request_count() == 1);
  CHECK(sink.fragments == std::vector<std::string>{"partial"});
}

TEST_CASE("a stream that breaks after text reached the sink is unavailable, not repeated",
          "[openai][http][stream]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    send_in_pieces(response, {"data: " + delta_chunk({{"content", "half"}}) + "\n\n"},
                   /*then_break=*/true);
  });
  Backend backend(server.base_url(), {{"stream", true}});
  RecordingSink sink;
  auto reply = backend->chat(ask("hi"), &sink);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::unavailable);
  CHECK_THAT(reply.status().message(), Contains("connection broke"));
  CHECK(server.request_count() == 1);
}

TEST_CASE("a reply that breaks before any text is retried and can then succeed",
          "[openai][http][retry]") {
  FakeOpenAi server([](std::size_t n, const httplib::Request&, httplib::Response& response) {
    if (n == 0) {
      send_in_pieces(response, {}, /*then_break=*/true);  // headers, then a dropped connection
    } else {
      send_in_pieces(response, {sse_body({delta_chunk({{"content", "second try"}}, "stop")})});
    }
  });
  Backend backend(server.base_url(), {{"stream", true}});
  RecordingSink sink;
  auto reply = backend->chat(ask("hi"), &sink);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "second try");
  CHECK(sink.fragments == std::vector<std::string>{"second try"});
  CHECK(server.request_count() == 2);
  CHECK(backend.sleeps().size() == 1);
}

TEST_CASE("a stream that stalls past timeout_ms is deadline_exceeded and not repeated",
          "[openai][http][stream]") {
  FakeOpenAi* self = nullptr;
  FakeOpenAi server([&](std::size_t, const httplib::Request&, httplib::Response& response) {
    response.set_chunked_content_provider(
        "text/event-stream", [&](std::size_t, httplib::DataSink& sink) {
          const std::string first = "data: " + delta_chunk({{"content", "begun"}}) + "\n\n";
          sink.write(first.data(), first.size());
          self->hold();  // never finishes while the client waits
          return false;
        });
  });
  self = &server;
  Backend backend(server.base_url(), {{"timeout_ms", 300}});
  RecordingSink sink;
  ChatRequest request = ask("hi");
  request.stream = true;
  auto reply = backend->chat(request, &sink);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::deadline_exceeded);
  CHECK_THAT(reply.status().message(), Contains("HTTP 200") && Contains("the stream had started"));
  CHECK(sink.fragments == std::vector<std::string>{"begun"});
  CHECK(server.request_count() == 1);
}

TEST_CASE("429 then 200: the call waits for Retry-After and succeeds", "[openai][http][retry]") {
  FakeOpenAi server([](std::size_t n, const httplib::Request&, httplib::Response& response) {
    if (n == 0) {
      response.set_header("Retry-After", "2");
      reply_json(
          response, 429,
          R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})");
    } else {
      reply_json(response, 200, completion_json("finally"));
    }
  });
  Backend backend(server.base_url());
  auto reply = backend->chat(ask("hi"), nullptr);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "finally");
  CHECK(server.request_count() == 2);
  CHECK(backend.sleeps() == std::vector<std::int64_t>{2000});
}

TEST_CASE("429 on every attempt is resource_exhausted after max_retries, with growing backoff",
          "[openai][http][retry]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 429, R"({"error":{"message":"Rate limit reached"}})");
  });
  Backend backend(server.base_url(), {{"max_retries", 3}, {"retry_backoff_ms", 100}});
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::resource_exhausted);
  CHECK_THAT(reply.status().message(),
             Contains("HTTP 429") && Contains("Rate limit reached") && Contains("4 attempts"));
  CHECK(server.request_count() == 4);
  auto sleeps = backend.sleeps();
  REQUIRE(sleeps.size() == 3);
  for (std::size_t i = 0; i < sleeps.size(); ++i) {
    const std::int64_t full = 100 << i;  // jitter keeps each delay in [full / 2, full]
    CHECK(sleeps[i] >= full / 2);
    CHECK(sleeps[i] <= full);
  }
}

TEST_CASE("500 on every attempt is unavailable after max_retries, naming URL and status",
          "[openai][http][retry]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 500, R"({"error":{"message":"internal failure","type":"server_error"}})");
  });
  Backend backend(server.base_url(), {{"max_retries", 2}});
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::unavailable);
  CHECK_THAT(reply.status().message(),
             Contains("POST " + server.base_url() + "/chat/completions") && Contains("HTTP 500") &&
                 Contains("internal failure") && Contains("3 attempts"));
  CHECK(server.request_count() == 3);
  CHECK(backend.sleeps().size() == 2);
}

TEST_CASE("a 400 is invalid_argument with the server's message and is not retried",
          "[openai][http][errors]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(
        response, 400,
        R"({"error":{"message":"temperature must be <= 2","type":"invalid_request_error","code":null}})");
  });
  Backend backend(server.base_url());
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::invalid_argument);
  CHECK_THAT(reply.status().message(), Contains("HTTP 400") &&
                                           Contains("temperature must be <= 2") &&
                                           Contains("invalid_request_error"));
  CHECK(server.request_count() == 1);
  CHECK(backend.sleeps().empty());
}

TEST_CASE("a 401 is failed_precondition and points at the key", "[openai][http][errors]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(
        response, 401,
        R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}})");
  });
  Backend backend(server.base_url());
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::failed_precondition);
  CHECK_THAT(reply.status().message(),
             Contains("HTTP 401") && Contains("Incorrect API key") && Contains("api_key_env"));
  CHECK(server.request_count() == 1);
}

TEST_CASE("the flat error envelope and the plain-text error are read", "[openai][http][errors]") {
  FakeOpenAi server([](std::size_t n, const httplib::Request&, httplib::Response& response) {
    if (n == 0) {
      reply_json(
          response, 400,
          R"({"object":"error","message":"max_tokens is too large","type":"BadRequestError","param":null,"code":400})");
    } else {
      reply_json(response, 404, R"({"error":"model 'llama9' not found, try pulling it first"})");
    }
  });
  Backend backend(server.base_url());
  auto flat = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(flat.ok());
  CHECK(flat.status().code() == Code::invalid_argument);
  CHECK_THAT(flat.status().message(), Contains("HTTP 400") && Contains("max_tokens is too large") &&
                                          Contains("BadRequestError"));
  auto text = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(text.ok());
  CHECK(text.status().code() == Code::invalid_argument);
  CHECK_THAT(text.status().message(), Contains("HTTP 404") && Contains("model 'llama9' not found"));
}

TEST_CASE("context overflow is context_overflow in each server's form, never retried",
          "[openai][http][errors]") {
  const std::vector<std::pair<int, std::string>> replies = {
      // OpenAI
      {400,
       R"({"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})"},
      // llama.cpp's server
      {400,
       R"({"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}})"},
      // vLLM
      {400,
       R"({"object":"error","message":"This model's maximum context length is 2048 tokens. However, you requested 3000 tokens.","type":"BadRequestError","param":null,"code":400})"},
      // a proxy's 413
      {413, R"({"error":"prompt exceeds the context window"})"}};
  FakeOpenAi server([&](std::size_t n, const httplib::Request&, httplib::Response& response) {
    reply_json(response, replies.at(n).first, replies.at(n).second);
  });
  Backend backend(server.base_url());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    auto reply = backend->chat(ask("a very long prompt"), nullptr);
    INFO("reply " << i << ": " << reply.status().to_string());
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.status().code() == Code::context_overflow);
    CHECK_THAT(reply.status().message(), Contains("HTTP " + std::to_string(replies[i].first)));
  }
  CHECK(server.request_count() == replies.size());
  CHECK(backend.sleeps().empty());
}

TEST_CASE("a 200 whose body is an error envelope is an error, not a reply",
          "[openai][http][errors]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200,
               R"({"error":{"message":"unknown model 'gpt-9'","type":"invalid_request_error"}})");
  });
  Backend backend(server.base_url());
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::invalid_argument);
  CHECK_THAT(reply.status().message(),
             Contains("HTTP 200") && Contains("error in the body") && Contains("gpt-9"));
}

TEST_CASE("a 200 with malformed JSON is invalid_reply, not retried", "[openai][http][errors]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, R"({"choices":[{"message":{"content":"cut off)");
  });
  Backend backend(server.base_url());
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::invalid_reply);
  CHECK_THAT(reply.status().message(), Contains("HTTP 200") && Contains("not valid JSON"));
  CHECK(server.request_count() == 1);
}

TEST_CASE("a 200 without choices is invalid_reply", "[openai][http][errors]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, R"({"id":"x","object":"chat.completion"})");
  });
  Backend backend(server.base_url());
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::invalid_reply);
  CHECK_THAT(reply.status().message(), Contains("choices"));
}

TEST_CASE("a reply slower than timeout_ms is deadline_exceeded and not retried",
          "[openai][http][errors]") {
  FakeOpenAi* self = nullptr;
  FakeOpenAi server([&](std::size_t, const httplib::Request&, httplib::Response& response) {
    self->hold();  // until the test ends
    reply_json(response, 200, completion_json("too late"));
  });
  self = &server;
  Backend backend(server.base_url(), {{"timeout_ms", 200}});
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::deadline_exceeded);
  CHECK_THAT(reply.status().message(), Contains(server.base_url()) && Contains("timeout_ms = 200"));
  CHECK(server.request_count() == 1);
}

TEST_CASE("an unreachable port is unavailable after the retries", "[openai][http][errors]") {
  const std::string url = "http://127.0.0.1:" + std::to_string(moss::test::unused_port()) + "/v1";
  Backend backend(url, {{"max_retries", 2}, {"connect_timeout_ms", 500}});
  auto reply = backend->chat(ask("hi"), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::unavailable);
  CHECK_THAT(reply.status().message(), Contains(url + "/chat/completions") &&
                                           Contains("no HTTP response") &&
                                           Contains("cannot connect") && Contains("3 attempts"));
  CHECK(backend.sleeps().size() == 2);
}

TEST_CASE("concurrent chats each get their own reply", "[openai][http][threads]") {
  FakeOpenAi server([](std::size_t, const httplib::Request& request, httplib::Response& response) {
    json body = json::parse(request.body);
    reply_json(response, 200,
               completion_json("echo: " + body.at("messages")[0].at("content").get<std::string>()));
  });
  Backend backend(server.base_url());
  LlmOpenAi& shared = *backend;
  constexpr int kThreads = 6;
  constexpr int kCallsPerThread = 8;
  std::atomic<int> correct{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        const std::string text = std::to_string(t) + "/" + std::to_string(i);
        auto reply = shared.chat(ask(text), nullptr);
        if (reply.ok() && reply.value().message.content == "echo: " + text) ++correct;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  CHECK(correct == kThreads * kCallsPerThread);
  CHECK(server.request_count() == kThreads * kCallsPerThread);
}

TEST_CASE("consecutive calls reuse the kept-alive connection", "[openai][http]") {
  FakeOpenAi server([](std::size_t, const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, completion_json("ok"));
  });
  Backend backend(server.base_url());
  REQUIRE(backend->chat(ask("one"), nullptr).ok());
  REQUIRE(backend->chat(ask("two"), nullptr).ok());
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].remote_port == requests[1].remote_port);
}

TEST_CASE("info names the backend, its model and what it supports", "[openai]") {
  Backend backend("http://127.0.0.1:9/v1", {{"model", "llama3.1:8b"}});
  auto info = backend->info();
  CHECK(info.name == "openai-compatible");
  CHECK(info.model == "llama3.1:8b");
  CHECK(info.supports_tools);
  CHECK(info.supports_streaming);
  CHECK_FALSE(info.supports_fine_tune);
}
