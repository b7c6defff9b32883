// Server-Sent Events split at every possible byte, and streamed chunks merged into one reply:
// text to the sink, tool calls by index, by id or by position, usage, [DONE] and errors.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sse_stream.hpp"

using Catch::Matchers::Contains;
using moss::plugins::openai::SseReader;
using moss::plugins::openai::StreamAccumulator;
using moss::sdk::Code;
using nlohmann::json;

namespace {

using Events = std::vector<std::pair<std::string, std::string>>;

// The events of `stream`, fed in pieces of `piece` bytes.
Events read_events(const std::string& stream, std::size_t piece) {
  Events events;
  SseReader reader([&](std::string_view event, std::string_view data) {
    events.emplace_back(event, data);
    return true;
  });
  for (std::size_t at = 0; at < stream.size(); at += piece)
    reader.feed(std::string_view(stream).substr(at, piece));
  reader.finish();
  return events;
}

class RecordingSink final : public moss::sdk::ChatStreamSink {
 public:
  void on_text(std::string_view fragment) noexcept override { fragments.emplace_back(fragment); }
  std::vector<std::string> fragments;
};

std::string chunk(const json& delta, const json& finish_reason = nullptr) {
  return json{{"model", "m"},
              {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}}}}
      .dump();
}

// Feeds each chunk as one event; every one must be accepted.
void feed(StreamAccumulator& stream, const std::vector<std::string>& chunks) {
  for (const std::string& data : chunks) {
    INFO(data);
    REQUIRE(stream.on_event("", data));
  }
}

json call_fragment(const json& fields) {
  return json{{"tool_calls", {fields}}};
}

}  // namespace

TEST_CASE("events are the same whatever the split of the byte stream", "[openai][sse]") {
  const std::string stream =
      ": keep-alive\r\n"
      "data: {\"a\":1}\r\n\r\n"
      "event: message\n"
      "data:{\"b\":2}\n"
      "id: 7\n"
      "retry: 100\n\n"
      "data: line one\n"
      "data: line two\n\n"
      "data: {\"c\":3}\r\r"
      "data: [DONE]\n\n";
  const Events expected = {{"", R"({"a":1})"},
                           {"message", R"({"b":2})"},
                           {"", "line one\nline two"},
                           {"", R"({"c":3})"},
                           {"", "[DONE]"}};
  for (std::size_t piece = 1; piece <= stream.size(); ++piece) {
    INFO("pieces of " << piece << " bytes");
    CHECK(read_events(stream, piece) == expected);
  }
}

TEST_CASE("an event without a closing blank line is delivered at the end", "[openai][sse]") {
  CHECK(read_events("data: {\"x\":1}", 4) == Events{{"", R"({"x":1})"}});
}

TEST_CASE("llama.cpp's error line becomes an error event", "[openai][sse]") {
  CHECK(read_events("error: {\"error\":{\"message\":\"boom\"}}\n\n", 5) ==
        Events{{"error", R"({"error":{"message":"boom"}})"}});
}

TEST_CASE("a handler that returns false stops the reader", "[openai][sse]") {
  int seen = 0;
  SseReader reader([&](std::string_view, std::string_view) { return ++seen < 2; });
  reader.feed("data: 1\n\ndata: 2\n\ndata: 3\n\n");
  reader.finish();
  CHECK(seen == 2);
  CHECK(reader.stopped());
}

TEST_CASE("content deltas reach the sink one by one and add up to the message",
          "[openai][stream]") {
  RecordingSink sink;
  StreamAccumulator stream(&sink);
  feed(stream,
       {chunk({{"role", "assistant"}, {"content", ""}}), chunk({{"content", "Hel"}}),
        chunk({{"content", nullptr}}), chunk({{"content", "lo"}}), chunk(json::object(), "stop"),
        R"({"model":"m","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}})"});
  CHECK_FALSE(stream.on_event("", "[DONE]"));
  CHECK(stream.done());
  CHECK(sink.fragments == std::vector<std::string>{"Hel", "lo"});
  CHECK(stream.sent_text());
  auto reply = stream.finish();
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "Hello");
  CHECK(reply.value().finish_reason == "stop");
  CHECK(reply.value().model == "m");
  CHECK(reply.value().usage.prompt_tokens == 7);
  CHECK(reply.value().usage.completion_tokens == 2);
}

TEST_CASE("tool-call fragments are joined by index, even interleaved", "[openai][stream]") {
  StreamAccumulator stream(nullptr);
  feed(stream, {chunk(call_fragment({{"index", 0},
                                     {"id", "call_a"},
                                     {"type", "function"},
                                     {"function", {{"name", "search"}, {"arguments", ""}}}})),
                chunk(call_fragment({{"index", 0}, {"function", {{"arguments", "{\"q\":"}}}})),
                chunk(call_fragment({{"index", 1},
                                     {"id", "call_b"},
                                     {"function", {{"name", "open"}, {"arguments", "{\"url\""}}}})),
                chunk(call_fragment({{"index", 0}, {"function", {{"arguments", "\"moss\"}"}}}})),
                chunk(call_fragment({{"index", 1}, {"function", {{"arguments", ":\"x\"}"}}}})),
                chunk(json::object(), "tool_calls")});
  auto reply = stream.finish();
  REQUIRE(reply.ok());
  const auto& calls = reply.value().message.tool_calls;
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].id == "call_a");
  CHECK(calls[0].name == "search");
  CHECK(calls[0].arguments_json == R"({"q":"moss"})");
  CHECK(calls[1].id == "call_b");
  CHECK(calls[1].name == "open");
  CHECK(calls[1].arguments_json == R"({"url":"x"})");
  CHECK(reply.value().finish_reason == "tool_calls");
}

TEST_CASE("fragments without an index are matched by id, else to the last call",
          "[openai][stream]") {
  StreamAccumulator stream(nullptr);
  feed(stream,
       {chunk(call_fragment({{"id", "a"}, {"function", {{"name", "f"}, {"arguments", "{\"x\""}}}})),
        chunk(call_fragment({{"function", {{"arguments", ":1}"}}}})),
        chunk(call_fragment({{"id", "b"}, {"function", {{"name", "g"}}}})),
        chunk(call_fragment({{"id", "a"}, {"function", {{"arguments", ""}}}})),
        chunk(call_fragment({{"function", {{"arguments", "{}"}}}}))});
  auto reply = stream.finish();
  REQUIRE(reply.ok());
  const auto& calls = reply.value().message.tool_calls;
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].arguments_json == R"({"x":1})");
  CHECK(calls[1].id == "b");
  CHECK(calls[1].arguments_json == "{}");
}

TEST_CASE("a new function name without index or id starts a new call", "[openai][stream]") {
  StreamAccumulator stream(nullptr);
  feed(stream, {chunk(call_fragment({{"function", {{"name", "f"}, {"arguments", {{"a", 1}}}}}})),
                chunk(call_fragment({{"function", {{"name", "g"}, {"arguments", {{"b", 2}}}}}}))});
  auto reply = stream.finish();
  REQUIRE(reply.ok());
  const auto& calls = reply.value().message.tool_calls;
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].id.empty());
  CHECK(calls[0].name == "f");
  CHECK(calls[0].arguments_json == R"({"a":1})");
  CHECK(calls[1].name == "g");
  CHECK(calls[1].arguments_json == R"({"b":2})");
}

TEST_CASE("a server that numbers every call 0 still gets one call per id", "[openai][stream]") {
  StreamAccumulator stream(nullptr);
  feed(stream, {chunk(call_fragment({{"index", 0}, {"id", "a"}, {"function", {{"name", "f"}}}})),
                chunk(call_fragment({{"index", 0}, {"function", {{"arguments", "{}"}}}})),
                chunk(call_fragment({{"index", 0}, {"id", "b"}, {"function", {{"name", "g"}}}})),
                chunk(call_fragment({{"index", 0}, {"function", {{"arguments", "{\"k\":2}"}}}}))});
  auto reply = stream.finish();
  REQUIRE(reply.ok());
  const auto& calls = reply.value().message.tool_calls;
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].arguments_json == "{}");
  CHECK(calls[1].name == "g");
  CHECK(calls[1].arguments_json == R"({"k":2})");
}

TEST_CASE("chunks run together without blank lines are still read one by one", "[openai][stream]") {
  StreamAccumulator stream(nullptr);
  REQUIRE(stream.on_event("", chunk({{"content", "a"}}) + "\n" + chunk({{"content", "b"}})));
  auto reply = stream.finish();
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "ab");
}

TEST_CASE("an error chunk or error event stops the stream and is kept", "[openai][stream]") {
  StreamAccumulator in_data(nullptr);
  CHECK_FALSE(in_data.on_event("", R"({"error":{"message":"overloaded","type":"server_error"}})"));
  REQUIRE(in_data.server_error());
  CHECK(in_data.server_error()->message == "overloaded");

  StreamAccumulator in_event(nullptr);
  CHECK_FALSE(in_event.on_event("error", "something broke"));
  REQUIRE(in_event.server_error());
  CHECK(in_event.server_error()->message == "something broke");
}

TEST_CASE("a malformed chunk stops the stream with invalid_reply", "[openai][stream]") {
  StreamAccumulator stream(nullptr);
  feed(stream, {chunk({{"content", "ok"}})});
  CHECK_FALSE(stream.on_event("", "{\"choices\": [ {"));
  CHECK(stream.failure().code() == Code::invalid_reply);
  CHECK_THAT(stream.failure().message(), Contains("stream chunk 2"));
  CHECK_FALSE(stream.on_event("", chunk({{"content", "more"}})));
}

TEST_CASE("a stream without any choice is invalid_reply", "[openai][stream]") {
  StreamAccumulator stream(nullptr);
  feed(stream, {R"({"choices":[],"usage":{"prompt_tokens":1}})"});
  CHECK_FALSE(stream.on_event("", "[DONE]"));
  auto reply = stream.finish();
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::invalid_reply);
}

TEST_CASE("a streamed tool call that never names its function is invalid_reply",
          "[openai][stream]") {
  StreamAccumulator stream(nullptr);
  feed(stream, {chunk(call_fragment({{"index", 0}, {"function", {{"arguments", "{}"}}}}))});
  auto reply = stream.finish();
  REQUIRE_FALSE(reply.ok());
  CHECK_THAT(reply.status().message(), Contains("never named its function"));
}
