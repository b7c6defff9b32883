// evolver-moss's propose(): the three patch forms read out of chatty replies, the paths they
// name, and the exact reasons for refusing a reply. Through the class, with a scripted host.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "moss_evolver.hpp"
#include "patch_reply.hpp"
#include "scripted_host.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using moss::plugins::MossEvolver;
using moss::sdk::Code;
using moss::sdk::Patch;
using moss::sdk::PatchFormat;
using moss::sdk::SourceFile;
using moss::test::ScriptedHost;

namespace {

const std::vector<SourceFile> kOneFile = {{"src/text_tool.cpp", "int lower() { return 1; }\n"}};
const std::vector<SourceFile> kTwoFiles = {{"src/a.cpp", "int a;\n"}, {"src/b.cpp", "int b;\n"}};

// An evolver with a scripted host; each call scripts one reply and proposes.
struct Proposer {
  explicit Proposer(const std::string& config_json = "{}") {
    moss::test::configure(evolver, host, config_json);
  }
  moss::sdk::Result<Patch> propose(const std::string& reply,
                                   const std::vector<SourceFile>& sources = kOneFile,
                                   const std::string& finish_reason = "stop") {
    host.reply(reply, finish_reason);
    return evolver.propose(moss::test::pattern_for("text-tool"), sources, "");
  }
  Patch accepted(const std::string& reply, const std::vector<SourceFile>& sources = kOneFile) {
    auto patch = propose(reply, sources);
    INFO(patch.status().to_string());
    REQUIRE(patch.ok());
    return patch.value();
  }
  // The message of a refusal, which must be invalid_reply.
  std::string refused(const std::string& reply, const std::vector<SourceFile>& sources = kOneFile) {
    auto patch = propose(reply, sources);
    REQUIRE_FALSE(patch.ok());
    CHECK(patch.status().code() == Code::invalid_reply);
    return patch.status().message();
  }

  ScriptedHost host;
  MossEvolver evolver;
};

const char* kDiff =
    "--- a/src/text_tool.cpp\n"
    "+++ b/src/text_tool.cpp\n"
    "@@ -1 +1 @@\n"
    "-int lower() { return 1; }\n"
    "+int lower() { return 0; }\n";

}  // namespace

// ---- unified diffs ----------------------------------------------------------------------

TEST_CASE("a ```diff block among prose becomes a unified_diff patch", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(std::string("The mapping is inverted; return 0 instead.\n\n```diff\n") +
                           kDiff + "```\n\nThis should fix the lower() case.\n");
  CHECK(patch.format == PatchFormat::unified_diff);
  CHECK(patch.body == kDiff);
  CHECK(patch.path == "src/text_tool.cpp");
  CHECK(patch.description == "The mapping is inverted; return 0 instead.");
}

TEST_CASE("a ```patch block is a diff too", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(std::string("```patch\n") + kDiff + "```\n");
  CHECK(patch.format == PatchFormat::unified_diff);
  CHECK(patch.body == kDiff);
}

TEST_CASE("a raw diff --git diff ends where the prose after it starts", "[evolver][propose]") {
  Proposer p;
  const std::string diff = std::string("diff --git a/src/text_tool.cpp b/src/text_tool.cpp\n") +
                           "index 1111111..2222222 100644\n" + kDiff;
  Patch patch =
      p.accepted("Here is the fix:\n" + diff + "\n- it changes one line\n- nothing else\n");
  CHECK(patch.format == PatchFormat::unified_diff);
  CHECK(patch.body == diff);
  CHECK(patch.path == "src/text_tool.cpp");
  CHECK(patch.description == "Here is the fix:");
}

TEST_CASE("a raw diff with ---/+++ lines and no a/ b/ prefixes keeps its paths",
          "[evolver][propose]") {
  Proposer p;
  const std::string diff =
      "--- src/b.cpp\t2024-01-01 00:00:00\n+++ src/b.cpp\t2024-01-02 00:00:00\n"
      "@@ -1 +1 @@\n-int b;\n+int b = 1;\n";
  Patch patch = p.accepted("Fix b.\n\n" + diff, kTwoFiles);
  CHECK(patch.path == "src/b.cpp");
  CHECK(patch.body == diff);
}

TEST_CASE("a diff's path is its first file's new path without git's b/ prefix",
          "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(
      "```diff\n--- a/src/old_name.cpp\n+++ b/src/new_name.cpp\n@@ -1 +1 @@\n-a\n+b\n"
      "--- a/src/b.cpp\n+++ b/src/b.cpp\n@@ -1 +1 @@\n-int b;\n+int b = 2;\n```\n",
      kTwoFiles);
  CHECK(patch.path == "src/new_name.cpp");
}

TEST_CASE("a deleted file's diff path is its old path", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted("```diff\n--- a/src/a.cpp\n+++ /dev/null\n@@ -1 +0,0 @@\n-int a;\n```\n",
                           kTwoFiles);
  CHECK(patch.path == "src/a.cpp");
}

TEST_CASE("CRLF in a diff reply becomes LF and the body ends with a newline",
          "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(
      "Fix:\r\n--- a/src/text_tool.cpp\r\n+++ b/src/text_tool.cpp\r\n@@ -1 +1 @@\r\n"
      "-int lower() { return 1; }\r\n+int lower() { return 0; }");
  CHECK(patch.body == kDiff);
  CHECK(patch.description == "Fix:");
}

TEST_CASE("diffs in several blocks are joined into one body, in order", "[evolver][propose]") {
  Proposer p;
  const std::string a = "--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -1 +1 @@\n-int a;\n+int a = 1;\n";
  const std::string b = "--- a/src/b.cpp\n+++ b/src/b.cpp\n@@ -1 +1 @@\n-int b;\n+int b = 1;\n";
  Patch patch =
      p.accepted("First a:\n```diff\n" + a + "```\nThen b:\n```diff\n" + b + "```\n", kTwoFiles);
  CHECK(patch.body == a + b);
  CHECK(patch.path == "src/a.cpp");
}

TEST_CASE("a blank line a hunk counts stays in the diff, trailing blank lines go",
          "[evolver][propose]") {
  Proposer p;
  // The hunk's second context line is an empty line written without its leading space.
  const std::string diff =
      "--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -1,2 +1,2 @@\n-int a;\n+int a = 1;\n\n";
  Patch fenced = p.accepted("```diff\n" + diff + "\n\n```\n", kTwoFiles);
  CHECK(fenced.body == diff);
  Patch raw = p.accepted(diff + "\n\nThat is all.\n", kTwoFiles);
  CHECK(raw.body == diff);
}

TEST_CASE("a hunk with too small counts is not cut short", "[evolver][propose]") {
  Proposer p;
  const std::string diff =
      "--- a/src/a.cpp\n+++ b/src/a.cpp\n@@ -1 +1 @@\n-int a;\n+int a = 1;\n+int c = 2;\n";
  CHECK(p.accepted(diff + "\nDone.\n", kTwoFiles).body == diff);
}

TEST_CASE("a diff whose context holds a ======= line is still a diff", "[evolver][propose]") {
  Proposer p;
  const std::string diff =
      "--- a/README.md\n+++ b/README.md\n@@ -1,2 +1,2 @@\n-Title\n+New title\n =======\n";
  Patch patch = p.accepted("```diff\n" + diff + "```\n");
  CHECK(patch.format == PatchFormat::unified_diff);
  CHECK(patch.body == diff);
}

TEST_CASE("a plain code block that starts with a diff header is a diff", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(std::string("```\n") + kDiff + "```\n");
  CHECK(patch.format == PatchFormat::unified_diff);
}

TEST_CASE("a diff is taken before SEARCH/REPLACE blocks and files in the same reply",
          "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(
      "```cpp\nint lower() { return 0; }\n```\n"
      "src/text_tool.cpp\n<<<<<<< SEARCH\nint\n=======\nlong\n>>>>>>> REPLACE\n"
      "```diff\n" +
      std::string(kDiff) + "```\n");
  CHECK(patch.format == PatchFormat::unified_diff);
}

TEST_CASE("a diff without a file header is refused", "[evolver][propose]") {
  Proposer p;
  CHECK_THAT(p.refused("```diff\n@@ -1 +1 @@\n-a\n+b\n```\n"),
             Contains("```diff block opened on line 1 of the reply has a diff without a file "
                      "header (--- a/<path> and +++ b/<path> lines)"));
  CHECK_THAT(p.refused("Change it:\n@@ -1 +1 @@\n-a\n+b\n"),
             Contains("line 2 of the reply starts a diff hunk, but the diff has no file header"));
}

TEST_CASE("a ```diff block that holds no diff is refused", "[evolver][propose]") {
  Proposer p;
  CHECK_THAT(p.refused("```diff\nint lower() { return 0; }\n```\n"),
             Contains("holds no unified diff"));
}

TEST_CASE("an unclosed diff block is refused: it may be cut short", "[evolver][propose]") {
  Proposer p;
  CHECK_THAT(p.refused(std::string("x\n```diff\n") + kDiff),
             Contains("the diff block opened on line 2 of the reply is never closed"));
}

// ---- SEARCH/REPLACE ---------------------------------------------------------------------

TEST_CASE("SEARCH/REPLACE blocks in a fence after a path line become a search_replace patch",
          "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(
      "The function returns the wrong value.\n\nsrc/b.cpp\n```cpp\n<<<<<<< SEARCH\nint b;\n"
      "=======\nint b = 1;\n>>>>>>> REPLACE\n```\n\nLet me know if this helps!\n",
      kTwoFiles);
  CHECK(patch.format == PatchFormat::search_replace);
  CHECK(patch.path == "src/b.cpp");
  CHECK(patch.body == "<<<<<<< SEARCH\nint b;\n=======\nint b = 1;\n>>>>>>> REPLACE\n");
  CHECK(patch.description == "The function returns the wrong value.");
}

TEST_CASE("SEARCH/REPLACE blocks name their file in any of the common ways", "[evolver][propose]") {
  const std::string blocks = "<<<<<<< SEARCH\nint b;\n=======\nint b = 1;\n>>>>>>> REPLACE\n";
  const std::vector<std::string> replies = {
      "src/b.cpp\n```cpp\n" + blocks + "```\n",                // path line before the fence
      "```cpp src/b.cpp\n" + blocks + "```\n",                 // in the info string
      "```src/b.cpp\n" + blocks + "```\n",                     // the info string is the path
      "```cpp:src/b.cpp\n" + blocks + "```\n",                 // language:path
      "File: src/b.cpp\n```\n" + blocks + "```\n",             // a File: line
      "**File:** `src/b.cpp`\n\n```cpp\n" + blocks + "```\n",  // Markdown around it
      "### `src/b.cpp`\n" + blocks,                            // a heading, no fence
      "```cpp\nsrc/b.cpp\n" + blocks + "```\n",                // first line inside the fence
      "```cpp\n// src/b.cpp\n" + blocks + "```\n",             // a comment inside the fence
      "In `src/b.cpp`, initialise b:\n" + blocks,              // a sentence naming a source
      "FILE: b.cpp\n" + blocks,                                // a source's file name
      "path: plugins/text-tool/src/b.cpp\n" + blocks,          // a longer path to a source
  };
  for (const std::string& reply : replies) {
    INFO(reply);
    Proposer p;
    Patch patch = p.accepted(reply, kTwoFiles);
    CHECK(patch.format == PatchFormat::search_replace);
    CHECK(patch.path == "src/b.cpp");
    CHECK(patch.body == blocks);
  }
}

TEST_CASE("a source mentioned in quoted code does not name the blocks' file",
          "[evolver][propose]") {
  Proposer p;
  CHECK_THAT(p.refused("The code now:\n```cpp\n#include \"b.cpp\"\nuse(\"src/b.cpp\");\n```\n"
                       "<<<<<<< SEARCH\nint a;\n=======\nint a = 1;\n>>>>>>> REPLACE\n",
                       kTwoFiles),
             StartsWith("the reply's SEARCH/REPLACE blocks name no file"));
}

TEST_CASE("only the nearest sentence before the blocks can name their file", "[evolver][propose]") {
  Proposer p;
  CHECK_THAT(p.refused("1. In src/b.cpp nothing changes.\n2. Replace in the other file:\n```cpp\n"
                       "<<<<<<< SEARCH\nint a;\n=======\nint a = 1;\n>>>>>>> REPLACE\n```\n",
                       kTwoFiles),
             StartsWith("the reply's SEARCH/REPLACE blocks name no file"));
  CHECK(p.accepted("File: src/a.cpp\nThe fix:\n<<<<<<< SEARCH\nint a;\n=======\nint a = 1;\n"
                   ">>>>>>> REPLACE\n",
                   kTwoFiles)
            .path == "src/a.cpp");
}

TEST_CASE("SEARCH/REPLACE blocks outside any fence are read", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(
      "Change this:\n<<<<<<< SEARCH\nint lower() { return 1; }\n=======\n"
      "int lower() { return 0; }\n>>>>>>> REPLACE\nThat's it.\n");
  CHECK(patch.path == "src/text_tool.cpp");  // the only source
  CHECK(patch.body ==
        "<<<<<<< SEARCH\nint lower() { return 1; }\n=======\nint lower() { return 0; }\n"
        ">>>>>>> REPLACE\n");
}

TEST_CASE("several blocks for one file are kept in order in canonical form", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(
      "src/a.cpp\r\n```cpp\r\n<<<<<<< SEARCH  \r\nint a;\r\n=======\r\nint a = 1;\r\n"
      ">>>>>>> REPLACE\r\n\r\nand then\r\n<<<<<<< SEARCH\r\n// end\r\n=======\r\n>>>>>>> REPLACE"
      "\r\n```\r\n",
      kTwoFiles);
  CHECK(patch.path == "src/a.cpp");
  CHECK(patch.body ==
        "<<<<<<< SEARCH\nint a;\n=======\nint a = 1;\n>>>>>>> REPLACE\n"
        "<<<<<<< SEARCH\n// end\n=======\n>>>>>>> REPLACE\n");
}

TEST_CASE("markers of 5 to 9 characters, as the host reads them, become the canonical 7",
          "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted("<<<<<<<< SEARCH\na\n=====\nb\n>>>>>>>>> REPLACE\n");
  CHECK(patch.body == "<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n");
  // Four or ten are text, so this block has no divider.
  CHECK_THAT(p.refused("<<<<<<< SEARCH\n====\n==========\n>>>>>>> REPLACE\n"),
             Contains("has no ======= line"));
}

TEST_CASE("blocks in an indented list item lose the list's indentation", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(
      "1. Fix a:\n   src/a.cpp\n   ```cpp\n   <<<<<<< SEARCH\n   int a;\n   =======\n"
      "     int a = 1;\n   >>>>>>> REPLACE\n   ```\n",
      kTwoFiles);
  CHECK(patch.body == "<<<<<<< SEARCH\nint a;\n=======\n  int a = 1;\n>>>>>>> REPLACE\n");
}

TEST_CASE("an empty SEARCH for a new file keeps the file's path", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(
      "File: src/util.hpp\n```cpp\n<<<<<<< SEARCH\n=======\n#pragma once\n>>>>>>> REPLACE\n```\n",
      kTwoFiles);
  CHECK(patch.path == "src/util.hpp");
  CHECK(patch.body == "<<<<<<< SEARCH\n=======\n#pragma once\n>>>>>>> REPLACE\n");
}

TEST_CASE("SEARCH/REPLACE blocks naming more than one file are refused", "[evolver][propose]") {
  Proposer p;
  const std::string message = p.refused(
      "src/a.cpp\n<<<<<<< SEARCH\nint a;\n=======\nint a = 1;\n>>>>>>> REPLACE\n"
      "src/b.cpp\n<<<<<<< SEARCH\nint b;\n=======\nint b = 1;\n>>>>>>> REPLACE\n",
      kTwoFiles);
  CHECK(message ==
        "the SEARCH/REPLACE blocks name more than one file (src/a.cpp, src/b.cpp); a patch in "
        "this form changes one file");
}

TEST_CASE("SEARCH/REPLACE blocks that name no file among several sources are refused",
          "[evolver][propose]") {
  Proposer p;
  CHECK(p.refused("<<<<<<< SEARCH\nint a;\n=======\nint a = 1;\n>>>>>>> REPLACE\n", kTwoFiles) ==
        "the reply's SEARCH/REPLACE blocks name no file and there are 2 source files: "
        "src/a.cpp, src/b.cpp");
}

TEST_CASE("a block without its ======= line is refused naming the block", "[evolver][propose]") {
  Proposer p;
  CHECK(p.refused("src/a.cpp\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n"
                  "<<<<<<< SEARCH\nc\nd\n>>>>>>> REPLACE\n",
                  kTwoFiles) ==
        "SEARCH/REPLACE block 2 (opened on line 7 of the reply) has no ======= line before its "
        ">>>>>>> REPLACE on line 10 of the reply");
}

TEST_CASE("a block that never ends is refused naming the block", "[evolver][propose]") {
  Proposer p;
  CHECK_THAT(p.refused("```\n<<<<<<< SEARCH\na\n=======\nb\n```\n"),
             StartsWith("SEARCH/REPLACE block 1 (opened on line 2 of the reply) never ends: no "
                        ">>>>>>> REPLACE line"));
  CHECK_THAT(p.refused("<<<<<<< SEARCH\na\n"), Contains("block 1") && Contains("never ends"));
}

TEST_CASE("a second SEARCH or ======= inside a block is refused naming the block",
          "[evolver][propose]") {
  Proposer p;
  CHECK_THAT(p.refused("<<<<<<< SEARCH\na\n<<<<<<< SEARCH\n=======\nb\n>>>>>>> REPLACE\n"),
             StartsWith("SEARCH/REPLACE block 1 (opened on line 1 of the reply) has a second "
                        "<<<<<<< SEARCH on line 3"));
  CHECK_THAT(p.refused("<<<<<<< SEARCH\na\n=======\nb\n=======\nc\n>>>>>>> REPLACE\n"),
             StartsWith("SEARCH/REPLACE block 1 (opened on line 1 of the reply) has a second "
                        "======= on line 5"));
  CHECK_THAT(p.refused("<<<<<<< SEARCH\na\n=======\nb\n<<<<<<< SEARCH\n"),
             Contains("is not closed: line 5 of the reply opens another block"));
}

TEST_CASE("a REPLACE marker without a SEARCH marker is refused", "[evolver][propose]") {
  Proposer p;
  CHECK(p.refused("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\nc\n=======\nd\n"
                  ">>>>>>> REPLACE\n") ==
        "SEARCH/REPLACE block 2 has no <<<<<<< SEARCH line: line 7 of the reply is ======= "
        "outside any block");
}

TEST_CASE("a ```diff block holding SEARCH/REPLACE blocks is read as SEARCH/REPLACE",
          "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted("```diff\n<<<<<<< SEARCH\nint\n=======\nlong\n>>>>>>> REPLACE\n```\n");
  CHECK(patch.format == PatchFormat::search_replace);
}

// ---- complete files ---------------------------------------------------------------------

TEST_CASE("a fenced file among prose becomes a full_file patch of the only source",
          "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted(
      "Sure! The bug is the return value.\n\n```cpp\nint lower() { return 0; }\n```\n\n"
      "Hope this helps.");
  CHECK(patch.format == PatchFormat::full_file);
  CHECK(patch.path == "src/text_tool.cpp");
  CHECK(patch.body == "int lower() { return 0; }\n");
  CHECK(patch.description == "Sure! The bug is the return value.");
}

TEST_CASE("a full file takes the path in its fence's info string", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted("Fixed:\n```cpp src/b.cpp\nint b = 1;\n```\n", kTwoFiles);
  CHECK(patch.format == PatchFormat::full_file);
  CHECK(patch.path == "src/b.cpp");
  CHECK(patch.body == "int b = 1;\n");
  CHECK(p.accepted("```cpp title=\"src/a.cpp\"\nint a = 1;\n```\n", kTwoFiles).path == "src/a.cpp");
}

TEST_CASE("a full file takes the path named on the line before its fence", "[evolver][propose]") {
  for (const std::string named :
       {"File: src/b.cpp", "FILE: src/b.cpp", "`src/b.cpp`", "**src/b.cpp**",
        "Here is the fixed `src/b.cpp`:", "The new version of src/b.cpp."}) {
    INFO(named);
    Proposer p;
    Patch patch = p.accepted(named + "\n\n```cpp\nint b = 1;\n```\n", kTwoFiles);
    CHECK(patch.path == "src/b.cpp");
    CHECK(patch.description.find("File:") == std::string::npos);
  }
}

TEST_CASE("a full file may name itself in a comment on its first line, which stays",
          "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted("```cpp\n// src/b.cpp\nint b = 1;\n```\n", kTwoFiles);
  CHECK(patch.path == "src/b.cpp");
  CHECK(patch.body == "// src/b.cpp\nint b = 1;\n");
}

TEST_CASE("a full file in a fence that is not named, among several sources, is refused",
          "[evolver][propose]") {
  Proposer p;
  CHECK(p.refused("Here it is:\n```cpp\nint x;\n```\n", kTwoFiles) ==
        "the reply names no file and there are 2 source files: src/a.cpp, src/b.cpp");
}

TEST_CASE("complete files for two different files are refused", "[evolver][propose]") {
  Proposer p;
  CHECK_THAT(p.refused("```cpp src/a.cpp\nint a = 1;\n```\n```cpp src/b.cpp\nint b = 1;\n```\n",
                       kTwoFiles),
             Contains("complete files for more than one file (src/a.cpp, src/b.cpp)"));
}

TEST_CASE("the same file given twice is refused", "[evolver][propose]") {
  Proposer p;
  CHECK_THAT(
      p.refused("```cpp src/a.cpp\nint a;\n```\n```cpp src/a.cpp\nint a = 1;\n```\n", kTwoFiles),
      Contains("2 code blocks for src/a.cpp"));
}

TEST_CASE("a file named by a full path or a file name finds its source", "[evolver][propose]") {
  Proposer p;
  CHECK(p.accepted("```cpp /work/plugins/x/src/b.cpp\nint b;\n```\n", kTwoFiles).path ==
        "src/b.cpp");
  CHECK(p.accepted("File: ./a.cpp\n```cpp\nint a;\n```\n", kTwoFiles).path == "src/a.cpp");
}

TEST_CASE("a full file may be a new file the reply names", "[evolver][propose]") {
  Proposer p;
  CHECK(p.accepted("File: src/extra.hpp\n```cpp\n#pragma once\n```\n", kTwoFiles).path ==
        "src/extra.hpp");
}

TEST_CASE("a longer fence keeps triple backticks inside the file", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted("````md\n# Doc\n```\ncode\n```\n````\n");
  CHECK(patch.body == "# Doc\n```\ncode\n```\n");
}

TEST_CASE("a shell block before an unnamed file is not taken for the file", "[evolver][propose]") {
  Proposer p;
  Patch patch = p.accepted("Run\n```bash\nctest\n```\nafter applying:\n```cpp\nint x;\n```\n");
  CHECK(patch.body == "int x;\n");
}

TEST_CASE("an unclosed code block is refused", "[evolver][propose]") {
  Proposer p;
  CHECK(p.refused("Here:\n```cpp\nint lower() {\n") ==
        "the code block opened on line 2 of the reply is never closed");
}

TEST_CASE("an empty code block is refused", "[evolver][propose]") {
  Proposer p;
  CHECK(p.refused("```cpp\n\n```") == "the reply's code block is empty");
}

// ---- whole replies ----------------------------------------------------------------------

TEST_CASE("binary content is refused as a binary patch", "[evolver][propose]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("```\nab\0cd\n```\n", 14), "binary patch: the reply holds a NUL byte (byte 6)"},
      {"```\n\xff\xfe\n```\n", "binary patch: the reply is not valid UTF-8 (byte 4)"},
      {"```\n\xc0\xaf\n```\n", "binary patch: the reply is not valid UTF-8 (byte 4)"},
      {"diff --git a/src/x.png b/src/x.png\nGIT binary patch\nliteral 12\n",
       "binary patch: the reply holds a GIT binary patch (line 2 of the reply)"},
      {"diff --git a/x.png b/x.png\nBinary files a/x.png and b/x.png differ\n",
       "binary patch: the reply holds \"Binary files a/x.png and b/x.png differ\" (line 2 of the "
       "reply)"},
  };
  for (const auto& [reply, message] : cases) {
    INFO(message);
    Proposer p;
    CHECK(p.refused(reply) == message);
  }
}

TEST_CASE("a reply larger than max_reply_bytes is refused with both sizes", "[evolver][propose]") {
  Proposer p(R"({"max_reply_bytes": 100})");
  const std::string reply = "```cpp\n" + std::string(90, 'x') + "\n```\n";  // 102 bytes
  CHECK(p.refused(reply) == "reply is 102 bytes, the limit is 100 (max_reply_bytes)");
}

TEST_CASE("the default reply limit is 262144 bytes", "[evolver][propose]") {
  Proposer p;
  const std::string reply = "```cpp\n" + std::string(262144 - 12, 'x') + "\n```\n";
  REQUIRE(reply.size() == 262144);
  CHECK(p.accepted(reply).body.size() == 262144 - 12 + 1);
  CHECK(p.refused(reply + "\n") == "reply is 262145 bytes, the limit is 262144 (max_reply_bytes)");
}

TEST_CASE("an empty reply is refused", "[evolver][propose]") {
  Proposer p;
  CHECK(p.refused("") == "the reply is empty");
  CHECK(p.refused(" \r\n\t\n") == "the reply is empty");
}

TEST_CASE("a reply without code is refused, quoting its start", "[evolver][propose]") {
  Proposer p;
  CHECK(p.refused("I think you should\nreturn 0 instead of 1.") ==
        "the reply holds no code: no unified diff, no SEARCH/REPLACE block and no fenced code "
        "block; the reply begins \"I think you should\\nreturn 0 instead of 1.\"");
  CHECK_THAT(p.refused(std::string(500, 'a')), Contains(std::string(120, 'a') + "\"..."));
}

TEST_CASE("a reply cut off at the token limit is refused even if it parses", "[evolver][propose]") {
  Proposer p;
  auto patch = p.propose(std::string("```diff\n") + kDiff + "```\n", kOneFile, "length");
  REQUIRE_FALSE(patch.ok());
  CHECK(patch.status().code() == Code::invalid_reply);
  CHECK_THAT(patch.status().message(), Contains("cut off") && Contains("max_tokens"));
}

TEST_CASE("without prose the description is the pattern's", "[evolver][propose]") {
  Proposer p;
  CHECK(p.accepted("```cpp\nint x;\n```\n").description == "lower is broken");
}

TEST_CASE("a long explanation is capped on a character boundary", "[evolver][propose]") {
  Proposer p;
  std::string prose;
  for (int i = 0; i < 300; ++i)
    prose += "é";  // 2 bytes each
  const std::string description = p.accepted(prose + "\n```cpp\nint x;\n```\n").description;
  CHECK(description.size() == moss::plugins::kMaxDescriptionBytes + 3);
  CHECK(description.substr(description.size() - 5) == "é...");
}

TEST_CASE("propose without source files is invalid_argument", "[evolver][propose]") {
  Proposer p;
  auto patch = p.evolver.propose(moss::test::pattern_for("x"), {}, "");
  CHECK(patch.status().code() == Code::invalid_argument);
  CHECK(p.host.prompts.empty());
}

TEST_CASE("a failed LLM call in propose is passed on with its code", "[evolver][propose]") {
  Proposer p;  // no replies: chat answers unavailable
  auto patch = p.evolver.propose(moss::test::pattern_for("x"), kOneFile, "");
  CHECK(patch.status().code() == Code::unavailable);
  CHECK_THAT(patch.status().message(), StartsWith("propose: the LLM call failed"));
}

// Replies assembled from pieces of every form, cut anywhere: each is a patch or an
// invalid_reply, and nothing crashes or hangs.
TEST_CASE("propose survives malformed replies", "[evolver][propose]") {
  const std::vector<std::string> pieces = {
      "```",
      "```diff",
      "````",
      "~~~",
      "\n",
      "\r\n",
      "--- a/x",
      "+++ b/x",
      "--- ",
      "+++ ",
      "@@ -",
      "@@ -1,2 +1 @@",
      "@@ -1 +1",
      " ctx",
      "-old",
      "+new",
      "\\ No newline at end of file",
      "diff --git",
      "diff --git a/x b/x",
      "<<<<<<< SEARCH",
      "=======",
      ">>>>>>> REPLACE",
      "File:",
      "File: src/a.cpp",
      "`src/b.cpp`",
      "{",
      "}",
      "\"",
      "é",
      "prose words",
      "src/a.cpp",
      "index 1..2",
  };
  std::mt19937 random(20240611);
  for (int round = 0; round < 3000; ++round) {
    std::string reply;
    const int count = static_cast<int>(random() % 40);
    for (int i = 0; i < count; ++i) {
      reply += pieces[random() % pieces.size()];
      if (random() % 3 != 0) reply += "\n";
    }
    INFO(reply);
    auto patch = moss::plugins::parse_patch_reply(reply, kTwoFiles, 262144);
    if (!patch.ok()) REQUIRE(patch.status().code() == Code::invalid_reply);
  }
  for (const std::string& reply :
       {std::string(100000, '{'), std::string(100000, '`'), std::string(50000, '\n'),
        std::string("```\n") + std::string(100000, '-'), std::string(20000, '@') + " -1 +1 @@"}) {
    auto patch = moss::plugins::parse_patch_reply(reply, kTwoFiles, 262144);
    if (!patch.ok()) CHECK(patch.status().code() == Code::invalid_reply);
  }
}
