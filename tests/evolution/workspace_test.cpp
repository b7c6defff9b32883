// The workspace on real bare repositories on disk: snapshots, the three patch forms, the
// refusals (and that a refusal commits nothing), diffs, checkout and reopening.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "evolution/workspace.hpp"
#include "temp_dir.hpp"

namespace moss {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace fs = std::filesystem;

const std::string kA =
    "#include \"b.hpp\"\n"
    "\n"
    "int one() { return 1; }\n"
    "\n"
    "int two() { return 2; }\n"
    "\n"
    "int three() { return 3; }\n";
const std::string kB = "#pragma once\nint one();\nint two();\nint three();\n";

void write(const fs::path& file, const std::string& content) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, std::string> as_map(const std::vector<sdk::SourceFile>& files) {
  std::map<std::string, std::string> map;
  for (const auto& file : files)
    map[file.path] = file.content;
  return map;
}

sdk::Patch patch_of(sdk::PatchFormat format, std::string path, std::string body) {
  sdk::Patch patch;
  patch.format = format;
  patch.path = std::move(path);
  patch.body = std::move(body);
  patch.description = "test";
  return patch;
}

sdk::Patch diff_patch(std::string body) {
  return patch_of(sdk::PatchFormat::unified_diff, "src/a.cpp", std::move(body));
}

// A plugin source tree (src/ plus things that are not source) snapshotted into a fresh
// repository.
struct Plugin {
  test::TempDir temp;
  fs::path source = temp / "plugin";
  fs::path git_dir = temp / "state" / "workspaces" / "plugin.git";
  Workspace workspace;
  std::string base;

  Plugin() {
    write(source / "src" / "a.cpp", kA);
    write(source / "src" / "b.hpp", kB);
    write(source / "eval" / "cases.jsonl", "{\"id\":\"c1\"}\n");
    write(source / "CMakeLists.txt", "moss_add_plugin(plugin SOURCES src/a.cpp)\n");
    Result<Workspace> opened = Workspace::open(git_dir);
    INFO(opened.status().to_string());
    REQUIRE(opened.ok());
    workspace = std::move(opened).value();
    Result<std::string> id = workspace.snapshot(source, "", "initial");
    INFO(id.status().to_string());
    REQUIRE(id.ok());
    base = *id;
  }

  std::map<std::string, std::string> files_of(const std::string& commit) {
    Result<std::vector<sdk::SourceFile>> files = workspace.files(commit);
    INFO(files.status().to_string());
    REQUIRE(files.ok());
    return as_map(*files);
  }

  std::string applied(const sdk::Patch& patch, const PatchRules& rules = {}) {
    Result<std::string> id = workspace.apply(base, patch, "change", rules);
    INFO(id.status().to_string());
    REQUIRE(id.ok());
    Result<std::string> parent = workspace.parent_of(*id);
    REQUIRE(parent.ok());
    CHECK(*parent == base);
    return *id;
  }

  // The refusal message; checks that the refusal left no commit and no reference behind.
  std::string refused(const sdk::Patch& patch, const PatchRules& rules = {}) {
    Result<std::vector<std::string>> before = workspace.commits();
    REQUIRE(before.ok());
    Result<std::string> latest_before = workspace.latest();
    Result<std::string> id = workspace.apply(base, patch, "change", rules);
    REQUIRE_FALSE(id.ok());
    CHECK(id.status().code() == Code::invalid_argument);
    Result<std::vector<std::string>> after = workspace.commits();
    REQUIRE(after.ok());
    CHECK(*after == *before);
    CHECK(*workspace.latest() == *latest_before);
    return id.status().message();
  }
};

// --- snapshots -----------------------------------------------------------------------------

TEST_CASE("a snapshot holds the files under src/ and nothing else") {
  Plugin plugin;
  CHECK(plugin.base.size() == 40);
  std::map<std::string, std::string> files = plugin.files_of(plugin.base);
  CHECK(files == std::map<std::string, std::string>{{"src/a.cpp", kA}, {"src/b.hpp", kB}});
  CHECK(*plugin.workspace.parent_of(plugin.base) == "");
}

TEST_CASE("a snapshot skips symlinks and .git folders") {
  Plugin plugin;
  fs::create_symlink(plugin.source / "CMakeLists.txt", plugin.source / "src" / "link.txt");
  write(plugin.source / "src" / ".git" / "config", "[core]\n");
  Result<std::string> id = plugin.workspace.snapshot(plugin.source, plugin.base, "again");
  REQUIRE(id.ok());
  CHECK(*id == plugin.base);
}

TEST_CASE("an unchanged snapshot returns its parent and commits nothing") {
  Plugin plugin;
  Result<std::string> again = plugin.workspace.snapshot(plugin.source, plugin.base, "again");
  REQUIRE(again.ok());
  CHECK(*again == plugin.base);
  CHECK(plugin.workspace.commits()->size() == 1);
}

TEST_CASE("a changed snapshot is a child of its parent") {
  Plugin plugin;
  write(plugin.source / "src" / "c.cpp", "int c;\n");
  Result<std::string> child = plugin.workspace.snapshot(plugin.source, plugin.base, "more");
  REQUIRE(child.ok());
  CHECK(*child != plugin.base);
  CHECK(*plugin.workspace.parent_of(*child) == plugin.base);
  CHECK(plugin.files_of(*child).count("src/c.cpp") == 1);
  CHECK(*plugin.workspace.latest() == *child);
}

TEST_CASE("a snapshot takes the editable roots from the rules") {
  Plugin plugin;
  PatchRules rules;
  rules.editable_roots = {"src", "eval"};
  Result<std::string> id = plugin.workspace.snapshot(plugin.source, "", "with eval", rules);
  REQUIRE(id.ok());
  CHECK(plugin.files_of(*id).count("eval/cases.jsonl") == 1);
}

TEST_CASE("a snapshot of a tree without source files is refused") {
  Plugin plugin;
  test::TempDir empty;
  write(empty / "README.md", "no source\n");
  Result<std::string> id = plugin.workspace.snapshot(empty.path(), "", "empty");
  REQUIRE_FALSE(id.ok());
  CHECK(id.status().code() == Code::invalid_argument);
  CHECK_THAT(id.status().message(), Contains("has no files under src/"));
  Result<std::string> missing = plugin.workspace.snapshot(empty / "nope", "", "missing");
  CHECK(missing.status().code() == Code::not_found);
}

TEST_CASE("files() leaves out binary files") {
  Plugin plugin;
  write(plugin.source / "src" / "icon.png", std::string("\x89PNG\0\0", 6));
  Result<std::string> id = plugin.workspace.snapshot(plugin.source, plugin.base, "icon");
  REQUIRE(id.ok());
  CHECK(plugin.files_of(*id).count("src/icon.png") == 0);
  CHECK(plugin.files_of(*id).size() == 2);
}

// --- the three patch forms -----------------------------------------------------------------

TEST_CASE("a full_file patch replaces a file") {
  Plugin plugin;
  std::string id =
      plugin.applied(patch_of(sdk::PatchFormat::full_file, "src/b.hpp", "#pragma once\n"));
  CHECK(plugin.files_of(id).at("src/b.hpp") == "#pragma once\n");
  CHECK(plugin.files_of(id).at("src/a.cpp") == kA);
}

TEST_CASE("a full_file patch creates a new file in a new folder") {
  Plugin plugin;
  std::string id =
      plugin.applied(patch_of(sdk::PatchFormat::full_file, "src/util/new.hpp", "int n;\n"));
  CHECK(plugin.files_of(id).at("src/util/new.hpp") == "int n;\n");
  CHECK(plugin.files_of(id).size() == 3);
}

TEST_CASE("a search_replace patch applies its blocks") {
  Plugin plugin;
  std::string id = plugin.applied(
      patch_of(sdk::PatchFormat::search_replace, "src/a.cpp",
               "<<<<<<< SEARCH\nint two() { return 2; }\n=======\nint two() { return 22; }\n"
               ">>>>>>> REPLACE\n"));
  CHECK(plugin.files_of(id).at("src/a.cpp") ==
        "#include \"b.hpp\"\n\nint one() { return 1; }\n\nint two() { return 22; }\n\n"
        "int three() { return 3; }\n");
}

TEST_CASE("a search_replace patch with an empty SEARCH creates a file") {
  Plugin plugin;
  std::string id =
      plugin.applied(patch_of(sdk::PatchFormat::search_replace, "src/new.cpp",
                              "<<<<<<< SEARCH\n=======\nint fresh;\n>>>>>>> REPLACE\n"));
  CHECK(plugin.files_of(id).at("src/new.cpp") == "int fresh;\n");
}

const std::string kGitDiff =
    "diff --git a/src/a.cpp b/src/a.cpp\n"
    "index 0123456..789abcd 100644\n"
    "--- a/src/a.cpp\n"
    "+++ b/src/a.cpp\n"
    "@@ -3,3 +3,3 @@\n"
    " int one() { return 1; }\n"
    " \n"
    "-int two() { return 2; }\n"
    "+int two() { return 22; }\n";
const std::string kAfterDiff =
    "#include \"b.hpp\"\n\nint one() { return 1; }\n\nint two() { return 22; }\n\n"
    "int three() { return 3; }\n";

TEST_CASE("a git unified diff applies") {
  Plugin plugin;
  std::string id = plugin.applied(diff_patch(kGitDiff));
  CHECK(plugin.files_of(id).at("src/a.cpp") == kAfterDiff);
  CHECK(plugin.files_of(id).at("src/b.hpp") == kB);
}

TEST_CASE("a diff without a/ b/ prefixes applies to the named file") {
  Plugin plugin;
  std::string id = plugin.applied(
      diff_patch("--- src/a.cpp\n+++ src/a.cpp\n@@ -3,3 +3,3 @@\n int one() { return 1; }\n \n"
                 "-int two() { return 2; }\n+int two() { return 22; }\n"));
  CHECK(plugin.files_of(id).at("src/a.cpp") == kAfterDiff);
}

TEST_CASE("a diff with git's --no-prefix header applies to the named file") {
  Plugin plugin;
  std::string id = plugin.applied(diff_patch(
      "diff --git src/a.cpp src/a.cpp\n--- src/a.cpp\n+++ src/a.cpp\n@@ -3,3 +3,3 @@\n"
      " int one() { return 1; }\n \n-int two() { return 2; }\n+int two() { return 22; }\n"));
  CHECK(plugin.files_of(id).at("src/a.cpp") == kAfterDiff);
}

TEST_CASE("a diff without a diff --git line applies") {
  Plugin plugin;
  std::string id = plugin.applied(
      diff_patch("--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -3,3 +3,3 @@\n int one() { return 1; }\n \n"
                 "-int two() { return 2; }\n+int two() { return 22; }\n"));
  CHECK(plugin.files_of(id).at("src/a.cpp") == kAfterDiff);
}

TEST_CASE("a diff with wrong hunk counts but matching lines applies") {
  Plugin plugin;
  // libgit2 alone would apply only the declared 2 lines of this hunk and drop the rest.
  std::string id = plugin.applied(diff_patch(
      "--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -3,1 +3,1 @@\n int one() { return 1; }\n \n"
      "-int two() { return 2; }\n+int two() { return 22; }\n \n-int three() { return 3; }\n"
      "+int three() { return 33; }\n"));
  CHECK(plugin.files_of(id).at("src/a.cpp") ==
        "#include \"b.hpp\"\n\nint one() { return 1; }\n\nint two() { return 22; }\n\n"
        "int three() { return 33; }\n");
}

TEST_CASE("a diff with a wrong start line applies where its lines are") {
  Plugin plugin;
  std::string id = plugin.applied(diff_patch(
      "--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -40,2 +40,2 @@\n \n-int two() { return 2; }\n"
      "+int two() { return 22; }\n"));
  CHECK(plugin.files_of(id).at("src/a.cpp") == kAfterDiff);
}

TEST_CASE("a diff with a blank context line that lost its space applies") {
  Plugin plugin;
  std::string id = plugin.applied(
      diff_patch("--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -3,3 +3,3 @@\n int one() { return 1; }\n\n"
                 "-int two() { return 2; }\n+int two() { return 22; }\n"));
  CHECK(plugin.files_of(id).at("src/a.cpp") == kAfterDiff);
}

TEST_CASE("a diff can create and delete files") {
  Plugin plugin;
  std::string id = plugin.applied(
      diff_patch("--- /dev/null\n+++ b/src/n.cpp\n@@ -0,0 +1,2 @@\n+int n;\n+int m;\n"
                 "--- a/src/b.hpp\n+++ /dev/null\n@@ -1,4 +0,0 @@\n-#pragma once\n-int one();\n"
                 "-int two();\n-int three();\n"));
  std::map<std::string, std::string> files = plugin.files_of(id);
  CHECK(files.at("src/n.cpp") == "int n;\nint m;\n");
  CHECK(files.count("src/b.hpp") == 0);
}

TEST_CASE("a git rename with changes moves the file and applies its hunks") {
  Plugin plugin;
  std::string id = plugin.applied(diff_patch(
      "diff --git a/src/a.cpp b/src/main.cpp\nsimilarity index 90%\nrename from src/a.cpp\n"
      "rename to src/main.cpp\n--- a/src/a.cpp\n+++ b/src/main.cpp\n@@ -3,3 +3,3 @@\n"
      " int one() { return 1; }\n \n-int two() { return 2; }\n+int two() { return 22; }\n"));
  std::map<std::string, std::string> files = plugin.files_of(id);
  CHECK(files.count("src/a.cpp") == 0);
  CHECK(files.at("src/main.cpp") == kAfterDiff);
}

TEST_CASE("a git rename without changes moves the file") {
  Plugin plugin;
  std::string id =
      plugin.applied(diff_patch("diff --git a/src/b.hpp b/src/api.hpp\nsimilarity index 100%\n"
                                "rename from src/b.hpp\nrename to src/api.hpp\n"));
  std::map<std::string, std::string> files = plugin.files_of(id);
  CHECK(files.count("src/b.hpp") == 0);
  CHECK(files.at("src/api.hpp") == kB);
}

TEST_CASE("a git copy keeps the original") {
  Plugin plugin;
  std::string id = plugin.applied(
      diff_patch("diff --git a/src/b.hpp b/src/c.hpp\ncopy from src/b.hpp\ncopy to src/c.hpp\n"
                 "--- a/src/b.hpp\n+++ b/src/c.hpp\n@@ -1,2 +1,2 @@\n #pragma once\n-int one();\n"
                 "+int uno();\n"));
  std::map<std::string, std::string> files = plugin.files_of(id);
  CHECK(files.at("src/b.hpp") == kB);
  CHECK(files.at("src/c.hpp") == "#pragma once\nint uno();\nint two();\nint three();\n");
}

TEST_CASE("a mode change with a hunk applies both") {
  Plugin plugin;
  std::string id = plugin.applied(
      diff_patch("diff --git a/src/b.hpp b/src/b.hpp\nold mode 100644\nnew mode 100755\n"
                 "--- a/src/b.hpp\n+++ b/src/b.hpp\n@@ -1 +1 @@\n-#pragma once\n+#pragma  once\n"));
  CHECK(plugin.files_of(id).at("src/b.hpp").starts_with("#pragma  once\n"));
  test::TempDir out;
  REQUIRE(plugin.workspace.checkout(id, out.path()).ok());
  CHECK((fs::status(out / "src" / "b.hpp").permissions() & fs::perms::owner_exec) !=
        fs::perms::none);
}

TEST_CASE("a diff naming two files without rename lines is refused") {
  Plugin plugin;
  // libgit2 alone would write src/c.cpp and keep src/a.cpp: a copy nobody asked for.
  CHECK_THAT(plugin.refused(diff_patch("--- a/src/a.cpp\n+++ b/src/c.cpp\n@@ -1 +1 @@\n"
                                       "-#include \"b.hpp\"\n+#include \"c.hpp\"\n")),
             Contains("a rename needs git's 'rename from' and 'rename to' lines"));
}

TEST_CASE("a rename out of src/ or onto an existing file is refused") {
  Plugin plugin;
  CHECK(plugin.refused(diff_patch("diff --git a/src/b.hpp b/b.hpp\nsimilarity index 100%\n"
                                  "rename from src/b.hpp\nrename to b.hpp\n")) ==
        "'b.hpp' is outside the plugin's source (editable: src/)");
  CHECK(plugin.refused(diff_patch("diff --git a/src/b.hpp b/src/a.cpp\nsimilarity index 100%\n"
                                  "rename from src/b.hpp\nrename to src/a.cpp\n")) ==
        "the diff creates src/a.cpp, which exists already");
}

TEST_CASE("a diff can empty a file without deleting it") {
  Plugin plugin;
  std::string id =
      plugin.applied(patch_of(sdk::PatchFormat::unified_diff, "src/b.hpp",
                              "--- a/src/b.hpp\n+++ b/src/b.hpp\n@@ -1,4 +0,0 @@\n-#pragma once\n"
                              "-int one();\n-int two();\n-int three();\n"));
  CHECK(plugin.files_of(id).at("src/b.hpp").empty());
}

TEST_CASE("a diff keeps a missing newline at the end of a file") {
  Plugin plugin;
  std::string id =
      plugin.applied(patch_of(sdk::PatchFormat::unified_diff, "src/b.hpp",
                              "--- a/src/b.hpp\n+++ b/src/b.hpp\n@@ -3,2 +3,2 @@\n int two();\n"
                              "-int three();\n+int three();\n\\ No newline at end of file\n"));
  CHECK(plugin.files_of(id).at("src/b.hpp") ==
        "#pragma once\nint one();\nint two();\nint three();");
}

TEST_CASE("diff hunks without context lines insert and delete at their lines") {
  Plugin plugin;
  std::string id =
      plugin.applied(patch_of(sdk::PatchFormat::unified_diff, "src/b.hpp",
                              "--- a/src/b.hpp\n+++ b/src/b.hpp\n@@ -1,0 +2,1 @@\n+int zero();\n"
                              "@@ -3,2 +3,0 @@\n-int two();\n-int three();\n"));
  CHECK(plugin.files_of(id).at("src/b.hpp") == "#pragma once\nint zero();\nint one();\n");
}

TEST_CASE("the diff between two commits shows the change and applies back") {
  Plugin plugin;
  std::string id = plugin.applied(diff_patch(kGitDiff));
  Result<std::string> diff = plugin.workspace.diff(plugin.base, id);
  INFO(diff.status().to_string());
  REQUIRE(diff.ok());
  CHECK_THAT(*diff, StartsWith("diff --git a/src/a.cpp b/src/a.cpp\n"));
  CHECK_THAT(*diff, Contains("-int two() { return 2; }\n+int two() { return 22; }\n"));
  CHECK_THAT(*diff, !Contains("b.hpp"));
  // libgit2's own output is git's form: it goes back in unchanged and gives the same tree.
  Result<std::string> again = plugin.workspace.apply(plugin.base, diff_patch(*diff), "again");
  INFO(again.status().to_string());
  REQUIRE(again.ok());
  CHECK(plugin.files_of(*again) == plugin.files_of(id));
}

TEST_CASE("checkout writes the tree of a commit into a folder") {
  Plugin plugin;
  std::string id = plugin.applied(diff_patch(kGitDiff));
  test::TempDir out;
  write(out / "build" / "keep.txt", "not in the tree\n");
  Status status = plugin.workspace.checkout(id, out / "tree");
  INFO(status.to_string());
  REQUIRE(status.ok());
  CHECK(read(out / "tree" / "src" / "a.cpp") == kAfterDiff);
  CHECK(read(out / "tree" / "src" / "b.hpp") == kB);
  CHECK_FALSE(fs::exists(out / "tree" / "eval"));
  REQUIRE(plugin.workspace.checkout(id, out.path()).ok());
  CHECK(read(out / "build" / "keep.txt") == "not in the tree\n");
}

TEST_CASE("the executable bit survives snapshot and checkout") {
  Plugin plugin;
  write(plugin.source / "src" / "gen.sh", "#!/bin/sh\n");
  fs::permissions(plugin.source / "src" / "gen.sh", fs::perms::owner_exec, fs::perm_options::add);
  Result<std::string> id = plugin.workspace.snapshot(plugin.source, plugin.base, "script");
  REQUIRE(id.ok());
  test::TempDir out;
  REQUIRE(plugin.workspace.checkout(*id, out.path()).ok());
  CHECK((fs::status(out / "src" / "gen.sh").permissions() & fs::perms::owner_exec) !=
        fs::perms::none);
  CHECK((fs::status(out / "src" / "a.cpp").permissions() & fs::perms::owner_exec) ==
        fs::perms::none);
}

// --- refusals ------------------------------------------------------------------------------

TEST_CASE("a patch outside src/ is refused") {
  Plugin plugin;
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::full_file, "CMakeLists.txt", "x\n")) ==
        "'CMakeLists.txt' is outside the plugin's source (editable: src/)");
}

TEST_CASE("a patch to the eval folder is refused") {
  Plugin plugin;
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::full_file, "eval/cases.jsonl", "{}\n")) ==
        "'eval/cases.jsonl' is outside the plugin's source (editable: src/)");
}

TEST_CASE("a patch path with .. is refused") {
  Plugin plugin;
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::full_file, "src/../../etc/x", "x\n")) ==
        "'src/../../etc/x' is outside the plugin's source (editable: src/)");
}

TEST_CASE("an absolute patch path is refused") {
  Plugin plugin;
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::full_file, "/tmp/x.cpp", "x\n")) ==
        "'/tmp/x.cpp' is outside the plugin's source (editable: src/)");
}

TEST_CASE("a patch to the SDK is refused as such") {
  Plugin plugin;
  CHECK_THAT(plugin.refused(patch_of(sdk::PatchFormat::full_file,
                                     "../../sdk/include/moss/sdk/tool.hpp", "x\n")),
             Contains("touches the SDK"));
  CHECK_THAT(plugin.refused(diff_patch("--- a/src/a.cpp\n+++ b/sdk/include/moss/sdk/tool.hpp\n"
                                       "@@ -1 +1 @@\n-#include \"b.hpp\"\n+x\n")),
             Contains("touches the SDK"));
}

TEST_CASE("a binary full_file patch is refused") {
  Plugin plugin;
  CHECK(plugin.refused(
            patch_of(sdk::PatchFormat::full_file, "src/a.cpp", std::string("int a;\0", 7))) ==
        "binary patch: the body holds a NUL byte");
}

TEST_CASE("a git binary patch is refused") {
  Plugin plugin;
  CHECK_THAT(plugin.refused(diff_patch("diff --git a/src/b.bin b/src/b.bin\nnew file mode 100644\n"
                                       "index 0000000..5c4b3a2\nGIT binary patch\nliteral 3\n"
                                       "KcmZ>aWB>pF0RR91\n\nliteral 0\nHcmV?d00001\n\n")),
             StartsWith("binary patch"));
}

TEST_CASE("a patch over the size limit is refused") {
  Plugin plugin;
  const std::string huge(300 * 1024, 'x');
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::full_file, "src/a.cpp", huge)) ==
        "patch is 307200 bytes, the limit is 262144");
}

TEST_CASE("a patch leaving a file over the file limit is refused") {
  Plugin plugin;
  PatchRules rules;
  rules.max_file_bytes = 100;
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::search_replace, "src/a.cpp",
                                "<<<<<<< SEARCH\nint two() { return 2; }\n=======\n" +
                                    std::string(80, 'x') + "\n>>>>>>> REPLACE\n"),
                       rules) == "'src/a.cpp' would be 151 bytes, the limit is 100");
}

TEST_CASE("a diff hunk that does not match is refused and commits nothing") {
  Plugin plugin;
  CHECK(plugin.refused(diff_patch("--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -5,1 +5,1 @@\n"
                                  "-int two() { return 20; }\n+int two() { return 22; }\n")) ==
        "hunk 1 (@@ -5,1 +5,1 @@) of src/a.cpp does not match: its '-' and ' ' lines are not "
        "in the file");
}

TEST_CASE("a diff hunk whose lines are in several places is refused") {
  Plugin plugin;
  CHECK_THAT(plugin.refused(diff_patch("--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -1,1 +1,2 @@\n"
                                       " \n+// note\n")),
             Contains("matches 3 places, none of them at its line 1"));
}

TEST_CASE("a hunk that libgit2 cannot apply names the hunk, the file and libgit2's reason") {
  Plugin plugin;
  write(plugin.source / "src" / "c.txt", "x\ny");  // no newline at the end
  Result<std::string> id = plugin.workspace.snapshot(plugin.source, plugin.base, "c");
  REQUIRE(id.ok());
  plugin.base = *id;
  // The lines are there, but without "\ No newline at end of file" the hunk wants "y\n".
  CHECK(plugin.refused(diff_patch("--- a/src/c.txt\n+++ b/src/c.txt\n@@ -2 +2 @@\n-y\n+Y\n")) ==
        "hunk 1 (@@ -2 +2 @@) of src/c.txt does not apply: hunk at line 2 did not apply");
}

TEST_CASE("a diff touching a file outside src/ is refused as a whole") {
  Plugin plugin;
  CHECK(plugin.refused(diff_patch(kGitDiff +
                                  "--- a/CMakeLists.txt\n+++ b/CMakeLists.txt\n@@ -1 +1 @@\n"
                                  "-moss_add_plugin(plugin SOURCES src/a.cpp)\n+evil()\n")) ==
        "'CMakeLists.txt' is outside the plugin's source (editable: src/)");
}

TEST_CASE("a diff that creates an existing file is refused") {
  Plugin plugin;
  CHECK(plugin.refused(diff_patch("--- /dev/null\n+++ b/src/b.hpp\n@@ -0,0 +1 @@\n+x\n")) ==
        "the diff creates src/b.hpp, which exists already");
}

TEST_CASE("a diff that changes a missing file is refused") {
  Plugin plugin;
  CHECK(plugin.refused(diff_patch("--- a/src/zz.cpp\n+++ b/src/zz.cpp\n@@ -1 +1 @@\n-a\n+b\n")) ==
        "the diff changes src/zz.cpp, which does not exist");
}

TEST_CASE("a diff that deletes a file it does not reproduce is refused") {
  Plugin plugin;
  CHECK(plugin.refused(diff_patch("--- a/src/b.hpp\n+++ /dev/null\n@@ -1,1 +0,0 @@\n"
                                  "-#pragma once\n")) ==
        "the diff deletes src/b.hpp, but its '-' lines are not the whole file");
}

TEST_CASE("a file where the patch needs a folder is refused, not dropped") {
  Plugin plugin;
  // libgit2's index would remove src/a.cpp to make room for the folder src/a.cpp/.
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::full_file, "src/a.cpp/x.cpp", "x\n")) ==
        "'src/a.cpp/x.cpp' cannot be written: 'src/a.cpp' is a file, not a folder");
  CHECK(plugin.refused(diff_patch("--- /dev/null\n+++ b/src/a.cpp/x.cpp\n@@ -0,0 +1 @@\n+x\n")) ==
        "'src/a.cpp/x.cpp' cannot be written: 'src/a.cpp' is a file, not a folder");
}

TEST_CASE("a full_file patch naming a folder is refused") {
  Plugin plugin;
  write(plugin.source / "src" / "util" / "u.hpp", "int u;\n");
  Result<std::string> id = plugin.workspace.snapshot(plugin.source, plugin.base, "util");
  REQUIRE(id.ok());
  Result<std::string> refused =
      plugin.workspace.apply(*id, patch_of(sdk::PatchFormat::full_file, "src/util", "x\n"), "m");
  CHECK(refused.status().message() == "'src/util' is not a regular file (mode 040000)");
}

TEST_CASE("a diff that makes a symlink is refused") {
  Plugin plugin;
  CHECK_THAT(plugin.refused(diff_patch("diff --git a/src/l b/src/l\nnew file mode 120000\n"
                                       "--- /dev/null\n+++ b/src/l\n@@ -0,0 +1 @@\n"
                                       "+/etc/passwd\n\\ No newline at end of file\n")),
             Contains("'src/l' would not be a regular file (mode 120000)"));
}

TEST_CASE("a diff with no file in it is refused") {
  Plugin plugin;
  CHECK_THAT(plugin.refused(diff_patch("I could not find the bug.\n")),
             Contains("holds no file diff"));
}

TEST_CASE("a SEARCH that is not found is refused") {
  Plugin plugin;
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::search_replace, "src/a.cpp",
                                "<<<<<<< SEARCH\nint two() { return 2; }\n=======\nint two();\n"
                                ">>>>>>> REPLACE\n<<<<<<< SEARCH\nint four() { return 4; }\n"
                                "=======\n>>>>>>> REPLACE\n")) ==
        "SEARCH block 2 does not match src/a.cpp");
}

TEST_CASE("a SEARCH found twice is refused") {
  Plugin plugin;
  CHECK_THAT(plugin.refused(patch_of(sdk::PatchFormat::search_replace, "src/a.cpp",
                                     "<<<<<<< SEARCH\n\n=======\n\n\n>>>>>>> REPLACE\n")),
             StartsWith("SEARCH block 1 matches 3 places in src/a.cpp"));
}

TEST_CASE("a patch that changes nothing is refused") {
  Plugin plugin;
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::full_file, "src/b.hpp", kB)) ==
        "the patch changes nothing");
  CHECK(plugin.refused(patch_of(sdk::PatchFormat::search_replace, "src/b.hpp",
                                "<<<<<<< SEARCH\nint one();\n=======\nint one();\n"
                                ">>>>>>> REPLACE\n")) == "the patch changes nothing");
}

TEST_CASE("an unknown patch format is refused") {
  Plugin plugin;
  CHECK(plugin.refused(patch_of(static_cast<sdk::PatchFormat>(0), "src/a.cpp", "x\n")) ==
        "unknown patch format 0");
}

// --- ids, persistence, references ----------------------------------------------------------

TEST_CASE("an unknown commit id is not_found and names the repository") {
  Plugin plugin;
  const std::string unknown(40, 'a');
  Result<std::vector<sdk::SourceFile>> files = plugin.workspace.files(unknown);
  CHECK(files.status().code() == Code::not_found);
  CHECK(files.status().message() == "no commit " + unknown + " in " + plugin.git_dir.string());
  CHECK(plugin.workspace.parent_of("not-a-commit").status().code() == Code::not_found);
  CHECK(plugin.workspace.diff(plugin.base, "abc").status().code() == Code::not_found);
  CHECK(plugin.workspace.checkout(unknown, plugin.temp / "out").code() == Code::not_found);
  Result<std::string> applied = plugin.workspace.apply(
      unknown, patch_of(sdk::PatchFormat::full_file, "src/a.cpp", "x\n"), "m");
  CHECK(applied.status().code() == Code::not_found);
  CHECK(plugin.workspace.snapshot(plugin.source, unknown, "m").status().code() == Code::not_found);
}

TEST_CASE("the id of a tree is not a commit") {
  Plugin plugin;
  Result<std::string> diff = plugin.workspace.diff(plugin.base, plugin.base);
  REQUIRE(diff.ok());
  CHECK(diff->empty());
  // The blob id of an empty file exists in no repository here, and is no commit anyway.
  CHECK(plugin.workspace.files("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391").status().code() ==
        Code::not_found);
}

TEST_CASE("a reopened repository has every commit") {
  Plugin plugin;
  std::string id = plugin.applied(diff_patch(kGitDiff));
  Workspace reopened = std::move(Workspace::open(plugin.git_dir)).value();
  plugin.workspace = Workspace();  // the first handle is gone
  CHECK(*reopened.parent_of(id) == plugin.base);
  CHECK(as_map(*reopened.files(id)).at("src/a.cpp") == kAfterDiff);
  CHECK(*reopened.latest() == id);
  std::vector<std::string> expected = {plugin.base, id};
  std::sort(expected.begin(), expected.end());
  CHECK(*reopened.commits() == expected);
}

TEST_CASE("the repository is bare and references every commit") {
  Plugin plugin;
  std::string id = plugin.applied(diff_patch(kGitDiff));
  CHECK(fs::exists(plugin.git_dir / "HEAD"));
  CHECK(fs::exists(plugin.git_dir / "objects"));
  CHECK_FALSE(fs::exists(plugin.git_dir / "src"));
  CHECK(read(plugin.git_dir / "HEAD") == "ref: refs/heads/main\n");
  CHECK(read(plugin.git_dir / "refs" / "moss" / "commits" / id) == id + "\n");
  CHECK(read(plugin.git_dir / "refs" / "heads" / "main") == id + "\n");
}

TEST_CASE("opening a folder that holds something else is refused") {
  test::TempDir temp;
  write(temp / "stuff" / "file.txt", "not a repository\n");
  Result<Workspace> opened = Workspace::open(temp / "stuff");
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().code() == Code::failed_precondition);
  CHECK_THAT(opened.status().message(), Contains("is not a bare git repository"));
}

TEST_CASE("an empty folder becomes a repository") {
  test::TempDir temp;
  fs::create_directories(temp / "empty");
  Result<Workspace> opened = Workspace::open(temp / "empty");
  INFO(opened.status().to_string());
  REQUIRE(opened.ok());
  CHECK(*opened->latest() == "");
  CHECK(opened->commits()->empty());
}

TEST_CASE("a workspace that is not open refuses every call") {
  Workspace workspace;
  CHECK(workspace.files(std::string(40, 'a')).status().code() == Code::failed_precondition);
  CHECK(workspace.latest().status().code() == Code::failed_precondition);
  CHECK(workspace.checkout("x", "/nonexistent").code() == Code::failed_precondition);
}

}  // namespace
}  // namespace moss
