// valijson behind a small interface, so no valijson type leaks into the rest of the host; and
// moss's own check that a schema is valid draft-07, done before valijson sees it because valijson
// accepts many invalid schemas and crashes on some valid but endlessly recursive ones.
#include "util/json_schema.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <string_view>
#include <utility>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace moss {
namespace {

using json = nlohmann::json;

// valijson's context is like ["<root>", "[limits]", "[max]"]; this gives "limits.max".
std::string property_path(const std::vector<std::string>& context) {
  std::string path;
  for (const std::string& part : context) {
    if (part == "<root>") continue;
    std::string name = part;
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
      name = name.substr(1, name.size() - 2);
    }
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    if (!path.empty()) path += ".";
    path += name;
  }
  return path;
}

void apply_defaults_at(const json& schema, json& document) {
  if (!schema.is_object() || !document.is_object()) return;
  auto properties = schema.find("properties");
  if (properties == schema.end() || !properties->is_object()) return;
  for (auto& [name, property] : properties->items()) {
    if (!property.is_object()) continue;
    auto present = document.find(name);
    if (present == document.end()) {
      if (auto fallback = property.find("default"); fallback != property.end()) {
        document[name] = *fallback;
      }
    } else {
      apply_defaults_at(property, *present);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON Pointers (RFC 6901). Pointers are kept escaped ("/a~1b/0"), which is also how they are
// shown in messages.

std::string child(const std::string& pointer, std::string_view name) {
  return pointer + "/" + json_pointer_token(name);
}

std::string child(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}

// The tokens of an escaped pointer, unescaped; nullopt if it is not a pointer.
std::optional<std::vector<std::string>> pointer_tokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') return std::nullopt;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == 1 || pointer[i - 1] == '/') tokens.emplace_back();
    if (i == pointer.size()) break;
    char c = pointer[i];
    if (c == '/') continue;
    if (c == '~') {
      if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) {
        return std::nullopt;
      }
      tokens.back() += pointer[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      tokens.back() += c;
    }
  }
  return tokens;
}

// The value `pointer` names in `root`, or nullptr. Array indices are decimal without leading
// zeros, as RFC 6901 has them.
const json* value_at(const json& root, std::string_view pointer) {
  auto tokens = pointer_tokens(pointer);
  if (!tokens) return nullptr;
  const json* at = &root;
  for (const std::string& token : *tokens) {
    if (at->is_object()) {
      auto found = at->find(token);
      if (found == at->end()) return nullptr;
      at = &*found;
    } else if (at->is_array()) {
      if (token.empty() || token.size() > 18 || (token.size() > 1 && token.front() == '0') ||
          !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return nullptr;
      }
      std::size_t index = std::stoull(token);
      if (index >= at->size()) return nullptr;
      at = &(*at)[index];
    } else {
      return nullptr;
    }
  }
  return at;
}

// The pointer without its last token; the root has no parent.
std::string parent_of(const std::string& pointer) {
  return pointer.substr(0, pointer.rfind('/'));
}

// ---------------------------------------------------------------------------------------------
// URI references (RFC 3986), only as far as resolving "$id" and "$ref" needs: parsing per
// appendix B, and reference resolution per section 5.2. A base may itself be relative (a
// schema without a root "$id" has no URI); resolution then works on the relative form.

struct UriReference {
  std::optional<std::string> scheme;
  std::optional<std::string> authority;
  std::string path;
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

UriReference parse_uri(std::string_view text) {
  UriReference uri;
  if (std::size_t hash = text.find('#'); hash != std::string_view::npos) {
    uri.fragment = std::string(text.substr(hash + 1));
    text = text.substr(0, hash);
  }
  if (std::size_t question = text.find('?'); question != std::string_view::npos) {
    uri.query = std::string(text.substr(question + 1));
    text = text.substr(0, question);
  }
  if (std::size_t colon = text.find(':'); colon != std::string_view::npos && colon > 0 &&
                                          text.substr(0, colon).find('/') == text.npos) {
    uri.scheme = std::string(text.substr(0, colon));
    text = text.substr(colon + 1);
  }
  if (text.substr(0, 2) == "//") {
    std::size_t slash = text.find('/', 2);
    uri.authority = std::string(text.substr(2, slash == text.npos ? text.npos : slash - 2));
    text = slash == text.npos ? std::string_view() : text.substr(slash);
  }
  uri.path = std::string(text);
  return uri;
}

std::string to_string(const UriReference& uri) {
  std::string text;
  if (uri.scheme) text += *uri.scheme + ":";
  if (uri.authority) text += "//" + *uri.authority;
  text += uri.path;
  if (uri.query) text += "?" + *uri.query;
  if (uri.fragment) text += "#" + *uri.fragment;
  return text;
}

// RFC 3986 section 5.2.4.
std::string remove_dot_segments(std::string input) {
  std::string output;
  auto drop_last_segment = [&output] {
    std::size_t slash = output.rfind('/');
    output.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!input.empty()) {
    if (input.rfind("../", 0) == 0) {
      input.erase(0, 3);
    } else if (input.rfind("./", 0) == 0) {
      input.erase(0, 2);
    } else if (input.rfind("/./", 0) == 0) {
      input.erase(0, 2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.rfind("/../", 0) == 0) {
      input.erase(0, 3);
      drop_last_segment();
    } else if (input == "/..") {
      input = "/";
      drop_last_segment();
    } else if (input == "." || input == "..") {
      input.clear();
    } else {
      std::size_t end = input.find('/', 1);
      if (end == std::string::npos) end = input.size();
      output += input.substr(0, end);
      input.erase(0, end);
    }
  }
  return output;
}

// RFC 3986 section 5.2.2.
UriReference resolve(const UriReference& base, const UriReference& reference) {
  UriReference target;
  if (reference.scheme) {
    target = reference;
    target.path = remove_dot_segments(reference.path);
    return target;
  }
  target.scheme = base.scheme;
  if (reference.authority) {
    target.authority = reference.authority;
    target.path = remove_dot_segments(reference.path);
    target.query = reference.query;
  } else {
    target.authority = base.authority;
    if (reference.path.empty()) {
      target.path = base.path;
      target.query = reference.query ? reference.query : base.query;
    } else {
      if (reference.path.front() == '/') {
        target.path = remove_dot_segments(reference.path);
      } else if (base.authority && base.path.empty()) {
        target.path = remove_dot_segments("/" + reference.path);
      } else {
        std::size_t slash = base.path.rfind('/');
        std::string directory = slash == std::string::npos ? "" : base.path.substr(0, slash + 1);
        target.path = remove_dot_segments(directory + reference.path);
      }
      target.query = reference.query;
    }
  }
  target.fragment = reference.fragment;
  return target;
}

// Decodes %XX escapes; nullopt if one is malformed.
std::optional<std::string> percent_decoded(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = hex(text[i + 1]);
    int low = hex(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    decoded += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return decoded;
}

// ---------------------------------------------------------------------------------------------
// Regular expressions. valijson runs "pattern" and "patternProperties" with std::regex, so a
// pattern must compile there. libstdc++ also takes a quantifier straight after another ("a**",
// "a{2}{3}"), which ECMA-262 refuses; that is checked separately.

// The length of the quantifier at `at` ("*", "+", "?", "{n}", "{n,}", "{n,m}"), or 0.
std::size_t quantifier_length(std::string_view pattern, std::size_t at) {
  char c = pattern[at];
  if (c == '*' || c == '+' || c == '?') return 1;
  if (c != '{') return 0;
  std::size_t i = at + 1;
  auto digits = [&] {
    std::size_t start = i;
    while (i < pattern.size() && pattern[i] >= '0' && pattern[i] <= '9')
      ++i;
    return i > start;
  };
  if (!digits()) return 0;
  if (i < pattern.size() && pattern[i] == ',') {
    ++i;
    digits();
  }
  if (i >= pattern.size() || pattern[i] != '}') return 0;
  return i + 1 - at;
}

std::optional<std::string> regex_problem(const std::string& pattern) {
  try {
    std::regex compiled(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return std::string(e.what());
  }
  enum class After { atom, quantifier, lazy_quantifier } after = After::atom;
  for (std::size_t i = 0; i < pattern.size();) {
    char c = pattern[i];
    if (c == '\\') {
      i += 2;
      after = After::atom;
      continue;
    }
    if (c == '[') {
      for (++i; i < pattern.size() && pattern[i] != ']'; ++i) {
        if (pattern[i] == '\\') ++i;
      }
      ++i;
      after = After::atom;
      continue;
    }
    std::size_t length = quantifier_length(pattern, i);
    if (length == 0) {
      after = After::atom;
      ++i;
      continue;
    }
    if (c == '?' && after == After::quantifier) {
      after = After::lazy_quantifier;
    } else if (after != After::atom) {
      return "nothing to repeat before the quantifier at offset " + std::to_string(i);
    } else {
      after = After::quantifier;
    }
    i += length;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The validity check: the draft-07 meta-schema's rules, keyword by keyword.

enum class Rule {
  any_value,               // default, const
  schema,                  // an object or a boolean
  schema_array,            // a non-empty array of schemas
  schema_or_schema_array,  // items
  schema_map,              // an object whose values are schemas
  pattern_schema_map,      // the same, and every name is a regular expression
  dependencies,            // an object whose values are schemas or arrays of unique strings
  non_negative_integer,    // an integer >= 0; 2.0 counts as an integer, as the spec says
  number,                  // any number
  positive_number,         // a number > 0
  string,                  // any string
  regex,                   // a string that is a regular expression
  boolean,                 // true or false
  unique_strings,          // an array of strings, none twice
  array,                   // any array
  type,                    // a type name, or a non-empty array of unique type names
  id,                      // a string, a URI reference that sets the base URI
  meta_schema,             // a string naming the draft-07 meta-schema
  reference,               // a string, a URI reference resolved in this document
};

struct KeywordRule {
  std::string_view keyword;
  Rule rule;
  bool same_value;  // its subschemas apply to the value the schema applies to
};

// Every keyword of draft-07 (its core and validation specifications) with the meta-schema's rule
// for its value. Keywords not listed here are unknown and may hold anything.
constexpr KeywordRule kKeywordRules[] = {
    // Identification and references.
    {"$id", Rule::id, false},
    {"$schema", Rule::meta_schema, false},
    {"$ref", Rule::reference, false},
    {"$comment", Rule::string, false},
    {"definitions", Rule::schema_map, false},
    // Subschemas applied to the same value.
    {"allOf", Rule::schema_array, true},
    {"anyOf", Rule::schema_array, true},
    {"oneOf", Rule::schema_array, true},
    {"not", Rule::schema, true},
    {"if", Rule::schema, true},
    {"then", Rule::schema, true},
    {"else", Rule::schema, true},
    {"dependencies", Rule::dependencies, true},
    // Subschemas applied to items, properties and property names.
    {"items", Rule::schema_or_schema_array, false},
    {"additionalItems", Rule::schema, false},
    {"contains", Rule::schema, false},
    {"properties", Rule::schema_map, false},
    {"patternProperties", Rule::pattern_schema_map, false},
    {"additionalProperties", Rule::schema, false},
    {"propertyNames", Rule::schema, false},
    // Assertions.
    {"type", Rule::type, false},
    {"enum", Rule::array, false},
    {"const", Rule::any_value, false},
    {"multipleOf", Rule::positive_number, false},
    {"maximum", Rule::number, false},
    {"exclusiveMaximum", Rule::number, false},
    {"minimum", Rule::number, false},
    {"exclusiveMinimum", Rule::number, false},
    {"maxLength", Rule::non_negative_integer, false},
    {"minLength", Rule::non_negative_integer, false},
    {"pattern", Rule::regex, false},
    {"maxItems", Rule::non_negative_integer, false},
    {"minItems", Rule::non_negative_integer, false},
    {"uniqueItems", Rule::boolean, false},
    {"maxProperties", Rule::non_negative_integer, false},
    {"minProperties", Rule::non_negative_integer, false},
    {"required", Rule::unique_strings, false},
    {"format", Rule::string, false},
    {"contentMediaType", Rule::string, false},
    {"contentEncoding", Rule::string, false},
    // Annotations.
    {"title", Rule::string, false},
    {"description", Rule::string, false},
    {"default", Rule::any_value, false},
    {"readOnly", Rule::boolean, false},
    {"writeOnly", Rule::boolean, false},
    {"examples", Rule::array, false},
};

const KeywordRule* rule_for(std::string_view keyword) {
  for (const KeywordRule& rule : kKeywordRules) {
    if (rule.keyword == keyword) return &rule;
  }
  return nullptr;
}

constexpr std::string_view kTypeNames[] = {"array",  "boolean", "integer", "null",
                                           "number", "object",  "string"};

// The draft-07 meta-schema's URI, as "$schema" may name it.
bool is_draft07_meta_schema(std::string_view uri) {
  for (std::string_view scheme : {"http://", "https://"}) {
    for (std::string_view end : {"", "#"}) {
      if (uri == std::string(scheme) + "json-schema.org/draft-07/schema" + std::string(end)) {
        return true;
      }
    }
  }
  return false;
}

// The JSON type of a value, as a message names what it found.
std::string type_of(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return std::string(value.type_name());
  }
}

bool is_integral(const json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  double number = value.get<double>();
  return std::isfinite(number) && std::floor(number) == number;
}

bool is_negative(const json& value) {
  if (value.is_number_unsigned()) return false;
  if (value.is_number_integer()) return value.get<std::int64_t>() < 0;
  return value.get<double>() < 0;
}

// Why a schema is refused: the pointer of the offending value, and what is wrong with it.
struct Refusal {
  std::string pointer;
  std::string message;
};

// A value as JSON text for a message; bytes that are not UTF-8 (possible in a schema built in
// memory) are replaced rather than thrown on.
std::string dumped(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string json_string(const std::string& text) {
  return dumped(json(text));
}

class SchemaChecker {
 public:
  explicit SchemaChecker(const json& root) : root_(root) {}

  // Throws Refusal for the first problem found.
  void check() {
    resources_.emplace("", "");
    walk(root_, "", "");
    resolve_references();
    refuse_endless_recursion();
  }

  // A copy of the schema that valijson reads the way draft-07 means it:
  //   - every "$ref" is rewritten to the "#<pointer>" it resolves to, because valijson ignores
  //     "$id" and would try to fetch "$ref"s relative to one;
  //   - counts given as integral numbers such as 2.0 become integers, which valijson needs;
  //   - an empty "format", which valijson refuses, is dropped (it names no format);
  //   - "id" and "divisibleBy", draft-4 and draft-3 keywords that valijson still reads but
  //     draft-07 does not define, are dropped.
  json prepared_for_valijson() const {
    json copy = root_;
    for (const auto& [pointer, node] : nodes_) {
      json& schema = copy.at(json::json_pointer(pointer));
      if (!schema.is_object()) continue;
      if (node.reference) schema["$ref"] = "#" + valijson_pointer(node.target);
      for (std::string_view keyword :
           {"maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"}) {
        constexpr auto kLargest = std::numeric_limits<std::int64_t>::max();
        auto count = schema.find(keyword);
        if (count == schema.end()) continue;
        if (count->is_number_unsigned()) {
          *count = static_cast<std::int64_t>(
              std::min<std::uint64_t>(count->get<std::uint64_t>(), kLargest));
        } else if (count->is_number_float()) {
          double value = count->get<double>();
          *count =
              value >= static_cast<double>(kLargest) ? kLargest : static_cast<std::int64_t>(value);
        }
      }
      if (auto format = schema.find("format"); format != schema.end() && *format == "") {
        schema.erase(format);
      }
      if (auto id = schema.find("id"); id != schema.end() && id->is_string()) schema.erase(id);
      schema.erase("divisibleBy");
    }
    return copy;
  }

 private:
  // A schema in the document: the root, a subschema of a keyword, or the target of a "$ref".
  struct Node {
    std::string base;                      // base URI inside it, without a fragment
    std::vector<std::string> same_value;   // subschemas applied to the same value
    std::optional<std::string> reference;  // its "$ref"
    std::string target;                    // the pointer "$ref" resolves to
  };

  // A pointer as valijson reads it in a "$ref": it decodes %XX, so "%" is escaped. (It also
  // trims trailing slashes; resolve_reference() refuses targets whose pointer ends in one.)
  static std::string valijson_pointer(const std::string& pointer) {
    std::string escaped;
    for (char c : pointer)
      escaped += c == '%' ? std::string("%25") : std::string(1, c);
    return escaped;
  }

  [[noreturn]] static void refuse(std::string pointer, std::string message) {
    throw Refusal{std::move(pointer), std::move(message)};
  }

  // Checks the schema at `pointer` and every subschema in it.
  void walk(const json& value, const std::string& pointer, const std::string& base) {
    if (!value.is_object() && !value.is_boolean()) {
      refuse(pointer, "expected a schema (an object or a boolean), found " + type_of(value));
    }
    auto [entry, inserted] = nodes_.try_emplace(pointer);
    if (!inserted) return;
    order_.push_back(pointer);
    Node& node = entry->second;
    node.base = base;
    if (value.is_boolean()) return;

    if (auto ref = value.find("$ref"); ref != value.end() && ref->is_string()) {
      node.reference = ref->get<std::string>();
    }
    // "$id" sets the base URI, except beside "$ref", whose siblings draft-07 ignores.
    if (auto id = value.find("$id"); id != value.end() && id->is_string() && !node.reference) {
      node.base = identify(id->get<std::string>(), base, pointer);
    }
    for (const auto& [keyword, member] : value.items()) {
      const KeywordRule* rule = rule_for(keyword);
      if (rule == nullptr) continue;
      check_keyword(*rule, member, child(pointer, keyword), node);
    }
  }

  // Records the resource and anchor an "$id" names; returns the base URI it sets.
  std::string identify(const std::string& id, const std::string& base, const std::string& pointer) {
    UriReference uri = resolve(parse_uri(base), parse_uri(id));
    std::optional<std::string> fragment = std::move(uri.fragment);
    uri.fragment.reset();
    std::string resource = to_string(uri);
    if (!identifies_) return resource;
    const std::string at = child(pointer, "$id");
    if (resource != base) {
      auto [existing, added] = resources_.emplace(resource, pointer);
      if (!added) {
        refuse(at, json_string(id) + " names " + json_string(resource) + ", which the schema at " +
                       shown(existing->second) + " already names");
      }
    }
    if (fragment && !fragment->empty() && fragment->front() != '/') {
      std::string anchor = resource + "#" + *fragment;
      auto [existing, added] = anchors_.emplace(anchor, pointer);
      if (!added) {
        refuse(at, json_string(id) + " names " + json_string(anchor) + ", which the schema at " +
                       shown(existing->second) + " already names");
      }
    }
    return resource;
  }

  static std::string shown(const std::string& pointer) {
    return pointer.empty() ? "the root" : pointer;
  }

  void subschema(const json& value, const std::string& pointer, const std::string& base,
                 std::vector<std::string>* same_value) {
    if (same_value != nullptr) same_value->push_back(pointer);
    walk(value, pointer, base);
  }

  void schema_array(const json& value, const std::string& pointer, const std::string& base,
                    std::vector<std::string>* same_value, const std::string& expected) {
    if (!value.is_array()) refuse(pointer, "expected " + expected + ", found " + type_of(value));
    if (value.empty()) refuse(pointer, "expected " + expected + ", found an empty array");
    for (std::size_t i = 0; i < value.size(); ++i) {
      subschema(value[i], child(pointer, i), base, same_value);
    }
  }

  static void unique_strings(const json& value, const std::string& pointer,
                             const std::string& expected) {
    if (!value.is_array()) refuse(pointer, "expected " + expected + ", found " + type_of(value));
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string()) {
        refuse(child(pointer, i), "expected a string, found " + type_of(value[i]));
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (value[j] == value[i]) {
          refuse(child(pointer, i), json_string(value[i].get<std::string>()) +
                                        " is already listed at " + child(pointer, j) +
                                        "; the items must be unique");
        }
      }
    }
  }

  void check_keyword(const KeywordRule& rule, const json& value, const std::string& pointer,
                     Node& owner) {
    std::vector<std::string>* same_value = rule.same_value ? &owner.same_value : nullptr;
    const std::string& base = owner.base;
    auto expect = [&](bool ok, const std::string& expected) {
      if (!ok) refuse(pointer, "expected " + expected + ", found " + type_of(value));
    };
    switch (rule.rule) {
      case Rule::any_value: return;
      case Rule::schema: subschema(value, pointer, base, same_value); return;
      case Rule::schema_array:
        schema_array(value, pointer, base, same_value, "a non-empty array of schemas");
        return;
      case Rule::schema_or_schema_array:
        if (value.is_array()) {
          schema_array(value, pointer, base, same_value, "a non-empty array of schemas");
          return;
        }
        expect(value.is_object() || value.is_boolean(),
               "a schema (an object or a boolean) or a non-empty array of schemas");
        subschema(value, pointer, base, same_value);
        return;
      case Rule::schema_map:
      case Rule::pattern_schema_map:
        expect(value.is_object(), "an object whose values are schemas");
        for (const auto& [name, member] : value.items()) {
          if (rule.rule == Rule::pattern_schema_map) {
            if (auto problem = regex_problem(name)) {
              refuse(child(pointer, name), "the property name pattern " + json_string(name) +
                                               " is not a regular expression moss accepts "
                                               "(ECMA-262, as C++ std::regex reads it): " +
                                               *problem);
            }
          }
          subschema(member, child(pointer, name), base, same_value);
        }
        return;
      case Rule::dependencies:
        expect(value.is_object(), "an object whose values are schemas or arrays of strings");
        for (const auto& [name, member] : value.items()) {
          if (member.is_array()) {
            unique_strings(member, child(pointer, name), "an array of unique strings");
          } else if (member.is_object() || member.is_boolean()) {
            subschema(member, child(pointer, name), base, same_value);
          } else {
            refuse(child(pointer, name),
                   "expected a schema or an array of unique strings, found " + type_of(member));
          }
        }
        return;
      case Rule::non_negative_integer:
        expect(value.is_number(), "a non-negative integer");
        if (!is_integral(value) || is_negative(value)) {
          refuse(pointer, "expected a non-negative integer, found " + dumped(value));
        }
        return;
      case Rule::number: expect(value.is_number(), "a number"); return;
      case Rule::positive_number:
        expect(value.is_number(), "a number greater than 0");
        if (is_negative(value) || value.get<double>() == 0) {
          refuse(pointer, "expected a number greater than 0, found " + dumped(value));
        }
        return;
      case Rule::string: expect(value.is_string(), "a string"); return;
      case Rule::regex:
        expect(value.is_string(), "a string (a regular expression)");
        if (auto problem = regex_problem(value.get<std::string>())) {
          refuse(pointer, json_string(value.get<std::string>()) +
                              " is not a regular expression moss accepts (ECMA-262, as C++ "
                              "std::regex reads it): " +
                              *problem);
        }
        return;
      case Rule::boolean: expect(value.is_boolean(), "a boolean"); return;
      case Rule::unique_strings:
        unique_strings(value, pointer, "an array of unique strings");
        return;
      case Rule::array: expect(value.is_array(), "an array"); return;
      case Rule::type: check_type(value, pointer); return;
      case Rule::id: expect(value.is_string(), "a string (a URI reference)"); return;
      case Rule::meta_schema:
        expect(value.is_string(), "a string (the meta-schema's URI)");
        if (!is_draft07_meta_schema(value.get<std::string>())) {
          refuse(pointer,
                 "moss validates with JSON Schema draft-07 only, so \"$schema\" must be "
                 "\"http://json-schema.org/draft-07/schema#\", found " +
                     json_string(value.get<std::string>()));
        }
        return;
      case Rule::reference: expect(value.is_string(), "a string (a URI reference)"); return;
    }
  }

  static void check_type(const json& value, const std::string& pointer) {
    auto is_type_name = [](const json& name) {
      return name.is_string() && std::find(std::begin(kTypeNames), std::end(kTypeNames),
                                           name.get<std::string>()) != std::end(kTypeNames);
    };
    const std::string names = "array, boolean, integer, null, number, object or string";
    if (value.is_string()) {
      if (!is_type_name(value)) {
        refuse(pointer, "expected a type name (" + names + "), found " + dumped(value));
      }
      return;
    }
    if (!value.is_array()) {
      refuse(pointer,
             "expected a type name or a non-empty array of type names, found " + type_of(value));
    }
    if (value.empty()) {
      refuse(pointer,
             "expected a type name or a non-empty array of type names, found an empty "
             "array");
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string()) {
        refuse(child(pointer, i), "expected a type name, found " + type_of(value[i]));
      }
      if (!is_type_name(value[i])) {
        refuse(child(pointer, i),
               "expected a type name (" + names + "), found " + dumped(value[i]));
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (value[j] == value[i]) {
          refuse(child(pointer, i), dumped(value[i]) + " is already listed at " +
                                        child(pointer, j) + "; the types must be unique");
        }
      }
    }
  }

  // Resolves every "$ref" to a pointer into this document, and checks the schemas that only
  // "$ref"s reach (such as ones under unknown keywords). order_ grows while this runs.
  void resolve_references() {
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const std::string pointer = order_[i];
      Node& node = nodes_.at(pointer);
      if (!node.reference) continue;
      node.target = resolve_reference(*node.reference, node.base, child(pointer, "$ref"));
      if (nodes_.count(node.target) == 0) {
        identifies_ = false;
        walk(*value_at(root_, node.target), node.target, base_at(node.target));
      }
    }
  }

  std::string resolve_reference(const std::string& reference, const std::string& base,
                                const std::string& at) {
    UriReference uri = resolve(parse_uri(base), parse_uri(reference));
    const std::string resolved = to_string(uri);
    std::string fragment = uri.fragment.value_or("");
    uri.fragment.reset();
    const std::string resource = to_string(uri);
    auto outside = [&] {
      std::string what = json_string(reference);
      if (resolved != reference) what += " resolves to " + json_string(resolved) + ", which";
      return Refusal{at, what +
                             " is outside this schema; moss never fetches schemas (plugins "
                             "run isolated), so a schema must be self-contained: put the "
                             "referenced schema under \"definitions\" and refer to it as "
                             "\"#/definitions/...\""};
    };
    std::optional<std::string> decoded = percent_decoded(fragment);
    if (!decoded) refuse(at, json_string(reference) + " has a malformed %-escape in its fragment");

    std::string target;
    if (decoded->empty() || decoded->front() == '/') {
      auto found = resources_.find(resource);
      if (found == resources_.end()) throw outside();
      if (!pointer_tokens(*decoded)) {
        refuse(at, json_string(reference) + ": the fragment " + json_string(*decoded) +
                       " is not a JSON Pointer (\"~\" must be followed by 0 or 1)");
      }
      target = found->second + *decoded;
    } else {
      auto found = anchors_.find(resource + "#" + *decoded);
      if (found == anchors_.end()) {
        if (resources_.count(resource) == 0) throw outside();
        refuse(at, json_string(reference) + " names no \"$id\" in this schema");
      }
      target = found->second;
    }
    const json* value = value_at(root_, target);
    if (value == nullptr) refuse(at, json_string(reference) + " points to nothing in this schema");
    if (!value->is_object() && !value->is_boolean()) {
      refuse(at, json_string(reference) + " points to " + shown(target) + ", which holds " +
                     type_of(*value) + ", not a schema");
    }
    if (!target.empty() && target.back() == '/') {
      refuse(at, json_string(reference) +
                     " points to a member with an empty name at the end of its "
                     "path, which moss's validator cannot follow");
    }
    return target;
  }

  // The base URI at `pointer`: that of the nearest enclosing schema.
  std::string base_at(std::string pointer) const {
    while (!pointer.empty()) {
      pointer = parent_of(pointer);
      if (auto found = nodes_.find(pointer); found != nodes_.end()) return found->second.base;
    }
    return nodes_.at("").base;
  }

  // A "$ref" that leads, through keywords applying to the same value ("allOf", "not", "$ref",
  // ...), back to a schema on the way to it would make validation recurse forever; valijson
  // overflows its stack on such schemas. Refused at that "$ref".
  // A schema's state in the depth-first search; std::map's default, unseen, is the start.
  enum class Visit { unseen, on_path, done };

  void refuse_endless_recursion() const {
    std::map<std::string, Visit> state;
    std::vector<std::string> path;
    for (const std::string& pointer : order_) {
      if (state[pointer] == Visit::unseen) visit(pointer, state, path);
    }
  }

  void visit(const std::string& pointer, std::map<std::string, Visit>& state,
             std::vector<std::string>& path) const {
    state[pointer] = Visit::on_path;
    path.push_back(pointer);
    const Node& node = nodes_.at(pointer);
    // "$ref" replaces its siblings in draft-07, so they are never applied.
    const std::vector<std::string> next =
        node.reference ? std::vector<std::string>{node.target} : node.same_value;
    for (const std::string& to : next) {
      if (state[to] == Visit::on_path) {
        auto start = std::find(path.begin(), path.end(), to);
        for (auto at = path.end(); at != start;) {
          --at;
          const Node& step = nodes_.at(*at);
          if (!step.reference) continue;
          refuse(child(*at, "$ref"), json_string(*step.reference) +
                                         " leads back here without moving into a property or "
                                         "an item of the value, so validation would never end");
        }
      }
      if (state[to] == Visit::unseen) visit(to, state, path);
    }
    path.pop_back();
    state[pointer] = Visit::done;
  }

  const json& root_;
  // Whether "$id"s name resources "$ref"s can reach: only in subschemas of the keywords above,
  // not in schemas that are only "$ref" targets (such as ones under unknown keywords).
  bool identifies_ = true;
  std::map<std::string, Node> nodes_;             // by pointer
  std::vector<std::string> order_;                // nodes_' keys in the order they were found
  std::map<std::string, std::string> resources_;  // URI (no fragment) -> pointer of its schema
  std::map<std::string, std::string> anchors_;    // URI with a "#name" fragment -> pointer
};

}  // namespace

std::string json_pointer_token(std::string_view name) {
  std::string token;
  for (char c : name) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token += c;
    }
  }
  return token;
}

JsonSchema::JsonSchema() = default;
JsonSchema::~JsonSchema() = default;
JsonSchema::JsonSchema(JsonSchema&&) noexcept = default;
JsonSchema& JsonSchema::operator=(JsonSchema&&) noexcept = default;

Result<JsonSchema> JsonSchema::compile(const std::string& schema_json, const std::string& origin) {
  json source = json::parse(schema_json, nullptr, /*allow_exceptions=*/false);
  if (source.is_discarded()) {
    return Status(Code::invalid_argument, origin + ": schema is not valid JSON");
  }
  if (!source.is_object()) {
    return Status(Code::invalid_argument, origin + ": schema must be a JSON object, found " +
                                              std::string(source.type_name()));
  }
  return compile_document(source, origin);
}

Result<JsonSchema> JsonSchema::compile_document(const json& schema, const std::string& origin) {
  if (!schema.is_object() && !schema.is_boolean()) {
    return Status(Code::invalid_argument, origin +
                                              ": schema must be a JSON object or a boolean, "
                                              "found " +
                                              type_of(schema));
  }
  SchemaChecker checker(schema);
  json prepared;
  try {
    checker.check();
    prepared = checker.prepared_for_valijson();
  } catch (const Refusal& refusal) {
    return Status(Code::invalid_argument,
                  origin + ": invalid JSON Schema at " +
                      (refusal.pointer.empty() ? "the root" : refusal.pointer) + ": " +
                      refusal.message);
  }

  JsonSchema compiled;
  compiled.source_ = schema;
  compiled.schema_ = std::make_unique<valijson::Schema>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(prepared);
    parser.populateSchema(adapter, *compiled.schema_);
  } catch (const std::exception& e) {
    // The check above should leave nothing for valijson to refuse; if it does, say so plainly.
    return Status(Code::invalid_argument, origin + ": invalid JSON Schema: " + e.what());
  }
  return compiled;
}

std::vector<SchemaViolation> JsonSchema::validate(const json& document) const {
  std::vector<SchemaViolation> violations;
  if (schema_ == nullptr) return violations;
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(document);
  try {
    if (validator.validate(*schema_, target, &results)) return violations;
  } catch (const std::exception& e) {
    // compile() refuses what valijson is known to throw on; a document is never let through
    // unvalidated if something else does.
    violations.push_back({"", std::string("could not be validated: ") + e.what()});
    return violations;
  }
  std::vector<SchemaViolation> enclosing;
  for (const auto& error : results) {
    // valijson also reports each failure again on every enclosing object ("Failed to
    // validate against schema associated with property name 'x'"); those add nothing, unless
    // they are all there is, as when the property's schema is false.
    bool repeated =
        error.description.rfind("Failed to validate against schema associated with", 0) == 0;
    (repeated ? enclosing : violations)
        .push_back({property_path(error.context), error.description});
  }
  if (violations.empty()) violations = std::move(enclosing);
  // A false schema fails without a description.
  if (violations.empty()) violations.push_back({"", "not allowed by the schema (false)"});
  // valijson reports the outermost failure last; the innermost is the useful one.
  std::stable_sort(violations.begin(), violations.end(),
                   [](const SchemaViolation& a, const SchemaViolation& b) {
                     return a.path.size() > b.path.size();
                   });
  return violations;
}

void JsonSchema::apply_defaults(json& document) const {
  apply_defaults_at(source_, document);
}

}  // namespace moss
