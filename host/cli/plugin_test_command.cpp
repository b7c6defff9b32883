// moss plugin test: the conformance kit for plugin authors (evaluation/conformance.hpp).
#include <iomanip>

#include "cli/common.hpp"
#include "evaluation/conformance.hpp"
#include "runtime/worker_evaluator.hpp"

namespace moss::cli {
namespace {

// An eval/ folder beside the plugin file or one level up (a build folder inside the project).
std::optional<std::filesystem::path> find_suite(const std::filesystem::path& plugin_file) {
  std::filesystem::path folder = std::filesystem::absolute(plugin_file).parent_path();
  for (int up = 0; up < 2 && !folder.empty(); ++up, folder = folder.parent_path()) {
    std::error_code ec;
    if (std::filesystem::is_directory(folder / "eval", ec)) return folder / "eval";
  }
  return std::nullopt;
}

void print_report(Context& context, const ConformanceReport& report,
                  const std::filesystem::path& file) {
  auto& out = context.out;
  out << "plugin " << report.manifest.name << " " << report.manifest.version << " ("
      << kinds_to_string(report.manifest.kinds) << "): " << file.string() << "\n\n";
  std::size_t width = 0;
  for (const CheckResult& check : report.checks)
    width = std::max(width, check.id.size());
  std::size_t counts[4] = {};
  for (const CheckResult& check : report.checks) {
    ++counts[static_cast<int>(check.status)];
    const char* label =
        check.status == CheckStatus::failed ? "FAILED" : check_status_name(check.status);
    out << "  " << std::left << std::setw(8) << label << " " << std::setw(static_cast<int>(width))
        << check.id << "  " << check.detail << "\n";
  }
  out << "\n"
      << counts[static_cast<int>(CheckStatus::passed)] << " passed, "
      << counts[static_cast<int>(CheckStatus::failed)] << " failed, "
      << counts[static_cast<int>(CheckStatus::skipped)] << " skipped\n";
}

int test(Context& context) {
  auto config = context.load_config();
  if (!config.ok()) return fail(context, config.status(), kExitConfig);
  ConformanceTarget target;
  target.plugin_file = context.positional("file");
  if (context.options.count("settings")) target.settings_json = context.positional("settings");
  if (context.options.count("suite")) {
    target.suite = context.positional("suite");
  } else if (!context.options["no-suite"].as<bool>()) {
    target.suite = find_suite(target.plugin_file);
  }

  // Refusals that need no plugin code come first, with the loader's own message.
  auto inspection = inspect_plugin_file(target.plugin_file, /*hash=*/false);
  if (!inspection.ok()) return fail(context, inspection.status(), kExitPluginRefused);
  Status compatible = check_compatibility(inspection->manifest, target.plugin_file.string());
  if (!compatible.ok()) return fail(context, compatible, kExitPluginRefused);

  auto report = check_conformance(IsolatedEvaluator(worker_limits(config.value())), target,
                                  inspection->manifest);
  if (!report.ok()) return fail(context, report.status(), kExitFailure);
  if (context.json) {
    print_json(context, conformance_to_json(report.value()));
  } else {
    print_report(context, report.value(), target.plugin_file);
  }
  return report->passed() ? kExitOk : kExitFailure;
}

}  // namespace

std::vector<Command> plugin_test_commands() {
  std::vector<Command> commands;
  commands.push_back(
      {{"plugin", "test"},
       "FILE",
       "Check a plugin file against the SDK's contract, in an isolated worker, then run its "
       "eval suite",
       "Loads FILE in a child process under the [evaluation] limits and checks: the descriptor,\n"
       "that the config schema is valid JSON Schema, that every kind initialises, and per kind\n"
       "that methods never throw across the boundary, that invalid input gets an error and not\n"
       "a crash, a Tool's name and inputSchema, and that Guard and Planner state round-trips.\n"
       "A check that crashes or hangs the worker fails with the reason; the rest still run.\n"
       "Then the eval suite (--suite, else an eval/ folder beside FILE or one level up) runs\n"
       "as `moss evaluate` would run it. host/evaluation/README.md lists every check.\n"
       "Exit code 0 if no check failed, 1 if one did, 4 if FILE is not a compatible plugin.",
       [](po::options_description& o, po::positional_options_description& p) {
         o.add_options()("file", po::value<std::string>()->required(), "plugin .so file")(
             "suite", po::value<std::string>(), "eval suite: a .jsonl file or an eval/ folder")(
             "no-suite", po::bool_switch(), "do not look for an eval suite")(
             "settings", po::value<std::string>(),
             "the plugin's settings as a JSON object (default {}; the schema's defaults apply)");
         p.add("file", 1);
       },
       test});
  return commands;
}

}  // namespace moss::cli
