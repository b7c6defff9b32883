// SIGKILL at random points of repeated promote/rollback/evaluate cycles, 50 times. After
// every kill: the registry is consistent, a restarted host serves the last committed active
// version, and the Ratchet state belongs to the last committed verdict.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "config/config.hpp"
#include "logging/logging.hpp"
#include "registry/registry.hpp"
#include "runtime/plugin_manager.hpp"
#include "temp_dir.hpp"

namespace {

// Starts the driver and waits until it says it is ready (has started its cycles).
pid_t start_driver(const std::filesystem::path& dir) {
  int ready[2];
  if (::pipe(ready) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(ready[1], STDOUT_FILENO);
    ::close(ready[0]);
    std::string good = std::string(MOSS_EVOLVABLE_DIR) + "/evolvable-good.so";
    ::execl(MOSS_SWAP_DRIVER, MOSS_SWAP_DRIVER, dir.c_str(), good.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(ready[1]);
  char word[6] = {};
  std::size_t got = 0;
  while (got < 5) {
    ssize_t n = ::read(ready[0], word + got, 5 - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(ready[0]);
  return std::string(word) == "ready" ? pid : -1;
}

// The short sha the Ratchet's newest history entry names (ratchet-guard's state format).
std::string ratchet_last_version(const std::string& state_json) {
  auto state = nlohmann::json::parse(state_json);
  if (!state.contains("history") || state["history"].empty()) return "";
  return state["history"].back().value("version", "");
}

}  // namespace

TEST_CASE("50 SIGKILLs during version changes never leave the registry inconsistent",
          "[versions][kill]") {
  moss::test::TempDir dir;
  std::ofstream(dir / "moss.toml")
      << "state_dir = \"state\"\n"
      << "[plugins.ratchet-guard]\npath = \"" << MOSS_PLUGINS_DIR << "/ratchet-guard.so\"\n"
      << "[plugins.doubler]\npath = \"" << MOSS_EVOLVABLE_DIR << "/evolvable-good.so\"\n";
  moss::LoggingConfig quiet;
  quiet.level = "error";
  REQUIRE(moss::configure_logging(quiet, 0).ok());
  auto config = moss::load_config(dir / "moss.toml");
  REQUIRE(config.ok());

  std::mt19937 rng(20261124);
  std::uniform_int_distribution<int> delay_ms(5, 400);
  int changes_seen = 0;
  std::int64_t last_event = 0;
  for (int kill = 0; kill < 50; ++kill) {
    pid_t driver = start_driver(dir.path());
    REQUIRE(driver > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));  // mid-work
    ::kill(driver, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(driver, &status, 0) == driver);
    INFO("kill " << kill);
    REQUIRE(WIFSIGNALED(status));  // it died by our hand, not on its own

    auto registry = moss::Registry::open(config->registry_file());
    REQUIRE(registry.ok());
    moss::Status consistent = registry.value()->check_consistency();
    INFO(consistent.message());
    REQUIRE(consistent.ok());

    auto active = registry.value()->active_version("doubler");
    REQUIRE(active.ok());
    REQUIRE(active.value().has_value());
    {
      moss::PluginManager plugins(config.value(), *registry.value());
      REQUIRE(plugins.start() == 0);
      auto slot = plugins.slot("doubler");
      REQUIRE(slot.ok());
      CHECK(slot.value()->active()->version_id() == active.value()->id);
      CHECK(plugins.invoke_tool("doubler", R"({"n":4})").value() == R"({"double":8})");
    }

    auto state = registry.value()->ratchet_state("doubler");
    REQUIRE(state.ok());
    auto evaluations = registry.value()->evaluations("doubler", 50);
    REQUIRE(evaluations.ok());
    const moss::EvaluationRow* verdict = nullptr;
    for (const auto& e : evaluations.value()) {
      if (e.purpose == "candidate") {
        verdict = &e;
        break;
      }
    }
    if (verdict != nullptr) {
      REQUIRE(state.value().has_value());
      auto judged = registry.value()->version(verdict->version_id);
      REQUIRE(judged.ok());
      CHECK(ratchet_last_version(*state.value()) == judged->sha256.substr(0, 12));
    }
    auto events = registry.value()->events(std::nullopt, 1);
    REQUIRE(events.ok());
    if (!events->empty() && events->front().id != last_event) ++changes_seen;
    if (!events->empty()) last_event = events->front().id;
  }
  // Work was being done when the kills landed (a vacuous run would see no changes).
  CHECK(changes_seen >= 25);
}
