// Unit test of @CLASS@. It compiles the plugin source in and calls the class directly, with
// no host and no test framework: each failed check prints its place, and the exit code is 0
// only if every check passed. `moss plugin test` (the conformance test) covers the built .so
// through the real loader.
#include "../src/@NAME@.cpp"

#include <cstdio>
#include <string>

namespace {

int failures = 0;

void check(bool passed, const char* what, const char* file, int line) {
  if (passed) return;
  ++failures;
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
}
#define CHECK(condition) check((condition), #condition, __FILE__, __LINE__)

// The host's side of init: a clock, and chat() answering with `reply` (or `error`) the way
// an LLM backend would, keeping the last request. A unit test has no model to ask.
class TestHost final : public sdk::HostServices {
 public:
  sdk::Result<sdk::ChatResponse> chat(const sdk::ChatRequest& request) noexcept override {
    last_request = request;
    if (!error.ok()) return error;
    sdk::ChatResponse response;
    response.message = {"assistant", reply, {}, {}, {}};
    response.finish_reason = "stop";
    return response;
  }
  std::int64_t now_ms() const noexcept override { return 1'700'000'000'000; }

  std::string reply;
  sdk::Status error;
  sdk::ChatRequest last_request;
};

@CLASS@ make_evolver(TestHost& host, const std::string& settings_json = "{}") {
  static sdk::NullLogger logger;
  sdk::InitContext context;
  context.instance_name = "@NAME@";
  context.config_json = settings_json;
  context.logger = &logger;
  context.host = &host;
  @CLASS@ evolver;
  CHECK(evolver.init(context).ok());
  return evolver;
}

sdk::FailureReport failure() {
  sdk::FailureReport report;
  report.task_id = "eval:unicode-title";
  report.error = "expected {\"slug\":\"café\"}, got {\"slug\":\"caf\"}\nmore detail";
  report.trace = {{"slug-tool", "eval_case", "{\"text\":\"Café\"}", true},
                  {"slug-tool", "invoke", "non-ASCII bytes were dropped", false}};
  report.plugin = "slug-tool";
  return report;
}

const std::vector<sdk::SourceFile> kSources = {{"src/slug.cpp", "int drop_non_ascii = 1;\n"},
                                               {"src/util.cpp", "int helper = 0;\n"}};

void test_analyze_names_the_failing_step() {
  TestHost host;
  const @CLASS@ evolver = make_evolver(host);
  auto pattern = evolver.analyze(failure());
  CHECK(pattern.ok());
  if (!pattern.ok()) return;
  CHECK(pattern->description == "expected {\"slug\":\"café\"}, got {\"slug\":\"caf\"}");
  CHECK(pattern->root_cause == "step 2 (slug-tool invoke) failed: non-ASCII bytes were dropped");
  CHECK(pattern->affected_module == "slug-tool");
  CHECK(pattern->occurrence_count == 1);
  CHECK(pattern->last_occurrence_ms == host.now_ms());
  CHECK(pattern->pattern_id == evolver.analyze(failure())->pattern_id);  // stable
  CHECK(evolver.analyze({}).status().code() == sdk::Code::invalid_argument);
}

void test_propose_returns_the_models_file() {
  TestHost host;
  host.reply =
      "The bug is in the flag.\nFILE: src/slug.cpp\n```cpp\nint drop_non_ascii = 0;\n```\n";
  @CLASS@ evolver = make_evolver(host, R"({"model": "coder", "temperature": 0})");
  auto patch = evolver.propose(evolver.analyze(failure()).value(), kSources, "2 cases failed");
  CHECK(patch.ok());
  if (!patch.ok()) return;
  CHECK(patch->format == sdk::PatchFormat::full_file);
  CHECK(patch->path == "src/slug.cpp");
  CHECK(patch->body == "int drop_non_ascii = 0;\n");
  // The request carried the settings, the sources, the root cause and the host's context.
  CHECK(host.last_request.model == "coder");
  CHECK(host.last_request.temperature == 0.0);
  const std::string& prompt = host.last_request.messages.at(1).content;
  CHECK(prompt.find("=== src/util.cpp ===") != std::string::npos);
  CHECK(prompt.find("non-ASCII bytes were dropped") != std::string::npos);
  CHECK(prompt.find("2 cases failed") != std::string::npos);
}

void test_unusable_replies_are_invalid_reply() {
  TestHost host;
  @CLASS@ evolver = make_evolver(host);
  const sdk::FailurePattern pattern = evolver.analyze(failure()).value();
  for (const std::string& reply :
       {std::string("I cannot help with that."),                                    // no FILE line
        std::string("FILE: src/other.cpp\n```\nint x;\n```\n"),                     // not a source
        std::string("FILE: src/slug.cpp\n```cpp\nint drop_non_ascii = 0;\n"),       // unterminated
        std::string("FILE: src/slug.cpp\n```\nint drop_non_ascii = 1;\n```\n")}) {  // unchanged
    host.reply = reply;
    CHECK(evolver.propose(pattern, kSources, "").status().code() == sdk::Code::invalid_reply);
  }
}

void test_errors_of_the_backend_and_of_the_input() {
  TestHost host;
  host.error = sdk::Status(sdk::Code::unavailable, "no LLM backend is configured");
  @CLASS@ evolver = make_evolver(host);
  const sdk::FailurePattern pattern = evolver.analyze(failure()).value();
  CHECK(evolver.propose(pattern, kSources, "").status().code() == sdk::Code::unavailable);
  CHECK(evolver.propose(pattern, {}, "").status().code() == sdk::Code::invalid_argument);
}

}  // namespace

int main() {
  test_analyze_names_the_failing_step();
  test_propose_returns_the_models_file();
  test_unusable_replies_are_invalid_reply();
  test_errors_of_the_backend_and_of_the_input();
  if (failures == 0) std::printf("@NAME@: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
