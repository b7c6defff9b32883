// moss.toml parsing with toml++. Unknown keys are errors (a typo must not silently fall back
// to a default), and every message carries file:line:column.
#include "config/config.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "config/toml_json.hpp"
#include "util/files.hpp"

namespace moss {
namespace {

SourcePosition position_of(const toml::source_region& region) {
  return SourcePosition{static_cast<std::uint32_t>(region.begin.line),
                        static_cast<std::uint32_t>(region.begin.column)};
}

const char* type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

// Collects diagnostics as "origin:line:column: message".
class Diagnostics {
 public:
  explicit Diagnostics(std::string origin) : origin_(std::move(origin)) {}

  void add(SourcePosition at, const std::string& message) {
    std::ostringstream line;
    line << origin_ << ":" << at.line << ":" << at.column << ": " << message;
    lines_.push_back(line.str());
  }
  void add(const toml::node& node, const std::string& message) {
    add(position_of(node.source()), message);
  }
  bool empty() const { return lines_.empty(); }
  Status to_status() const {
    std::string text;
    for (const std::string& line : lines_) {
      if (!text.empty()) text += "\n";
      text += line;
    }
    return Status(Code::invalid_argument, text);
  }

 private:
  std::string origin_;
  std::vector<std::string> lines_;
};

// Reads the keys of one fixed section and reports unknown ones when it goes out of scope.
class SectionReader {
 public:
  SectionReader(const toml::table* table, std::string section, Diagnostics& diagnostics)
      : table_(table), section_(std::move(section)), diagnostics_(diagnostics) {}
  ~SectionReader() {
    if (table_ == nullptr) return;
    for (auto&& [key, value] : *table_) {
      if (known_.count(std::string(key.str())) == 0) {
        std::string known_list;
        for (const std::string& k : known_)
          known_list += (known_list.empty() ? "" : ", ") + k;
        diagnostics_.add(position_of(key.source()), "unknown key '" + std::string(key.str()) +
                                                        "' in " + section_ +
                                                        " (known keys: " + known_list + ")");
      }
    }
  }

  // Marks `key` as known without reading it (it is read elsewhere).
  void allow(const std::string& key) { known_.insert(key); }

  void boolean(const char* key, bool& out) {
    if (const toml::node* node = find(key)) {
      if (auto v = node->value<bool>()) {
        out = *v;
      } else {
        wrong_type(*node, key, "a boolean");
      }
    }
  }

  void integer(const char* key, std::int64_t& out, std::int64_t min, std::int64_t max) {
    if (const toml::node* node = find(key)) {
      if (!node->is_integer()) return wrong_type(*node, key, "an integer");
      std::int64_t v = node->as_integer()->get();
      if (v < min || v > max) {
        diagnostics_.add(*node, qualified(key) + ": " + std::to_string(v) + " is out of range (" +
                                    std::to_string(min) + " to " + std::to_string(max) + ")");
        return;
      }
      out = v;
    }
  }

  // Accepts integers too: `threshold = 1` means 1.0.
  void number(const char* key, double& out, double min, double max) {
    if (const toml::node* node = find(key)) {
      if (!node->is_number()) return wrong_type(*node, key, "a number");
      double v = node->value<double>().value_or(0.0);
      if (!std::isfinite(v) || v < min || v > max) {
        std::ostringstream m;
        m << qualified(key) << ": " << v << " is out of range (" << min << " to " << max << ")";
        diagnostics_.add(*node, m.str());
        return;
      }
      out = v;
    }
  }

  void string(const char* key, std::string& out, std::initializer_list<const char*> allowed = {}) {
    if (const toml::node* node = find(key)) {
      if (!node->is_string()) return wrong_type(*node, key, "a string");
      std::string v = node->as_string()->get();
      if (allowed.size() > 0) {
        std::string list;
        bool ok = false;
        for (const char* a : allowed) {
          ok = ok || v == a;
          list += (list.empty() ? "" : ", ") + std::string(a);
        }
        if (!ok) {
          diagnostics_.add(*node, qualified(key) + ": '" + v + "' is not one of: " + list);
          return;
        }
      }
      out = v;
    }
  }

  void path(const char* key, std::filesystem::path& out, const std::filesystem::path& base) {
    std::string text;
    bool present = find(key) != nullptr;
    string(key, text);
    if (present && !text.empty()) out = resolve(text, base);
  }

  void string_list(const char* key, std::vector<std::string>& out) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    const toml::array* array = node->as_array();
    if (array == nullptr) return wrong_type(*node, key, "an array of strings");
    for (const toml::node& item : *array) {
      if (!item.is_string()) {
        wrong_type(item, key, "an array of strings");
        continue;
      }
      out.push_back(item.as_string()->get());
    }
  }

  void path_list(const char* key, std::vector<std::filesystem::path>& out,
                 const std::filesystem::path& base) {
    std::vector<std::string> texts;
    string_list(key, texts);
    for (const std::string& text : texts)
      out.push_back(resolve(text, base));
  }

  static std::filesystem::path resolve(const std::string& text, const std::filesystem::path& base) {
    std::filesystem::path p(text);
    if (!text.empty() && text[0] == '~') {
      if (const char* home = std::getenv("HOME")) p = std::filesystem::path(home) / text.substr(2);
    }
    return p.is_absolute() ? p.lexically_normal() : (base / p).lexically_normal();
  }

 private:
  const toml::node* find(const char* key) {
    known_.insert(key);
    return table_ == nullptr ? nullptr : table_->get(key);
  }
  std::string qualified(const char* key) const {
    return section_.empty() ? std::string(key) : section_ + " " + key;
  }
  void wrong_type(const toml::node& node, const char* key, const char* expected) {
    diagnostics_.add(node,
                     qualified(key) + ": expected " + expected + ", found " + type_name(node));
  }

  const toml::table* table_;
  std::string section_;
  Diagnostics& diagnostics_;
  std::set<std::string> known_;
};

const toml::table* section_table(const toml::table& root, const char* name,
                                 Diagnostics& diagnostics) {
  const toml::node* node = root.get(name);
  if (node == nullptr) return nullptr;
  if (!node->is_table()) {
    diagnostics.add(*node,
                    std::string("[") + name + "]: expected a table, found " + type_name(*node));
    return nullptr;
  }
  return node->as_table();
}

void read_plugins(const toml::table& root, const std::filesystem::path& base, Config& config,
                  Diagnostics& diagnostics) {
  const toml::table* plugins = section_table(root, "plugins", diagnostics);
  if (plugins == nullptr) return;
  for (auto&& [key, node] : *plugins) {
    const std::string instance(key.str());
    const std::string section = "[plugins." + instance + "]";
    if (!node.is_table()) {
      diagnostics.add(node, section + ": expected a table, found " + type_name(node));
      continue;
    }
    const toml::table& table = *node.as_table();
    PluginConfig plugin;
    plugin.instance = instance;
    plugin.position = position_of(key.source());

    bool valid_name = !instance.empty() && instance.size() <= 64;
    for (char c : instance) {
      valid_name = valid_name && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                                  c == '.' || c == '-');
    }
    if (!valid_name) {
      diagnostics.add(plugin.position,
                      section + ": instance names must be 1-64 characters of [A-Za-z0-9_.-]");
    }

    // Host keys are read here; the rest is the plugin's, validated later against its schema.
    toml::table settings;
    for (auto&& [k, v] : table) {
      bool host_key = false;
      for (const char* h : kHostPluginKeys)
        host_key = host_key || k.str() == h;
      if (!host_key) {
        settings.insert(k, v);
        plugin.setting_positions.emplace_back(std::string(k.str()), position_of(k.source()));
      }
    }
    {
      SectionReader reader(&table, section, diagnostics);
      for (auto&& [k, v] : settings)
        reader.allow(std::string(k.str()));
      reader.path("path", plugin.path, base);
      reader.boolean("enabled", plugin.enabled);
      reader.boolean("never_unload", plugin.never_unload);
      reader.path("eval", plugin.eval_dir, base);
      reader.path("source", plugin.source_dir, base);
    }
    if (plugin.path.empty() && config.plugin_dirs.empty()) {
      diagnostics.add(plugin.position,
                      section +
                          ": 'path' is required (or set plugin_dirs and name the table "
                          "after a plugin found there)");
    }
    plugin.settings_json = toml_to_json(settings);
    config.plugins.push_back(std::move(plugin));
  }
}

}  // namespace

std::filesystem::path default_state_dir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "moss";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".local" / "state" / "moss";
  }
  return std::filesystem::absolute("moss-state");
}

Result<Config> parse_config(std::string_view text, const std::filesystem::path& origin,
                            const std::filesystem::path& base_dir) {
  Diagnostics diagnostics(origin.string());
  toml::table root;
  try {
    root = toml::parse(text, origin.string());
  } catch (const toml::parse_error& e) {
    diagnostics.add(position_of(e.source()), std::string(e.description()));
    return diagnostics.to_status();
  }

  Config config;
  config.file = origin;
  config.state_dir = default_state_dir();
  {
    SectionReader top(&root, "the top level", diagnostics);
    top.path("state_dir", config.state_dir, base_dir);
    top.path_list("plugin_dirs", config.plugin_dirs, base_dir);
    top.string("llm_backend", config.llm_backend);
    for (const char* section : {"logging", "self_evolution", "ratchet", "evaluation",
                                "compiled_model", "speculative_planning", "security", "plugins"}) {
      top.allow(section);
    }
  }
  {
    SectionReader r(section_table(root, "logging", diagnostics), "[logging]", diagnostics);
    r.string("level", config.logging.level, {"trace", "debug", "info", "warn", "error", "off"});
    r.string("format", config.logging.format, {"text", "json"});
    r.path("file", config.logging.file_path, base_dir);
  }
  {
    auto& c = config.self_evolution;
    SectionReader r(section_table(root, "self_evolution", diagnostics), "[self_evolution]",
                    diagnostics);
    r.boolean("enabled", c.enabled);
    r.boolean("auto_improve", c.auto_improve);
    r.integer("max_patches_per_day", c.max_patches_per_day, 0, 100000);
    r.boolean("backup_before_patch", c.backup_before_patch);
    r.string("evolver", c.evolver);
    r.integer("auto_improve_interval_s", c.auto_improve_interval_s, 1, 7 * 86400);
    r.integer("max_tokens_per_day", c.max_tokens_per_day, 0, 1'000'000'000'000);
    r.number("max_cost_usd_per_day", c.max_cost_usd_per_day, 0.0, 1e9);
    r.integer("max_consecutive_build_failures", c.max_consecutive_build_failures, 1, 1000);
    r.integer("llm_backoff_s", c.llm_backoff_s, 0, 86400);
    r.string("compiler", c.compiler);
    r.string_list("build_flags", c.build_flags);
    r.integer("build_timeout_s", c.build_timeout_s, 1, 86400);
    r.path("sdk_include_dir", c.sdk_include_dir, base_dir);
  }
  {
    auto& c = config.ratchet;
    SectionReader r(section_table(root, "ratchet", diagnostics), "[ratchet]", diagnostics);
    r.number("initial_score", c.initial_score, 1e-9, 1.0);
    r.number("threshold", c.threshold, 1e-9, 1.0);
    r.integer("window_size", c.window_size, 1, 100000);
    r.integer("lock_threshold", c.lock_threshold, 1, 100000);
    r.integer("lock_duration_s", c.lock_duration_s, 0, 365LL * 24 * 3600);
    r.string("baseline_policy", c.baseline_policy, {"max", "ema"});
    r.string("guard", c.guard);
    r.string("mode", c.mode, {"single", "sampled"});
    r.integer("samples", c.samples, 2, 1000);
    r.number("confidence", c.confidence, 0.5, 0.999);
    r.integer("probation_calls", c.probation_calls, 0, 1'000'000'000);
    r.integer("probation_window", c.probation_window, 1, 1'000'000);
  }
  {
    auto& c = config.evaluation;
    SectionReader r(section_table(root, "evaluation", diagnostics), "[evaluation]", diagnostics);
    r.integer("cpu_s", c.cpu_s, 1, 24 * 3600);
    r.integer("memory_mb", c.memory_mb, 16, 1024 * 1024);
    r.integer("open_files", c.open_files, 16, 65536);
    r.integer("wall_s", c.wall_s, 1, 24 * 3600);
    r.integer("drain_ms", c.drain_ms, 0, 3600 * 1000);
  }
  {
    auto& c = config.compiled_model;
    SectionReader r(section_table(root, "compiled_model", diagnostics), "[compiled_model]",
                    diagnostics);
    r.boolean("enabled", c.enabled);
    r.number("complexity_threshold", c.complexity_threshold, 0.0, 1.0);
    r.boolean("fallback_to_full", c.fallback_to_full);
  }
  {
    auto& c = config.speculative_planning;
    SectionReader r(section_table(root, "speculative_planning", diagnostics),
                    "[speculative_planning]", diagnostics);
    r.boolean("enabled", c.enabled);
    r.integer("max_speculations", c.max_speculations, 0, 64);
    r.number("min_confidence", c.min_confidence, 0.0, 1.0);
  }
  {
    auto& c = config.security;
    SectionReader r(section_table(root, "security", diagnostics), "[security]", diagnostics);
    r.boolean("lcguard_enabled", c.lcguard_enabled);
    r.number("isolation_threshold", c.isolation_threshold, 0.0, 1e9);
    r.boolean("audit_all_kv_access", c.audit_all_kv_access);
  }
  read_plugins(root, base_dir, config, diagnostics);

  if (!diagnostics.empty()) return diagnostics.to_status();
  return config;
}

Result<Config> load_config(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text.ok()) return text.status();
  std::filesystem::path absolute = std::filesystem::absolute(file).lexically_normal();
  return parse_config(text.value(), file, absolute.parent_path());
}

}  // namespace moss
