// Unit test of @CLASS@. It compiles the plugin source in and calls the class directly, with
// no host and no test framework: each failed check prints its place, and the exit code is 0
// only if every check passed. The commands it runs are real programs (cat, sh, tr, echo).
// `moss plugin test` (the conformance test) covers the built .so through the real loader.
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

// A backend initialised with `settings_json`, as the host would do it.
@CLASS@ make_backend(const std::string& settings_json) {
  static sdk::NullLogger logger;
  sdk::InitContext context;
  context.instance_name = "@NAME@";
  context.config_json = settings_json;
  context.logger = &logger;
  @CLASS@ backend;
  const sdk::Status status = backend.init(context);
  CHECK(status.ok());
  if (!status.ok()) std::fprintf(stderr, "  init: %s\n", status.to_string().c_str());
  return backend;
}

sdk::ChatRequest ask(std::string question) {
  sdk::ChatRequest request;
  request.messages = {{"system", "Answer briefly.", {}, {}, {}},
                      {"user", std::move(question), {}, {}, {}}};
  return request;
}

class CollectingSink final : public sdk::ChatStreamSink {
 public:
  void on_text(std::string_view fragment) noexcept override {
    text.append(fragment);
    ++fragments;
  }
  std::string text;
  int fragments = 0;
};

sdk::Code code_of(const sdk::Result<sdk::ChatResponse>& response) {
  if (!response.ok()) std::printf("  (expected error) %s\n", response.status().to_string().c_str());
  return response.status().code();
}

void test_the_command_reads_the_conversation_and_writes_the_reply() {
  const @CLASS@ backend = make_backend(R"({"command": ["sh", "-c", "tr a-z A-Z"]})");
  CollectingSink sink;
  auto response = backend.chat(ask("what is moss?"), &sink);
  CHECK(response.ok());
  if (!response.ok()) return;
  CHECK(response->message.role == "assistant");
  CHECK(response->message.content ==
        "[SYSTEM]\nANSWER BRIEFLY.\n\n[USER]\nWHAT IS MOSS?\n\n[ASSISTANT]");
  CHECK(sink.text == response->message.content + "\n");  // streamed: the raw output
  CHECK(sink.fragments >= 1);
  CHECK(response->finish_reason == "stop");
  CHECK(response->model == "local");
  CHECK(response->usage.prompt_tokens > 0 && response->usage.completion_tokens > 0);
}

void test_large_conversations_pass_through_whole() {
  const @CLASS@ backend = make_backend(R"({"command": ["cat"], "max_reply_bytes": 4194304})");
  const std::string long_question(1 << 20, 'q');  // more than any pipe buffer
  auto response = backend.chat(ask(long_question), nullptr);
  CHECK(response.ok());
  CHECK(response.ok() && response->message.content.find(long_question) != std::string::npos);
}

void test_a_command_that_ignores_its_input() {
  const @CLASS@ backend = make_backend(R"({"command": ["echo", "a fixed answer"]})");
  auto response = backend.chat(ask(std::string(1 << 20, 'x')), nullptr);
  CHECK(response.ok() && response->message.content == "a fixed answer");
}

void test_failures_are_errors_with_the_reason() {
  auto failing = make_backend(R"({"command": ["sh", "-c", "echo model not found >&2; exit 3"]})");
  auto response = failing.chat(ask("hi"), nullptr);
  CHECK(code_of(response) == sdk::Code::unavailable);
  CHECK(response.status().message().find("exited with code 3: model not found") !=
        std::string::npos);

  auto missing = make_backend(R"({"command": ["/nonexistent/model-runner"]})");
  CHECK(code_of(missing.chat(ask("hi"), nullptr)) == sdk::Code::unavailable);

  auto slow = make_backend(R"({"command": ["sh", "-c", "sleep 30"], "timeout_s": 0.2})");
  CHECK(code_of(slow.chat(ask("hi"), nullptr)) == sdk::Code::deadline_exceeded);

  auto verbose = make_backend(R"({"command": ["cat"], "max_reply_bytes": 16})");
  CHECK(code_of(verbose.chat(ask("a question longer than sixteen bytes"), nullptr)) ==
        sdk::Code::resource_exhausted);

  CHECK(code_of(make_backend("{}").chat(sdk::ChatRequest{}, nullptr)) ==
        sdk::Code::invalid_argument);
}

void test_settings_are_checked() {
  for (const char* bad :
       {R"({"command": []})", R"({"command": [""]})", R"({"timeout_s": 0})", R"({"model": 3})"}) {
    @CLASS@ backend;
    sdk::InitContext context;
    context.config_json = bad;
    CHECK(backend.init(context).code() == sdk::Code::invalid_argument);
  }
  CHECK(make_backend("{}").info().model == "local");
}

}  // namespace

int main() {
  test_the_command_reads_the_conversation_and_writes_the_reply();
  test_large_conversations_pass_through_whole();
  test_a_command_that_ignores_its_input();
  test_failures_are_errors_with_the_reason();
  test_settings_are_checked();
  if (failures == 0) std::printf("@NAME@: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
