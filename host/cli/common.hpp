// What every subcommand shares: parsed options, config and registry access, output helpers.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "config/config.hpp"
#include "util/status.hpp"

namespace moss {
class PluginManager;
class Registry;
class StateLock;
}  // namespace moss

namespace moss::cli {

namespace po = boost::program_options;

struct Context {
  po::variables_map options;
  bool json = false;
  int verbosity = 0;
  std::ostream& out;
  std::ostream& err;

  // The config named by --config, $MOSS_CONFIG, ./moss.toml or /etc/moss/moss.toml, in
  // that order; defaults if there is none. --state-dir overrides its state_dir.
  Result<Config> load_config() const;

  std::string positional(const char* name) const {
    return options.count(name) ? options[name].as<std::string>() : std::string();
  }
};

// What a command works on: the config, its registry and, if asked for, the version lock
// and the loaded plugins.
struct Session {
  Session();
  ~Session();
  Session(Session&&) noexcept;
  Config config;
  std::unique_ptr<StateLock> lock;  // Needs::lock_versions
  std::unique_ptr<Registry> registry;
  std::unique_ptr<PluginManager> plugins;  // Needs::load_plugins
};

struct Needs {
  bool lock_versions = false;  // this process will change plugin versions
  bool load_plugins = false;
};

// Opens what `needs` asks for, in order: config, state lock, registry, plugins. On failure
// it prints why and returns the exit code; kExitOk otherwise.
int open_session(Context& context, Needs needs, Session& session);

// kExitOk if the registry knows `plugin`; else prints why and returns the exit code.
int require_plugin(Context& context, Registry& registry, const std::string& plugin);

struct Command {
  std::vector<std::string> words;  // e.g. {"plugin", "inspect"}
  std::string arguments;           // e.g. "FILE"
  std::string summary;             // one line
  std::string details;             // shown by --help
  // Adds the command's own options and positional arguments.
  std::function<void(po::options_description&, po::positional_options_description&)> options;
  std::function<int(Context&)> run;
  bool hidden = false;  // internal (the eval worker): not listed by `moss --help`
};

std::vector<Command> plugin_commands();
std::vector<Command> plugin_new_commands();   // plugin_new_command.cpp
std::vector<Command> plugin_test_commands();  // plugin_test_command.cpp
std::vector<Command> config_commands();
std::vector<Command> registry_commands();
std::vector<Command> version_commands();
std::vector<Command> evolve_commands();
std::vector<Command> worker_commands();

// Prints an error ("moss: message") and returns the exit code for its status code.
int fail(Context& context, const Status& status, int exit_code);
// The exit code a status maps to when nothing more specific applies.
int exit_code_for(const Status& status);

// Writes `value` as indented JSON followed by a newline.
void print_json(Context& context, const nlohmann::json& value);

// A left-aligned text table.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const;
  bool empty() const { return rows_.size() <= 1; }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "2026-11-24 10:00:00" (UTC) from Unix milliseconds.
std::string format_time(std::int64_t unix_ms);

}  // namespace moss::cli
