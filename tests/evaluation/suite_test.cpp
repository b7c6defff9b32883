// Suite files: fields and defaults, errors at file:line, duplicate ids, folders of files.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "evaluation/suite.hpp"
#include "temp_dir.hpp"

namespace moss {
namespace {

using test::TempDir;

void write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

// The error message of parsing `text` as "s.jsonl"; fails the test if it parses.
std::string parse_error(const std::string& text) {
  auto suite = parse_suite(text, "s.jsonl");
  REQUIRE_FALSE(suite.ok());
  CHECK(suite.status().code() == Code::invalid_argument);
  return suite.status().message();
}

TEST_CASE("a case gets weight 1, exact matching and tolerance 1e-9 by default") {
  auto suite = parse_suite(R"({"id":"a","input":{"x":1},"expect":[1]})", "s.jsonl");
  REQUIRE(suite.ok());
  const EvalCase& c = suite->cases.at(0);
  CHECK(c.id == "a");
  CHECK(c.input == nlohmann::json{{"x", 1}});
  CHECK(c.expect == nlohmann::json::array({1}));
  CHECK(c.weight == 1.0);
  CHECK(c.match == MatchRule::exact);
  CHECK(c.tolerance == 1e-9);
  CHECK_FALSE(c.expected_error);
  CHECK(c.origin == "s.jsonl:1");
}

TEST_CASE("blank lines are skipped but counted, and CRLF line ends are accepted") {
  auto suite = parse_suite(
      "\n  \r\n{\"id\":\"a\",\"input\":1,\"expect\":2}\r\n\n"
      "{\"id\":\"b\",\"input\":1,\"expect\":2,\"weight\":2.5}",
      "s.jsonl");
  INFO(suite.status().to_string());
  REQUIRE(suite.ok());
  REQUIRE(suite->cases.size() == 2);
  CHECK(suite->cases[0].origin == "s.jsonl:3");
  CHECK(suite->cases[1].origin == "s.jsonl:5");
  CHECK(suite->total_weight() == 3.5);
}

TEST_CASE("a line that is not JSON is an error at its file, line and column") {
  std::string message = parse_error("{\"id\":\"a\",\"input\":1,\"expect\":2}\n{\"id\": nope}\n");
  CHECK_THAT(message, Catch::StartsWith("s.jsonl:2: not valid JSON (column 9): syntax error"));
}

TEST_CASE("a line that is not an object is an error") {
  CHECK(parse_error("[1,2]") == "s.jsonl:1: a case must be a JSON object");
}

TEST_CASE("id, input and expect are required") {
  CHECK(parse_error(R"({"input":1,"expect":2})") ==
        "s.jsonl:1: \"id\" is required: a non-empty string");
  CHECK(parse_error(R"({"id":"","input":1,"expect":2})") ==
        "s.jsonl:1: \"id\" is required: a non-empty string");
  CHECK(parse_error(R"({"id":"a","expect":2})") == "s.jsonl:1: case \"a\": \"input\" is required");
  CHECK(parse_error(R"({"id":"a","input":null})") ==
        "s.jsonl:1: case \"a\": \"expect\" is required");
}

TEST_CASE("an unknown key is an error, so a misspelt field is not ignored") {
  CHECK_THAT(parse_error(R"({"id":"a","input":1,"expect":2,"weigth":3})"),
             Catch::StartsWith("s.jsonl:1: unknown key \"weigth\""));
}

TEST_CASE("a weight must be a number above zero") {
  for (const char* weight : {"0", "-1", "\"2\"", "null"}) {
    INFO(weight);
    CHECK_THAT(
        parse_error(std::string(R"({"id":"a","input":1,"expect":2,"weight":)") + weight + "}"),
        Catch::StartsWith("s.jsonl:1: case \"a\": \"weight\" must be a number > 0"));
  }
}

TEST_CASE("an unknown match rule is an error that lists the rules") {
  CHECK(parse_error(R"({"id":"a","input":1,"expect":2,"match":"fuzzy"})") ==
        "s.jsonl:1: case \"a\": \"match\" must be \"exact\", \"subset\", \"regex\" or "
        "\"approx\", got \"fuzzy\"");
}

TEST_CASE("a tolerance is only accepted with approx matching, and never below zero") {
  CHECK(parse_error(R"({"id":"a","input":1,"expect":2,"tolerance":0.1})") ==
        "s.jsonl:1: case \"a\": \"tolerance\" applies only to \"match\": \"approx\"");
  CHECK_THAT(parse_error(R"({"id":"a","input":1,"expect":2,"match":"approx","tolerance":-1})"),
             Catch::StartsWith("s.jsonl:1: case \"a\": \"tolerance\" must be a number >= 0"));
}

TEST_CASE("regex matching needs a string that compiles as an ECMAScript regex") {
  CHECK_THAT(parse_error(R"({"id":"a","input":1,"expect":5,"match":"regex"})"),
             Catch::StartsWith("s.jsonl:1: case \"a\": \"match\": \"regex\" needs \"expect\" to "
                               "be a string"));
  CHECK_THAT(parse_error(R"({"id":"a","input":1,"expect":"(unclosed","match":"regex"})"),
             Catch::StartsWith("s.jsonl:1: case \"a\": \"expect\" is not a valid ECMAScript "
                               "regex"));
}

TEST_CASE("a duplicate id in one file names both lines") {
  CHECK(parse_error("{\"id\":\"a\",\"input\":1,\"expect\":2}\n"
                    "{\"id\":\"b\",\"input\":1,\"expect\":2}\n"
                    "{\"id\":\"a\",\"input\":3,\"expect\":4}\n") ==
        "s.jsonl:3: duplicate id \"a\" (first at s.jsonl:1)");
}

TEST_CASE("a folder is one suite of its *.jsonl files in name order") {
  TempDir dir;
  write(dir / "b.jsonl", R"({"id":"from-b","input":1,"expect":2})");
  write(dir / "a.jsonl", R"({"id":"from-a","input":1,"expect":2})");
  write(dir / "README.md", "not a case file\n");
  auto suite = load_suite(dir.path());
  INFO(suite.status().to_string());
  REQUIRE(suite.ok());
  REQUIRE(suite->cases.size() == 2);
  CHECK(suite->cases[0].id == "from-a");
  CHECK(suite->cases[1].id == "from-b");
  CHECK(suite->cases[1].origin == (dir / "b.jsonl").string() + ":1");
}

TEST_CASE("a duplicate id across the files of a folder names both places") {
  TempDir dir;
  write(dir / "a.jsonl", R"({"id":"same","input":1,"expect":2})");
  write(dir / "b.jsonl",
        "\n"
        R"({"id":"same","input":1,"expect":2})");
  auto suite = load_suite(dir.path());
  REQUIRE_FALSE(suite.ok());
  CHECK(suite.status().message() == (dir / "b.jsonl").string() + ":2: duplicate id \"same\" " +
                                        "(first at " + (dir / "a.jsonl").string() + ":1)");
}

TEST_CASE("a parse error in a folder's file names that file") {
  TempDir dir;
  write(dir / "a.jsonl", R"({"id":"ok","input":1,"expect":2})");
  write(dir / "b.jsonl", R"({"id":"bad","input":1})");
  auto suite = load_suite(dir.path());
  REQUIRE_FALSE(suite.ok());
  CHECK(suite.status().message() ==
        (dir / "b.jsonl").string() + ":1: case \"bad\": \"expect\" is required");
}

TEST_CASE("a suite without cases is refused, since it cannot give a score") {
  TempDir dir;
  auto empty_folder = load_suite(dir.path());
  REQUIRE_FALSE(empty_folder.ok());
  CHECK(empty_folder.status().code() == Code::not_found);
  CHECK_THAT(empty_folder.status().message(), Catch::Contains("the suite has no cases"));

  write(dir / "blank.jsonl", "\n\n");
  CHECK(load_suite(dir / "blank.jsonl").status().code() == Code::not_found);
}

TEST_CASE("a suite path that does not exist is not_found") {
  TempDir dir;
  auto suite = load_suite(dir / "missing");
  REQUIRE_FALSE(suite.ok());
  CHECK(suite.status().code() == Code::not_found);
  CHECK_THAT(suite.status().message(), Catch::Contains("no such evaluation suite"));
}

}  // namespace
}  // namespace moss
