// The `moss` binary as a user runs it: real processes, real plugin files, real registry
// files. Checks exit codes and the messages an operator sees.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <sstream>

#include "process.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::test::ProcessResult;
using moss::test::run_process;

namespace {

std::string fixture(const std::string& name) {
  return std::string(MOSS_FIXTURE_DIR) + "/" + name + ".so";
}

// A deployment in a temporary directory: moss.toml plus a state directory.
class Deployment {
 public:
  explicit Deployment(const std::string& plugins_toml) {
    std::ofstream(dir_ / "moss.toml") << "state_dir = \"state\"\n" << plugins_toml;
  }
  ProcessResult moss(std::vector<std::string> args) const {
    args.insert(args.begin(), {MOSS_BINARY});
    args.push_back("--config");
    args.push_back((dir_ / "moss.toml").string());
    return run_process(args);
  }
  const moss::test::TempDir& dir() const { return dir_; }

 private:
  moss::test::TempDir dir_;
};

ProcessResult run_moss(std::vector<std::string> args) {
  args.insert(args.begin(), {MOSS_BINARY});
  return run_process(args);
}

std::string plugin_table(const std::string& instance, const std::string& file,
                         const std::string& extra = "") {
  return "[plugins." + instance + "]\npath = \"" + fixture(file) + "\"\n" + extra + "\n";
}

}  // namespace

TEST_CASE("moss --help lists the commands and exit codes", "[cli]") {
  ProcessResult r = run_moss({"--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("plugin inspect"));
  CHECK_THAT(r.out, Contains("config check"));
  CHECK_THAT(r.out, Contains("Exit codes:"));
}

TEST_CASE("every subcommand has --help", "[cli]") {
  for (std::vector<std::string> command : {std::vector<std::string>{"plugin", "inspect"},
                                           {"plugin", "list"},
                                           {"config", "check"},
                                           {"call"},
                                           {"versions"},
                                           {"history"},
                                           {"status"}}) {
    command.push_back("--help");
    ProcessResult r = run_moss(command);
    INFO(command[0]);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("Usage: moss " + command[0]));
  }
}

TEST_CASE("a command line error exits with 2", "[cli]") {
  CHECK(run_moss({}).exit_code == 2);
  ProcessResult unknown = run_moss({"frobnicate"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Contains("unknown command in 'frobnicate'"));
  ProcessResult missing = run_moss({"plugin", "inspect"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("Usage: moss plugin inspect FILE"));
  CHECK(run_moss({"status", "--no-such-option"}).exit_code == 2);
}

TEST_CASE("global options may come before the command", "[cli]") {
  moss::test::TempDir dir;
  ProcessResult r = run_moss({"--state-dir", dir.path().string(), "--json", "status"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["state_dir"] == dir.path().string());
}

TEST_CASE("plugin inspect prints a plugin's metadata", "[cli][inspect]") {
  ProcessResult r = run_moss({"plugin", "inspect", fixture("fixture-good")});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("name:       fixture-good"));
  CHECK_THAT(r.out, Contains("kinds:      tool,guard"));
  CHECK_THAT(r.out, Contains("abi:        1.0 (compatible with this host)"));
}

TEST_CASE("plugin inspect --json is machine-readable", "[cli][inspect]") {
  ProcessResult r = run_moss({"plugin", "inspect", fixture("fixture-good"), "--json"});
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["name"] == "fixture-good");
  CHECK(out["kinds"] == nlohmann::json::array({"tool", "guard"}));
  CHECK(out["config_schema"]["properties"]["prefix"]["default"] == ">");
  CHECK(out["compatible"] == true);
}

TEST_CASE("plugin inspect never runs the plugin's code", "[cli][inspect]") {
  // Loading this file would abort() in a static initialiser.
  ProcessResult r = run_moss({"plugin", "inspect", fixture("fixture-static-abort")});
  CHECK(r.signal == 0);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("name:       fixture-static-abort"));
  CHECK_THAT(r.out, Contains("version:    6.6.6"));
  CHECK_THAT(r.out, Contains("\"level\""));
}

TEST_CASE("plugin inspect refuses what is not a compatible plugin with exit code 4",
          "[cli][inspect]") {
  ProcessResult abi = run_moss({"plugin", "inspect", fixture("fixture-abi-major")});
  CHECK(abi.exit_code == 4);
  CHECK_THAT(abi.out, Contains("refused:"));
  CHECK_THAT(abi.out, Contains("expected 1, found 2"));
  for (const char* name : {"fixture-not-elf", "fixture-truncated", "fixture-no-entry"}) {
    ProcessResult r = run_moss({"plugin", "inspect", fixture(name)});
    INFO(name);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Contains(fixture(name)));
  }
}

TEST_CASE("config check accepts the reference config", "[cli][config]") {
  ProcessResult r =
      run_moss({"config", "check", std::string(MOSS_SOURCE_DIR) + "/config/moss.toml"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("valid"));
}

TEST_CASE("config check reports a TOML error with line and column and exits 3", "[cli][config]") {
  moss::test::TempDir dir;
  std::ofstream(dir / "bad.toml") << "[ratchet]\nthreshold = \n";
  ProcessResult r = run_moss({"config", "check", (dir / "bad.toml").string()});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Contains("bad.toml:2:"));
}

TEST_CASE("config check validates plugin tables against the plugin's schema", "[cli][config]") {
  Deployment d(plugin_table("echo", "fixture-good", "prefix = 7"));
  ProcessResult r = d.moss({"config", "check"});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.out, Contains("[plugins.echo] prefix:"));
}

TEST_CASE("plugin list loads good plugins and disables each bad one with its reason",
          "[cli][list]") {
  Deployment d(
      plugin_table("echo", "fixture-good") + plugin_table("abi", "fixture-abi-major") +
      plugin_table("minor", "fixture-abi-minor") + plugin_table("truncated", "fixture-truncated") +
      plugin_table("noentry", "fixture-no-entry") + plugin_table("notelf", "fixture-not-elf") +
      plugin_table("thrower", "fixture-thrower", "throw_in_init = true") +
      plugin_table("ctor", "fixture-ctor-throws") + plugin_table("crasher", "fixture-crasher"));
  ProcessResult r = d.moss({"plugin", "list", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto rows = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& row : rows)
    by_name[row["instance"]] = row;
  CHECK(by_name["echo"]["state"] == "active");
  CHECK(by_name["crasher"]["state"] == "active");  // it only crashes when called
  auto disabled_with = [&](const std::string& name, const std::string& reason) {
    INFO(name);
    CHECK(by_name[name]["state"] == "disabled");
    CHECK_THAT(by_name[name].value("error", ""), Contains(reason));
  };
  disabled_with("abi", "ABI major mismatch (expected 1, found 2)");
  disabled_with("minor", "expected minor <= 0, found 99");
  disabled_with("truncated", "truncated or corrupt ELF file");
  disabled_with("noentry", "expected the exported symbol 'moss_plugin_entry'");
  disabled_with("notelf", "not an ELF file");
  disabled_with("thrower", "init threw: boom in init");
  disabled_with("ctor", "constructor threw: cannot construct");

  ProcessResult history = d.moss({"history", "--json"});
  REQUIRE(history.exit_code == 0);
  int load_failures = 0;
  for (const auto& event : nlohmann::json::parse(history.out)) {
    if (event["type"] == "load_failed") ++load_failures;
  }
  CHECK(load_failures == 7);

  // Loading again changes nothing: the same failures are not recorded twice.
  REQUIRE(d.moss({"plugin", "list"}).exit_code == 0);
  ProcessResult again = d.moss({"history", "--json"});
  CHECK(nlohmann::json::parse(again.out).size() == nlohmann::json::parse(history.out).size());
}

TEST_CASE("call invokes a tool and prints its JSON result", "[cli][call]") {
  Deployment d(plugin_table("echo", "fixture-good", "prefix = \"->\""));
  ProcessResult r = d.moss({"call", "echo", R"({"n":1})"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["prefix"] == "->");
  CHECK(out["args"]["n"] == 1);
}

TEST_CASE("call on an unknown instance exits 5", "[cli][call]") {
  Deployment d(plugin_table("echo", "fixture-good"));
  ProcessResult r = d.moss({"call", "nobody", "{}"});
  CHECK(r.exit_code == 5);
  CHECK_THAT(r.err, Contains("no plugin instance named 'nobody'"));
}

TEST_CASE("a tool that returns an error exits 1 with the error", "[cli][call]") {
  Deployment d(plugin_table("thrower", "fixture-thrower"));
  ProcessResult r = d.moss({"call", "thrower", "{}"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("Tool::info threw: boom in info"));
}

TEST_CASE("a plugin that crashes is named in the crash report", "[cli][call][crash]") {
  Deployment d(plugin_table("crasher", "fixture-crasher"));
  ProcessResult r = d.moss({"call", "crasher", "{}"});
  CHECK(r.signal == SIGSEGV);
  CHECK_THAT(r.err, Contains("moss: fatal signal SIGSEGV in plugin 'crasher' (version "));
  CHECK_THAT(r.err, Contains("during Tool::invoke"));
}

TEST_CASE("versions lists the active version after the first load", "[cli][registry]") {
  Deployment d(plugin_table("echo", "fixture-good"));
  REQUIRE(d.moss({"plugin", "list"}).exit_code == 0);
  ProcessResult r = d.moss({"versions", "echo", "--json"});
  REQUIRE(r.exit_code == 0);
  auto versions = nlohmann::json::parse(r.out);
  REQUIRE(versions.size() == 1);
  CHECK(versions[0]["state"] == "active");
  CHECK(versions[0]["plugin_version"] == "1.0.0");
  // The loaded file is the content-addressed copy, not the configured one.
  std::string path = versions[0]["path"];
  CHECK_THAT(path, Contains("/state/versions/echo/" + versions[0]["sha256"].get<std::string>()));
}

TEST_CASE("versions of an unknown plugin exits 5", "[cli][registry]") {
  Deployment d("");
  ProcessResult r = d.moss({"versions", "ghost"});
  CHECK(r.exit_code == 5);
}

TEST_CASE("status reports the registry and active versions", "[cli][registry]") {
  Deployment d(plugin_table("echo", "fixture-good"));
  REQUIRE(d.moss({"plugin", "list"}).exit_code == 0);
  ProcessResult r = d.moss({"status", "--json"});
  REQUIRE(r.exit_code == 0);
  auto status = nlohmann::json::parse(r.out);
  CHECK(status["consistent"] == true);
  REQUIRE(status["plugins"].size() == 1);
  CHECK(status["plugins"][0]["active"]["state"] == "active");
}

TEST_CASE("an unusable state directory exits 6", "[cli][registry]") {
  Deployment d("");
  std::ofstream(d.dir() / "state") << "a file where the state directory should be";
  ProcessResult r = d.moss({"status"});
  CHECK(r.exit_code == 6);
  CHECK_THAT(r.err, Contains("state"));
}

TEST_CASE("logs can be JSON lines", "[cli][logging]") {
  Deployment d("[logging]\nformat = \"json\"\nlevel = \"debug\"\n" +
               plugin_table("abi", "fixture-abi-major"));
  ProcessResult r = d.moss({"plugin", "list"});
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.err);
  std::string line;
  int parsed = 0;
  bool saw_refusal = false;
  while (std::getline(lines, line)) {
    auto entry = nlohmann::json::parse(line, nullptr, false);
    REQUIRE_FALSE(entry.is_discarded());
    ++parsed;
    CHECK(entry.contains("ts"));
    if (entry["level"] == "error") {
      saw_refusal = entry["msg"].get<std::string>().find("ABI major mismatch") != std::string::npos;
    }
  }
  CHECK(parsed > 0);
  CHECK(saw_refusal);
}

TEST_CASE("the -v option lowers the log level", "[cli][logging]") {
  Deployment d("[logging]\nlevel = \"warn\"\n" + plugin_table("echo", "fixture-good"));
  CHECK(d.moss({"plugin", "list"}).err.find("active at version") == std::string::npos);
  CHECK_THAT(d.moss({"plugin", "list", "-v"}).err, Contains("active at version"));
}
