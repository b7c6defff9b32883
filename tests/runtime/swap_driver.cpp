// A host that changes versions as fast as it can, forever: the victim of the kill test.
// Usage: swap_driver DIR GOOD_SO (DIR holds moss.toml). It writes "ready" on stdout once it
// has started, so the killer can aim at the work rather than at the start-up. Each cycle stages a
// fresh candidate (the good fixture plus random trailing bytes, so every file is a new version),
// evaluates it with a scripted evaluator (no worker: the registry and the swap are under test), and
// now and then rolls back or promotes an older version again.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "config/config.hpp"
#include "logging/logging.hpp"
#include "registry/registry.hpp"
#include "runtime/plugin_manager.hpp"
#include "runtime/version_control.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: swap_driver DIR GOOD_SO\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  moss::LoggingConfig quiet;
  quiet.level = "error";
  (void)moss::configure_logging(quiet, 0);
  auto config = moss::load_config(dir / "moss.toml");
  if (!config.ok()) return 3;
  auto registry = moss::Registry::open(config->registry_file());
  if (!registry.ok()) return 4;
  moss::PluginManager plugins(config.value(), *registry.value());
  plugins.start();

  std::mt19937_64 rng(std::random_device{}());
  // Scores from the file's hash: the same version always gets the same score.
  auto evaluator = [](const moss::VersionRow& v, const std::string&) {
    moss::EvaluationRun run;
    run.score = (std::hash<std::string>{}(v.sha256) % 4 == 0) ? 0.5 : 1.0;
    run.passed = *run.score == 1.0 ? 20 : 10;
    run.total = 20;
    return moss::sdk::Result<moss::EvaluationRun>(run);
  };
  moss::VersionControl versions(plugins, *registry.value(), config.value(), "evolution", evaluator);
  if (!versions.abandon_interrupted().ok()) return 5;

  std::string good;
  {
    std::ifstream in(argv[2], std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::filesystem::create_directories(dir / "candidates");
  std::cout << "ready" << std::endl;
  for (std::uint64_t cycle = 0;; ++cycle) {
    auto file = dir / "candidates" / ("c" + std::to_string(rng()) + ".so");
    {
      std::ofstream out(file, std::ios::binary);
      out << good << rng();  // trailing bytes: a new sha256, the same plugin
    }
    if (versions.stage_candidate("doubler", file).ok()) (void)versions.evaluate("doubler");
    std::filesystem::remove(file);
    if (cycle % 3 == 1) (void)versions.rollback("doubler", std::nullopt);
    if (cycle % 5 == 2) {
      auto all = registry.value()->versions("doubler");
      if (all.ok()) {
        for (const auto& v : all.value()) {
          if (v.state == moss::VersionState::retired) {
            (void)versions.promote("doubler", v.id, false);
            break;
          }
        }
      }
    }
  }
}
