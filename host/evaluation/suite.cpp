// Suite parsing (JSONL, errors at file:line) and the four matching rules.
#include "evaluation/suite.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <system_error>

#include "util/files.hpp"
#include "util/json_schema.hpp"

namespace moss {
namespace {

using nlohmann::json;

constexpr const char* kKnownKeys[] = {"id", "input", "expect", "weight", "match", "tolerance"};
constexpr MatchRule kRules[] = {MatchRule::exact, MatchRule::subset, MatchRule::regex,
                                MatchRule::approx};

std::optional<Code> error_code_named(std::string_view name) {
  for (int value = 1;; ++value) {
    const char* candidate = sdk::code_name(static_cast<Code>(value));
    if (std::strcmp(candidate, "unknown") == 0) return std::nullopt;
    if (name == candidate) return static_cast<Code>(value);
  }
}

std::string error_code_names() {
  std::string names;
  for (int value = 1;; ++value) {
    const char* name = sdk::code_name(static_cast<Code>(value));
    if (std::strcmp(name, "unknown") == 0) return names;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
}

// A JSON value for a message: compact, and cut short if long.
std::string shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr std::size_t kLongest = 120;
  if (text.size() > kLongest) text = text.substr(0, kLongest) + "...";
  return text;
}

// nlohmann's message without its "[json.exception...] parse error at line 1, column 5: ".
std::string parse_problem(const json::parse_error& e) {
  std::string what = e.what();
  auto column = what.find("column ");
  auto colon = what.find(": ", column == std::string::npos ? 0 : column);
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

bool is_finite_number(const json& value) {
  return value.is_number() && std::isfinite(value.get<double>());
}

// Both values are numbers. `tolerance` < 0 asks for equality by value.
bool numbers_match(const json& expect, const json& actual, double tolerance) {
  if (expect.is_number_integer() && actual.is_number_integer()) {
    bool equal = false;
    if (expect.is_number_unsigned() == actual.is_number_unsigned()) {
      equal = expect.is_number_unsigned()
                  ? expect.get<std::uint64_t>() == actual.get<std::uint64_t>()
                  : expect.get<std::int64_t>() == actual.get<std::int64_t>();
    } else {
      const json& signed_one = expect.is_number_unsigned() ? actual : expect;
      const json& unsigned_one = expect.is_number_unsigned() ? expect : actual;
      equal = signed_one.get<std::int64_t>() >= 0 &&
              static_cast<std::uint64_t>(signed_one.get<std::int64_t>()) ==
                  unsigned_one.get<std::uint64_t>();
    }
    if (equal || tolerance < 0) return equal;
  }
  const double e = expect.get<double>();
  const double a = actual.get<double>();
  return tolerance < 0 ? e == a : std::fabs(e - a) <= tolerance;
}

std::string where(const std::string& path) {
  return path.empty() ? "at the top level" : "at " + path;
}

// Compares for exact, subset and approx. `path` is the JSON Pointer of the values.
std::optional<std::string> compare(const json& expect, const json& actual, MatchRule rule,
                                   double tolerance, const std::string& path) {
  auto differs = [&] {
    return where(path) + ": expected " + shown(expect) + ", got " + shown(actual);
  };
  if (expect.is_number() && actual.is_number()) {
    if (numbers_match(expect, actual, rule == MatchRule::approx ? tolerance : -1.0)) {
      return std::nullopt;
    }
    std::string message = differs();
    if (rule == MatchRule::approx) message += " (tolerance " + json(tolerance).dump() + ")";
    return message;
  }
  if (expect.type() != actual.type()) {
    return where(path) + ": expected " + expect.type_name() + " " + shown(expect) + ", got " +
           actual.type_name() + " " + shown(actual);
  }
  if (expect.is_object()) {
    for (const auto& [key, value] : expect.items()) {
      auto found = actual.find(key);
      if (found == actual.end()) return where(path) + ": missing key \"" + key + "\"";
      auto inner = compare(value, *found, rule, tolerance, path + "/" + json_pointer_token(key));
      if (inner) return inner;
    }
    if (rule != MatchRule::subset) {
      for (const auto& [key, value] : actual.items()) {
        if (!expect.contains(key)) return where(path) + ": unexpected key \"" + key + "\"";
      }
    }
    return std::nullopt;
  }
  if (expect.is_array()) {
    if (expect.size() != actual.size()) {
      return where(path) + ": expected an array of " + std::to_string(expect.size()) +
             " elements, got " + std::to_string(actual.size()) + ": " + shown(actual);
    }
    for (std::size_t i = 0; i < expect.size(); ++i) {
      auto inner = compare(expect[i], actual[i], rule, tolerance, path + "/" + std::to_string(i));
      if (inner) return inner;
    }
    return std::nullopt;
  }
  if (expect == actual) return std::nullopt;
  return differs();
}

// Fills `c` from one parsed line; errors are prefixed by the caller.
Status read_case(const json& line, EvalCase& c) {
  if (!line.is_object()) return make_error(Code::invalid_argument, "a case must be a JSON object");
  for (const auto& [key, value] : line.items()) {
    if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) == std::end(kKnownKeys)) {
      return make_error(
          Code::invalid_argument,
          "unknown key \"" + key + "\" (a case has id, input, expect, weight, match, tolerance)");
    }
  }
  auto id = line.find("id");
  if (id == line.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    return make_error(Code::invalid_argument, "\"id\" is required: a non-empty string");
  }
  c.id = id->get<std::string>();
  for (const char* key : {"input", "expect"}) {
    if (!line.contains(key)) {
      return make_error(Code::invalid_argument,
                        "case \"" + c.id + "\": \"" + key + "\" is required");
    }
  }
  c.input = line["input"];
  c.expect = line["expect"];
  auto problem = [&](const std::string& text) {
    return make_error(Code::invalid_argument, "case \"" + c.id + "\": " + text);
  };
  if (auto weight = line.find("weight"); weight != line.end()) {
    if (!is_finite_number(*weight) || weight->get<double>() <= 0) {
      return problem("\"weight\" must be a number > 0, got " + shown(*weight));
    }
    c.weight = weight->get<double>();
  }
  if (auto match = line.find("match"); match != line.end()) {
    auto rule = std::find_if(std::begin(kRules), std::end(kRules), [&](MatchRule r) {
      return match->is_string() && match->get_ref<const std::string&>() == match_rule_name(r);
    });
    if (rule == std::end(kRules)) {
      return problem("\"match\" must be \"exact\", \"subset\", \"regex\" or \"approx\", got " +
                     shown(*match));
    }
    c.match = *rule;
  }
  if (auto tolerance = line.find("tolerance"); tolerance != line.end()) {
    if (c.match != MatchRule::approx) {
      return problem("\"tolerance\" applies only to \"match\": \"approx\"");
    }
    if (!is_finite_number(*tolerance) || tolerance->get<double>() < 0) {
      return problem("\"tolerance\" must be a number >= 0, got " + shown(*tolerance));
    }
    c.tolerance = tolerance->get<double>();
  }
  if (c.match == MatchRule::regex) {
    if (!c.expect.is_string()) {
      return problem("\"match\": \"regex\" needs \"expect\" to be a string, got " +
                     shown(c.expect));
    }
    try {
      c.pattern.emplace(c.expect.get<std::string>(), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return problem("\"expect\" is not a valid ECMAScript regex: " + std::string(e.what()));
    }
  }
  if (c.match == MatchRule::exact && c.expect.is_object() && c.expect.size() == 1 &&
      c.expect.contains("error") && c.expect["error"].is_string()) {
    const std::string& name = c.expect["error"].get_ref<const std::string&>();
    c.expected_error = error_code_named(name);
    if (!c.expected_error) {
      return problem("\"expect\": {\"error\": \"" + name +
                     "\"} names no error code (codes: " + error_code_names() +
                     "); to expect an output of that shape, use \"match\": \"subset\"");
    }
  }
  return Status();
}

// Parses `text` and appends its cases to `suite`; `first_seen` maps ids to where they were
// first found, across files.
Status append_cases(std::string_view text, const std::string& origin, EvalSuite& suite,
                    std::map<std::string, std::string>& first_seen) {
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;

    const std::string at = origin + ":" + std::to_string(line_number);
    json parsed;
    try {
      parsed = json::parse(line);
    } catch (const json::parse_error& e) {
      return make_error(
          Code::invalid_argument,
          at + ": not valid JSON (column " + std::to_string(e.byte) + "): " + parse_problem(e));
    }
    EvalCase c;
    c.origin = at;
    Status read = read_case(parsed, c);
    if (!read.ok()) return make_error(read.code(), at + ": " + read.message());
    if (auto [it, fresh] = first_seen.emplace(c.id, at); !fresh) {
      return make_error(Code::invalid_argument,
                        at + ": duplicate id \"" + c.id + "\" (first at " + it->second + ")");
    }
    suite.cases.push_back(std::move(c));
  }
  return Status();
}

}  // namespace

const char* match_rule_name(MatchRule rule) {
  switch (rule) {
    case MatchRule::exact: return "exact";
    case MatchRule::subset: return "subset";
    case MatchRule::regex: return "regex";
    case MatchRule::approx: return "approx";
  }
  return "unknown";
}

double EvalSuite::total_weight() const {
  double total = 0.0;
  for (const EvalCase& c : cases)
    total += c.weight;
  return total;
}

Result<EvalSuite> parse_suite(std::string_view text, const std::string& origin) {
  EvalSuite suite;
  std::map<std::string, std::string> first_seen;
  Status parsed = append_cases(text, origin, suite, first_seen);
  if (!parsed.ok()) return parsed;
  return suite;
}

Result<EvalSuite> load_suite(const std::filesystem::path& file_or_folder) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(file_or_folder, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(file_or_folder, ec)) {
      if (entry.path().extension() == ".jsonl" && entry.is_regular_file(ec)) {
        files.push_back(entry.path());
      }
    }
    if (ec) {
      return make_error(Code::unavailable,
                        file_or_folder.string() + ": cannot list the folder: " + ec.message());
    }
    std::sort(files.begin(), files.end());
  } else if (std::filesystem::exists(file_or_folder, ec)) {
    files.push_back(file_or_folder);
  } else {
    return make_error(Code::not_found, file_or_folder.string() +
                                           ": no such evaluation suite (a .jsonl file or an "
                                           "eval/ folder of them)");
  }

  EvalSuite suite;
  std::map<std::string, std::string> first_seen;
  for (const auto& file : files) {
    auto text = read_file(file);
    if (!text.ok()) return text.status();
    Status parsed = append_cases(text.value(), file.string(), suite, first_seen);
    if (!parsed.ok()) return parsed;
  }
  if (suite.cases.empty()) {
    return make_error(Code::not_found, file_or_folder.string() +
                                           ": the suite has no cases (no *.jsonl files, or "
                                           "only blank lines), so it cannot give a score");
  }
  return suite;
}

std::optional<std::string> match_output(const EvalCase& c, const nlohmann::json& actual) {
  if (c.match != MatchRule::regex) return compare(c.expect, actual, c.match, c.tolerance, "");
  const std::string subject = actual.is_string()
                                  ? actual.get<std::string>()
                                  : actual.dump(-1, ' ', false, json::error_handler_t::replace);
  if (subject.size() > kMaxRegexSubjectBytes) {
    return "the value to match is " + std::to_string(subject.size()) +
           " bytes; regex matching is limited to " + std::to_string(kMaxRegexSubjectBytes) +
           " (use \"exact\" or \"subset\" for long outputs)";
  }
  if (c.pattern && std::regex_match(subject, *c.pattern)) return std::nullopt;
  return "expected a match of /" + c.expect.get<std::string>() + "/, got " +
         (actual.is_string() ? shown(actual) : subject.substr(0, 120));
}

}  // namespace moss
