// evolver-moss's behaviour, tested on the class directly against a scripted stand-in for the
// host (a test double of HostServices): patterns, patches, reply parsing and prompt files.
#include <catch2/catch.hpp>

#include <deque>
#include <fstream>
#include <string>
#include <vector>

#include "moss_evolver.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::plugins::MossEvolver;
using moss::sdk::Code;
using moss::sdk::FailurePattern;
using moss::sdk::FailureReport;
using moss::sdk::SourceFile;

namespace {

// Answers chat requests with scripted replies, in order, and keeps the prompts it was sent.
class ScriptedHost final : public moss::sdk::HostServices {
 public:
  moss::sdk::Result<moss::sdk::ChatResponse> chat(
      const moss::sdk::ChatRequest& request) noexcept override {
    prompts.push_back(request.messages.empty() ? "" : request.messages.back().content);
    if (replies.empty()) return moss::sdk::Status(Code::unavailable, "no scripted reply left");
    moss::sdk::ChatResponse response;
    response.message.role = "assistant";
    response.message.content = replies.front();
    replies.pop_front();
    return response;
  }
  std::int64_t now_ms() const noexcept override { return 1700000000123; }

  std::deque<std::string> replies;
  std::vector<std::string> prompts;
};

void configure(MossEvolver& evolver, ScriptedHost& host, const std::string& config_json = "{}") {
  static moss::sdk::NullLogger logger;
  moss::sdk::InitContext context;
  context.config_json = config_json;
  context.logger = &logger;
  context.host = &host;
  auto status = evolver.init(context);
  INFO(status.to_string());
  REQUIRE(status.ok());
}

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
  host.replies.push_back(reply);
  auto pattern = evolver.analyze(report);
  INFO(pattern.status().to_string());
  REQUIRE(pattern.ok());
  return pattern.value();
}

FailurePattern pattern_for(const std::string& module) {
  FailurePattern p;
  p.pattern_id = "0123456789abcdef";
  p.description = "lower is broken";
  p.root_cause = "lower maps to upper";
  p.affected_module = module;
  p.occurrence_count = 1;
  return p;
}

const std::vector<SourceFile> kOneFile = {{"src/text_tool.cpp", "int lower() { return 1; }\n"}};
const std::vector<SourceFile> kTwoFiles = {{"src/a.cpp", "int a;\n"}, {"src/b.cpp", "int b;\n"}};

moss::sdk::Status propose_error(MossEvolver& evolver, ScriptedHost& host, const std::string& reply,
                                const std::vector<SourceFile>& sources = kOneFile) {
  host.replies.push_back(reply);
  auto patch = evolver.propose(pattern_for("text-tool"), sources, "");
  REQUIRE_FALSE(patch.ok());
  return patch.status();
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("analyze returns the LLM's root cause and description", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p = analysed(evolver, host, kAnalysis);
  CHECK(p.root_cause == "lower maps to upper");
  CHECK(p.description == "lower is broken");
}

TEST_CASE("the pattern id is the FNV-1a 64 hash of the task id in hex", "[evolver]") {
  CHECK(moss::plugins::fnv1a64_hex("") == "cbf29ce484222325");
  CHECK(moss::plugins::fnv1a64_hex("a") == "af63dc4c8601ec8c");
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  CHECK(analysed(evolver, host, kAnalysis).pattern_id == moss::plugins::fnv1a64_hex("task-42"));
}

TEST_CASE("the same task id gives the same pattern id and another task another", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailureReport other = failure();
  other.task_id = "task-43";
  std::string a = analysed(evolver, host, kAnalysis).pattern_id;
  std::string b = analysed(evolver, host, kAnalysis).pattern_id;
  std::string c = analysed(evolver, host, kAnalysis, other).pattern_id;
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("the affected module is the first trace step that names one", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto report = failure({{"", "plan", "", true},
                         {"tokenizer", "invoke", "", true},
                         {"text-tool", "invoke", "boom", false}});
  CHECK(analysed(evolver, host, kAnalysis, report).affected_module == "tokenizer");
}

TEST_CASE("without a module in the trace the affected module is the LLM's answer", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto report = failure({{"", "invoke", "boom", false}});
  CHECK(analysed(evolver, host, kAnalysis, report).affected_module == "src/text_tool.cpp");
}

TEST_CASE("without a module from the trace or the LLM the affected module is the plugin",
          "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p =
      analysed(evolver, host, R"({"root_cause": "x", "affected_module": "", "description": "y"})");
  CHECK(p.affected_module == "text-tool");
}

TEST_CASE("a pattern occurs once, last at the host's clock", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p = analysed(evolver, host, kAnalysis);
  CHECK(p.occurrence_count == 1);
  CHECK(p.last_occurrence_ms == 1700000000123);
}

TEST_CASE("analyze finds the JSON object in a chatty reply", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p = analysed(
      evolver, host,
      std::string("Sure! Here is my analysis:\n") + kAnalysis + "\nLet me know if you need more.");
  CHECK(p.root_cause == "lower maps to upper");
}

TEST_CASE("analyze prefers the object inside a json fence over braces in the prose", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  FailurePattern p = analysed(evolver, host,
                              "The step {\"op\":\"lower\"} failed.\n```json\n"
                              R"({"root_cause": "a } in \"text\"", "description": "d"})"
                              "\n```\n");
  CHECK(p.root_cause == "a } in \"text\"");
}

TEST_CASE("a reply without a JSON object is invalid_reply with the reason", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.replies.push_back("I could not find the problem {sorry}.");
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == Code::invalid_reply);
  CHECK_THAT(pattern.status().message(), Contains("no JSON object in the reply"));
  CHECK_THAT(pattern.status().message(), Contains("not valid JSON"));
}

TEST_CASE("a JSON reply without root_cause is invalid_reply naming the field", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.replies.push_back(R"({"cause": "x", "description": "y"})");
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == Code::invalid_reply);
  CHECK_THAT(pattern.status().message(), Contains("root_cause"));
}

TEST_CASE("the analyze prompt carries the task, the error and the trace", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  analysed(evolver, host, kAnalysis, failure({{"text-tool", "invoke", "lower(\"A\")", false}}));
  REQUIRE(host.prompts.size() == 1);
  const std::string& prompt = host.prompts[0];
  CHECK_THAT(prompt, Contains("Task: task-42"));
  CHECK_THAT(prompt, Contains("tool returned 'HELLO' for lower"));
  CHECK_THAT(prompt, Contains("1. [text-tool] invoke (failed): lower(\"A\")"));
  CHECK_THAT(prompt, Contains("\"root_cause\""));
  CHECK_THAT(prompt, !Contains("{{"));
}

TEST_CASE("a failed LLM call is passed on with its code", "[evolver]") {
  ScriptedHost host;  // no replies: chat answers unavailable
  MossEvolver evolver;
  configure(evolver, host);
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == Code::unavailable);
  CHECK_THAT(pattern.status().message(), Contains("analyze: the LLM call failed"));
}

TEST_CASE("analyze without host services is failed_precondition", "[evolver]") {
  MossEvolver evolver;
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == Code::failed_precondition);
}

TEST_CASE("propose turns the fenced block into a full-file patch of the only source", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.replies.push_back("Fixed the mapping.\n```cpp\nint lower() { return 0; }\n```\n");
  auto patch = evolver.propose(pattern_for("text-tool"), kOneFile, "");
  REQUIRE(patch.ok());
  CHECK(patch.value().format == moss::sdk::PatchFormat::full_file);
  CHECK(patch.value().path == "src/text_tool.cpp");
  CHECK(patch.value().body == "int lower() { return 0; }\n");
  CHECK_THAT(patch.value().description, Contains("lower is broken"));
  CHECK_THAT(patch.value().description, Contains("Fixed the mapping."));
}

TEST_CASE("propose patches the file named on the FILE line", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.replies.push_back("FILE: src/b.cpp\n```\nint b = 1;\n```");
  auto patch = evolver.propose(pattern_for("x"), kTwoFiles, "");
  REQUIRE(patch.ok());
  CHECK(patch.value().path == "src/b.cpp");
  CHECK(patch.value().body == "int b = 1;\n");
}

TEST_CASE("propose patches the affected module when it is one of the sources", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.replies.push_back("```\nint a = 1;\n```");
  auto patch = evolver.propose(pattern_for("src/a.cpp"), kTwoFiles, "");
  REQUIRE(patch.ok());
  CHECK(patch.value().path == "src/a.cpp");
}

TEST_CASE("a FILE line naming a file outside the sources is invalid_reply", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto status = propose_error(evolver, host, "FILE: ../../etc/passwd\n```\nx\n```", kTwoFiles);
  CHECK(status.code() == Code::invalid_reply);
  CHECK_THAT(status.message(), Contains("not one of: src/a.cpp, src/b.cpp"));
}

TEST_CASE("with several sources and no file named the reply is invalid_reply", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto status = propose_error(evolver, host, "```\nint x;\n```", kTwoFiles);
  CHECK(status.code() == Code::invalid_reply);
  CHECK_THAT(status.message(), Contains("names no file"));
}

TEST_CASE("a reply without a fenced block is invalid_reply", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto status = propose_error(evolver, host, "int lower() { return 0; }");
  CHECK(status.code() == Code::invalid_reply);
  CHECK_THAT(status.message(), Contains("no fenced code block"));
}

TEST_CASE("an unclosed fenced block is invalid_reply", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto status = propose_error(evolver, host, "Here:\n```cpp\nint lower() {\n");
  CHECK(status.code() == Code::invalid_reply);
  CHECK_THAT(status.message(), Contains("opened on line 2 of the reply is never closed"));
}

TEST_CASE("an empty fenced block is invalid_reply", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  CHECK_THAT(propose_error(evolver, host, "```cpp\n\n```").message(), Contains("empty"));
}

TEST_CASE("a diff is refused: this evolver only takes complete files", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto status = propose_error(evolver, host, "```diff\n-a\n+b\n```");
  CHECK(status.code() == Code::invalid_reply);
  CHECK_THAT(status.message(), Contains("diff"));
}

TEST_CASE("a longer fence keeps triple backticks inside the file", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.replies.push_back("````md\n# Doc\n```\ncode\n```\n````\n");
  auto patch = evolver.propose(pattern_for("x"), kOneFile, "");
  REQUIRE(patch.ok());
  CHECK(patch.value().body == "# Doc\n```\ncode\n```\n");
}

TEST_CASE("the propose prompt carries the pattern, every file and the context", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.replies.push_back("FILE: src/a.cpp\n```\nint a = 2;\n```");
  REQUIRE(evolver.propose(pattern_for("src/a.cpp"), kTwoFiles, "eval: 3 of 10 cases failed").ok());
  const std::string& prompt = host.prompts.at(0);
  CHECK_THAT(prompt, Contains("Failure pattern 0123456789abcdef"));
  CHECK_THAT(prompt, Contains("root cause: lower maps to upper"));
  CHECK_THAT(prompt, Contains("FILE: src/a.cpp\n```\nint a;\n```"));
  CHECK_THAT(prompt, Contains("FILE: src/b.cpp\n```\nint b;\n```"));
  CHECK_THAT(prompt, Contains("eval: 3 of 10 cases failed"));
  CHECK_THAT(prompt, Contains("src/a.cpp, src/b.cpp"));
}

TEST_CASE("a source file holding backticks is fenced with a longer fence in the prompt",
          "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  host.replies.push_back("```\nx\n```");
  REQUIRE(evolver.propose(pattern_for("x"), {{"README.md", "```\ncode\n```\n"}}, "").ok());
  CHECK_THAT(host.prompts.at(0), Contains("FILE: README.md\n````\n```\ncode\n```\n````\n"));
}

TEST_CASE("propose without source files is invalid_argument", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  auto patch = evolver.propose(pattern_for("x"), {}, "");
  CHECK(patch.status().code() == Code::invalid_argument);
  CHECK(host.prompts.empty());
}

TEST_CASE("prompt files are read at every call, so edits apply without a rebuild", "[evolver]") {
  moss::test::TempDir dir;
  write(dir / "analyze.txt", "v1 {{task_id}}");
  write(dir / "propose.txt", "fix {{pattern_id}}");
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host, R"({"prompt_dir":")" + dir.path().string() + "\"}");
  analysed(evolver, host, kAnalysis);
  write(dir / "analyze.txt", "v2 {{task_id}} {{plugin}}");
  analysed(evolver, host, kAnalysis);
  CHECK(host.prompts.at(0) == "v1 task-42");
  CHECK(host.prompts.at(1) == "v2 task-42 text-tool");
}

TEST_CASE("values put into a prompt are not scanned for placeholders", "[evolver]") {
  auto text = moss::plugins::render_prompt("a {{x}} b {{y}}", {{"x", "{{y}}"}, {"y", "Y"}}, "t");
  REQUIRE(text.ok());
  CHECK(text.value() == "a {{y}} b Y");
}

TEST_CASE("braces that are not placeholders stay as they are", "[evolver]") {
  auto text = moss::plugins::render_prompt("int a[] = {{1}}; {{ x }} {{", {}, "t");
  REQUIRE(text.ok());
  CHECK(text.value() == "int a[] = {{1}}; {{ x }} {{");
}

TEST_CASE("an unknown placeholder in a prompt file is refused by name", "[evolver]") {
  moss::test::TempDir dir;
  write(dir / "analyze.txt", "{{task_id}} {{taskid}}");
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host, R"({"prompt_dir":")" + dir.path().string() + "\"}");
  auto pattern = evolver.analyze(failure());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == Code::failed_precondition);
  CHECK_THAT(pattern.status().message(), Contains("analyze.txt: unknown placeholder {{taskid}}"));
  CHECK(host.prompts.empty());
}

TEST_CASE("a missing prompt file is failed_precondition naming its path", "[evolver]") {
  moss::test::TempDir dir;
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host, R"({"prompt_dir":")" + dir.path().string() + "\"}");
  auto patch = evolver.propose(pattern_for("x"), kOneFile, "");
  CHECK(patch.status().code() == Code::failed_precondition);
  CHECK_THAT(patch.status().message(), Contains((dir / "propose.txt").string()));
}

TEST_CASE("a prompt_dir that is not a directory is refused at init", "[evolver]") {
  moss::test::TempDir dir;
  ScriptedHost host;
  MossEvolver evolver;
  moss::sdk::InitContext context;
  context.config_json = R"({"prompt_dir":")" + (dir / "missing").string() + "\"}";
  context.host = &host;
  auto status = evolver.init(context);
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains("prompt_dir"));
}

TEST_CASE("the built-in prompts use only the placeholders they are given", "[evolver]") {
  ScriptedHost host;
  MossEvolver evolver;
  configure(evolver, host);
  analysed(evolver, host, kAnalysis);
  host.replies.push_back("```\nx\n```");
  REQUIRE(evolver.propose(pattern_for("x"), kOneFile, "").ok());
  for (const auto& prompt : host.prompts)
    CHECK_THAT(prompt, !Contains("{{"));
}

TEST_CASE("first_json_object skips an object that does not parse and takes the next", "[evolver]") {
  auto object = moss::plugins::first_json_object("{not: json} then {\"a\": {\"b\": 1}}");
  REQUIRE(object.ok());
  CHECK(object.value() == "{\"a\": {\"b\": 1}}");
}
