// A test deployment of the host, shared by the runtime tests: a real registry file, the real
// ratchet-guard, one instance ("doubler") of fixture-evolvable loaded from its real file, and
// VersionControl with the real worker evaluator. Needs the MOSS_* paths runtime_tests defines.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "registry/registry.hpp"
#include "runtime/plugin_manager.hpp"
#include "runtime/version_control.hpp"
#include "runtime/worker_evaluator.hpp"
#include "temp_dir.hpp"

namespace moss::test {

// The file of one variant of fixture-evolvable ("good", "good-too", "worse", ...).
inline std::string variant(const std::string& name) {
  return std::string(MOSS_EVOLVABLE_DIR) + "/evolvable-" + name + ".so";
}

// A deployment with the ratchet-guard and one instance, "doubler", of fixture-evolvable.
class Deployment {
 public:
  explicit Deployment(const std::string& initial, const std::string& ratchet = "") {
    std::ofstream(dir_ / "moss.toml")
        << "state_dir = \"state\"\n"
        << "[ratchet]\n"
        << ratchet << "\n"
        << "[evaluation]\nwall_s = 20\ndrain_ms = 2000\n"
        << "[plugins.ratchet-guard]\npath = \"" << MOSS_PLUGINS_DIR << "/ratchet-guard.so\"\n"
        << "[plugins.doubler]\npath = \"" << variant(initial) << "\"\n"
        << "eval = \"" << MOSS_EVOLVABLE_EVAL << "\"\n";
    start();
  }

  // Everything a host process has, in order; called again to simulate a restart.
  void start() {
    versions_.reset();
    plugins_.reset();
    registry_.reset();
    auto config = moss::load_config(dir_ / "moss.toml");
    INFO(config.status().to_string());
    REQUIRE(config.ok());
    config_ = std::move(config.value());
    auto registry = moss::Registry::open(config_.registry_file(), opts());
    REQUIRE(registry.ok());
    registry_ = std::move(registry.value());
    plugins_ = std::make_unique<moss::PluginManager>(config_, *registry_);
    REQUIRE(plugins_->start() == 0);
    versions_ = std::make_unique<moss::VersionControl>(
        *plugins_, *registry_, config_, "cli",
        moss::make_worker_evaluator(config_, *plugins_, MOSS_BINARY));
    versions_->set_clock_for_testing([this] { return now_ms; });
  }

  moss::VersionControl& versions() { return *versions_; }
  moss::Registry& registry() { return *registry_; }
  moss::PluginManager& plugins() { return *plugins_; }
  const moss::Config& config() const { return config_; }

  // The tool's answer for n, from whatever version serves now.
  std::string call(int n) {
    auto result = plugins_->invoke_tool("doubler", "{\"n\":" + std::to_string(n) + "}");
    return result.ok() ? result.value() : "error: " + result.status().message();
  }

  moss::VersionRow stage(const std::string& name) {
    auto row = versions_->stage_candidate("doubler", variant(name));
    INFO(row.status().to_string());
    REQUIRE(row.ok());
    return row.value();
  }

  moss::GateDecision evaluate() {
    auto decision = versions_->evaluate("doubler");
    INFO(decision.status().to_string());
    REQUIRE(decision.ok());
    return decision.value();
  }

  moss::VersionState state_of(std::int64_t id) { return registry_->version(id)->state; }
  std::int64_t active_id() { return registry_->active_version("doubler").value()->id; }
  std::size_t event_count() { return registry_->events(std::nullopt, 100000)->size(); }

  std::int64_t now_ms = 1'800'000'000'000;
  std::int64_t max_page_count = 0;  // for the next start(): 0 keeps SQLite's limit

 private:
  moss::OpenOptions opts() {
    moss::OpenOptions o;
    o.now_ms = [this] { return now_ms; };
    o.busy_timeout_ms = 300;
    o.max_page_count = max_page_count;
    return o;
  }

  TempDir dir_;
  moss::Config config_;
  std::unique_ptr<moss::Registry> registry_;
  std::unique_ptr<moss::PluginManager> plugins_;
  std::unique_ptr<moss::VersionControl> versions_;
};

}  // namespace moss::test
