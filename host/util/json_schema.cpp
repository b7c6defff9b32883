// valijson behind a small interface, so no valijson type leaks into the rest of the host.
#include "util/json_schema.hpp"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace moss {
namespace {

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

void apply_defaults_at(const nlohmann::json& schema, nlohmann::json& document) {
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

}  // namespace

JsonSchema::JsonSchema() = default;
JsonSchema::~JsonSchema() = default;
JsonSchema::JsonSchema(JsonSchema&&) noexcept = default;
JsonSchema& JsonSchema::operator=(JsonSchema&&) noexcept = default;

Result<JsonSchema> JsonSchema::compile(const std::string& schema_json, const std::string& origin) {
  JsonSchema compiled;
  compiled.source_ = nlohmann::json::parse(schema_json, nullptr, /*allow_exceptions=*/false);
  if (compiled.source_.is_discarded()) {
    return Status(Code::invalid_argument, origin + ": schema is not valid JSON");
  }
  if (!compiled.source_.is_object()) {
    return Status(Code::invalid_argument, origin + ": schema must be a JSON object, found " +
                                              std::string(compiled.source_.type_name()));
  }
  compiled.schema_ = std::make_unique<valijson::Schema>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(compiled.source_);
    parser.populateSchema(adapter, *compiled.schema_);
  } catch (const std::exception& e) {
    return Status(Code::invalid_argument, origin + ": invalid JSON Schema: " + e.what());
  }
  return compiled;
}

std::vector<SchemaViolation> JsonSchema::validate(const nlohmann::json& document) const {
  std::vector<SchemaViolation> violations;
  if (schema_ == nullptr) return violations;
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(document);
  if (validator.validate(*schema_, target, &results)) return violations;
  for (const auto& error : results) {
    // valijson also reports each failure again on every enclosing object ("Failed to
    // validate against schema associated with property name 'x'"); those add nothing.
    if (error.description.rfind("Failed to validate against schema associated with", 0) == 0) {
      continue;
    }
    violations.push_back({property_path(error.context), error.description});
  }
  // valijson reports the outermost failure last; the innermost is the useful one.
  std::stable_sort(violations.begin(), violations.end(),
                   [](const SchemaViolation& a, const SchemaViolation& b) {
                     return a.path.size() > b.path.size();
                   });
  return violations;
}

void JsonSchema::apply_defaults(nlohmann::json& document) const {
  apply_defaults_at(source_, document);
}

}  // namespace moss
