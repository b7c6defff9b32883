// `moss` dispatch: finds the subcommand, parses its options with Boost.Program_options, and
// maps failures to the documented exit codes.
#include "cli/cli.hpp"

#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <moss/sdk/version.hpp>

#include "cli/common.hpp"
#include "logging/logging.hpp"
#include "registry/registry.hpp"
#include "runtime/plugin_manager.hpp"
#include "util/state_lock.hpp"

namespace moss::cli {
namespace {

constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0  success\n"
    "  1  the operation ran and failed\n"
    "  2  bad command line\n"
    "  3  invalid config file\n"
    "  4  plugin file refused (not a plugin, wrong ABI, truncated, ...)\n"
    "  5  no such plugin instance or version\n"
    "  6  registry unavailable (locked, read-only, full, corrupt)\n";

po::options_description global_options() {
  po::options_description global("Global options");
  global.add_options()("help,h", "show help for the command")(
      "config,c", po::value<std::string>(),
      "config file (default: $MOSS_CONFIG, ./moss.toml, /etc/moss/moss.toml)")(
      "state-dir", po::value<std::string>(), "state directory (overrides the config's state_dir)")(
      "json", po::bool_switch(), "machine-readable JSON output")(
      "verbose,v", po::value<std::vector<bool>>()->zero_tokens()->composing(),
      "more log output (repeatable)");
  return global;
}

std::vector<Command> all_commands() {
  std::vector<Command> commands;
  for (auto group :
       {plugin_commands(), plugin_new_commands(), plugin_test_commands(), config_commands(),
        registry_commands(), version_commands(), evolve_commands(), worker_commands()}) {
    for (auto& c : group)
      commands.push_back(std::move(c));
  }
  return commands;
}

std::string command_name(const Command& c) {
  std::string name;
  for (const auto& w : c.words)
    name += (name.empty() ? "" : " ") + w;
  return name;
}

void print_overview(std::ostream& out, const std::vector<Command>& commands) {
  out << "moss: host for self-evolving agent plugins\n\n"
         "Usage: moss COMMAND [OPTIONS] [ARGS]\n\nCommands:\n";
  std::size_t width = 0;
  for (const auto& c : commands) {
    if (!c.hidden) width = std::max(width, command_name(c).size() + 1 + c.arguments.size());
  }
  for (const auto& c : commands) {
    if (c.hidden) continue;
    std::string head = command_name(c) + " " + c.arguments;
    out << "  " << std::left << std::setw(static_cast<int>(width) + 2) << head << c.summary << "\n";
  }
  out << "\n"
      << global_options() << "\n"
      << kExitCodes << "\nRun `moss COMMAND --help` for a command's options.\n";
}

// Finds the longest command whose words are the first words of the command line, and
// removes those words from `args`. Global options may come before the command, so options
// (and the values of the global options that take one) are skipped while looking.
const Command* take_command(const std::vector<Command>& commands, std::vector<std::string>& args) {
  std::vector<std::size_t> word_positions;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-c" || arg == "--config" || arg == "--state-dir") {
      ++i;  // its value
    } else if (arg.empty() || arg[0] != '-') {
      word_positions.push_back(i);
    }
  }
  const Command* best = nullptr;
  for (const auto& c : commands) {
    if (c.words.size() > word_positions.size() || (best && best->words.size() >= c.words.size())) {
      continue;
    }
    bool equal = true;
    for (std::size_t w = 0; w < c.words.size(); ++w)
      equal = equal && args[word_positions[w]] == c.words[w];
    if (equal) best = &c;
  }
  if (best == nullptr) return nullptr;
  for (std::size_t w = best->words.size(); w-- > 0;) {
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(word_positions[w]));
  }
  return best;
}

}  // namespace

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case Code::ok: return kExitOk;
    case Code::not_found: return kExitNotFound;
    default: return kExitFailure;
  }
}

int fail(Context& context, const Status& status, int exit_code) {
  context.err << "moss: " << status.message() << "\n";
  return exit_code;
}

void print_json(Context& context, const nlohmann::json& value) {
  context.out << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string format_time(std::int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::ostringstream text;
  text << std::put_time(&utc, "%Y-%m-%d %H:%M:%S");
  return text.str();
}

Result<Config> Context::load_config() const {
  std::optional<std::filesystem::path> file;
  if (options.count("config")) {
    file = options["config"].as<std::string>();
  } else if (const char* env = std::getenv("MOSS_CONFIG"); env != nullptr && *env != '\0') {
    file = env;
  } else {
    for (const char* candidate : {"moss.toml", "/etc/moss/moss.toml"}) {
      std::error_code ec;
      if (std::filesystem::exists(candidate, ec)) {
        file = candidate;
        break;
      }
    }
  }
  Config config;
  if (file) {
    auto loaded = moss::load_config(*file);
    if (!loaded.ok()) return loaded.status();
    config = std::move(loaded.value());
  } else {
    config.state_dir = default_state_dir();
  }
  if (options.count("state-dir")) {
    config.state_dir = std::filesystem::absolute(options["state-dir"].as<std::string>());
  }
  Status logging = configure_logging(config.logging, verbosity);
  if (!logging.ok()) return logging;
  return config;
}

Session::Session() = default;
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;

int open_session(Context& context, Needs needs, Session& session) {
  auto config = context.load_config();
  if (!config.ok()) return fail(context, config.status(), kExitConfig);
  session.config = std::move(config.value());
  if (needs.lock_versions) {
    auto lock = StateLock::acquire(session.config.state_dir);
    if (!lock.ok()) return fail(context, lock.status(), kExitStorage);
    session.lock = std::move(lock.value());
  }
  auto registry = Registry::open(session.config.registry_file());
  if (!registry.ok()) return fail(context, registry.status(), kExitStorage);
  session.registry = std::move(registry.value());
  if (needs.load_plugins) {
    session.plugins = std::make_unique<PluginManager>(session.config, *session.registry);
    session.plugins->start();
  }
  return kExitOk;
}

int require_plugin(Context& context, Registry& registry, const std::string& plugin) {
  auto known = registry.plugin(plugin);
  return known.ok() ? kExitOk : fail(context, known.status(), exit_code_for(known.status()));
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<Command> commands = all_commands();
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    print_overview(std::cout, commands);
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "moss " << MOSS_VERSION << " (SDK ABI " << sdk::kAbiMajor << "." << sdk::kAbiMinor
              << ", " << sdk::kToolchain << ")\n";
    return kExitOk;
  }
  // Boost.Program_options cannot count repeated flags, so -v, -vv and --verbose are counted
  // (and removed) here.
  int verbosity = 0;
  std::erase_if(args, [&](const std::string& arg) {
    if (arg == "--verbose") return ++verbosity, true;
    if (arg.size() >= 2 && arg[0] == '-' && arg.find_first_not_of('v', 1) == std::string::npos) {
      verbosity += static_cast<int>(arg.size() - 1);
      return true;
    }
    return false;
  });
  const std::vector<std::string> original = args;
  const Command* command = take_command(commands, args);
  if (command == nullptr) {
    std::string shown;
    for (const auto& arg : original)
      shown += (shown.empty() ? "" : " ") + arg;
    std::cerr << "moss: unknown command in '" << shown << "'; run `moss --help` for the list\n";
    return kExitUsage;
  }

  po::options_description own(command_name(*command) + " options");
  po::positional_options_description positional;
  if (command->options) command->options(own, positional);
  po::options_description all;
  all.add(own).add(global_options());

  Context context{{}, false, 0, std::cout, std::cerr};
  auto usage_error = [&](const std::string& what) {
    std::cerr << "moss " << command_name(*command) << ": " << what << "\nUsage: moss "
              << command_name(*command) << " " << command->arguments << "\n";
    return kExitUsage;
  };
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(),
              context.options);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (context.options.count("help")) {
    std::cout << "Usage: moss " << command_name(*command) << " " << command->arguments << "\n\n"
              << command->summary << "\n";
    if (!command->details.empty()) std::cout << "\n" << command->details << "\n";
    std::cout << "\n" << own << "\n" << global_options() << "\n" << kExitCodes;
    return kExitOk;
  }
  try {
    po::notify(context.options);  // required arguments are checked here, after --help
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  context.json = context.options["json"].as<bool>();
  context.verbosity = verbosity;
  LoggingConfig quiet;
  Status logging = configure_logging(quiet, context.verbosity);
  (void)logging;  // stderr logging cannot fail to open
  try {
    return command->run(context);
  } catch (const std::exception& e) {
    std::cerr << "moss: internal error: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace moss::cli
