#include "evolution/builder.hpp"

#include <algorithm>
#include <system_error>

#include "evolution/build_flags.hpp"
#include "util/subprocess.hpp"

namespace moss {
namespace {

namespace fs = std::filesystem;

struct SdkPaths {
  fs::path include_dir;
  fs::path version_script;
};

// The configured SDK, else the installed one beside this host, else the source tree's.
Result<SdkPaths> find_sdk(const BuildSettings& settings) {
  std::error_code ec;
  auto has_sdk = [&](const fs::path& include) {
    return fs::exists(include / "moss/sdk/sdk.hpp", ec);
  };
  if (!settings.sdk_include_dir.empty()) {
    if (!has_sdk(settings.sdk_include_dir)) {
      return Status(Code::failed_precondition, "sdk_include_dir " +
                                                   settings.sdk_include_dir.string() +
                                                   " does not hold moss/sdk/sdk.hpp");
    }
    fs::path map = settings.sdk_include_dir.parent_path() / "cmake/moss-plugin.map";
    if (!fs::exists(map, ec)) map = build_flags::kInstalledSdkMap;
    return SdkPaths{settings.sdk_include_dir, map};
  }
  const std::pair<const char*, const char*> candidates[] = {
      {build_flags::kInstalledSdkInclude, build_flags::kInstalledSdkMap},
      {build_flags::kSourceSdkInclude, build_flags::kSourceSdkMap},
  };
  for (const auto& [include, map] : candidates) {
    if (has_sdk(include) && fs::exists(map, ec)) return SdkPaths{include, map};
  }
  return Status(Code::failed_precondition,
                std::string("cannot find the moss SDK to build against (looked in ") +
                    build_flags::kInstalledSdkInclude + " and " + build_flags::kSourceSdkInclude +
                    "); install moss-sdk-dev or set [self_evolution] sdk_include_dir");
}

std::vector<fs::path> source_files(const fs::path& source_dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(source_dir / "src", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".cpp") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string join(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& w : words)
    line += (line.empty() ? "" : " ") + w;
  return line;
}

}  // namespace

BuildSettings build_settings(const Config& config) {
  BuildSettings settings;
  settings.compiler = config.self_evolution.compiler;
  settings.extra_flags = config.self_evolution.build_flags;
  settings.timeout = std::chrono::seconds(config.self_evolution.build_timeout_s);
  settings.sdk_include_dir = config.self_evolution.sdk_include_dir;
  return settings;
}

Result<std::vector<std::string>> build_command(const BuildSettings& settings,
                                               const fs::path& source_dir, const fs::path& output) {
  auto sdk = find_sdk(settings);
  if (!sdk.ok()) return sdk.status();
  std::vector<fs::path> sources = source_files(source_dir);
  if (sources.empty()) {
    return Status(Code::failed_precondition,
                  "no .cpp file under " + (source_dir / "src").string() + " to build");
  }
  std::vector<std::string> command;
  if (settings.use_ccache && !find_in_path("ccache").empty()) command.push_back("ccache");
  command.push_back(settings.compiler);
  command.insert(command.end(), {"-std=c++20", "-O2", "-Wall", "-Wextra", "-shared"});
  for (const char* flag : build_flags::kPluginCompileFlags)
    command.push_back(flag);
  command.push_back("-I" + sdk->include_dir.string());
  for (const char* include : build_flags::kDependencyIncludes) {
    if (include != nullptr) command.push_back(std::string("-isystem") + include);
  }
  command.push_back("-I" + (source_dir / "src").string());
  command.insert(command.end(), settings.extra_flags.begin(), settings.extra_flags.end());
  for (const fs::path& source : sources)
    command.push_back(source.string());
  command.push_back("-Wl,--version-script=" + sdk->version_script.string());
  if (build_flags::kLinkNoUndefined) command.push_back("-Wl,-z,defs");
  command.push_back("-o");
  command.push_back(output.string());
  return command;
}

Result<BuildOutcome> build_plugin(const BuildSettings& settings, const fs::path& source_dir,
                                  const fs::path& output) {
  std::error_code ec;
  fs::create_directories(output.parent_path(), ec);
  if (ec) {
    return Status(Code::failed_precondition,
                  "cannot create " + output.parent_path().string() + ": " + ec.message());
  }
  const fs::path partial = output.string() + ".partial";
  auto command = build_command(settings, source_dir, partial);
  if (!command.ok()) return command.status();

  BuildOutcome outcome;
  outcome.log = "$ " + join(command.value()) + "\n";
  // ccache would run and fail in its place, with a less direct message.
  if (find_in_path(settings.compiler).empty()) {
    outcome.reason = "the compiler '" + settings.compiler + "' is not installed (not in PATH)";
    outcome.log += outcome.reason + "\n";
    return outcome;
  }
  SubprocessOptions options;
  options.timeout = settings.timeout;
  options.cwd = source_dir;
  options.max_output_bytes = 256 * 1024;
  auto ran = run_subprocess(command.value(), options);
  if (!ran.ok()) {  // the compiler (or ccache) is not installed: the candidate cannot build
    outcome.reason = ran.status().message();
    outcome.log += outcome.reason + "\n";
    return outcome;
  }
  outcome.elapsed_ms = ran->elapsed_ms;
  outcome.log += ran->out + ran->err;
  if (!ran->succeeded()) {
    outcome.reason = "the compiler failed: " + ran->describe(settings.timeout);
    fs::remove(partial, ec);
    return outcome;
  }
  fs::rename(partial, output, ec);
  if (ec) {
    return Status(Code::internal, "cannot rename " + partial.string() + " to " + output.string() +
                                      ": " + ec.message());
  }
  outcome.ok = true;
  return outcome;
}

}  // namespace moss
