// evolver-moss's analyze(), its prompts and its config, tested on the class directly against
// a scripted stand-in for the host (a test double of HostServices).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "moss_evolver.hpp"
#include "prompts.hpp"
#include "scripted_host.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using moss::plugins::MossEvolver;
using moss::sdk::Code;
using moss::sdk::FailurePattern;
using moss::sdk::FailureReport;
using moss::sdk::SourceFile;
using moss::test::configure;
using moss::test::pattern_for;
using moss::test::ScriptedHost;

namespace {

FailureReport failure(std::vector<moss::sdk::TraceStep> trace = {}) {
  FailureReport report;
  report.task_id = "task-42";
  report.error = "tool returned 'HELLO' for lower";
  report.trace = std::move(trace);
  report.score = 0.25;
  report.plugin = "text-tool";
  report.plugin_version = "abc123";
  return report;
}

const char* kAnalysis =
    R"({"root_cause": "lower maps to upper", "affected_module": "src/text_tool.cpp", "description": "lower is broken"})";

FailurePattern analysed(MossEvolver& evolver, ScriptedHost& host, const std::string& reply,
                        const FailureReport& report = failure()) {
  host.reply(reply);
  auto pattern = evolver.analyze(report);
  INFO(pattern.status().to_string());
  REQUIRE(pattern.ok());
  return pattern.value();
}

// The invalid_reply message analyze gives for `reply`.
std::string analyze_refusal(const std::string& reply, const std::string& config = "{}") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host, config);
  host.reply(reply);
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == Code::invalid_reply);
  return pattern.status().message();
}

const std::vector<SourceFile> kOneFile = {{"src/text_tool.cpp", "int lower() { return 1; }\n"}};
const std::vector<SourceFile> kTwoFiles = {{"src/a.cpp", "int a;\n"}, {"src/b.cpp", "int b;\n"}};

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string prompt_dir_config(const std::filesystem::path& dir) {
  return R"({"prompt_dir":")" + dir.string() + "\"}";
}

// A prompt_dir holding copies of the shipped prompts.
void copy_prompts(const moss::test::TempDir& dir) {
  for (const char* name : {"analyze.txt", "propose.txt"})
    write(dir / name, read(std::filesystem::path(MOSS_EVOLVER_PROMPTS_DIR) / name));
}

moss::sdk::Status init_status(const std::string& config_json, const std::string& config_dir = "") {
  ScriptedHost host;
  MossEvolver evolver;
  moss::sdk::InitContext context;
  context.config_json = config_json;
  context.config_dir = config_dir;
  context.host = &host;
  return evolver.init(context);
}

}  // namespace

// ---- analyze ----------------------------------------------------------------------------

TEST_CASE("analyze returns the LLM's root cause and description", "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p = analysed(evolver, host, kAnalysis);
  CHECK(p.root_cause == "lower maps to upper");
  CHECK(p.description == "lower is broken");
}

TEST_CASE("the pattern id is the FNV-1a 64 hash of the task id in hex", "[evolver][analyze]") {
  CHECK(moss::plugins::fnv1a64_hex("") == "cbf29ce484222325");
  CHECK(moss::plugins::fnv1a64_hex("a") == "af63dc4c8601ec8c");
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  CHECK(analysed(evolver, host, kAnalysis).pattern_id == moss::plugins::fnv1a64_hex("task-42"));
}

TEST_CASE("the same task id gives the same pattern id and another task another",
          "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailureReport other = failure();
  other.task_id = "task-43";
  const std::string a = analysed(evolver, host, kAnalysis).pattern_id;
  const std::string b = analysed(evolver, host, kAnalysis).pattern_id;
  const std::string c = analysed(evolver, host, kAnalysis, other).pattern_id;
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("the affected module is the first trace step that names one", "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto report = failure({{"", "plan", "", true},
                         {"tokenizer", "invoke", "", true},
                         {"text-tool", "invoke", "boom", false}});
  CHECK(analysed(evolver, host, kAnalysis, report).affected_module == "tokenizer");
}

TEST_CASE("without a module in the trace the affected module is the LLM's answer",
          "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto report = failure({{"", "invoke", "boom", false}});
  CHECK(analysed(evolver, host, kAnalysis, report).affected_module == "src/text_tool.cpp");
}

TEST_CASE("without a module from the trace or the LLM the affected module is the plugin",
          "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  CHECK(analysed(evolver, host, R"({"root_cause": "x", "affected_module": "", "description": "y"})")
            .affected_module == "text-tool");
  CHECK(analysed(evolver, host, R"({"root_cause": "x", "description": "y"})").affected_module ==
        "text-tool");
}

TEST_CASE("a pattern occurs once, last at the host's clock", "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p = analysed(evolver, host, kAnalysis);
  CHECK(p.occurrence_count == 1);
  CHECK(p.last_occurrence_ms == 1700000000123);
}

TEST_CASE("analyze finds the JSON object in prose", "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p = analysed(
      evolver, host,
      std::string("Sure! Here is my analysis:\n") + kAnalysis + "\nLet me know if you need more.");
  CHECK(p.root_cause == "lower maps to upper");
}

TEST_CASE("analyze reads the object in a ```json fence, CRLF and all", "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p = analysed(evolver, host,
                              "The step {\"op\":\"lower\"} failed.\r\n```json\r\n"
                              R"({"root_cause": "a } in \"text\"",)"
                              "\r\n"
                              R"( "description": "d"})"
                              "\r\n```\r\nThat's all.");
  CHECK(p.root_cause == "a } in \"text\"");
  CHECK(p.description == "d");
}

TEST_CASE("analyze skips objects in the prose that are not the analysis", "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p = analysed(
      evolver, host,
      R"(The tool got {"op": "lower", "text": "A"} and answered. Analysis: {"root_cause": "r", "description": "d"})");
  CHECK(p.root_cause == "r");
}

TEST_CASE("a reply without a JSON object is invalid_reply quoting the reply",
          "[evolver][analyze]") {
  const std::string message = analyze_refusal("I could not find the problem {sorry}.");
  CHECK_THAT(message, StartsWith("no JSON object in the reply (found a {...} that is not valid "
                                 "JSON); the reply begins \"I could not find the problem "
                                 "{sorry}.\""));
}

TEST_CASE("garbage is invalid_reply with a short excerpt", "[evolver][analyze]") {
  const std::string message = analyze_refusal(std::string("\x01garbage\n") + std::string(300, '#'));
  CHECK_THAT(message, Contains("the reply begins \"\\x01garbage\\n###"));
  CHECK(message.size() < 250);
}

TEST_CASE("a JSON reply without root_cause is invalid_reply naming the field",
          "[evolver][analyze]") {
  CHECK(analyze_refusal(R"({"cause": "x", "description": "y"})") ==
        "the reply's JSON object has no root_cause");
  CHECK(analyze_refusal(R"({"root_cause": 3, "description": "y"})") ==
        "the reply's root_cause is not a string");
  CHECK(analyze_refusal(R"({"root_cause": "x", "description": " "})") ==
        "the reply's description is empty");
}

TEST_CASE("an empty analysis reply is invalid_reply", "[evolver][analyze]") {
  CHECK(analyze_refusal("  \n") == "the reply is empty");
}

TEST_CASE("an analysis reply over max_reply_bytes is invalid_reply", "[evolver][analyze]") {
  CHECK(analyze_refusal(std::string(kAnalysis) + std::string(100, ' '),
                        R"({"max_reply_bytes": 50})") ==
        "reply is " + std::to_string(std::string(kAnalysis).size() + 100) +
            " bytes, the limit is 50 (max_reply_bytes)");
}

TEST_CASE("an analysis cut off at the token limit says so", "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.reply(R"({"root_cause": "the loop", "descr)", "length");
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK_THAT(pattern.status().message(), Contains("finish_reason \"length\"; raise max_tokens"));
}

TEST_CASE("the analyze prompt carries the task, the error and the trace with modules",
          "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  analysed(evolver, host, kAnalysis,
           failure({{"text-tool", "invoke", "lower(\"A\")", false}, {"", "score", "0.25", true}}));
  REQUIRE(host.prompts.size() == 1);
  const std::string& prompt = host.prompts[0];
  CHECK_THAT(prompt, Contains("Task: task-42"));
  CHECK_THAT(prompt, Contains("Plugin: text-tool (version abc123)"));
  CHECK_THAT(prompt, Contains("score of the run: 0.25"));
  CHECK_THAT(prompt, Contains("tool returned 'HELLO' for lower"));
  CHECK_THAT(prompt, Contains("1. [text-tool] invoke (failed): lower(\"A\")\n"));
  CHECK_THAT(prompt, Contains("2. [-] score (ok): 0.25\n"));
  CHECK_THAT(prompt, Contains("\"root_cause\""));
}

TEST_CASE("long step details are cut in the analyze prompt", "[evolver][analyze]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  analysed(evolver, host, kAnalysis, failure({{"m", "invoke", std::string(10000, 'x'), false}}));
  CHECK_THAT(host.prompts.at(0), Contains(std::string(2000, 'x') + "...\n"));
  CHECK_THAT(host.prompts.at(0), !Contains(std::string(2001, 'x')));
}

TEST_CASE("a failed LLM call is passed on with its code", "[evolver][analyze]") {
  ScriptedHost host;  // no replies: chat answers unavailable
  MossEvolver evolver;
  configure(evolver, host);
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == Code::unavailable);
  CHECK_THAT(pattern.status().message(), StartsWith("analyze: the LLM call failed"));
}

TEST_CASE("analyze without host services is failed_precondition", "[evolver][analyze]") {
  MossEvolver evolver;
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == Code::failed_precondition);
}

TEST_CASE("analyze survives malformed replies", "[evolver][analyze]") {
  const std::vector<std::string> pieces = {
      "{",          "}", "\"", "\\",         "```json",        "```", "\n",   ":",
      ",",          "[", "]",  "root_cause", "\"root_cause\"", "1",   "null", "é",
      "description"};
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    std::string reply;
    const int count = static_cast<int>(random() % 30);
    for (int i = 0; i < count; ++i)
      reply += pieces[random() % pieces.size()];
    host.reply(reply);
    auto pattern = evolver.analyze(failure());
    INFO(reply);
    if (!pattern.ok()) REQUIRE(pattern.status().code() == Code::invalid_reply);
  }
  for (const std::string& reply : {std::string(200000, '{'), std::string(100000, '"'),
                                   std::string(50000, '{') + std::string(50000, '}')}) {
    host.reply(reply);
    auto pattern = evolver.analyze(failure());
    CHECK(pattern.status().code() == Code::invalid_reply);
  }
}

// ---- the propose prompt -----------------------------------------------------------------

TEST_CASE("the propose prompt carries the pattern, every file, the context and the forms",
          "[evolver][prompts]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.reply("FILE: src/a.cpp\n```\nint a = 2;\n```");
  REQUIRE(
      evolver.propose(pattern_for("src/a.cpp"), kTwoFiles, "build failed: a.cpp:1: error").ok());
  const std::string& prompt = host.prompts.at(0);
  CHECK_THAT(prompt, Contains("Failure pattern 0123456789abcdef"));
  CHECK_THAT(prompt, Contains("root cause: lower maps to upper"));
  CHECK_THAT(prompt, Contains("affected module: src/a.cpp"));
  CHECK_THAT(prompt, Contains("FILE: src/a.cpp\n```\nint a;\n```"));
  CHECK_THAT(prompt, Contains("FILE: src/b.cpp\n```\nint b;\n```"));
  CHECK_THAT(prompt, Contains("build failed: a.cpp:1: error"));
  CHECK_THAT(prompt, Contains("The files you may change: src/a.cpp, src/b.cpp"));
  CHECK_THAT(prompt, Contains("```diff\n--- a/"));
  CHECK_THAT(prompt, Contains("<<<<<<< SEARCH\n"));
  CHECK_THAT(prompt, Contains("File: <path>"));
}

TEST_CASE("a source file holding backticks is fenced with a longer fence in the prompt",
          "[evolver][prompts]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.reply("```\nx\n```");
  REQUIRE(evolver.propose(pattern_for("x"), {{"README.md", "```\ncode\n```\n"}}, "").ok());
  CHECK_THAT(host.prompts.at(0), Contains("FILE: README.md\n````\n```\ncode\n```\n````\n"));
}

TEST_CASE("requests use the configured temperature and max_tokens", "[evolver][config]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host, R"({"temperature": 0.3, "max_tokens": 4096})");
  analysed(evolver, host, kAnalysis);
  REQUIRE(host.requests.size() == 1);
  CHECK(host.requests[0].temperature == Approx(0.3));
  CHECK(host.requests[0].max_tokens == 4096);
  CHECK(host.requests[0].messages.size() == 1);
  CHECK(host.requests[0].messages[0].role == "user");
}

TEST_CASE("by default requests use temperature 0 and the backend's token limit",
          "[evolver][config]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  analysed(evolver, host, kAnalysis);
  CHECK(host.requests.at(0).temperature == 0.0);
  CHECK(host.requests.at(0).max_tokens == 0);
}

TEST_CASE("config values of the wrong type or range are refused by name", "[evolver][config]") {
  CHECK_THAT(init_status(R"({"max_reply_bytes": 0})").message(), StartsWith("max_reply_bytes:"));
  CHECK_THAT(init_status(R"({"max_reply_bytes": "big"})").message(),
             Contains("max_reply_bytes: must be an integer"));
  CHECK_THAT(init_status(R"({"max_reply_bytes": 18446744073709551615})").message(),
             StartsWith("max_reply_bytes: must be between 1 and 16777216"));
  CHECK_THAT(init_status(R"({"temperature": 3})").message(), StartsWith("temperature:"));
  CHECK_THAT(init_status(R"({"max_tokens": -1})").message(), StartsWith("max_tokens:"));
  CHECK_THAT(init_status(R"({"prompt_dri": "x"})").message(), Contains("unknown key 'prompt_dri'"));
  CHECK(init_status(R"({"max_tokens": -1})").code() == Code::invalid_argument);
}

// ---- prompt files -----------------------------------------------------------------------

TEST_CASE("the built-in prompts are the files in prompts/", "[evolver][prompts]") {
  const std::filesystem::path dir = MOSS_EVOLVER_PROMPTS_DIR;
  CHECK(std::string(moss::plugins::kBuiltinAnalyzePrompt) == read(dir / "analyze.txt"));
  CHECK(std::string(moss::plugins::kBuiltinProposePrompt) == read(dir / "propose.txt"));
  CHECK_FALSE(moss::plugins::kBuiltinProposePrompt.empty());
}

TEST_CASE("the built-in prompts use only the placeholders they are given", "[evolver][prompts]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  analysed(evolver, host, kAnalysis);
  host.reply("```\nx\n```");
  REQUIRE(evolver.propose(pattern_for("x"), kOneFile, "").ok());
  REQUIRE(host.prompts.size() == 2);
  for (const auto& prompt : host.prompts)
    CHECK_THAT(prompt, !Contains("{{"));
}

TEST_CASE("prompt files are read at every call, so edits apply without a rebuild",
          "[evolver][prompts]") {
  moss::test::TempDir dir;
  copy_prompts(dir);
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host, prompt_dir_config(dir.path()));
  analysed(evolver, host, kAnalysis);
  write(dir / "analyze.txt", "v2 {{task_id}} {{plugin}}");
  analysed(evolver, host, kAnalysis);
  host.reply("```\nx\n```");
  REQUIRE(evolver.propose(pattern_for("x"), kOneFile, "").ok());
  write(dir / "propose.txt", "fix {{pattern_id}} in {{file_list}}");
  host.reply("```\nx\n```");
  REQUIRE(evolver.propose(pattern_for("x"), kOneFile, "").ok());
  REQUIRE(host.prompts.size() == 4);
  CHECK_THAT(host.prompts[0], Contains("Task: task-42"));
  CHECK(host.prompts[1] == "v2 task-42 text-tool");
  CHECK_THAT(host.prompts[2], Contains("Failure pattern 0123456789abcdef"));
  CHECK(host.prompts[3] == "fix 0123456789abcdef in src/text_tool.cpp");
}

TEST_CASE("a prompt file removed after init is failed_precondition naming its path",
          "[evolver][prompts]") {
  moss::test::TempDir dir;
  copy_prompts(dir);
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host, prompt_dir_config(dir.path()));
  std::filesystem::remove(dir / "propose.txt");
  auto patch = evolver.propose(pattern_for("x"), kOneFile, "");
  CHECK(patch.status().code() == Code::failed_precondition);
  CHECK(patch.status().message() ==
        "prompt file '" + (dir / "propose.txt").string() + "' does not exist");
  CHECK(host.prompts.empty());
}

TEST_CASE("a prompt_dir without a prompt file is refused at init", "[evolver][prompts]") {
  moss::test::TempDir dir;
  write(dir / "analyze.txt", "{{task_id}}");
  auto status = init_status(prompt_dir_config(dir.path()));
  CHECK(status.code() == Code::invalid_argument);
  CHECK(status.message() ==
        "prompt_dir: prompt file '" + (dir / "propose.txt").string() + "' does not exist");
}

TEST_CASE("an unknown placeholder in a prompt file is refused by name", "[evolver][prompts]") {
  moss::test::TempDir dir;
  copy_prompts(dir);
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host, prompt_dir_config(dir.path()));
  write(dir / "analyze.txt", "{{task_id}} {{taskid}}");
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == Code::failed_precondition);
  CHECK_THAT(pattern.status().message(), Contains("analyze.txt: unknown placeholder {{taskid}}"));
  CHECK(host.prompts.empty());
  CHECK_THAT(init_status(prompt_dir_config(dir.path())).message(),
             Contains("unknown placeholder {{taskid}}"));
}

TEST_CASE("a prompt_dir that is not a directory is refused at init", "[evolver][prompts]") {
  moss::test::TempDir dir;
  auto status = init_status(prompt_dir_config(dir / "missing"));
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), StartsWith("prompt_dir: '"));
}

TEST_CASE("a relative prompt_dir is relative to the config file's folder", "[evolver][prompts]") {
  moss::test::TempDir dir;
  std::filesystem::create_directory(dir / "prompts");
  write(dir / "prompts" / "analyze.txt", "mine {{task_id}}");
  write(dir / "prompts" / "propose.txt", "{{files}}");
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host, R"({"prompt_dir": "prompts"})", dir.path().string());
  analysed(evolver, host, kAnalysis);
  CHECK(host.prompts.at(0) == "mine task-42");
}

TEST_CASE("values put into a prompt are not scanned for placeholders", "[evolver][prompts]") {
  auto text = moss::plugins::render_prompt("a {{x}} b {{y}}", {{"x", "{{y}}"}, {"y", "Y"}}, "t");
  REQUIRE(text.ok());
  CHECK(text.value() == "a {{y}} b Y");
}

TEST_CASE("braces that are not placeholders stay as they are", "[evolver][prompts]") {
  auto text = moss::plugins::render_prompt("int a[] = {{1}}; {{ x }} {{", {}, "t");
  REQUIRE(text.ok());
  CHECK(text.value() == "int a[] = {{1}}; {{ x }} {{");
}
