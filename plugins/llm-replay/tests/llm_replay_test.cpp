// llm-replay's behaviour, tested on the class directly with replay files written to a
// temporary directory: both modes, recorded tool calls, usage and cost, and file errors.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "llm_replay.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::plugins::LlmReplay;
using moss::sdk::ChatRequest;
using moss::sdk::Code;

namespace {

std::string write_file(const moss::test::TempDir& dir, const std::string& content) {
  auto path = dir / "replay.jsonl";
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

moss::sdk::Status init(LlmReplay& replay, const std::string& config_json) {
  moss::sdk::NullLogger logger;
  moss::sdk::InitContext context;
  context.config_json = config_json;
  context.logger = &logger;
  return replay.init(context);
}

// A replay backend over `content`, in `mode`, with `extra` config keys.
void load(LlmReplay& replay, const moss::test::TempDir& dir, const std::string& content,
          const std::string& mode = "match", const std::string& extra = "") {
  std::string config =
      R"({"file":")" + write_file(dir, content) + R"(","mode":")" + mode + "\"" + extra + "}";
  auto status = init(replay, config);
  INFO(status.to_string());
  REQUIRE(status.ok());
}

ChatRequest ask(const std::string& user_message) {
  ChatRequest request;
  request.messages.push_back({"system", "be brief", {}, "", ""});
  request.messages.push_back({"user", user_message, {}, "", ""});
  return request;
}

std::string answer(LlmReplay& replay, const std::string& user_message) {
  auto response = replay.chat(ask(user_message), nullptr);
  INFO(response.status().to_string());
  REQUIRE(response.ok());
  return response.value().message.content;
}

const char* kTwoRecords = R"({"match": "weather", "response": {"content": "sunny"}})"
                          "\n"
                          R"({"match": "time", "response": {"content": "noon"}})"
                          "\n";

}  // namespace

TEST_CASE("match mode answers with the record whose match occurs in the last user message",
          "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir, kTwoRecords);
  CHECK(answer(replay, "what time is it?") == "noon");
  CHECK(answer(replay, "and the weather?") == "sunny");
}

TEST_CASE("a used record does not answer again; the next matching one does", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir,
       R"({"match": "hi", "response": {"content": "first"}})"
       "\n"
       R"({"match": "hi", "response": {"content": "second"}})");
  CHECK(answer(replay, "hi") == "first");
  CHECK(answer(replay, "hi") == "second");
  CHECK(replay.remaining() == 0);
  auto third = replay.chat(ask("hi"), nullptr);
  CHECK(third.status().code() == Code::not_found);
}

TEST_CASE("only the last user message is matched", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir, kTwoRecords);
  ChatRequest request = ask("weather please");
  request.messages.push_back({"assistant", "which city?", {}, "", ""});
  request.messages.push_back({"user", "Paris", {}, "", ""});
  request.messages.push_back({"tool", "time: noon", {}, "call-1", ""});
  auto response = replay.chat(request, nullptr);
  REQUIRE_FALSE(response.ok());
  CHECK_THAT(response.status().message(), Contains("\"Paris\""));
}

TEST_CASE("an empty match answers any message", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir, R"({"match": "", "response": {"content": "anything"}})");
  CHECK(answer(replay, "") == "anything");
}

TEST_CASE("no fitting record is not_found with the beginning of the message", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir, kTwoRecords);
  const std::string message = "tell me a story " + std::string(200, 'x');
  auto response = replay.chat(ask(message), nullptr);
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == Code::not_found);
  CHECK_THAT(response.status().message(), Contains("\"tell me a story xxx"));
  CHECK_THAT(response.status().message(), Contains("...\""));
  CHECK(response.status().message().size() < 250);
}

TEST_CASE("sequence mode answers records in file order whatever the request", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir, kTwoRecords, "sequence");
  CHECK(answer(replay, "time?") == "sunny");
  CHECK(answer(replay, "weather?") == "noon");
}

TEST_CASE("sequence mode is not_found once every record is used", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir, R"({"response": {"content": "only"}})", "sequence");
  answer(replay, "one");
  auto response = replay.chat(ask("two"), nullptr);
  CHECK(response.status().code() == Code::not_found);
  CHECK_THAT(response.status().message(), Contains("all 1 recorded exchanges"));
  CHECK_THAT(response.status().message(), Contains("\"two\""));
}

TEST_CASE("recorded tool calls come back with their arguments as JSON text", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir,
       R"({"match": "", "response": {"tool_calls": [)"
       R"({"id": "c1", "name": "text", "arguments": {"op": "upper", "text": "a"}},)"
       R"({"name": "raw", "arguments": "{not json"}]}})");
  auto response = replay.chat(ask("go"), nullptr);
  REQUIRE(response.ok());
  const auto& calls = response.value().message.tool_calls;
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].id == "c1");
  CHECK(calls[0].name == "text");
  CHECK(calls[0].arguments_json == R"({"op":"upper","text":"a"})");
  CHECK(calls[1].id.empty());
  CHECK(calls[1].arguments_json == "{not json");  // a string is replayed as recorded
  CHECK(response.value().message.role == "assistant");
}

TEST_CASE("finish_reason is stop, tool_calls when there are tool calls, or as recorded",
          "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir,
       R"({"match": "a", "response": {"content": "x"}})"
       "\n"
       R"({"match": "b", "response": {"tool_calls": [{"name": "t"}]}})"
       "\n"
       R"({"match": "c", "response": {"content": "x", "finish_reason": "length"}})");
  CHECK(replay.chat(ask("a"), nullptr).value().finish_reason == "stop");
  CHECK(replay.chat(ask("b"), nullptr).value().finish_reason == "tool_calls");
  CHECK(replay.chat(ask("c"), nullptr).value().finish_reason == "length");
}

TEST_CASE("token counts are reported and cost nothing without prices", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(
      replay, dir,
      R"({"match": "", "response": {"content": "x"}, "usage": {"prompt_tokens": 1200, "completion_tokens": 300}})");
  auto response = replay.chat(ask("q"), nullptr);
  REQUIRE(response.ok());
  CHECK(response.value().usage.prompt_tokens == 1200);
  CHECK(response.value().usage.completion_tokens == 300);
  CHECK(response.value().usage.cost_usd == 0.0);
  CHECK(response.value().latency_ms >= 0.0);
}

TEST_CASE("cost is computed from the recorded usage and the configured prices", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(
      replay, dir,
      R"({"match": "", "response": {"content": "x"}, "usage": {"prompt_tokens": 1200, "completion_tokens": 300}})",
      "match", R"(,"price_per_1k_prompt":0.5,"price_per_1k_completion":2.0)");
  CHECK(replay.chat(ask("q"), nullptr).value().usage.cost_usd == Approx(0.6 + 0.6));
}

TEST_CASE("the response names the requested model, or replay", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir, kTwoRecords);
  ChatRequest request = ask("time");
  request.model = "gpt-test";
  CHECK(replay.chat(request, nullptr).value().model == "gpt-test");
  CHECK(replay.chat(ask("weather"), nullptr).value().model == "replay");
}

TEST_CASE("a malformed line fails init with the file and its line number", "[replay]") {
  moss::test::TempDir dir;
  const std::string path =
      write_file(dir, std::string(kTwoRecords) + "\n" + R"({"match": "x", "response": )" + "\n");
  LlmReplay replay;
  auto status = init(replay, R"({"file":")" + path + "\"}");
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains(path + ":4: not valid JSON at column"));
}

TEST_CASE("a record that breaks the format fails init naming the line and field", "[replay]") {
  auto [line, problem] = GENERATE(table<std::string, std::string>({
      {R"(["match", "response"])", ":1: must be a JSON object"},
      {R"({"response": {"content": "x"}})", ":1: match: required in match mode"},
      {R"({"match": "", "response": "x"})", ":1: response: required, an object"},
      {R"({"match": "", "response": {"text": "x"}})", ":1: response: unknown key 'text'"},
      {R"({"match": "", "respons": {}})", ":1: unknown key 'respons'"},
      {R"({"match": "", "response": {"tool_calls": [{"arguments": {}}]}})",
       ":1: response.tool_calls[0]: name: required"},
      {R"({"match": "", "response": {"tool_calls": [{"name": "t", "arguments": 3}]}})",
       "arguments: must be an object or a string"},
      {R"({"match": "", "response": {}, "usage": {"prompt_tokens": -1}})",
       "usage.prompt_tokens: must be an integer >= 0"},
  }));
  moss::test::TempDir dir;
  LlmReplay replay;
  auto status = init(replay, R"({"file":")" + write_file(dir, line) + "\"}");
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains(problem));
}

TEST_CASE("a record without match is accepted in sequence mode", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  load(replay, dir, R"({"response": {"content": "x"}})", "sequence");
  CHECK(answer(replay, "q") == "x");
}

TEST_CASE("blank lines are skipped but still counted for line numbers", "[replay]") {
  auto records = moss::plugins::parse_replay_records(
      "\n  \n"
      R"({"match": "", "response": {}})"
      "\r\n\n",
      "f.jsonl", moss::plugins::ReplayMode::match);
  REQUIRE(records.ok());
  REQUIRE(records.value().size() == 1);
  CHECK(records.value()[0].line == 3);
}

TEST_CASE("a missing file fails init naming the path", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  auto status = init(replay, R"({"file":")" + (dir / "nope.jsonl").string() + "\"}");
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains("cannot open"));
  CHECK_THAT(status.message(), Contains("nope.jsonl"));
}

TEST_CASE("a file with no records fails init", "[replay]") {
  moss::test::TempDir dir;
  LlmReplay replay;
  auto status = init(replay, R"({"file":")" + write_file(dir, "\n\n") + "\"}");
  CHECK_THAT(status.message(), Contains("no recorded exchanges"));
}

TEST_CASE("a bad config value is refused with its key named", "[replay]") {
  auto [config, key] = GENERATE(table<std::string, std::string>({
      {"{}", "file: required"},
      {R"({"file":""})", "file: required"},
      {R"({"file":"x","mode":"random"})", "mode"},
      {R"({"file":"x","price_per_1k_prompt":-1})", "price_per_1k_prompt"},
  }));
  LlmReplay replay;
  auto status = init(replay, config);
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains(key));
}

TEST_CASE("info names the replay backend, with tools and without streaming", "[replay]") {
  LlmReplay replay;
  auto info = replay.info();
  CHECK(info.name == "replay");
  CHECK(info.supports_tools);
  CHECK_FALSE(info.supports_streaming);
  CHECK_FALSE(info.supports_fine_tune);
}

TEST_CASE("concurrent requests each consume a different record", "[replay]") {
  moss::test::TempDir dir;
  std::string content;
  for (int i = 0; i < 64; ++i) {
    content += R"({"match": "", "response": {"content": ")" + std::to_string(i) + "\"}}\n";
  }
  LlmReplay replay;
  load(replay, dir, content);
  std::vector<std::vector<std::string>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&replay, &seen, t] {
      for (int i = 0; i < 16; ++i)
        seen[t].push_back(replay.chat(ask("q"), nullptr).value().message.content);
    });
  }
  for (auto& thread : threads)
    thread.join();
  std::set<std::string> all;
  for (const auto& answers : seen)
    all.insert(answers.begin(), answers.end());
  CHECK(all.size() == 64);
  CHECK(replay.remaining() == 0);
}
