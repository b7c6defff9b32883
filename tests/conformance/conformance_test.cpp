// `moss plugin test` as an author runs it: real plugin files, real worker processes. The
// bundled plugins must pass every check; each fixture must fail exactly where it breaks the
// contract, with the reason, while the other checks still run.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "process.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::test::ProcessResult;
using moss::test::run_process;
using nlohmann::json;

namespace {

std::string bundled(const std::string& name) {
  return std::string(MOSS_PLUGINS_DIR) + "/" + name + ".so";
}
std::string conformance_fixture(const std::string& name) {
  return std::string(MOSS_CONFORMANCE_DIR) + "/" + name + ".so";
}

// Runs `moss plugin test` in an empty directory (so no ./moss.toml is picked up).
ProcessResult plugin_test(std::vector<std::string> args, const std::string& config_toml = "") {
  moss::test::TempDir dir;
  if (!config_toml.empty()) {
    std::ofstream(dir / "moss.toml") << config_toml;
    args.push_back("--config=" + (dir / "moss.toml").string());
  }
  args.insert(args.begin(), {MOSS_BINARY, "plugin", "test"});
  return run_process(args, {}, dir.path().string(), 120000);
}

struct Report {
  json document;
  std::map<std::string, json> checks;  // by id
  std::string status(const std::string& id) const { return checks.at(id)["status"]; }
  std::string detail(const std::string& id) const { return checks.at(id)["detail"]; }
};

Report json_report(const ProcessResult& run) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  Report report;
  report.document = json::parse(run.out);
  for (const json& check : report.document["checks"])
    report.checks[check["id"]] = check;
  return report;
}

}  // namespace

TEST_CASE("every bundled plugin passes the conformance kit") {
  const std::map<std::string, std::vector<std::string>> plugins = {
      {"text-tool", {"--suite", std::string(MOSS_SOURCE_DIR) + "/plugins/text-tool/eval"}},
      {"ratchet-guard", {}},
      {"markov-planner", {}},
      {"fewshot-compiler", {}},
      {"evolver-moss", {}},
      {"llm-replay",
       {"--settings", R"({"file":")" + std::string(MOSS_SOURCE_DIR) +
                          R"(/config/demo/evolution.jsonl","mode":"sequence"})"}},
      {"llm-openai", {}},
  };
  for (const auto& [name, extra] : plugins) {
    std::vector<std::string> args = {bundled(name), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult run = plugin_test(args);
    INFO(name << ": " << run.out << run.err);
    CHECK(run.exit_code == 0);
    Report report = json_report(run);
    CHECK(report.document["passed"] == true);
    CHECK(report.status("descriptor") == "passed");
    CHECK(report.status("config_schema") == "passed");
    CHECK(report.status("init") == "passed");
  }
}

TEST_CASE("a Tool's report names each check, and the eval suite runs last") {
  ProcessResult run = plugin_test(
      {bundled("text-tool"), "--suite", std::string(MOSS_SOURCE_DIR) + "/plugins/text-tool/eval"});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  for (const char* id : {"descriptor", "config_schema", "init", "tool.info", "tool.name",
                         "tool.input_schema", "tool.invalid_input", "tool.output", "eval_suite"}) {
    CHECK_THAT(run.out, Contains(std::string("passed   ") + id));
  }
  CHECK_THAT(run.out, Contains("15/15 cases"));
  CHECK_THAT(run.out, Contains("0 failed"));
}

TEST_CASE("slug-tool's shipped bugs: a throw on a mistyped argument, failing eval cases") {
  ProcessResult run = plugin_test({bundled("slug-tool"), "--json", "--suite",
                                   std::string(MOSS_SOURCE_DIR) + "/plugins/slug-tool/eval"});
  CHECK(run.exit_code == 1);
  Report report = json_report(run);
  CHECK(report.status("tool.invalid_input") == "failed");
  CHECK_THAT(report.detail("tool.invalid_input"),
             Contains("'max_length' of the wrong type) threw across the boundary"));
  CHECK(report.status("tool.output") == "failed");  // its own suite's inputs make it throw
  CHECK_THAT(report.detail("tool.output"), Contains("threw across the boundary"));
  CHECK(report.status("eval_suite") == "failed");
  CHECK_THAT(report.detail("eval_suite"), Contains("unicode-accents"));
  CHECK(report.document["eval"]["outcome"] == "ok");
}

TEST_CASE("a crash in one check fails that check with the signal; the next worker resumes") {
  ProcessResult run = plugin_test({conformance_fixture("conformance-bad-tool"), "--json", "--suite",
                                   std::string(MOSS_CONFORMANCE_EVAL) + "/bad_tool.jsonl"});
  CHECK(run.exit_code == 1);
  Report report = json_report(run);
  CHECK(report.status("descriptor") == "passed");
  CHECK(report.status("tool.name") == "failed");
  CHECK_THAT(report.detail("tool.name"), Contains("'bad tool!'") && Contains("[A-Za-z0-9_.-]"));
  CHECK(report.status("tool.input_schema") == "failed");
  CHECK_THAT(report.detail("tool.input_schema"), Contains("\"type\": \"object\""));
  CHECK(report.status("tool.invalid_input") == "failed");
  CHECK_THAT(report.detail("tool.invalid_input"),
             Contains("crashed: SIGABRT in check 'tool.invalid_input'"));
  // Run by a second worker, after the crash.
  CHECK(report.status("tool.output") == "failed");
  CHECK_THAT(report.detail("tool.output"), Contains("not JSON"));
  CHECK(report.status("eval_suite") == "failed");
  CHECK(report.document["workers"] == 2);
}

TEST_CASE("a check that hangs fails at the wall deadline; the rest still run") {
  ProcessResult run = plugin_test({conformance_fixture("conformance-hang-tool"), "--json"},
                                  "[evaluation]\nwall_s = 2\n");
  CHECK(run.exit_code == 1);
  Report report = json_report(run);
  CHECK(report.status("tool.invalid_input") == "failed");
  CHECK_THAT(report.detail("tool.invalid_input"), Contains("timeout") && Contains("2000 ms"));
  CHECK(report.status("tool.output") == "skipped");
  CHECK(report.status("eval_suite") == "skipped");
  CHECK(report.document["workers"] == 2);
}

TEST_CASE("a Guard that throws, reports non-JSON stats and forgets imported state fails") {
  ProcessResult run = plugin_test({conformance_fixture("conformance-bad-guard"), "--json"});
  CHECK(run.exit_code == 1);
  Report report = json_report(run);
  CHECK(report.status("guard.calls") == "failed");
  CHECK_THAT(report.detail("guard.calls"),
             Contains("threw across the boundary: Guard::record threw: score is NaN"));
  CHECK_THAT(report.detail("guard.calls"), Contains("stats() is not a JSON object"));
  CHECK(report.status("guard.state") == "failed");
  CHECK_THAT(report.detail("guard.state"), Contains("import_state(not json) succeeded"));
  CHECK_THAT(report.detail("guard.state"), Contains("behaves differently"));
  CHECK(report.status("eval_suite") == "skipped");
}

TEST_CASE("a config schema that is not valid JSON Schema fails config_schema and init") {
  ProcessResult run = plugin_test({conformance_fixture("conformance-bad-schema"), "--json"});
  CHECK(run.exit_code == 1);
  Report report = json_report(run);
  CHECK(report.status("config_schema") == "failed");
  CHECK_THAT(report.detail("config_schema"), Contains("minimum"));
  CHECK(report.status("init") == "failed");
  CHECK(report.status("tool.name") == "failed");  // no object can be made without settings
}

TEST_CASE("settings are validated against the config schema before init") {
  ProcessResult run = plugin_test(
      {bundled("text-tool"), "--json", "--no-suite", "--settings", R"({"max_input_bytes":"x"})"});
  CHECK(run.exit_code == 1);
  Report report = json_report(run);
  CHECK(report.status("config_schema") == "passed");
  CHECK(report.status("init") == "failed");
  CHECK_THAT(report.detail("init"), Contains("max_input_bytes") && Contains("--settings"));
}

TEST_CASE("a plugin whose static initialiser aborts fails to load; nothing else runs") {
  ProcessResult run =
      plugin_test({std::string(MOSS_FIXTURE_DIR) + "/fixture-static-abort.so", "--json"});
  CHECK(run.exit_code == 1);
  Report report = json_report(run);
  CHECK(report.status("descriptor") == "failed");
  CHECK_THAT(report.detail("descriptor"), Contains("crashed: SIGABRT in load"));
  CHECK(report.status("init") == "skipped");
  CHECK(report.document["workers"] == 1);
}

TEST_CASE("an ABI-major mismatch is refused with the loader's message, exit code 4") {
  ProcessResult run = plugin_test({std::string(MOSS_FIXTURE_DIR) + "/fixture-abi-major.so"});
  CHECK(run.exit_code == 4);
  CHECK_THAT(run.err, Contains("ABI major mismatch (expected 1, found 2)"));
  ProcessResult not_elf = plugin_test({std::string(MOSS_FIXTURE_DIR) + "/fixture-not-elf.so"});
  CHECK(not_elf.exit_code == 4);
  ProcessResult missing = plugin_test({"/nonexistent/plugin.so"});
  CHECK(missing.exit_code == 4);
  CHECK_THAT(missing.err, Contains("/nonexistent/plugin.so"));
}

TEST_CASE("an eval/ folder one level above the plugin file is found") {
  moss::test::TempDir project;
  std::filesystem::create_directories(project / "build");
  std::filesystem::copy(std::string(MOSS_SOURCE_DIR) + "/plugins/text-tool/eval", project / "eval");
  std::filesystem::copy_file(bundled("text-tool"), project / "build" / "text-tool.so");
  ProcessResult run = plugin_test({(project / "build" / "text-tool.so").string(), "--json"});
  CHECK(run.exit_code == 0);
  Report report = json_report(run);
  CHECK_THAT(report.detail("eval_suite"), Contains((project / "eval").string()));
}
