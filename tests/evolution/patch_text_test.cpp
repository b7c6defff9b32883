// The path rules, the body checks and SEARCH/REPLACE blocks, without a repository.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "evolution/patch_text.hpp"

namespace moss {
namespace {

std::string refusal(std::string_view path, const PatchRules& rules = {}) {
  Status status = check_patch_path(path, rules);
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == Code::invalid_argument);
  return status.message();
}

std::string sr_refusal(const std::optional<std::string>& current, std::string_view body) {
  Result<std::string> result = apply_search_replace(current, body, "src/x.cpp");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == Code::invalid_argument);
  return result.status().message();
}

std::string applied(const std::optional<std::string>& current, std::string_view body) {
  Result<std::string> result = apply_search_replace(current, body, "src/x.cpp");
  INFO(result.status().to_string());
  REQUIRE(result.ok());
  return *result;
}

TEST_CASE("a path under an editable root passes the rules") {
  CHECK(check_patch_path("src/a.cpp", {}).ok());
  CHECK(check_patch_path("src/deep/er/b.hpp", {}).ok());
  PatchRules two_roots;
  two_roots.editable_roots = {"src/", "lib/core"};
  CHECK(check_patch_path("lib/core/x.cpp", two_roots).ok());
  CHECK(refusal("lib/other.cpp", two_roots) ==
        "'lib/other.cpp' is outside the plugin's source (editable: src/, lib/core/)");
}

TEST_CASE("paths outside the editable roots are refused with the roots named") {
  CHECK(refusal("eval/cases.jsonl") ==
        "'eval/cases.jsonl' is outside the plugin's source (editable: src/)");
  CHECK(refusal("CMakeLists.txt") ==
        "'CMakeLists.txt' is outside the plugin's source (editable: src/)");
  CHECK(refusal("srcx/a.cpp").find("is outside the plugin's source") != std::string::npos);
  CHECK(refusal("src").find("is outside the plugin's source") != std::string::npos);
  CHECK(refusal("").find("is outside the plugin's source") != std::string::npos);
}

TEST_CASE("absolute paths and .. are outside the plugin's source") {
  CHECK(refusal("/etc/passwd") == "'/etc/passwd' is outside the plugin's source (editable: src/)");
  CHECK(refusal("src/../../x.cpp") ==
        "'src/../../x.cpp' is outside the plugin's source (editable: src/)");
  CHECK(refusal("/work/main/src/a.cpp").find("outside") != std::string::npos);
}

TEST_CASE("the SDK is named before anything else") {
  CHECK(refusal("../../sdk/include/moss/sdk/tool.hpp") ==
        "'../../sdk/include/moss/sdk/tool.hpp' touches the SDK, which no patch may change");
  CHECK(refusal("src/sdk/x.hpp").find("touches the SDK") != std::string::npos);
  CHECK(refusal("include/moss/x.hpp").find("touches the SDK") != std::string::npos);
  CHECK(refusal("/usr/include/moss/sdk.hpp").find("touches the SDK") != std::string::npos);
  CHECK(refusal("src/SDK/x.hpp").find("touches the SDK") != std::string::npos);
  // A component only: "sdk_client.cpp" is an ordinary file name.
  CHECK(check_patch_path("src/sdk_client.cpp", {}).ok());
}

TEST_CASE("empty, dot and .git components are not plain paths") {
  for (const char* path : {"src//a.cpp", "src/./a.cpp", "src/a.cpp/", "src/.git/config",
                           "src/a\\b.cpp", "src/a\nb.cpp"}) {
    INFO(path);
    CHECK(refusal(path).find("is not a plain relative path") != std::string::npos);
  }
}

TEST_CASE("the body is refused when too large or binary") {
  PatchRules rules;
  rules.max_patch_bytes = 10;
  CHECK(check_patch_body("0123456789", rules).ok());
  CHECK(check_patch_body("0123456789x", rules).message() == "patch is 11 bytes, the limit is 10");
  CHECK(check_patch_body(std::string("a\0b", 3), {}).message() ==
        "binary patch: the body holds a NUL byte");
}

TEST_CASE("a result over the file limit or with a NUL byte is refused") {
  PatchRules rules;
  rules.max_file_bytes = 4;
  CHECK(check_patch_result("src/a", "abcd", rules).ok());
  CHECK(check_patch_result("src/a", "abcde", rules).message() ==
        "'src/a' would be 5 bytes, the limit is 4");
  CHECK(check_patch_result("src/a", std::string("a\0", 2), {}).message() ==
        "binary patch: 'src/a' would hold a NUL byte");
}

TEST_CASE("SEARCH/REPLACE blocks apply in order") {
  const std::string file = "int a = 1;\nint b = 2;\nint c = 3;\n";
  CHECK(applied(file,
                "<<<<<<< SEARCH\nint a = 1;\n=======\nint a = 10;\n>>>>>>> REPLACE\n"
                "<<<<<<< SEARCH\nint a = 10;\nint b = 2;\n=======\nint ab = 12;\n>>>>>>> "
                "REPLACE\n") == "int ab = 12;\nint c = 3;\n");
}

TEST_CASE("text around the blocks is ignored") {
  CHECK(applied("x\ny\n",
                "src/x.cpp\n```cpp\n<<<<<<< SEARCH\ny\n=======\nz\n>>>>>>> REPLACE\n```\n") ==
        "x\nz\n");
}

TEST_CASE("an empty REPLACE deletes the SEARCH lines") {
  CHECK(applied("a\nb\nc\n", "<<<<<<< SEARCH\nb\n=======\n>>>>>>> REPLACE\n") == "a\nc\n");
}

TEST_CASE("a SEARCH that is not there names the block and the file") {
  const std::string body =
      "<<<<<<< SEARCH\na\n=======\nA\n>>>>>>> REPLACE\n"
      "<<<<<<< SEARCH\nnope\n=======\nX\n>>>>>>> REPLACE\n";
  CHECK(sr_refusal("a\nb\n", body) == "SEARCH block 2 does not match src/x.cpp");
}

TEST_CASE("a SEARCH that differs only in indentation says so") {
  CHECK(sr_refusal("  int a;\n", "<<<<<<< SEARCH\nint a;\n=======\nint b;\n>>>>>>> REPLACE\n") ==
        "SEARCH block 1 does not match src/x.cpp (its lines are there with different "
        "indentation or trailing blanks)");
}

TEST_CASE("a SEARCH found in several places is refused with the count") {
  CHECK(sr_refusal("x();\ny();\nx();\nx();\n",
                   "<<<<<<< SEARCH\nx();\n=======\nz();\n>>>>>>> REPLACE\n") ==
        "SEARCH block 1 matches 3 places in src/x.cpp; add lines around it to make it unique");
}

TEST_CASE("a SEARCH matches whole lines only") {
  // "b();" also ends "ab();", but only the line that is exactly "b();" is a match.
  CHECK(applied("ab();\nb();\n", "<<<<<<< SEARCH\nb();\n=======\nc();\n>>>>>>> REPLACE\n") ==
        "ab();\nc();\n");
}

TEST_CASE("a last line without a newline can be searched and keeps lacking it") {
  CHECK(applied("a\nb", "<<<<<<< SEARCH\nb\n=======\nB\n>>>>>>> REPLACE\n") == "a\nB");
}

TEST_CASE("CRLF blocks apply to a file with LF line ends") {
  CHECK(applied("a\nb\n", "<<<<<<< SEARCH\r\nb\r\n=======\r\nc\r\n>>>>>>> REPLACE\r\n") ==
        "a\nc\n");
}

TEST_CASE("an empty SEARCH creates a new file and only a new file") {
  CHECK(applied(std::nullopt, "<<<<<<< SEARCH\n=======\nnew\n>>>>>>> REPLACE\n") == "new\n");
  CHECK(sr_refusal("old\n", "<<<<<<< SEARCH\n=======\nnew\n>>>>>>> REPLACE\n") ==
        "SEARCH block 1 is empty, but src/x.cpp exists (an empty SEARCH only creates a new "
        "file)");
  CHECK(sr_refusal(std::nullopt, "<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n") ==
        "SEARCH block 1 does not match src/x.cpp: the file does not exist");
}

TEST_CASE("malformed blocks are refused") {
  CHECK(sr_refusal("a\n", "no blocks here\n").find("holds no SEARCH/REPLACE block") !=
        std::string::npos);
  CHECK(sr_refusal("a\n", "<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n") ==
        "SEARCH block 1 for src/x.cpp has no '=======' line");
  CHECK(sr_refusal("a\n", "<<<<<<< SEARCH\na\n=======\nb\n") ==
        "SEARCH block 1 for src/x.cpp is not closed by '>>>>>>> REPLACE'");
}

}  // namespace
}  // namespace moss
