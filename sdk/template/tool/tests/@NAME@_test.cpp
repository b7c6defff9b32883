// Unit test of @CLASS@. It compiles the plugin source in and calls the class directly, with
// no host and no test framework: each failed check prints its place, and the exit code is 0
// only if every check passed. `moss plugin test` (the conformance test)
// covers the built .so through the real loader.
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

// A tool initialised with `settings_json`, as the host would do it. This tool does not use
// context.host; give the context a HostServices of your own if your init starts to.
@CLASS@ make_tool(const std::string& settings_json, sdk::Status* status = nullptr) {
  static sdk::NullLogger logger;
  sdk::InitContext context;
  context.instance_name = "@NAME@";
  context.config_json = settings_json;
  context.logger = &logger;
  @CLASS@ tool;
  sdk::Status result = tool.init(context);
  if (status != nullptr) *status = result;
  CHECK(status != nullptr || result.ok());
  return tool;
}

json call(const @CLASS@& tool, const std::string& args) {
  auto result = tool.invoke(args);
  CHECK(result.ok());
  if (!result.ok()) {
    std::fprintf(stderr, "  invoke(%s): %s\n", args.c_str(), result.status().to_string().c_str());
    return json();
  }
  return json::parse(result.value());
}

bool refused(const @CLASS@& tool, const std::string& args) {
  auto result = tool.invoke(args);
  return !result.ok() && result.status().code() == sdk::Code::invalid_argument;
}

void test_info() {
  const sdk::ToolInfo info = make_tool("{}").info();
  CHECK(info.name == "@NAME@");
  CHECK(!info.description.empty());
  CHECK(!info.side_effects);
  const json schema = json::parse(info.input_schema_json, nullptr, false);
  CHECK(schema.is_object() && schema.value("type", "") == "object");
}

void test_counts_and_ranks() {
  const @CLASS@ tool = make_tool("{}");
  const json out = call(tool, R"({"text": "the cat and the hat and the bat", "top": 2})");
  CHECK(out == json::parse(R"({"words": 8, "distinct": 5,
      "top": [{"word": "the", "count": 3}, {"word": "and", "count": 2}]})"));
  CHECK(call(tool, R"({"text": "Moss, moss; MOSS"})")["top"][0] ==
        json::parse(R"({"word": "moss", "count": 3})"));
  CHECK(call(tool, R"({"text": "b a c"})")["top"][0]["word"] == "a");  // ties: alphabetical
  CHECK(call(tool, R"({"text": ""})") == json::parse(R"({"words": 0, "distinct": 0, "top": []})"));
  CHECK(call(tool, R"({"text": "a b c d e f g"})")["top"].size() == 5);  // the default top
}

void test_invalid_input_is_refused() {
  const @CLASS@ tool = make_tool("{}");
  CHECK(refused(tool, "not json"));
  CHECK(refused(tool, ""));
  CHECK(refused(tool, "[1, 2]"));
  CHECK(refused(tool, "{}"));
  CHECK(refused(tool, R"({"text": 42})"));
  CHECK(refused(tool, R"({"text": "a", "top": 0})"));
  CHECK(refused(tool, R"({"text": "a", "top": 101})"));
  CHECK(refused(tool, R"({"text": "a", "top": "3"})"));
  CHECK(refused(tool, R"({"text": "a", "colour": "red"})"));
  CHECK(refused(tool, "{\"text\": \"\xff\xfe\"}"));  // not UTF-8
}

void test_settings() {
  const @CLASS@ small = make_tool(R"({"max_text_bytes": 4})");
  CHECK(refused(small, R"({"text": "hello"})"));
  CHECK(call(small, R"({"text": "hi"})")["words"] == 1);
  sdk::Status status;
  make_tool(R"({"max_text_bytes": 0})", &status);
  CHECK(status.code() == sdk::Code::invalid_argument);
}

}  // namespace

int main() {
  test_info();
  test_counts_and_ranks();
  test_invalid_input_is_refused();
  test_settings();
  if (failures == 0) std::printf("@NAME@: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
