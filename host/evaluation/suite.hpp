// Evaluation suites: the JSONL case format of a plugin's eval/ folder, its parser, and the
// rules that decide whether a tool's output matches a case. host/evaluation/README.md has the
// same rules with examples.
//
// One case per line:
//   {"id": "upper-ascii", "input": {...}, "expect": <json>,
//    "weight": 1, "match": "exact", "tolerance": 1e-9}
//   id         required, a non-empty string, unique across the suite's files
//   input      required, any JSON; a Tool receives it as its arguments (an object, then)
//   expect     required, any JSON (a string for "regex")
//   weight     optional, a finite number > 0; default 1
//   match      optional, "exact" | "subset" | "regex" | "approx"; default "exact"
//   tolerance  optional, only with "approx": a finite number >= 0; default 1e-9
// Blank lines are skipped; any other key is an error. Errors name "file:line: problem".
//
// Matching, with `expect` against `actual` (the tool's output parsed as JSON):
//   exact   JSON equality. Object key order is irrelevant. Numbers compare by value:
//           two integers exactly, otherwise as doubles, so 1 == 1.0.
//   subset  every key of an expected object is present in the actual object and its value
//           matches by subset, recursively; extra actual keys are allowed. Arrays must have
//           the same length and match element by element (by subset), in order. Scalars
//           match as in exact.
//   regex   expect is an ECMAScript regular expression (std::regex) that must match the
//           whole subject: the actual value itself if it is a string, else its compact
//           JSON text (keys sorted, no spaces, non-ASCII as UTF-8). Subjects longer than
//           kMaxRegexSubjectBytes fail the case (see there).
//   approx  as exact, except that any two numbers match when |a - b| <= tolerance.
//
// Expected errors: under "exact" (the default), an `expect` that is exactly
// {"error": "<code>"}, where <code> is an error code name such as "invalid_argument"
// (moss::sdk::code_name), means the call must fail with that code. A name that is not an
// error code is a parse error. To expect a successful output of that shape, use "subset".
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.hpp"

namespace moss {

enum class MatchRule {
  exact = 1,
  subset = 2,
  regex = 3,
  approx = 4,
};

// "exact", "subset", "regex", "approx".
const char* match_rule_name(MatchRule rule);

// libstdc++'s std::regex recurses once or more per subject character, so a long subject can
// overflow the stack; in the eval worker that would be blamed on the candidate as a crash.
// Longer subjects therefore fail the case with a message saying so.
inline constexpr std::size_t kMaxRegexSubjectBytes = 4096;

struct EvalCase {
  std::string id;
  nlohmann::json input;
  nlohmann::json expect;
  double weight = 1.0;
  MatchRule match = MatchRule::exact;
  double tolerance = 1e-9;
  std::optional<Code> expected_error;  // set when `expect` is {"error": "<code>"} (see above)
  std::optional<std::regex> pattern;   // `expect` compiled, for MatchRule::regex
  std::string origin;                  // "file:line", for messages
};

struct EvalSuite {
  std::vector<EvalCase> cases;  // in file order; files in name order
  double total_weight() const;
};

// Parses JSONL text. `origin` names the file in messages. An empty text gives an empty suite.
Result<EvalSuite> parse_suite(std::string_view text, const std::string& origin);

// Loads one .jsonl file, or every *.jsonl file directly inside a folder (in name order), as
// one suite. Ids must be unique across the files. A suite without cases is an error
// (not_found), since it cannot give a score.
Result<EvalSuite> load_suite(const std::filesystem::path& file_or_folder);

// Why `actual` does not match the case's expectation ("at /result: expected 3, got 4"), or
// nullopt if it matches. Only for output expectations (expected_error not set).
std::optional<std::string> match_output(const EvalCase& c, const nlohmann::json& actual);

}  // namespace moss
