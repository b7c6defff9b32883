// moss plugin new: writes a standalone plugin project (CMake, one source file, a test, an eval
// suite or its explanation, a README) from the template that moss-sdk-dev installs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <regex>

#include "cli/common.hpp"
#include "util/files.hpp"

namespace moss::cli {
namespace {

namespace fs = std::filesystem;

// What the command knows of each kind: its command-line spelling (also the folder under the
// template), the SDK's spelling, and the suffix its class name gets.
struct KindSpec {
  const char* name;
  const char* sdk_name;
  const char* class_suffix;
};

constexpr KindSpec kKinds[] = {
    {"tool", "tool", "Tool"},
    {"llm-backend", "llm_backend", "Backend"},
    {"evolver", "evolver", "Evolver"},
    {"guard", "guard", "Guard"},
    {"compiler", "compiler", "Compiler"},
    {"planner", "planner", "Planner"},
};

std::string kind_list() {
  std::string list;
  for (const KindSpec& k : kKinds)
    list += (list.empty() ? "" : " | ") + std::string(k.name);
  return list;
}

// The kind named on the command line; the SDK's spelling (llm_backend) is accepted too.
const KindSpec* find_kind(const std::string& name) {
  for (const KindSpec& k : kKinds) {
    if (name == k.name || name == k.sdk_name) return &k;
  }
  return nullptr;
}

// Target names CMake reserves; a plugin of that name would not configure.
constexpr const char* kReservedTargets[] = {
    "all",  "clean",      "help",          "install",        "package",
    "test", "edit_cache", "rebuild_cache", "package_source", "list_install_components",
};

// Empty if `name` is a valid plugin name, else why not.
std::string name_problem(const std::string& name) {
  const std::string expected = "expected 1-64 characters of [a-z0-9-] starting with a letter";
  if (name.empty()) return expected + ", found an empty name";
  if (name.size() > 64) {
    return expected + ", found " + std::to_string(name.size()) + " characters";
  }
  if (name[0] < 'a' || name[0] > 'z') {
    return expected + ", found '" + name.substr(0, 1) + "' first";
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return expected + ", found '" + std::string(1, c) + "' at position " + std::to_string(i + 1);
    }
  }
  for (const char* reserved : kReservedTargets) {
    if (name == reserved) {
      return "'" + name + "' is a target name CMake reserves; choose another name";
    }
  }
  return {};
}

// "word-count" -> "WordCount"; then the kind's suffix unless the name already ends with it.
std::string class_name(const std::string& name, const KindSpec& kind) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '-') {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  const std::string suffix = kind.class_suffix;
  if (out.size() < suffix.size() ||
      out.compare(out.size() - suffix.size(), suffix.size(), suffix) != 0) {
    out += suffix;
  }
  return out;
}

// The places the template may be, in the order they are tried.
struct TemplateCandidate {
  fs::path dir;
  std::string origin;  // "--template", "$MOSS_TEMPLATE_DIR", ...
  bool explicit_choice = false;
};

std::vector<TemplateCandidate> template_candidates(const Context& context) {
  std::vector<TemplateCandidate> out;
  if (std::string given = context.positional("template"); !given.empty()) {
    out.push_back({given, "--template", true});
  }
  if (const char* env = std::getenv("MOSS_TEMPLATE_DIR"); env != nullptr && *env != '\0') {
    out.push_back({env, "$MOSS_TEMPLATE_DIR", true});
  }
  // The installed layout, <prefix>/bin/moss and <prefix>/share/moss/template, from where this
  // executable really is, so an install unpacked under any root works.
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back({exe.parent_path().parent_path() / "share" / "moss" / "template",
                   "next to this executable"});
  }
#ifdef MOSS_SOURCE_TEMPLATE_DIR
  out.push_back({MOSS_SOURCE_TEMPLATE_DIR, "the moss source tree"});
#endif
  return out;
}

// Empty if `dir` holds a template for `kind`, else what is missing.
std::string template_problem(const fs::path& dir, const KindSpec& kind) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return "does not exist";
  if (!fs::is_directory(dir, ec)) return "is not a directory";
  if (!fs::is_regular_file(dir / "common" / "CMakeLists.txt", ec)) {
    return "is not a moss plugin template (no common/CMakeLists.txt)";
  }
  if (!fs::is_directory(dir / kind.name, ec)) {
    return std::string("has no '") + kind.name + "' kind (no " + kind.name + "/ folder)";
  }
  return {};
}

Result<fs::path> find_template(const Context& context, const KindSpec& kind) {
  std::string looked;
  for (const TemplateCandidate& c : template_candidates(context)) {
    const std::string problem = template_problem(c.dir, kind);
    if (problem.empty()) return c.dir;
    looked += "\n  " + c.dir.string() + " (" + c.origin + "): " + problem;
    // A place the user named is not silently passed over for another.
    if (c.explicit_choice) break;
  }
  return make_error(Code::not_found,
                    "no plugin template found; looked in:" + looked +
                        "\nInstall the moss-sdk-dev package (it puts the template in "
                        "<prefix>/share/moss/template), or name one with --template DIR or "
                        "$MOSS_TEMPLATE_DIR.");
}

// Replaces every @KEY@ of `values` in `text`. Anything else of the form @UPPER_CASE@ is an
// unknown placeholder, which is an error in the template, reported with `where`.
Result<std::string> substitute(const std::string& text,
                               const std::map<std::string, std::string>& values,
                               const std::string& where) {
  static const std::regex kPlaceholder("@([A-Z][A-Z0-9_]*)@");
  std::string out;
  out.reserve(text.size());
  std::size_t last = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kPlaceholder);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    auto value = values.find(m[1].str());
    if (value == values.end()) {
      std::string known;
      for (const auto& [key, v] : values)
        known += (known.empty() ? "@" : ", @") + key + "@";
      return make_error(Code::failed_precondition,
                        where + ": unknown placeholder " + m.str() + " (known: " + known + ")");
    }
    out.append(text, last, static_cast<std::size_t>(m.position(0)) - last);
    out += value->second;
    last = static_cast<std::size_t>(m.position(0) + m.length(0));
  }
  out.append(text, last, std::string::npos);
  return out;
}

// The template's files for `kind`, relative path -> source file: common/ first, then the
// kind's folder, whose files replace common ones of the same path.
Result<std::map<fs::path, fs::path>> template_files(const fs::path& dir, const KindSpec& kind) {
  std::map<fs::path, fs::path> files;
  for (const fs::path& root : {dir / "common", dir / kind.name}) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) files[fs::relative(it->path(), root)] = it->path();
    }
    if (ec) {
      return make_error(Code::failed_precondition,
                        "cannot read the template folder " + root.string() + ": " + ec.message());
    }
  }
  return files;
}

// Writes `data` to a new file; never replaces an existing one (O_EXCL).
Status write_new_file(const fs::path& file, const std::string& data) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return make_error(Code::failed_precondition, file.string() + ": " + errno_text());
  std::size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = make_error(Code::failed_precondition, file.string() + ": " + errno_text());
      ::close(fd);
      return error;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    return make_error(Code::failed_precondition, file.string() + ": " + errno_text());
  }
  return Status();
}

// Creates an empty folder next to `target` for the project to be written into before it is
// renamed to `target`.
Result<fs::path> make_staging_dir(const fs::path& target) {
  std::random_device random;
  for (int attempt = 0; attempt < 16; ++attempt) {
    fs::path staging = target.parent_path() / ("." + target.filename().string() + ".moss-new-" +
                                               std::to_string(random() % 1000000));
    if (::mkdir(staging.c_str(), 0777) == 0) return staging;
    if (errno != EEXIST) {
      return make_error(
          Code::failed_precondition,
          "cannot create a folder in " + target.parent_path().string() + ": " + errno_text());
    }
  }
  return make_error(Code::failed_precondition,
                    "cannot find a free temporary name in " + target.parent_path().string());
}

// Quotes `word` for a POSIX shell when it needs it, for the printed next steps.
std::string shell_word(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789-_./+=:,@%") == std::string::npos) {
    return word;
  }
  std::string out = "'";
  for (char c : word)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int plugin_new(Context& context) {
  const std::string name = context.positional("name");
  if (std::string problem = name_problem(name); !problem.empty()) {
    return fail(
        context,
        make_error(Code::invalid_argument, "invalid plugin name '" + name + "': " + problem),
        kExitUsage);
  }
  const std::string kind_arg = context.positional("kind");
  const KindSpec* kind = find_kind(kind_arg);
  if (kind == nullptr) {
    return fail(context,
                make_error(Code::invalid_argument, "invalid plugin kind '" + kind_arg +
                                                       "': expected one of " + kind_list()),
                kExitUsage);
  }

  // Where the project goes: --dir, else ./NAME. It may exist only as an empty folder.
  const std::string dir_arg = context.options.count("dir") ? context.positional("dir") : name;
  if (dir_arg.empty()) {
    return fail(context, make_error(Code::invalid_argument, "--dir must not be empty"), kExitUsage);
  }
  std::error_code ec;
  fs::path target = fs::absolute(dir_arg, ec).lexically_normal();
  if (!ec && !target.has_filename()) target = target.parent_path();  // "name/"
  // A symbolic link to an empty folder: the project goes into the folder it names.
  if (!ec) {
    const fs::file_type type = fs::symlink_status(target, ec).type();
    if (type == fs::file_type::not_found) ec.clear();  // the usual case
    if (type == fs::file_type::symlink) {
      fs::path resolved = fs::canonical(target, ec);
      if (!ec) target = resolved;
    }
  }
  if (ec) {
    return fail(context,
                make_error(Code::failed_precondition,
                           "cannot use " + dir_arg + " as the project folder: " + ec.message()),
                kExitFailure);
  }
  const bool exists = fs::exists(target, ec);
  if (exists && !fs::is_directory(target, ec)) {
    return fail(context,
                make_error(Code::failed_precondition,
                           "cannot create the project in " + target.string() +
                               ": it exists and is not a folder; nothing was written"),
                kExitFailure);
  }
  if (exists && !fs::is_empty(target, ec)) {
    return fail(context,
                make_error(Code::failed_precondition,
                           "cannot create the project in " + target.string() +
                               ": the folder exists and is not empty; nothing was written "
                               "(choose another folder with --dir)"),
                kExitFailure);
  }

  auto template_dir = find_template(context, *kind);
  if (!template_dir.ok()) return fail(context, template_dir.status(), kExitFailure);
  auto files = template_files(template_dir.value(), *kind);
  if (!files.ok()) return fail(context, files.status(), kExitFailure);

  const std::string cls = class_name(name, *kind);
  const std::map<std::string, std::string> values = {
      {"NAME", name}, {"CLASS", cls}, {"KIND", kind->name}, {"SDK_KIND", kind->sdk_name}};

  // Render everything before writing anything, so a template error leaves no trace.
  std::map<fs::path, std::string> rendered;
  for (const auto& [relative, source] : files.value()) {
    auto path = substitute(relative.string(), values, source.string() + " (its name)");
    if (!path.ok()) return fail(context, path.status(), kExitFailure);
    auto text = read_file(source);
    if (!text.ok()) return fail(context, text.status(), kExitFailure);
    auto content = substitute(text.value(), values, source.string());
    if (!content.ok()) return fail(context, content.status(), kExitFailure);
    rendered[fs::path(path.value())] = std::move(content.value());
  }

  // Write into a staging folder beside the target, then rename it into place: the project
  // appears whole or not at all, and rename(2) refuses to replace a folder that is not empty.
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    return fail(context,
                make_error(Code::failed_precondition,
                           "cannot create " + target.parent_path().string() + ": " + ec.message()),
                kExitFailure);
  }
  auto staging = make_staging_dir(target);
  if (!staging.ok()) return fail(context, staging.status(), kExitFailure);
  auto discard = [&](const Status& why) {
    std::error_code ignored;
    fs::remove_all(staging.value(), ignored);
    return fail(context, why, kExitFailure);
  };
  for (const auto& [relative, content] : rendered) {
    const fs::path file = staging.value() / relative;
    fs::create_directories(file.parent_path(), ec);
    if (ec) {
      return discard(
          make_error(Code::failed_precondition, file.parent_path().string() + ": " + ec.message()));
    }
    if (Status written = write_new_file(file, content); !written.ok()) return discard(written);
  }
  if (::rename(staging.value().c_str(), target.c_str()) != 0) {
    const std::string why =
        errno == ENOTEMPTY || errno == EEXIST ? "the folder is no longer empty" : errno_text();
    return discard(make_error(
        Code::failed_precondition,
        "cannot create the project in " + target.string() + ": " + why + "; nothing was written"));
  }

  // The next steps, with the folder as the user named it.
  const std::string dir = shell_word(fs::path(dir_arg).lexically_normal().string());
  const std::string build = shell_word((fs::path(dir_arg) / "build").lexically_normal().string());
  const std::string plugin_file =
      shell_word((fs::path(dir_arg) / "build" / (name + ".so")).lexically_normal().string());
  std::vector<std::string> next = {
      "cmake -S " + dir + " -B " + build + " -DCMAKE_BUILD_TYPE=RelWithDebInfo",
      "cmake --build " + build,
      "ctest --test-dir " + build + " --output-on-failure",
  };
  const bool has_suite = rendered.count(fs::path("eval") / "cases.jsonl") != 0;
  next.push_back(
      "moss plugin test " + plugin_file +
      (has_suite
           ? " --suite " + shell_word((fs::path(dir_arg) / "eval").lexically_normal().string())
           : ""));

  std::vector<std::string> created;
  for (const auto& [relative, content] : rendered)
    created.push_back(relative.string());
  if (context.json) {
    print_json(context, {{"name", name},
                         {"kind", kind->name},
                         {"class", cls},
                         {"dir", target.string()},
                         {"template", fs::absolute(template_dir.value()).string()},
                         {"files", created},
                         {"next", next}});
    return kExitOk;
  }
  auto& out = context.out;
  out << "Created the " << kind->name << " plugin '" << name << "' (class " << cls << ") in "
      << target.string() << ":\n";
  for (const auto& file : created)
    out << "  " << file << "\n";
  out << "\nNext, build it, run its tests and check it against the SDK's contract:\n";
  for (const auto& command : next)
    out << "  " << command << "\n";
  out << "\nThen load it into moss: " << shell_word((fs::path(dir_arg) / "README.md").string())
      << " has the moss.toml lines.\n";
  return kExitOk;
}

}  // namespace

std::vector<Command> plugin_new_commands() {
  std::vector<Command> commands;
  commands.push_back(
      {{"plugin", "new"},
       "NAME --kind KIND [--dir DIR] [--template DIR]",
       "Create a plugin project (CMake, source, test, eval suite, README) from the SDK template",
       "NAME is the plugin's name: 1-64 characters of [a-z0-9-] starting with a letter. It\n"
       "names the .so file, the CMake target and the plugin; the class is NAME in CamelCase\n"
       "with the kind as suffix (word-count, tool: WordCountTool).\n"
       "KIND is one of " +
           kind_list() +
           ".\n"
           "The project goes to DIR (default ./NAME), which must not exist or be an empty\n"
           "folder; nothing existing is ever overwritten. It builds against the installed SDK\n"
           "with find_package(moss-sdk).\n"
           "The template is taken from the first of: --template DIR, $MOSS_TEMPLATE_DIR,\n"
           "<this executable's folder>/../share/moss/template (installed by moss-sdk-dev),\n"
           "and the moss source tree this binary was built from. A folder named by --template\n"
           "or $MOSS_TEMPLATE_DIR must hold a template; the others are not tried then.\n"
           "Exit code 2 for an invalid name or kind; 1 if the folder is not empty or no\n"
           "template is found.",
       [](po::options_description& o, po::positional_options_description& p) {
         o.add_options()("name", po::value<std::string>()->required(), "plugin name")(
             "kind", po::value<std::string>()->required(), ("plugin kind: " + kind_list()).c_str())(
             "dir", po::value<std::string>(), "project folder (default: ./NAME)")(
             "template", po::value<std::string>(), "template folder (default: see above)");
         p.add("name", 1);
       },
       plugin_new});
  return commands;
}

}  // namespace moss::cli
