// Reading unified diffs leniently, placing hunks, and writing them back in git's form.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "evolution/patch_diff.hpp"

namespace moss {
namespace {

std::vector<DiffFile> parsed(std::string_view text) {
  Result<std::vector<DiffFile>> files = parse_unified_diff(text);
  INFO(files.status().to_string());
  REQUIRE(files.ok());
  return std::move(files).value();
}

std::string parse_refusal(std::string_view text) {
  Result<std::vector<DiffFile>> files = parse_unified_diff(text);
  REQUIRE_FALSE(files.ok());
  CHECK(files.status().code() == Code::invalid_argument);
  return files.status().message();
}

TEST_CASE("a git diff keeps its paths without the a/ b/ prefixes") {
  std::vector<DiffFile> files = parsed(
      "diff --git a/src/a.cpp b/src/a.cpp\nindex 1111111..2222222 100644\n--- a/src/a.cpp\n"
      "+++ b/src/a.cpp\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n");
  REQUIRE(files.size() == 1);
  CHECK(files[0].old_path == "src/a.cpp");
  CHECK(files[0].new_path == "src/a.cpp");
  CHECK(files[0].kind == DiffKind::change);
  CHECK(files[0].index_line == "index 1111111..2222222 100644");
  REQUIRE(files[0].hunks.size() == 1);
  CHECK(files[0].hunks[0].old_start == 1);
  CHECK(files[0].hunks[0].old_count() == 3);
  CHECK(files[0].hunks[0].new_count() == 3);
}

TEST_CASE("paths without prefixes are kept whole") {
  std::vector<DiffFile> files =
      parsed("--- src/a.cpp\n+++ src/a.cpp\n@@ -1,1 +1,1 @@\n-one\n+ONE\n");
  REQUIRE(files.size() == 1);
  CHECK(files[0].old_path == "src/a.cpp");
  CHECK(files[0].new_path == "src/a.cpp");
}

TEST_CASE("diff(1) timestamps after the path are dropped") {
  std::vector<DiffFile> files = parsed(
      "--- src/a.cpp\t2024-01-01 10:00:00.000 +0000\n+++ src/a.cpp\t2024-01-02 10:00:00 +0000\n"
      "@@ -1 +1 @@\n-one\n+ONE\n");
  CHECK(files[0].old_path == "src/a.cpp");
  CHECK(files[0].new_path == "src/a.cpp");
}

TEST_CASE("/dev/null marks a new or a deleted file") {
  std::vector<DiffFile> files = parsed(
      "--- /dev/null\n+++ b/src/n.cpp\n@@ -0,0 +1,2 @@\n+x\n+y\n"
      "--- a/src/old.cpp\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-gone\n");
  REQUIRE(files.size() == 2);
  CHECK(files[0].creates());
  CHECK(files[0].path() == "src/n.cpp");
  CHECK(files[1].deletes());
  CHECK(files[1].path() == "src/old.cpp");
}

TEST_CASE("prose and code fences around the diff are ignored") {
  std::vector<DiffFile> files = parsed(
      "Here is the fix:\n\n```diff\n--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -1,2 +1,2 @@\n one\n"
      "-two\n+TWO\n```\n\nThis renames two.\n");
  REQUIRE(files.size() == 1);
  CHECK(files[0].hunks[0].lines == std::vector<std::string>{" one", "-two", "+TWO"});
}

TEST_CASE("an empty line inside a hunk is a blank context line, trailing ones are not") {
  std::vector<DiffFile> files =
      parsed("--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -1,3 +1,3 @@\n one\n\n-two\n+TWO\n\n\n");
  CHECK(files[0].hunks[0].lines == std::vector<std::string>{" one", " ", "-two", "+TWO"});
}

TEST_CASE("hunk headers without line numbers are accepted for placement") {
  std::vector<DiffFile> files = parsed("--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ @@\n one\n-two\n");
  CHECK_FALSE(files[0].hunks[0].has_line_numbers);
}

TEST_CASE("diffs that are not text diffs are refused") {
  CHECK(parse_refusal("").find("holds no file diff") != std::string::npos);
  CHECK(parse_refusal("just some prose\n").find("holds no file diff") != std::string::npos);
  CHECK(parse_refusal("@@ -1 +1 @@\n-a\n+b\n").find("comes before any file header") !=
        std::string::npos);
  CHECK(parse_refusal("diff --git a/src/b.bin b/src/b.bin\nnew file mode 100644\n"
                      "GIT binary patch\nliteral 3\nKcmZ>aWB>pF0RR91\n\n")
            .find("binary patch") == 0);
  CHECK(parse_refusal("diff --git a/src/a b/src/a\nindex 1..2 100644\n"
                      "Binary files a/src/a and b/src/a differ\n")
            .find("binary patch") == 0);
  CHECK(parse_refusal("--- a/src/a.cpp\n+++ b/src/a.cpp\n") ==
        "the diff for src/a.cpp has no hunks");
  CHECK(
      parse_refusal("--- \"a/src/x y\"\n+++ \"b/src/x y\"\n@@ -1 +1 @@\n-a\n+b\n").find("quoted") !=
      std::string::npos);
}

TEST_CASE("two sections for one file are refused") {
  CHECK(parse_refusal("--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -1 +1 @@\n-a\n+b\n"
                      "--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -3 +3 @@\n-c\n+d\n") ==
        "the diff has two sections for src/a.cpp; put all of its hunks in one");
}

TEST_CASE("a hunk at its declared line stays there") {
  std::vector<DiffFile> files = parsed("--- a/src/a\n+++ b/src/a\n@@ -2,2 +2,2 @@\n b\n-c\n+C\n");
  REQUIRE(place_hunks(files[0], "a\nb\nc\nb\nc\n").ok());
  CHECK(files[0].hunks[0].old_start == 2);
}

TEST_CASE("a hunk at a wrong line moves to the one place its lines are") {
  std::vector<DiffFile> files =
      parsed("--- a/src/a\n+++ b/src/a\n@@ -1,2 +1,2 @@\n seven\n-eight\n+EIGHT\n");
  REQUIRE(place_hunks(files[0], "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n").ok());
  CHECK(files[0].hunks[0].old_start == 7);
}

TEST_CASE("a hunk whose lines are nowhere is refused with its number and file") {
  std::vector<DiffFile> files =
      parsed("--- a/src/a\n+++ b/src/a\n@@ -1,1 +1,1 @@\n-a\n+A\n@@ -3,1 +3,1 @@\n-zzz\n+Z\n");
  Status status = place_hunks(files[0], "a\nb\nc\n");
  CHECK(status.message() ==
        "hunk 2 (@@ -3,1 +3,1 @@) of src/a does not match: its '-' and ' ' lines are not in "
        "the file after hunk 1");
}

TEST_CASE("a hunk whose lines are in several places and not at its line is refused") {
  std::vector<DiffFile> files = parsed("--- a/src/a\n+++ b/src/a\n@@ -1,1 +1,1 @@\n-x\n+X\n");
  CHECK(place_hunks(files[0], "a\nx\nb\nx\n").message() ==
        "hunk 1 (@@ -1,1 +1,1 @@) of src/a matches 2 places, none of them at its line 1; add "
        "context lines to make it unique");
}

TEST_CASE("a deletion must remove the whole file") {
  std::vector<DiffFile> files = parsed("--- a/src/a\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-a\n");
  CHECK(place_hunks(files[0], "a\n").ok());
  CHECK(place_hunks(files[0], "a\nb\n").message() ==
        "the diff deletes src/a, but its '-' lines are not the whole file");
}

TEST_CASE("rendering adds the git header, the prefixes and recounted hunk headers") {
  std::vector<DiffFile> files = parsed(
      "--- src/a.cpp\n+++ src/a.cpp\n@@ -1,9 +1,1 @@\n one\n+ONE.5\n two\n@@ -6,3 +7,3 @@\n"
      " six\n-seven\n+SEVEN\n eight\n--- /dev/null\n+++ src/n.cpp\n@@ -0,0 +1 @@\n+n\n");
  CHECK(render_git_diff(files) ==
        "diff --git a/src/a.cpp b/src/a.cpp\n--- a/src/a.cpp\n+++ b/src/a.cpp\n"
        "@@ -1,2 +1,3 @@\n one\n+ONE.5\n two\n@@ -6,3 +7,3 @@\n six\n-seven\n+SEVEN\n eight\n"
        "diff --git a/src/n.cpp b/src/n.cpp\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/src/n.cpp\n@@ -0,0 +1,1 @@\n+n\n");
}

TEST_CASE("rendering a deletion adds the deleted file mode and an empty new range") {
  std::vector<DiffFile> files = parsed("--- a/src/a\n+++ /dev/null\n@@ -1,2 +1,1 @@\n-a\n-b\n");
  CHECK(render_git_diff(files) ==
        "diff --git a/src/a b/src/a\ndeleted file mode 100644\n--- a/src/a\n+++ /dev/null\n"
        "@@ -1,2 +0,0 @@\n-a\n-b\n");
}

}  // namespace
}  // namespace moss
