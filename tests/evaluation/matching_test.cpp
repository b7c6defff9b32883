// The four matching rules and expected errors, each on one case line.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "evaluation/suite.hpp"

namespace moss {
namespace {

EvalCase one_case(const std::string& line) {
  auto suite = parse_suite(line, "cases.jsonl");
  INFO(suite.status().to_string());
  REQUIRE(suite.ok());
  REQUIRE(suite->cases.size() == 1);
  return suite->cases.front();
}

// The mismatch for `actual_json` against a case with this `expect` and extra fields.
std::optional<std::string> why_not(const std::string& expect, const std::string& actual_json,
                                   const std::string& extra = "") {
  EvalCase c = one_case(R"({"id":"c","input":{},"expect":)" + expect + extra + "}");
  return match_output(c, nlohmann::json::parse(actual_json));
}

bool matches(const std::string& expect, const std::string& actual_json,
             const std::string& extra = "") {
  auto why = why_not(expect, actual_json, extra);
  if (why) UNSCOPED_INFO("mismatch: " << *why);
  return !why;
}

const std::string kSubset = R"(,"match":"subset")";
const std::string kRegex = R"(,"match":"regex")";
const std::string kApprox = R"(,"match":"approx")";

TEST_CASE("exact matching ignores object key order") {
  CHECK(matches(R"({"a":1,"b":[true,null]})", R"({"b":[true,null],"a":1})"));
}

TEST_CASE("exact matching compares numbers by value, so 1 equals 1.0") {
  CHECK(matches("1", "1.0"));
  CHECK(matches("1.0", "1"));
  CHECK(matches(R"({"n":-2})", R"({"n":-2.0})"));
  CHECK_FALSE(matches("1", "1.0000001"));
}

TEST_CASE("exact matching compares two integers exactly, beyond double precision") {
  CHECK_FALSE(matches("9007199254740993", "9007199254740992"));
  CHECK(matches("9007199254740993", "9007199254740993"));
  CHECK_FALSE(matches("18446744073709551615", "-1"));
  CHECK(matches("18446744073709551615", "18446744073709551615"));
}

TEST_CASE("exact matching refuses an extra key and names it") {
  auto why = why_not(R"({"a":1})", R"({"a":1,"b":2})");
  REQUIRE(why);
  CHECK(*why == R"(at the top level: unexpected key "b")");
}

TEST_CASE("exact matching refuses a missing key and names its path") {
  auto why = why_not(R"({"a":{"b":1,"c":2}})", R"({"a":{"b":1}})");
  REQUIRE(why);
  CHECK(*why == R"(at /a: missing key "c")");
}

TEST_CASE("exact matching keeps array order and names the differing element") {
  auto why = why_not(R"({"a":[1,2,3]})", R"({"a":[1,3,2]})");
  REQUIRE(why);
  CHECK(*why == "at /a/1: expected 2, got 3");
}

TEST_CASE("exact matching never equates values of different JSON types") {
  CHECK_FALSE(matches(R"("1")", "1"));
  CHECK_FALSE(matches("null", "0"));
  CHECK_FALSE(matches("true", "1"));
  CHECK_FALSE(matches("[]", "{}"));
  auto why = why_not(R"({"a":"1"})", R"({"a":1})");
  REQUIRE(why);
  CHECK(*why == R"(at /a: expected string "1", got number 1)");
}

TEST_CASE("exact matching escapes / and ~ in the paths it reports") {
  auto why = why_not(R"({"a/b":{"c~d":1}})", R"({"a/b":{"c~d":2}})");
  REQUIRE(why);
  CHECK(*why == "at /a~1b/c~0d: expected 1, got 2");
}

TEST_CASE("subset matching allows extra keys at every depth") {
  CHECK(matches(R"({"a":{"b":1}})", R"({"a":{"b":1,"c":2},"d":3})", kSubset));
  CHECK(matches("{}", R"({"anything":[1]})", kSubset));
}

TEST_CASE("subset matching still needs every expected key, recursively") {
  auto why = why_not(R"({"a":{"b":1}})", R"({"a":{"c":1}})", kSubset);
  REQUIRE(why);
  CHECK(*why == R"(at /a: missing key "b")");
}

TEST_CASE("subset matching needs arrays of the same length, matched element by element") {
  CHECK(matches(R"([{"id":1},{"id":2}])", R"([{"id":1,"x":0},{"id":2,"y":0}])", kSubset));
  CHECK_FALSE(matches(R"([{"id":1}])", R"([{"id":1},{"id":2}])", kSubset));
  CHECK_FALSE(matches(R"([{"id":1},{"id":2}])", R"([{"id":2},{"id":1}])", kSubset));
}

TEST_CASE("subset matching compares scalars as exact does") {
  CHECK(matches(R"({"n":2})", R"({"n":2.0,"m":1})", kSubset));
  CHECK_FALSE(matches(R"({"n":2})", R"({"n":"2"})", kSubset));
  CHECK_FALSE(matches("{}", "[]", kSubset));
}

TEST_CASE("regex matching must match the whole string, not a part of it") {
  CHECK(matches(R"("HEL+O")", R"("HELLO")", kRegex));
  CHECK_FALSE(matches(R"("HEL+O")", R"("HELLO!")", kRegex));
  CHECK_FALSE(matches(R"("ELL")", R"("HELLO")", kRegex));
}

TEST_CASE("regex matching of a non-string value uses its compact JSON with sorted keys") {
  CHECK(matches(R"("\\{\"a\":\\[1,2\\],\"b\":\"x\"\\}")", R"({"b":"x","a":[1,2]})", kRegex));
  CHECK(matches(R"("\\{\"result\":[0-9]+\\}")", R"({"result":42})", kRegex));
  CHECK(matches(R"("4[0-9]")", "42", kRegex));
}

TEST_CASE("regex matching refuses a subject over the size limit and says why") {
  std::string long_text(kMaxRegexSubjectBytes + 1, 'a');
  auto why = why_not(R"("a*")", "\"" + long_text + "\"", kRegex);
  REQUIRE(why);
  CHECK_THAT(*why, Catch::Contains("regex matching is limited to 4096"));
  CHECK(matches(R"("a*")", "\"" + std::string(kMaxRegexSubjectBytes, 'a') + "\"", kRegex));
}

TEST_CASE("approx matching accepts numbers within the tolerance, recursively") {
  CHECK(matches(R"({"x":[0.3,1]})", R"({"x":[0.30000000000000004,1.0]})", kApprox));
  CHECK(matches(R"({"x":1.0})", R"({"x":1.05})", kApprox + R"(,"tolerance":0.1)"));
  CHECK(matches("10", "11", kApprox + R"(,"tolerance":1)"));
  auto why = why_not(R"({"x":1.0})", R"({"x":1.2})", kApprox + R"(,"tolerance":0.1)");
  REQUIRE(why);
  CHECK(*why == "at /x: expected 1.0, got 1.2 (tolerance 0.1)");
}

TEST_CASE("approx matching defaults to a tolerance of 1e-9") {
  CHECK(matches("1.0", "1.0000000001", kApprox));
  CHECK_FALSE(matches("1.0", "1.00000001", kApprox));
}

TEST_CASE("approx matching compares everything but numbers exactly") {
  CHECK_FALSE(matches(R"({"s":"a"})", R"({"s":"A"})", kApprox));
  CHECK_FALSE(matches(R"({"a":1})", R"({"a":1,"b":2})", kApprox));
}

TEST_CASE("an expect of {\"error\": CODE} under exact matching expects that error") {
  EvalCase c = one_case(R"({"id":"e","input":{},"expect":{"error":"invalid_argument"}})");
  REQUIRE(c.expected_error);
  CHECK(*c.expected_error == Code::invalid_argument);
}

TEST_CASE("an expect of {\"error\": ...} under subset matching is an ordinary output") {
  EvalCase c =
      one_case(R"({"id":"e","input":{},"expect":{"error":"no such thing"},"match":"subset"})");
  CHECK_FALSE(c.expected_error);
  CHECK(!match_output(c, nlohmann::json::parse(R"({"error":"no such thing","at":3})")));
}

TEST_CASE("an expected error with a name that is no error code is a parse error") {
  auto suite = parse_suite(R"({"id":"e","input":{},"expect":{"error":"invalid_arg"}})", "s.jsonl");
  REQUIRE_FALSE(suite.ok());
  CHECK_THAT(suite.status().message(), Catch::StartsWith("s.jsonl:1: case \"e\": \"expect\": "
                                                         "{\"error\": \"invalid_arg\"} names no "
                                                         "error code"));
  CHECK_THAT(suite.status().message(), Catch::Contains("invalid_argument, not_found"));
}

}  // namespace
}  // namespace moss
