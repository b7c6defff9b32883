// The evolution loop as an operator runs it: `moss evolve` through the real binary, with
// slug-tool (which ships with real bugs), evolver-moss, llm-replay as the scripted LLM, real
// builds with the host's compiler, the isolated evaluator and the Ratchet. Also every fault
// the loop must survive: refused patches, garbage replies, budgets, a missing or hanging
// compiler, and a host killed mid-cycle.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::test::ProcessResult;
using moss::test::run_process;
using nlohmann::json;

extern char** environ;

namespace {

namespace fs = std::filesystem;

// One replay record: the LLM's whole answer to one request.
json reply(const std::string& content, int prompt_tokens = 100, int completion_tokens = 50) {
  return {{"response", {{"content", content}}},
          {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}}}};
}

std::string analysis(const std::string& root_cause) {
  return "```json\n" +
         json({{"root_cause", root_cause},
               {"affected_module", "slug-tool"},
               {"description", root_cause}})
             .dump() +
         "\n```";
}

// Record `index` (0-based) of the demo's replay script: a real patch for slug-tool.
json demo_record(int index) {
  std::ifstream in(MOSS_DEMO_REPLAY);
  std::string line;
  for (int i = 0; i <= index; ++i)
    std::getline(in, line);
  return json::parse(line);
}

// The demo's first patch: a unified diff that applies to the shipped slug-tool.
json fix_patch() {
  return demo_record(1);
}

class Deployment {
 public:
  // `replies`: the llm-replay script, in order. `extra`: more TOML, appended as is (its
  // [self_evolution] table replaces the default one).
  explicit Deployment(const std::vector<json>& replies, const std::string& self_evolution = "",
                      const std::string& replay_file = "") {
    write_config(replies, self_evolution, replay_file);
  }
  // Rewrites the config (the state stays); the replay script starts over in the next process.
  // The LLM is llm-openai at `url` instead of the replay script.
  static std::unique_ptr<Deployment> with_openai(const std::string& url,
                                                 const std::string& self_evolution) {
    auto d = std::make_unique<Deployment>(std::vector<json>{}, self_evolution);
    std::ofstream(d->dir_ / "moss.toml", std::ios::app)
        << "[plugins.llm-openai]\npath = \"" << MOSS_PLUGINS_DIR << "/llm-openai.so\"\n"
        << "base_url = \"" << url << "\"\ntimeout_ms = 500\nconnect_timeout_ms = 500\n"
        << "max_retries = 1\nretry_backoff_ms = 10\n";
    // The host's chat goes to it.
    std::string text;
    {
      std::ifstream in(d->dir_ / "moss.toml");
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string replay = "llm_backend = \"llm-replay\"";
    text.replace(text.find(replay), replay.size(), "llm_backend = \"llm-openai\"");
    std::ofstream(d->dir_ / "moss.toml") << text;
    return d;
  }

  void write_config(const std::vector<json>& replies, const std::string& self_evolution,
                    const std::string& replay_file = "") {
    fs::path replay = replay_file;
    if (replay.empty()) {
      replay = dir_ / "replay.jsonl";
      std::ofstream out(replay);
      for (const json& r : replies)
        out << r.dump() << "\n";
    }
    const std::string plugins = MOSS_PLUGINS_DIR;
    std::ofstream(dir_ / "moss.toml")
        << "state_dir = \"state\"\nllm_backend = \"llm-replay\"\n[logging]\nlevel = \"warn\"\n"
        << "[self_evolution]\n"
        << (self_evolution.empty() ? "llm_backoff_s = 0\n" : self_evolution) << "\n"
        << "[plugins.ratchet-guard]\npath = \"" << plugins << "/ratchet-guard.so\"\n"
        << "[plugins.evolver-moss]\npath = \"" << plugins << "/evolver-moss.so\"\n"
        << "[plugins.llm-replay]\npath = \"" << plugins << "/llm-replay.so\"\nfile = \""
        << replay.string() << "\"\nmode = \"sequence\"\n"
        << "[plugins.slug-tool]\npath = \"" << plugins << "/slug-tool.so\"\neval = \""
        << MOSS_SLUG_TOOL_DIR << "/eval\"\nsource = \"" << MOSS_SLUG_TOOL_DIR << "\"\n";
  }
  std::vector<std::string> argv(std::vector<std::string> args) const {
    args.insert(args.begin(), MOSS_BINARY);
    args.push_back("--config");
    args.push_back((dir_ / "moss.toml").string());
    return args;
  }
  ProcessResult moss(std::vector<std::string> args) const {
    return run_process(argv(args), {}, {}, 600000);
  }
  json json_of(std::vector<std::string> args) const {
    args.push_back("--json");
    ProcessResult r = moss(args);
    INFO(r.err);
    return json::parse(r.out);
  }
  // The JSON lines `moss evolve --json` printed for each finished cycle.
  std::vector<json> cycles(const ProcessResult& r) const {
    std::vector<json> found;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      json event = json::parse(line, nullptr, false);
      if (event.is_object() && event.value("event", "") == "cycle") found.push_back(event);
    }
    return found;
  }
  std::vector<json> attempts() const {
    std::vector<json> found;
    const json lineage = json_of({"lineage", "slug-tool"});
    for (const json& node : lineage["lineage"]) {
      if (node.contains("attempt")) found.push_back(node["attempt"]);
    }
    return found;
  }
  const moss::test::TempDir& dir() const { return dir_; }

 private:
  moss::test::TempDir dir_;
};

// A compiler stand-in: a shell script.
fs::path script(const moss::test::TempDir& dir, const std::string& name, const std::string& body) {
  fs::path file = dir / name;
  std::ofstream(file) << "#!/bin/sh\n" << body << "\n";
  fs::permissions(file, fs::perms::owner_all);
  return file;
}

}  // namespace

TEST_CASE(
    "the demo: a fix is promoted and hot-swapped under traffic, a regression and a crash "
    "are rejected, a second fix is promoted",
    "[evolution][cli][build]") {
  Deployment d({}, "llm_backoff_s = 0\n", MOSS_DEMO_REPLAY);
  ProcessResult r = d.moss(
      {"evolve", "slug-tool", "--cycles", "4", "--json", "--traffic", R"({"text":"Hello World"})"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto cycles = d.cycles(r);
  REQUIRE(cycles.size() == 4);

  CHECK(cycles[0]["baseline_score"] == 0.5);
  CHECK(cycles[0]["attempt"]["outcome"] == "promoted");
  CHECK(cycles[0]["attempt"]["patch_format"] == "unified_diff");
  CHECK(cycles[0]["score"] == 0.75);
  CHECK(cycles[0]["verdict"] == "NOMINAL");

  CHECK(cycles[1]["attempt"]["outcome"] == "rejected");
  CHECK(cycles[1]["attempt"]["patch_format"] == "search_replace");
  CHECK(cycles[1]["verdict"] == "CRITICAL");
  CHECK_THAT(cycles[1]["attempt"]["reason"].get<std::string>(), Contains("CRITICAL"));

  CHECK(cycles[2]["attempt"]["outcome"] == "rejected");
  CHECK(cycles[2]["attempt"]["patch_format"] == "full_file");
  CHECK_THAT(cycles[2]["attempt"]["reason"].get<std::string>(), Contains("SIGSEGV"));

  CHECK(cycles[3]["attempt"]["outcome"] == "promoted");
  CHECK(cycles[3]["score"] == 1.0);

  for (const json& c : cycles) {
    CHECK(c["traffic"]["failed"] == 0);
    CHECK(c["traffic"]["ok"].get<std::int64_t>() > 0);
  }
  // The fixed tool serves in a new process too: the registry's active version.
  ProcessResult call = d.moss({"call", "slug-tool", R"({"text":"Crème Brûlée"})"});
  CHECK(json::parse(call.out)["slug"] == "crème-brûlée");

  // Lineage: each candidate's parent is the version it was evolved from.
  json lineage = d.json_of({"lineage", "slug-tool"})["lineage"];
  REQUIRE(lineage.size() == 5);
  const std::int64_t first = lineage[0]["version"]["id"];
  const std::int64_t fixed = lineage[1]["version"]["id"];
  CHECK(lineage[1]["parent"] == first);
  for (int i = 2; i < 5; ++i)
    CHECK(lineage[i]["parent"] == fixed);
  CHECK(lineage[4]["version"]["state"] == "active");

  // The source change between the shipped version and the first fix.
  ProcessResult diff = d.moss({"diff", std::to_string(first), std::to_string(fixed)});
  CHECK(diff.exit_code == 0);
  CHECK_THAT(diff.out, Contains("+    if (c >= 0x80 || std::isalnum(c))"));
  CHECK_THAT(diff.out, Contains("-    if (std::isalnum(c)) {"));

  ProcessResult history = d.moss({"history", "slug-tool", "--limit", "100"});
  CHECK_THAT(history.out, Contains("evolution_finished"));
}

TEST_CASE(
    "patches outside the plugin's source, into the SDK, binary or huge are refused with "
    "the reason",
    "[evolution][cli]") {
  const std::string sdk_diff =
      "```diff\n--- a/../../sdk/include/moss/sdk/tool.hpp\n+++ b/../../sdk/include/moss/sdk/"
      "tool.hpp\n@@ -1,1 +1,1 @@\n-// x\n+// y\n```\n";
  const std::string outside = "```cmake CMakeLists.txt\nadd_library(evil)\n```\n";
  const std::string binary =
      "```diff\ndiff --git a/src/slug_tool.cpp b/src/slug_tool.cpp\nGIT binary patch\nliteral "
      "0\nHcmV?d00001\n```\n";
  const std::string huge = "```cpp src/slug_tool.cpp\n" + std::string(600 * 1024, 'x') + "\n```\n";
  Deployment d({reply(analysis("a")), reply(sdk_diff), reply(analysis("b")), reply(outside),
                reply(analysis("c")), reply(binary), reply(analysis("d")), reply(huge)});
  ProcessResult r = d.moss({"evolve", "slug-tool", "--cycles", "4", "--json"});
  INFO(r.out << r.err);
  auto cycles = d.cycles(r);
  REQUIRE(cycles.size() == 4);
  CHECK(cycles[0]["attempt"]["outcome"] == "patch_refused");
  CHECK_THAT(cycles[0]["attempt"]["reason"].get<std::string>(), Contains("SDK"));
  CHECK(cycles[1]["attempt"]["outcome"] == "patch_refused");
  CHECK_THAT(cycles[1]["attempt"]["reason"].get<std::string>(), Contains("outside"));
  CHECK_THAT(cycles[2]["attempt"]["reason"].get<std::string>(), Contains("binary"));
  CHECK_THAT(cycles[3]["attempt"]["reason"].get<std::string>(), Contains("limit"));
  // Nothing was built or staged: the shipped version still serves alone.
  json versions = d.json_of({"versions", "slug-tool"});
  CHECK(versions.size() == 1);
}

TEST_CASE("a garbage LLM reply is recorded as llm_failed and the loop backs off",
          "[evolution][cli]") {
  Deployment d({reply("I am not sure what you mean."), reply(analysis("x"))},
               "llm_backoff_s = 3600\n");
  ProcessResult first = d.moss({"evolve", "slug-tool", "--json"});
  INFO(first.out << first.err);
  CHECK(first.exit_code == 1);
  auto cycles = d.cycles(first);
  REQUIRE(cycles.size() == 1);
  CHECK(cycles[0]["attempt"]["outcome"] == "llm_failed");
  CHECK_THAT(cycles[0]["attempt"]["reason"].get<std::string>(), Contains("invalid_reply"));

  ProcessResult second = d.moss({"evolve", "slug-tool"});
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.err, Contains("backing off after 1 failed LLM attempt"));
  // The failure it worked on is still recorded, with its pattern untouched.
  json failures = d.json_of({"failures", "slug-tool"});
  CHECK(failures["failures"].size() == 8);
}

TEST_CASE("an unreachable or silent LLM endpoint is recorded as llm_failed, with the reason",
          "[evolution][cli]") {
  SECTION("nothing listens on the port") {
    // Bind a port, then close it: nothing listens there now.
    int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ::close(probe);
    auto d = Deployment::with_openai(
        "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/v1",
        "llm_backoff_s = 3600\n");
    ProcessResult r = d->moss({"evolve", "slug-tool", "--json"});
    INFO(r.out << r.err);
    auto cycles = d->cycles(r);
    REQUIRE(cycles.size() == 1);
    CHECK(cycles[0]["attempt"]["outcome"] == "llm_failed");
    CHECK_THAT(cycles[0]["attempt"]["reason"].get<std::string>(), Contains("unavailable"));
    ProcessResult again = d->moss({"evolve", "slug-tool"});
    CHECK_THAT(again.err, Contains("backing off"));
  }
  SECTION("the endpoint accepts and never answers") {
    int silent = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(silent, 16) == 0);  // the kernel completes connections; nobody reads
    REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    auto d = Deployment::with_openai(
        "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/v1",
        "llm_backoff_s = 0\n");
    ProcessResult r = d->moss({"evolve", "slug-tool", "--json"});
    ::close(silent);
    INFO(r.out << r.err);
    auto cycles = d->cycles(r);
    REQUIRE(cycles.size() == 1);
    CHECK(cycles[0]["attempt"]["outcome"] == "llm_failed");
    CHECK_THAT(cycles[0]["attempt"]["reason"].get<std::string>(), Contains("deadline_exceeded"));
  }
}

TEST_CASE(
    "a missing compiler fails the build, the next cycle proceeds, and repeated build "
    "failures pause evolution",
    "[evolution][cli]") {
  Deployment d({reply(analysis("a")), fix_patch(), reply(analysis("b")), fix_patch()},
               "llm_backoff_s = 0\ncompiler = \"/nonexistent/c++\"\n"
               "max_consecutive_build_failures = 2\n");
  ProcessResult r = d.moss({"evolve", "slug-tool", "--cycles", "2", "--json"});
  INFO(r.out << r.err);
  auto cycles = d.cycles(r);
  REQUIRE(cycles.size() == 2);
  for (const json& c : cycles) {
    CHECK(c["attempt"]["outcome"] == "build_failed");
    CHECK_THAT(c["attempt"]["reason"].get<std::string>(),
               Contains("'/nonexistent/c++' is not installed"));
  }
  ProcessResult paused = d.moss({"evolve", "slug-tool"});
  CHECK(paused.exit_code == 1);
  CHECK_THAT(paused.err, Contains("paused: the last 2 attempts"));
}

TEST_CASE("a hanging build is killed at build_timeout_s and the candidate is rejected",
          "[evolution][cli]") {
  moss::test::TempDir tools;
  fs::path hang = script(tools, "hang-cc", "sleep 300");
  Deployment d({reply(analysis("a")), fix_patch()},
               "llm_backoff_s = 0\nbuild_timeout_s = 1\ncompiler = \"" + hang.string() + "\"\n");
  ProcessResult r = d.moss({"evolve", "slug-tool", "--json"});
  INFO(r.out << r.err);
  auto cycles = d.cycles(r);
  REQUIRE(cycles.size() == 1);
  CHECK(cycles[0]["attempt"]["outcome"] == "build_failed");
  CHECK_THAT(cycles[0]["attempt"]["reason"].get<std::string>(), Contains("timed out after 1"));
}

TEST_CASE(
    "a host killed mid-cycle leaves nothing half-promoted; the attempt is abandoned and "
    "the next cycle runs",
    "[evolution][cli]") {
  moss::test::TempDir tools;
  const fs::path marker = tools / "building";
  fs::path slow = script(tools, "slow-cc", "echo $$ > " + marker.string() + "\nexec sleep 300");
  Deployment d({reply(analysis("a")), fix_patch()},
               "llm_backoff_s = 0\ncompiler = \"" + slow.string() + "\"\n");
  auto argv = d.argv({"evolve", "slug-tool"});
  std::vector<char*> c_argv;
  for (auto& a : argv)
    c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, c_argv[0], nullptr, nullptr, c_argv.data(), environ) == 0);
  pid_t compiler = 0;
  for (int i = 0; i < 1200 && compiler == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream(marker) >> compiler;
  }
  REQUIRE(compiler > 0);
  ::kill(pid, SIGKILL);  // the host, mid-build
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::kill(compiler, SIGKILL);  // its orphaned compiler

  // The next start abandons the attempt and goes on (with no compiler this time, so that it
  // ends at once).
  d.write_config({reply(analysis("a")), fix_patch()},
                 "llm_backoff_s = 0\ncompiler = \"/nonexistent/c++\"\n");
  ProcessResult next = d.moss({"evolve", "slug-tool", "--json"});
  INFO(next.out << next.err);
  auto cycles = d.cycles(next);
  REQUIRE(cycles.size() == 1);
  CHECK(cycles[0]["attempt"]["outcome"] == "build_failed");
  auto attempts = d.attempts();
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[0]["outcome"] == "abandoned");
  CHECK_THAT(attempts[0]["reason"].get<std::string>(), Contains("stage 'build'"));
  // Nothing was half-promoted: the shipped version serves alone.
  json versions = d.json_of({"versions", "slug-tool"});
  REQUIRE(versions.size() == 1);
  CHECK(versions[0]["state"] == "active");
}

TEST_CASE("budgets: patches per day and LLM tokens per day stop the loop with the reason",
          "[evolution][cli]") {
  SECTION("max_patches_per_day") {
    Deployment d({reply(analysis("a")), fix_patch()},
                 "llm_backoff_s = 0\nmax_patches_per_day = 1\ncompiler = \"/nonexistent/c++\"\n");
    ProcessResult first = d.moss({"evolve", "slug-tool"});
    INFO(first.out << first.err);
    ProcessResult second = d.moss({"evolve", "slug-tool"});
    CHECK(second.exit_code == 1);
    CHECK_THAT(second.err, Contains("1 patches in the last 24 h (max_patches_per_day = 1)"));
  }
  SECTION("max_tokens_per_day") {
    Deployment d({reply(analysis("a"), 900, 200), reply("never sent")},
                 "llm_backoff_s = 0\nmax_tokens_per_day = 1000\n");
    ProcessResult first = d.moss({"evolve", "slug-tool", "--json"});
    INFO(first.out << first.err);
    auto cycles = d.cycles(first);
    REQUIRE(cycles.size() == 1);
    CHECK(cycles[0]["attempt"]["outcome"] == "llm_failed");
    CHECK_THAT(cycles[0]["attempt"]["reason"].get<std::string>(),
               Contains("token budget is spent"));
    CHECK(cycles[0]["attempt"]["prompt_tokens"] == 900);
    ProcessResult second = d.moss({"evolve", "slug-tool"});
    CHECK(second.exit_code == 1);
    CHECK_THAT(second.err, Contains("1100 LLM tokens in the last 24 h"));
  }
}

TEST_CASE("a tool call that breaks the plugin is recorded as a failure of the serving version",
          "[evolution][cli]") {
  Deployment d({});
  ProcessResult call =
      d.moss({"call", "slug-tool", R"({"text":"supercalifragilistic","max_length":3})"});
  CHECK(call.exit_code == 1);
  json failures = d.json_of({"failures", "slug-tool"})["failures"];
  REQUIRE(failures.size() == 1);
  CHECK(failures[0]["source"] == "tool_call");
  CHECK(failures[0]["version"].get<std::int64_t>() > 0);
  CHECK_THAT(failures[0]["error"].get<std::string>(), Contains("plugin_exception"));
  // The same call again counts an occurrence; it is not a new failure.
  d.moss({"call", "slug-tool", R"({"text":"supercalifragilistic","max_length":3})"});
  failures = d.json_of({"failures", "slug-tool"})["failures"];
  REQUIRE(failures.size() == 1);
  CHECK(failures[0]["occurrences"] == 2);
}

TEST_CASE("a plugin without a source folder is not evolvable, and says how to make it so",
          "[evolution][cli]") {
  Deployment d({});
  ProcessResult r = d.moss({"evolve", "ratchet-guard"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("not evolvable: set source"));
}

TEST_CASE("moss watch with auto_improve runs evolution rounds until it is stopped",
          "[evolution][cli][watch]") {
  Deployment d({reply(analysis("a")), fix_patch()},
               "llm_backoff_s = 0\nauto_improve_interval_s = 1\ncompiler = \"/nonexistent/c++\"\n");
  const fs::path out = d.dir() / "watch.jsonl";
  auto argv = d.argv({"watch", "--json"});
  std::vector<char*> c_argv;
  for (auto& a : argv)
    c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, c_argv[0], &actions, nullptr, c_argv.data(), environ) == 0);
  ::posix_spawn_file_actions_destroy(&actions);

  // Round 1 attempts a patch (its build fails: no compiler); round 2 finds the replay
  // script used up, which is an LLM failure like any other.
  std::vector<json> rounds;
  for (int i = 0; i < 1200 && rounds.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    rounds.clear();
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) {
      json event = json::parse(line, nullptr, false);
      if (event.is_object() && event.value("event", "") == "evolution") rounds.push_back(event);
    }
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(rounds.size() >= 2);
  CHECK(rounds[0]["plugin"] == "slug-tool");
  CHECK(rounds[0]["outcome"] == "build_failed");
  CHECK(rounds[1]["outcome"] == "llm_failed");
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
