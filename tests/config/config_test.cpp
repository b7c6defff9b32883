// moss.toml parsing and plugin settings validation: defaults, and errors with file:line:column.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "config/plugin_settings.hpp"

using Catch::Matchers::Contains;

namespace {

moss::Config parse_ok(const std::string& text) {
  auto config = moss::parse_config(text, "moss.toml", "/etc/moss");
  INFO(config.status().message());
  REQUIRE(config.ok());
  return config.value();
}

std::string parse_error(const std::string& text) {
  auto config = moss::parse_config(text, "moss.toml", "/etc/moss");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == moss::Code::invalid_argument);
  return config.status().message();
}

}  // namespace

TEST_CASE("an empty config has the article's defaults", "[config]") {
  moss::Config c = parse_ok("");
  CHECK(c.self_evolution.enabled);
  CHECK(c.self_evolution.auto_improve);
  CHECK(c.self_evolution.max_patches_per_day == 10);
  CHECK(c.self_evolution.backup_before_patch);
  CHECK(c.ratchet.initial_score == 0.8);
  CHECK(c.ratchet.threshold == 0.95);
  CHECK(c.ratchet.window_size == 10);
  CHECK(c.ratchet.lock_threshold == 3);
  CHECK(c.ratchet.lock_duration_s == 300);
  CHECK(c.ratchet.baseline_policy == "max");
  CHECK(c.compiled_model.complexity_threshold == 0.7);
  CHECK(c.compiled_model.fallback_to_full);
  CHECK(c.speculative_planning.max_speculations == 3);
  CHECK(c.speculative_planning.min_confidence == 0.6);
  CHECK(c.security.isolation_threshold == 0.8);
  CHECK(c.security.audit_all_kv_access);
  CHECK(c.logging.level == "info");
  CHECK(c.plugins.empty());
}

TEST_CASE("sections and relative paths are read", "[config]") {
  moss::Config c = parse_ok(R"(
state_dir = "state"
plugin_dirs = ["plugins", "/opt/moss/plugins"]
[logging]
level = "debug"
format = "json"
[ratchet]
threshold = 0.9
lock_duration_s = 60
baseline_policy = "ema"
)");
  CHECK(c.state_dir == "/etc/moss/state");
  REQUIRE(c.plugin_dirs.size() == 2);
  CHECK(c.plugin_dirs[0] == "/etc/moss/plugins");
  CHECK(c.plugin_dirs[1] == "/opt/moss/plugins");
  CHECK(c.logging.format == "json");
  CHECK(c.ratchet.threshold == 0.9);
  CHECK(c.ratchet.lock_duration_s == 60);
  CHECK(c.ratchet.baseline_policy == "ema");
  CHECK(c.registry_file() == "/etc/moss/state/registry.db");
}

TEST_CASE("malformed TOML is reported with line and column", "[config]") {
  std::string error = parse_error("[ratchet]\nthreshold = = 0.9\n");
  CHECK_THAT(error, Contains("moss.toml:2:"));
}

TEST_CASE("an unknown key is an error that lists the known keys", "[config]") {
  std::string error = parse_error("[ratchet]\ntreshold = 0.9\n");
  CHECK_THAT(error, Contains("moss.toml:2:1: unknown key 'treshold' in [ratchet]"));
  CHECK_THAT(error, Contains("threshold"));
}

TEST_CASE("a value of the wrong type names the key and what was found", "[config]") {
  std::string error = parse_error("[self_evolution]\nmax_patches_per_day = \"ten\"\n");
  CHECK_THAT(error, Contains("moss.toml:2:23: [self_evolution] max_patches_per_day: expected an "
                             "integer, found a string"));
}

TEST_CASE("a value out of range is an error", "[config]") {
  CHECK_THAT(parse_error("[ratchet]\nthreshold = 1.5\n"),
             Contains("[ratchet] threshold: 1.5 is out of range (1e-09 to 1)"));
  CHECK_THAT(parse_error("[ratchet]\nbaseline_policy = \"min\"\n"),
             Contains("[ratchet] baseline_policy: 'min' is not one of: max, ema"));
}

TEST_CASE("all problems are reported together", "[config]") {
  std::string error =
      parse_error("[ratchet]\nthreshold = 2\nwindow_size = 0\n[logging]\nlevel = 1\n");
  CHECK_THAT(error, Contains("moss.toml:2:"));
  CHECK_THAT(error, Contains("moss.toml:3:"));
  CHECK_THAT(error, Contains("moss.toml:5:"));
}

TEST_CASE("a plugin table separates host keys from the plugin's settings", "[config][plugins]") {
  moss::Config c = parse_ok(R"(
[plugins.text]
path = "lib/text-tool.so"
never_unload = true
max_input_bytes = 100
[plugins.text.limits]
depth = 2
)");
  REQUIRE(c.plugins.size() == 1);
  const moss::PluginConfig& p = c.plugins[0];
  CHECK(p.instance == "text");
  CHECK(p.path == "/etc/moss/lib/text-tool.so");
  CHECK(p.enabled);
  CHECK(p.never_unload);
  CHECK(nlohmann::json::parse(p.settings_json) ==
        nlohmann::json{{"max_input_bytes", 100}, {"limits", {{"depth", 2}}}});
}

TEST_CASE("a plugin without a path needs plugin_dirs", "[config][plugins]") {
  CHECK_THAT(parse_error("[plugins.text]\nenabled = true\n"), Contains("'path' is required"));
  moss::Config c = parse_ok("plugin_dirs = [\"p\"]\n[plugins.text]\nenabled = false\n");
  CHECK(c.plugins[0].path.empty());
  CHECK_FALSE(c.plugins[0].enabled);
}

TEST_CASE("a plugin host key of the wrong type is an error", "[config][plugins]") {
  CHECK_THAT(parse_error("[plugins.text]\npath = 3\n"),
             Contains("[plugins.text] path: expected a string, found an integer"));
}

TEST_CASE("an instance name outside [A-Za-z0-9_.-] is refused", "[config][plugins]") {
  CHECK_THAT(parse_error("[plugins.\"a b\"]\npath = \"x.so\"\n"),
             Contains("instance names must be 1-64 characters"));
}

namespace {

const char* kSchema = R"({
  "type": "object",
  "properties": {
    "max_input_bytes": {"type": "integer", "minimum": 1, "default": 1048576},
    "mode": {"type": "string", "enum": ["fast", "exact"], "default": "exact"}
  },
  "additionalProperties": false
})";

}  // namespace

TEST_CASE("plugin settings get the schema's defaults", "[config][plugins]") {
  moss::Config c = parse_ok("[plugins.text]\npath = \"x.so\"\nmode = \"fast\"\n");
  auto settings = moss::resolve_plugin_settings(c, c.plugins[0], kSchema);
  REQUIRE(settings.ok());
  CHECK(nlohmann::json::parse(settings.value()) ==
        nlohmann::json{{"max_input_bytes", 1048576}, {"mode", "fast"}});
}

TEST_CASE("a plugin setting that violates the schema names the key and its line",
          "[config][plugins]") {
  moss::Config c = parse_ok("[plugins.text]\npath = \"x.so\"\n\nmax_input_bytes = \"big\"\n");
  auto settings = moss::resolve_plugin_settings(c, c.plugins[0], kSchema);
  REQUIRE_FALSE(settings.ok());
  CHECK_THAT(settings.status().message(),
             Contains("moss.toml:4:1: [plugins.text] max_input_bytes:"));
}

TEST_CASE("a plugin setting the schema does not declare is refused", "[config][plugins]") {
  moss::Config c = parse_ok("[plugins.text]\npath = \"x.so\"\nspeed = 3\n");
  auto settings = moss::resolve_plugin_settings(c, c.plugins[0], kSchema);
  REQUIRE_FALSE(settings.ok());
  CHECK_THAT(settings.status().message(), Contains("[plugins.text]"));
  CHECK_THAT(settings.status().message(), Contains("speed"));
}

TEST_CASE("an invalid plugin schema is reported as the plugin's fault", "[config][plugins]") {
  moss::Config c = parse_ok("[plugins.text]\npath = \"x.so\"\n");
  auto settings = moss::resolve_plugin_settings(c, c.plugins[0], R"({"type": 12})");
  REQUIRE_FALSE(settings.ok());
  CHECK_THAT(settings.status().message(), Contains("the plugin's config schema"));
}

TEST_CASE("the evolution keys: budgets, the Builder and a plugin's source folder", "[config]") {
  moss::Config c = parse_ok(R"(
[self_evolution]
evolver = "evo"
max_tokens_per_day = 1000
max_cost_usd_per_day = 0.5
max_consecutive_build_failures = 2
llm_backoff_s = 10
compiler = "clang++"
build_flags = ["-march=native", "-DX=1"]
build_timeout_s = 30
sdk_include_dir = "sdk/include"
[plugins.slug]
path = "slug.so"
source = "../src/slug"
)");
  const auto& se = c.self_evolution;
  CHECK(se.evolver == "evo");
  CHECK(se.max_tokens_per_day == 1000);
  CHECK(se.max_cost_usd_per_day == 0.5);
  CHECK(se.max_consecutive_build_failures == 2);
  CHECK(se.llm_backoff_s == 10);
  CHECK(se.compiler == "clang++");
  CHECK(se.build_flags == std::vector<std::string>{"-march=native", "-DX=1"});
  CHECK(se.build_timeout_s == 30);
  CHECK(se.sdk_include_dir == "/etc/moss/sdk/include");
  REQUIRE(c.plugins.size() == 1);
  CHECK(c.plugins[0].source_dir == "/etc/src/slug");
  CHECK(c.plugins[0].settings_json == "{}");  // `source` is the host's, not the plugin's

  CHECK_THAT(parse_error("[self_evolution]\nbuild_timeout_s = 0\n"),
             Contains("moss.toml:2:19: [self_evolution] build_timeout_s: 0 is out of range"));
  CHECK_THAT(parse_error("[self_evolution]\nbuild_flags = [\"-O3\", 3]\n"),
             Contains("build_flags"));
}
