// JSON Schema (draft-07, via valijson) for plugin config tables and tool inputs.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.hpp"

namespace valijson {
class Schema;
}

namespace moss {

struct SchemaViolation {
  std::string path;     // "" for the document itself, else the property path, e.g. "limits.max"
  std::string message;  // valijson's description
};

// `name` as one token of a JSON Pointer (RFC 6901): '~' becomes "~0" and '/' becomes "~1".
std::string json_pointer_token(std::string_view name);

class JsonSchema {
 public:
  JsonSchema();  // accepts any document
  ~JsonSchema();
  JsonSchema(JsonSchema&&) noexcept;
  JsonSchema& operator=(JsonSchema&&) noexcept;

  // Parses `schema_json` and compiles it as compile_document() does, except that the root must
  // be a JSON object: config tables and tool arguments are objects. Errors are invalid_argument,
  // prefixed with `origin`: "<origin>: schema is not valid JSON", "<origin>: schema must be a
  // JSON object, found <type>", or the errors of compile_document().
  static Result<JsonSchema> compile(const std::string& schema_json, const std::string& origin);

  // Compiles a parsed draft-07 schema; the root may be an object or a boolean (true accepts
  // every document, false none). The schema must be valid against the draft-07 meta-schema:
  // every keyword draft-07 defines, in the root and in every subschema, holds a value of the
  // right type and range. Unknown keywords are ignored, as the specification says. Also refused:
  //   - a "$ref" that does not resolve inside this document ("$id" base URIs are followed);
  //     moss never fetches schemas, so a schema must be self-contained. What a "$ref" points to
  //     must be a valid schema, even under a keyword draft-07 does not define;
  //   - a "pattern" or "patternProperties" name that is not an ECMA-262 regular expression the
  //     validator's engine (C++ std::regex, ECMAScript grammar) accepts;
  //   - "$ref"s that lead back to the same schema for the same value, which would never end;
  //   - a "$schema" other than the draft-07 meta-schema, and two "$id"s naming the same URI.
  // Errors are invalid_argument:
  //   "<origin>: invalid JSON Schema at <JSON pointer of the keyword>: <what is wrong>".
  static Result<JsonSchema> compile_document(const nlohmann::json& schema,
                                             const std::string& origin);

  // All violations of `document`, most specific first; empty if it is valid.
  std::vector<SchemaViolation> validate(const nlohmann::json& document) const;

  // Adds every missing property that has a "default" in the schema, recursing into nested
  // objects that are present.
  void apply_defaults(nlohmann::json& document) const;

  // The schema as given to compile().
  const nlohmann::json& document() const { return source_; }

 private:
  nlohmann::json source_;
  std::unique_ptr<valijson::Schema> schema_;
};

}  // namespace moss
