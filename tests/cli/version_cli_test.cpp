// The version commands as an operator runs them: candidate add, evaluate, promote, rollback,
// ratchet and watch, through the real moss binary, with exit codes and messages.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "process.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::test::ProcessResult;
using moss::test::run_process;

namespace {

std::string variant(const std::string& name) {
  return std::string(MOSS_EVOLVABLE_DIR) + "/evolvable-" + name + ".so";
}

class Deployment {
 public:
  // `initial` is copied, so a test can rebuild the configured file in place.
  explicit Deployment(const std::string& initial) {
    std::filesystem::copy_file(variant(initial), dir_ / "doubler.so");
    std::ofstream(dir_ / "moss.toml")
        << "state_dir = \"state\"\n[logging]\nlevel = \"warn\"\n"
        << "[plugins.ratchet-guard]\npath = \"" << MOSS_PLUGINS_DIR << "/ratchet-guard.so\"\n"
        << "[plugins.doubler]\npath = \"doubler.so\"\neval = \"" << MOSS_EVOLVABLE_EVAL << "\"\n";
  }
  std::vector<std::string> argv(std::vector<std::string> args) const {
    args.insert(args.begin(), MOSS_BINARY);
    args.push_back("--config");
    args.push_back((dir_ / "moss.toml").string());
    return args;
  }
  ProcessResult moss(std::vector<std::string> args) const { return run_process(argv(args)); }
  nlohmann::json json(std::vector<std::string> args) const {
    args.push_back("--json");
    ProcessResult r = moss(args);
    INFO(r.err);
    return nlohmann::json::parse(r.out);
  }
  const moss::test::TempDir& dir() const { return dir_; }

 private:
  moss::test::TempDir dir_;
};

}  // namespace

TEST_CASE("candidate add, evaluate: a better version is promoted", "[cli][versions]") {
  Deployment d("worse");
  ProcessResult staged = d.moss({"candidate", "add", "doubler", variant("good")});
  INFO(staged.err);
  REQUIRE(staged.exit_code == 0);
  CHECK_THAT(staged.out, Contains("as a candidate of 'doubler'"));

  ProcessResult evaluated = d.moss({"evaluate", "doubler"});
  INFO(evaluated.err);
  CHECK(evaluated.exit_code == 0);
  CHECK_THAT(evaluated.out, Contains("ratchet:    NOMINAL"));
  CHECK_THAT(evaluated.out, Contains("decision:   promoted"));
  CHECK(d.json({"call", "doubler", R"({"n":12})"})["double"] == 24);
}

TEST_CASE("evaluate exits 1 when the candidate is rejected, and says why", "[cli][versions]") {
  Deployment d("good");
  REQUIRE(d.moss({"candidate", "add", "doubler", variant("crash")}).exit_code == 0);
  auto decision = d.json({"evaluate", "doubler"});
  CHECK(decision["action"] == "rejected");
  CHECK(decision["outcome"] == "crashed");
  CHECK(decision["detail"] == "SIGSEGV");
  CHECK(d.moss({"evaluate", "doubler"}).exit_code == 5);  // no candidate left
}

TEST_CASE("candidate add refuses files that are not compatible plugins with exit code 4",
          "[cli][versions]") {
  Deployment d("good");
  ProcessResult r = d.moss(
      {"candidate", "add", "doubler", std::string(MOSS_FIXTURE_DIR) + "/fixture-abi-major.so"});
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.err, Contains("ABI major mismatch"));
}

TEST_CASE("candidate add refuses the serving file itself", "[cli][versions]") {
  Deployment d("good");
  ProcessResult r = d.moss({"candidate", "add", "doubler", variant("good")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("identical to the serving version"));
}

TEST_CASE("rollback with nothing to return to exits 1 and changes nothing", "[cli][versions]") {
  Deployment d("good");
  REQUIRE(d.moss({"plugin", "list"}).exit_code == 0);
  auto before = d.json({"history"});
  ProcessResult r = d.moss({"rollback", "doubler"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("no previous version to roll back to"));
  CHECK(d.json({"history"}) == before);
}

TEST_CASE("promote --force, then rollback and rollback --to", "[cli][versions]") {
  Deployment d("good");
  REQUIRE(d.moss({"candidate", "add", "doubler", variant("worse")}).exit_code == 0);
  ProcessResult refused = d.moss({"promote", "doubler"});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Contains("--force"));
  auto forced = d.json({"promote", "doubler", "--force"});
  CHECK(forced["version"]["state"] == "active");
  CHECK(d.json({"call", "doubler", R"({"n":12})"})["double"] == -1);

  auto back = d.json({"rollback", "doubler"});
  CHECK(back["action"] == "rolled back");
  CHECK(d.json({"call", "doubler", R"({"n":12})"})["double"] == 24);
  auto to =
      d.json({"rollback", "doubler", "--to", std::to_string(forced["version"]["id"].get<int>())});
  CHECK(to["version"]["id"] == forced["version"]["id"]);
  CHECK(d.moss({"promote", "doubler", "--version", "9999"}).exit_code == 5);
}

TEST_CASE("ratchet shows the state and recent scores", "[cli][versions]") {
  Deployment d("worse");
  REQUIRE(d.moss({"candidate", "add", "doubler", variant("good")}).exit_code == 0);
  REQUIRE(d.moss({"evaluate", "doubler"}).exit_code == 0);
  auto ratchet = d.json({"ratchet", "doubler"});
  CHECK(ratchet["recorded"] == true);
  CHECK(ratchet["state"]["state"] == "NOMINAL");
  CHECK(ratchet["state"]["ratchet_point"] == 1.0);
  REQUIRE(ratchet["recent"].size() == 2);
  CHECK(ratchet["recent"][0]["purpose"] == "candidate");
  CHECK(ratchet["recent"][1]["purpose"] == "baseline");
  CHECK(ratchet["recent"][1]["score"] == 0.5);
}

TEST_CASE("a second process changing versions of the same state is refused", "[cli][versions]") {
  Deployment d("worse");
  REQUIRE(d.moss({"plugin", "list"}).exit_code == 0);
  // A watcher holds the state lock for as long as it runs.
  pid_t watcher = ::fork();
  REQUIRE(watcher >= 0);
  if (watcher == 0) {
    auto args = d.argv({"watch"});
    std::vector<char*> c_args;
    for (auto& a : args)
      c_args.push_back(a.data());
    c_args.push_back(nullptr);
    ::execv(c_args[0], c_args.data());
    ::_exit(127);
  }
  // The lock holder writes its pid into the lock file once it holds the lock.
  for (int attempt = 0; attempt < 300; ++attempt) {
    std::ifstream lock(d.dir() / "state" / "moss.lock");
    std::string pid;
    if (std::getline(lock, pid) && pid == std::to_string(watcher)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ProcessResult r = d.moss({"candidate", "add", "doubler", variant("good")});
  ::kill(watcher, SIGTERM);
  int status = 0;
  ::waitpid(watcher, &status, 0);
  CHECK(r.exit_code == 6);
  CHECK_THAT(r.err, Contains("another moss process (pid " + std::to_string(watcher) + ")"));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // SIGTERM ends the watcher cleanly
}

TEST_CASE("watch evaluates a rebuilt plugin file and hot-swaps it, never half-written",
          "[cli][watch]") {
  Deployment d("worse");
  pid_t watcher = ::fork();
  REQUIRE(watcher >= 0);
  std::string out_file = (d.dir() / "watch.out").string();
  if (watcher == 0) {
    int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    auto args = d.argv({"watch", "--json"});
    std::vector<char*> c_args;
    for (auto& a : args)
      c_args.push_back(a.data());
    c_args.push_back(nullptr);
    ::execv(c_args[0], c_args.data());
    ::_exit(127);
  }
  // The watcher's JSON lines, once there are `count` of them (or after a minute).
  auto lines = [&](std::size_t count) {
    std::vector<nlohmann::json> found;
    for (int attempt = 0; attempt < 600 && found.size() < count; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      found.clear();
      std::ifstream in(out_file);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) found.push_back(nlohmann::json::parse(line));
      }
    }
    return found;
  };
  auto ready = lines(1);
  REQUIRE(ready.size() == 1);
  REQUIRE(ready[0]["event"] == "watching");

  // Rebuild the configured file in two writes, as a slow linker would.
  std::string good;
  {
    std::ifstream in(variant("good"), std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(d.dir() / "doubler.so", std::ios::binary | std::ios::trunc);
    out.write(good.data(), static_cast<std::streamsize>(good.size() / 2));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  {
    std::ofstream out(d.dir() / "doubler.so", std::ios::binary | std::ios::trunc);
    out.write(good.data(), static_cast<std::streamsize>(good.size()));
  }
  auto all = lines(2);
  nlohmann::json decision = all.size() == 2 ? all[1] : nlohmann::json();
  ::kill(watcher, SIGTERM);
  ::waitpid(watcher, nullptr, 0);
  REQUIRE_FALSE(decision.is_null());
  CHECK(decision["action"] == "promoted");
  // Exactly one new version: the half-written file never became one.
  CHECK(d.json({"versions", "doubler"}).size() == 2);
}
