// moss.toml: the host's configuration. Every key, its type, range and default is documented
// in config/moss.toml; errors point at file:line:column.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "util/status.hpp"

namespace moss {

struct SourcePosition {
  std::uint32_t line = 0;  // 1-based; 0 when unknown (e.g. a default)
  std::uint32_t column = 0;
};

struct LoggingConfig {
  std::string level = "info";       // trace | debug | info | warn | error | off
  std::string format = "text";      // text | json (one JSON object per line)
  std::filesystem::path file_path;  // empty: standard error
};

// [self_evolution] (MOSS)
struct SelfEvolutionConfig {
  bool enabled = true;
  bool auto_improve = true;
  std::int64_t max_patches_per_day = 10;
  bool backup_before_patch = true;
  // Beyond the seed:
  std::string evolver;                         // the Evolver instance; empty: the only one loaded
  std::int64_t auto_improve_interval_s = 300;  // moss watch: seconds between evolution rounds
  std::int64_t max_tokens_per_day = 200000;    // LLM tokens per plugin per day; 0: no cap
  double max_cost_usd_per_day = 5.0;           // LLM cost per plugin per day; 0: no cap
  std::int64_t max_consecutive_build_failures = 3;  // then evolution of the plugin pauses
  std::int64_t llm_backoff_s = 30;        // wait after a failed LLM call, doubled per failure
  std::string compiler = "c++";           // the Builder's compiler driver
  std::vector<std::string> build_flags;   // added after the SDK's plugin flags
  std::int64_t build_timeout_s = 120;     // the build's process group is killed after this
  std::filesystem::path sdk_include_dir;  // empty: the SDK this host was built with
};

// [ratchet]
struct RatchetConfig {
  double initial_score = 0.8;
  double threshold = 0.95;
  std::int64_t window_size = 10;
  std::int64_t lock_threshold = 3;
  std::int64_t lock_duration_s = 300;
  std::string baseline_policy = "max";  // max | ema
  // Beyond the seed:
  std::string guard = "ratchet-guard";  // the Guard plugin instance whose library gates
  std::string mode = "single";          // single | sampled (interleaved runs, confidence interval)
  std::int64_t samples = 5;             // sampled: runs of baseline and of candidate
  double confidence = 0.95;             // sampled: level of the ratio's interval
  std::int64_t probation_calls = 0;     // > 0: keep the predecessor loaded for this many calls
  std::int64_t probation_window = 20;   // live calls per score fed to the Ratchet in probation
};

// Limits of the isolated evaluation worker ([evaluation]).
struct EvaluationConfig {
  std::int64_t cpu_s = 10;
  std::int64_t memory_mb = 1024;
  std::int64_t open_files = 64;
  std::int64_t wall_s = 30;
  std::int64_t drain_ms = 5000;  // how long a promotion waits for calls on the old version
};

// [compiled_model] (workflow compilation)
struct CompiledModelConfig {
  bool enabled = true;
  double complexity_threshold = 0.7;
  bool fallback_to_full = true;
};

// [speculative_planning] (IdleSpec)
struct SpeculativePlanningConfig {
  bool enabled = true;
  std::int64_t max_speculations = 3;
  double min_confidence = 0.6;
};

// [security] (LCGuard)
struct SecurityConfig {
  bool lcguard_enabled = true;
  double isolation_threshold = 0.8;
  bool audit_all_kv_access = true;
};

// One [plugins.<instance>] table.
struct PluginConfig {
  std::string instance;        // the table's name; unique
  std::filesystem::path path;  // the .so file (absolute, resolved against the config's folder)
  bool enabled = true;
  bool never_unload = false;
  std::filesystem::path eval_dir;    // its evaluation suite (a .jsonl file or a folder of them)
  std::filesystem::path source_dir;  // its source (holding src/): set to make it evolvable
  std::string settings_json = "{}";  // the plugin's own keys, as a JSON object
  SourcePosition position;           // where the table starts
  std::vector<std::pair<std::string, SourcePosition>> setting_positions;  // key -> where
};

struct Config {
  std::filesystem::path file;                      // the file it was read from; empty for defaults
  std::filesystem::path state_dir;                 // absolute
  std::vector<std::filesystem::path> plugin_dirs;  // absolute
  std::string llm_backend;  // instance serving HostServices::chat; empty: the only backend
  LoggingConfig logging;
  SelfEvolutionConfig self_evolution;
  RatchetConfig ratchet;
  EvaluationConfig evaluation;
  CompiledModelConfig compiled_model;
  SpeculativePlanningConfig speculative_planning;
  SecurityConfig security;
  std::vector<PluginConfig> plugins;  // in file order, then plugins found in plugin_dirs

  // The registry database and the content-addressed version store under state_dir.
  std::filesystem::path registry_file() const { return state_dir / "registry.db"; }
  std::filesystem::path versions_dir() const { return state_dir / "versions"; }
};

// Host-owned keys of a [plugins.<name>] table; every other key belongs to the plugin.
inline constexpr const char* kHostPluginKeys[] = {"path", "enabled", "never_unload", "eval",
                                                  "source"};

// The state directory used when a config does not set one: $XDG_STATE_HOME/moss, else
// ~/.local/state/moss, else ./moss-state.
std::filesystem::path default_state_dir();

// Reads and checks a config file. All problems found are reported together, one per line,
// each as "file:line:column: message".
Result<Config> load_config(const std::filesystem::path& file);

// Parses config text; `origin` is used as the file name in messages and `base_dir` to
// resolve relative paths.
Result<Config> parse_config(std::string_view text, const std::filesystem::path& origin,
                            const std::filesystem::path& base_dir);

}  // namespace moss
