// JSON Schema (draft-07, via valijson) for plugin config tables and tool inputs.
#pragma once

#include <memory>
#include <string>
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

class JsonSchema {
 public:
  JsonSchema();  // accepts any document
  ~JsonSchema();
  JsonSchema(JsonSchema&&) noexcept;
  JsonSchema& operator=(JsonSchema&&) noexcept;

  // Parses `schema_json` as a draft-07 JSON Schema. `origin` prefixes error messages.
  static Result<JsonSchema> compile(const std::string& schema_json, const std::string& origin);

  // All violations of `document`, most specific first; empty if it is valid.
  std::vector<SchemaViolation> validate(const nlohmann::json& document) const;

  // Adds every missing property that has a "default" in the schema, recursing into nested
  // objects that are present.
  void apply_defaults(nlohmann::json& document) const;

  const nlohmann::json& document() const { return source_; }

 private:
  nlohmann::json source_;
  std::unique_ptr<valijson::Schema> schema_;
};

}  // namespace moss
