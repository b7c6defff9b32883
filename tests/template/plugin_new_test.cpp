// `moss plugin new` as an author runs it: the build tree's moss in a real child process,
// writing real files from the real template. Checks what is written, the exit codes and the
// messages of every refusal.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "process.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::test::ProcessResult;
using moss::test::run_process;
namespace fs = std::filesystem;

namespace {

const fs::path kSourceTemplate = fs::path(MOSS_SOURCE_DIR) / "sdk" / "template";

ProcessResult moss_in(const fs::path& cwd, std::vector<std::string> args,
                      const std::vector<std::string>& env = {},
                      const std::string& binary = MOSS_BINARY) {
  args.insert(args.begin(), binary);
  return run_process(args, env, cwd.string());
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every file under `dir`, relative, sorted.
std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A copy of the source tree's template that a test may change.
fs::path copy_template(const fs::path& to) {
  fs::create_directories(to);
  fs::copy(kSourceTemplate, to, fs::copy_options::recursive);
  return to;
}

const std::regex kLeftoverPlaceholder("@[A-Z][A-Z0-9_]*@");

}  // namespace

TEST_CASE("plugin new writes a tool project with the name substituted everywhere", "[template]") {
  moss::test::TempDir dir;
  ProcessResult r = moss_in(dir.path(), {"plugin", "new", "word-count", "--kind", "tool"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const fs::path project = dir / "word-count";
  CHECK(files_under(project) == std::vector<std::string>{".gitignore", "CMakeLists.txt",
                                                         "README.md", "eval/README.md",
                                                         "eval/cases.jsonl", "src/word-count.cpp",
                                                         "tests/word-count_test.cpp"});
  const std::string source = read(project / "src/word-count.cpp");
  CHECK_THAT(source, Contains("class WordCountTool {"));
  CHECK_THAT(source, Contains("MOSS_PLUGIN(\"word-count\", \"0.1.0\", kSettingsSchema, "
                              "moss::sdk::as_tool<WordCountTool>)"));
  CHECK_THAT(read(project / "CMakeLists.txt"), Contains("moss_add_plugin(word-count SOURCES "
                                                        "src/word-count.cpp"));
  CHECK_THAT(read(project / "tests/word-count_test.cpp"),
             Contains("#include \"../src/word-count.cpp\""));
  for (const std::string& file : files_under(project)) {
    INFO(file);
    CHECK_FALSE(std::regex_search(read(project / file), kLeftoverPlaceholder));
  }
  // What was created and what to run next.
  CHECK_THAT(r.out, Contains("Created the tool plugin 'word-count' (class WordCountTool)"));
  CHECK_THAT(r.out, Contains("  src/word-count.cpp\n"));
  CHECK_THAT(r.out, Contains("cmake -S word-count -B word-count/build"));
  CHECK_THAT(r.out, Contains("moss plugin test word-count/build/word-count.so --suite "
                             "word-count/eval"));
}

TEST_CASE("plugin new gives every kind its source, test, README and eval explanation",
          "[template]") {
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"tool", "as_tool<ThingTool>"},
      {"llm-backend", "as_llm_backend<ThingBackend>"},
      {"evolver", "as_evolver<ThingEvolver>"},
      {"guard", "as_guard<ThingGuard>"},
      {"compiler", "as_compiler<ThingCompiler>"},
      {"planner", "as_planner<ThingPlanner>"}};
  for (const auto& [kind, registration] : kinds) {
    INFO(kind);
    moss::test::TempDir dir;
    ProcessResult r = moss_in(dir.path(), {"plugin", "new", "thing", "--kind", kind, "--json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const nlohmann::json out = nlohmann::json::parse(r.out);
    CHECK(out["kind"] == kind);
    CHECK(out["dir"] == (dir / "thing").string());
    CHECK(out["template"] == kSourceTemplate.string());  // the build tree's moss
    const std::vector<std::string> files = files_under(dir / "thing");
    CHECK(out["files"] == nlohmann::json(files));
    CHECK(std::count(files.begin(), files.end(), "src/thing.cpp") == 1);
    CHECK(std::count(files.begin(), files.end(), "tests/thing_test.cpp") == 1);
    CHECK(std::count(files.begin(), files.end(), "README.md") == 1);
    CHECK(std::count(files.begin(), files.end(), "eval/README.md") == 1);
    CHECK(std::count(files.begin(), files.end(), "eval/cases.jsonl") == (kind == "tool"));
    CHECK_THAT(read(dir / "thing/src/thing.cpp"), Contains("moss::sdk::" + registration));
    CHECK_THAT(read(dir / "thing/eval/README.md"),
               Contains(kind == "tool" ? "cases.jsonl" : "this plugin's kind, " + kind + ","));
  }
}

TEST_CASE("plugin new derives the class name: CamelCase plus the kind, once", "[template]") {
  for (const auto& [name, kind, cls] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"word-tool", "tool", "WordTool"},
           {"x2-y", "guard", "X2YGuard"},
           {"a--b-", "planner", "ABPlanner"},
           {"local", "llm_backend", "LocalBackend"}}) {
    moss::test::TempDir dir;
    ProcessResult r = moss_in(dir.path(), {"plugin", "new", name, "--kind", kind, "--json"});
    INFO(name << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out)["class"] == cls);
    CHECK_THAT(read(dir / name / "src" / (name + ".cpp")), Contains("class " + cls + " {"));
  }
}

TEST_CASE("plugin new refuses an invalid name with exit code 2 and writes nothing", "[template]") {
  const std::string expected = "expected 1-64 characters of [a-z0-9-] starting with a letter";
  for (const auto& [name, found] : std::vector<std::pair<std::string, std::string>>{
           {"Word", "found 'W' first"},
           {"9lives", "found '9' first"},
           {"two words", "found ' ' at position 4"},
           {"snake_case", "found '_' at position 6"},
           {"dot.name", "found '.' at position 4"},
           {std::string(65, 'a'), "found 65 characters"},
           {"", "found an empty name"}}) {
    moss::test::TempDir dir;
    ProcessResult r = moss_in(dir.path(), {"plugin", "new", name, "--kind", "tool"});
    INFO(name);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("invalid plugin name '" + name + "': " + expected + ", " + found));
    CHECK(fs::is_empty(dir.path()));
  }
  moss::test::TempDir dir;
  ProcessResult r = moss_in(dir.path(), {"plugin", "new", "test", "--kind", "tool"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("'test' is a target name CMake reserves"));
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("plugin new refuses an unknown or missing kind with exit code 2", "[template]") {
  moss::test::TempDir dir;
  ProcessResult unknown = moss_in(dir.path(), {"plugin", "new", "p", "--kind", "wizard"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Contains("invalid plugin kind 'wizard': expected one of tool | "
                                   "llm-backend | evolver | guard | compiler | planner"));
  ProcessResult missing = moss_in(dir.path(), {"plugin", "new", "p"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("kind"));
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("plugin new refuses a folder that is not empty and leaves it as it was", "[template]") {
  moss::test::TempDir dir;
  fs::create_directories(dir / "mine");
  std::ofstream(dir / "mine" / "notes.txt") << "my notes\n";
  ProcessResult r = moss_in(dir.path(), {"plugin", "new", "p", "--kind", "tool", "--dir", "mine"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("cannot create the project in " + (dir / "mine").string() +
                             ": the folder exists and is not empty; nothing was written"));
  CHECK(files_under(dir / "mine") == std::vector<std::string>{"notes.txt"});
  CHECK(read(dir / "mine" / "notes.txt") == "my notes\n");
  // Nothing was left beside it either (no staging folder).
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);

  // The default folder, ./NAME, is held to the same rule.
  ProcessResult again = moss_in(dir.path(), {"plugin", "new", "mine", "--kind", "guard"});
  CHECK(again.exit_code == 1);
  CHECK(files_under(dir / "mine") == std::vector<std::string>{"notes.txt"});
}

TEST_CASE("plugin new refuses a file where the folder should be", "[template]") {
  moss::test::TempDir dir;
  std::ofstream(dir / "p") << "a file\n";
  ProcessResult r = moss_in(dir.path(), {"plugin", "new", "p", "--kind", "tool"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("it exists and is not a folder; nothing was written"));
  CHECK(read(dir / "p") == "a file\n");
}

TEST_CASE("plugin new writes into an empty folder and creates missing parents", "[template]") {
  moss::test::TempDir dir;
  fs::create_directories(dir / "empty");
  ProcessResult into_empty =
      moss_in(dir.path(), {"plugin", "new", "p", "--kind", "planner", "--dir", "empty"});
  CHECK(into_empty.exit_code == 0);
  CHECK(fs::exists(dir / "empty" / "src" / "p.cpp"));
  ProcessResult nested =
      moss_in(dir.path(), {"plugin", "new", "q", "--kind", "compiler", "--dir", "a/b/c"});
  CHECK(nested.exit_code == 0);
  CHECK(fs::exists(dir / "a" / "b" / "c" / "src" / "q.cpp"));
  CHECK_THAT(nested.out, Contains("cmake -S a/b/c -B a/b/c/build"));
}

TEST_CASE("plugin new without a template names the places it looked in", "[template]") {
  moss::test::TempDir dir;
  const fs::path nowhere = dir / "no-such-template";
  ProcessResult given =
      moss_in(dir.path(), {"plugin", "new", "p", "--kind", "tool", "--template", nowhere.string()});
  CHECK(given.exit_code == 1);
  CHECK_THAT(given.err, Contains("no plugin template found; looked in:\n  " + nowhere.string() +
                                 " (--template): does not exist"));
  CHECK_THAT(given.err, Contains("Install the moss-sdk-dev package"));

  ProcessResult from_env = moss_in(dir.path(), {"plugin", "new", "p", "--kind", "tool"},
                                   {"MOSS_TEMPLATE_DIR=" + nowhere.string()});
  CHECK(from_env.exit_code == 1);
  CHECK_THAT(from_env.err, Contains(nowhere.string() + " ($MOSS_TEMPLATE_DIR): does not exist"));

  fs::create_directories(dir / "not-a-template");
  ProcessResult not_one = moss_in(dir.path(), {"plugin", "new", "p", "--kind", "tool", "--template",
                                               (dir / "not-a-template").string()});
  CHECK(not_one.exit_code == 1);
  CHECK_THAT(not_one.err, Contains("is not a moss plugin template (no common/CMakeLists.txt)"));

  const fs::path partial = copy_template(dir / "partial");
  fs::remove_all(partial / "guard");
  ProcessResult no_kind = moss_in(
      dir.path(), {"plugin", "new", "p", "--kind", "guard", "--template", partial.string()});
  CHECK(no_kind.exit_code == 1);
  CHECK_THAT(no_kind.err, Contains("has no 'guard' kind (no guard/ folder)"));
  CHECK_FALSE(fs::exists(dir / "p"));
}

TEST_CASE("plugin new finds the installed template next to the executable first", "[template]") {
  // The installed layout, <root>/bin/moss and <root>/share/moss/template, at a place chosen
  // at run time, as when the packages are unpacked with dpkg -x.
  moss::test::TempDir root;
  fs::create_directories(root / "bin");
  fs::copy_file(MOSS_BINARY, root / "bin" / "moss");
  const fs::path installed = copy_template(root / "share" / "moss" / "template");
  std::ofstream(installed / "common" / ".gitignore", std::ios::app) << "/installed-marker/\n";

  moss::test::TempDir dir;
  const std::string moss = (root / "bin" / "moss").string();
  ProcessResult r =
      moss_in(dir.path(), {"plugin", "new", "p", "--kind", "tool", "--json"}, {}, moss);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["template"] == installed.string());
  CHECK_THAT(read(dir / "p" / ".gitignore"), Contains("/installed-marker/"));

  // $MOSS_TEMPLATE_DIR comes before it, and --template before both.
  const fs::path from_env = copy_template(dir / "env-template");
  const fs::path given = copy_template(dir / "given-template");
  ProcessResult env = moss_in(dir.path(), {"plugin", "new", "q", "--kind", "tool", "--json"},
                              {"MOSS_TEMPLATE_DIR=" + from_env.string()}, moss);
  CHECK(nlohmann::json::parse(env.out)["template"] == from_env.string());
  ProcessResult both = moss_in(
      dir.path(), {"plugin", "new", "r", "--kind", "tool", "--json", "--template", given.string()},
      {"MOSS_TEMPLATE_DIR=" + from_env.string()}, moss);
  CHECK(nlohmann::json::parse(both.out)["template"] == given.string());
}

TEST_CASE("plugin new refuses a template with an unknown placeholder and writes nothing",
          "[template]") {
  moss::test::TempDir dir;
  const fs::path broken = copy_template(dir / "broken");
  std::ofstream(broken / "tool" / "README.md", std::ios::app) << "Made by @AUTHOR@.\n";
  ProcessResult r =
      moss_in(dir.path(), {"plugin", "new", "p", "--kind", "tool", "--template", broken.string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains((broken / "tool" / "README.md").string() +
                             ": unknown placeholder @AUTHOR@ (known: @CLASS@, @KIND@, @NAME@, "
                             "@SDK_KIND@)"));
  CHECK_FALSE(fs::exists(dir / "p"));
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}
