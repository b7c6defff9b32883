// JsonSchema::compile refuses schemas that are not valid draft-07, naming the JSON pointer of the
// offending keyword, and accepts the valid ones valijson alone would get wrong.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "util/json_schema.hpp"

using Catch::Contains;
using Catch::StartsWith;
using json = nlohmann::json;

namespace {

struct Invalid {
  const char* schema;
  const char* pointer;  // of the offending keyword
  const char* problem;  // part of the message after the pointer
};

// Schemas the draft-07 meta-schema refuses, one rule each.
const Invalid kMetaSchemaViolations[] = {
    // type
    {R"({"type": "text"})", "/type",
     R"(expected a type name (array, boolean, integer, null, number, object or string), found "text")"},
    {R"({"type": []})", "/type",
     "expected a type name or a non-empty array of type names, found an empty array"},
    {R"({"type": ["string", "string"]})", "/type/1", R"("string" is already listed at /type/0)"},
    {R"({"type": ["string", 1]})", "/type/1", "expected a type name, found integer"},
    {R"({"type": {"name": "string"}})", "/type",
     "expected a type name or a non-empty array of type names, found object"},
    // numbers and counts
    {R"({"properties": {"n": {"minimum": "3"}}})", "/properties/n/minimum",
     "expected a number, found string"},
    {R"({"maximum": null})", "/maximum", "expected a number, found null"},
    {R"({"exclusiveMinimum": true})", "/exclusiveMinimum", "expected a number, found boolean"},
    {R"({"exclusiveMaximum": [1]})", "/exclusiveMaximum", "expected a number, found array"},
    {R"({"minLength": -1})", "/minLength", "expected a non-negative integer, found -1"},
    {R"({"maxLength": "4"})", "/maxLength", "expected a non-negative integer, found string"},
    {R"({"maxItems": 1.5})", "/maxItems", "expected a non-negative integer, found 1.5"},
    {R"({"minItems": -0.5})", "/minItems", "expected a non-negative integer, found -0.5"},
    {R"({"maxProperties": true})", "/maxProperties",
     "expected a non-negative integer, found boolean"},
    {R"({"minProperties": -3})", "/minProperties", "expected a non-negative integer, found -3"},
    {R"({"multipleOf": 0})", "/multipleOf", "expected a number greater than 0, found 0"},
    {R"({"multipleOf": -2.5})", "/multipleOf", "expected a number greater than 0, found -2.5"},
    {R"({"multipleOf": "2"})", "/multipleOf", "expected a number greater than 0, found string"},
    // strings, booleans and arrays
    {R"({"pattern": 5})", "/pattern", "expected a string (a regular expression), found integer"},
    {R"({"format": 3})", "/format", "expected a string, found integer"},
    {R"({"title": ["a"]})", "/title", "expected a string, found array"},
    {R"({"description": {}})", "/description", "expected a string, found object"},
    {R"({"$comment": 1})", "/$comment", "expected a string, found integer"},
    {R"({"contentMediaType": false})", "/contentMediaType", "expected a string, found boolean"},
    {R"({"contentEncoding": 64})", "/contentEncoding", "expected a string, found integer"},
    {R"({"$id": 5})", "/$id", "expected a string (a URI reference), found integer"},
    {R"({"$ref": {"to": "#"}})", "/$ref", "expected a string (a URI reference), found object"},
    {R"({"$schema": 7})", "/$schema", "expected a string (the meta-schema's URI), found integer"},
    {R"({"uniqueItems": "true"})", "/uniqueItems", "expected a boolean, found string"},
    {R"({"readOnly": 1})", "/readOnly", "expected a boolean, found integer"},
    // The validation specification (section 10.3) makes writeOnly a boolean, like readOnly.
    {R"({"writeOnly": null})", "/writeOnly", "expected a boolean, found null"},
    {R"({"enum": {"a": 1}})", "/enum", "expected an array, found object"},
    {R"({"examples": "x"})", "/examples", "expected an array, found string"},
    {R"({"required": "name"})", "/required", "expected an array of unique strings, found string"},
    {R"({"required": ["a", "b", "a"]})", "/required/2", R"("a" is already listed at /required/0)"},
    {R"({"required": [1]})", "/required/0", "expected a string, found integer"},
    // subschemas
    {R"({"not": null})", "/not", "expected a schema (an object or a boolean), found null"},
    {R"({"additionalProperties": "false"})", "/additionalProperties",
     "expected a schema (an object or a boolean), found string"},
    {R"({"additionalItems": 0})", "/additionalItems",
     "expected a schema (an object or a boolean), found integer"},
    {R"({"contains": []})", "/contains", "expected a schema (an object or a boolean), found array"},
    {R"({"propertyNames": "^a"})", "/propertyNames",
     "expected a schema (an object or a boolean), found string"},
    {R"({"if": 1})", "/if", "expected a schema (an object or a boolean), found integer"},
    {R"({"if": {}, "then": "yes"})", "/then",
     "expected a schema (an object or a boolean), found string"},
    {R"({"else": [true]})", "/else", "expected a schema (an object or a boolean), found array"},
    {R"({"items": "true"})", "/items",
     "expected a schema (an object or a boolean) or a non-empty array of schemas, found string"},
    {R"({"items": []})", "/items", "expected a non-empty array of schemas, found an empty array"},
    {R"({"items": [{}, 3]})", "/items/1",
     "expected a schema (an object or a boolean), found integer"},
    {R"({"allOf": []})", "/allOf", "expected a non-empty array of schemas, found an empty array"},
    {R"({"anyOf": {"a": {}}})", "/anyOf", "expected a non-empty array of schemas, found object"},
    {R"({"oneOf": [true, "x"]})", "/oneOf/1",
     "expected a schema (an object or a boolean), found string"},
    {R"({"properties": []})", "/properties",
     "expected an object whose values are schemas, found array"},
    {R"({"properties": {"a": 1}})", "/properties/a",
     "expected a schema (an object or a boolean), found integer"},
    {R"({"patternProperties": {"^a": null}})", "/patternProperties/^a",
     "expected a schema (an object or a boolean), found null"},
    {R"({"definitions": {"a/b~c": {"type": 1}}})", "/definitions/a~1b~0c/type",
     "expected a type name or a non-empty array of type names, found integer"},
    {R"({"dependencies": []})", "/dependencies",
     "expected an object whose values are schemas or arrays of strings, found array"},
    {R"({"dependencies": {"a": "b"}})", "/dependencies/a",
     "expected a schema or an array of unique strings, found string"},
    {R"({"dependencies": {"a": ["b", "b"]}})", "/dependencies/a/1",
     R"("b" is already listed at /dependencies/a/0)"},
    {R"({"dependencies": {"a": [false]}})", "/dependencies/a/0",
     "expected a string, found boolean"},
    // deep inside, and inside boolean-friendly places
    {R"({"items": {"properties": {"x": {"anyOf": [{"maxLength": -2}]}}}})",
     "/items/properties/x/anyOf/0/maxLength", "expected a non-negative integer, found -2"},
    // siblings of "$ref" are ignored when validating, but the meta-schema still checks them
    {R"({"$ref": "#/definitions/a", "definitions": {"a": {}}, "minimum": "0"})", "/minimum",
     "expected a number, found string"},
};

// Regular expressions that are not ECMA-262, or that the validator's engine cannot run.
const Invalid kBadPatterns[] = {
    {R"({"pattern": "("})", "/pattern", "\"(\" is not a regular expression moss accepts"},
    {R"({"pattern": "[a-"})", "/pattern", "is not a regular expression moss accepts"},
    {R"({"pattern": "a{2,1}"})", "/pattern", "is not a regular expression moss accepts"},
    {R"({"pattern": "a**"})", "/pattern", "nothing to repeat before the quantifier at offset 2"},
    {R"({"pattern": "x{2}{3}"})", "/pattern",
     "nothing to repeat before the quantifier at offset 4"},
    {R"({"pattern": "a+???"})", "/pattern", "nothing to repeat before the quantifier at offset 3"},
    {R"({"pattern": "(?<=a)b"})", "/pattern", "is not a regular expression moss accepts"},
    {R"({"properties": {"p": {"pattern": "\\"}}})", "/properties/p/pattern",
     "is not a regular expression moss accepts"},
    {R"({"patternProperties": {"^(a|b": {}}})", "/patternProperties/^(a|b",
     "the property name pattern \"^(a|b\" is not a regular expression moss accepts"},
    {R"({"patternProperties": {"^x/y**": {}}})", "/patternProperties/^x~1y**", "nothing to repeat"},
};

// "$ref"s moss cannot follow, and ones that would make validation endless.
const Invalid kBadReferences[] = {
    {R"({"$ref": "http://example.com/schema.json"})", "/$ref",
     R"("http://example.com/schema.json" is outside this schema; moss never fetches schemas)"},
    {R"({"properties": {"a": {"$ref": "other.json#/definitions/x"}}})", "/properties/a/$ref",
     R"("other.json#/definitions/x" is outside this schema; moss never fetches schemas)"},
    {R"({"$id": "http://example.com/root.json", "items": {"$ref": "item.json"}})", "/items/$ref",
     R"("item.json" resolves to "http://example.com/item.json", which is outside this schema)"},
    {R"({"$ref": "http://json-schema.org/draft-07/schema#"})", "/$ref",
     "moss never fetches schemas"},
    {R"({"$ref": "#/definitions/missing", "definitions": {}})", "/$ref",
     R"("#/definitions/missing" points to nothing in this schema)"},
    {R"({"items": [{}], "additionalItems": {"$ref": "#/items/01"}})", "/additionalItems/$ref",
     R"("#/items/01" points to nothing in this schema)"},
    {R"({"title": "t", "not": {"$ref": "#/title"}})", "/not/$ref",
     R"("#/title" points to /title, which holds string, not a schema)"},
    {R"({"$ref": "#nowhere"})", "/$ref", R"("#nowhere" names no "$id" in this schema)"},
    {R"({"$ref": "#/a~2"})", "/$ref", "is not a JSON Pointer"},
    {R"({"$ref": "#/a%zz"})", "/$ref", "has a malformed %-escape in its fragment"},
    {R"({"definitions": {"a": {"$id": "#x"}, "b": {"$id": "#x"}}})", "/definitions/b/$id",
     R"("#x" names "#x", which the schema at /definitions/a already names)"},
    {R"({"$id": "http://e.com/a", "items": {"$id": "http://e.com/a#"}, "not": {"$id": "b"},
         "else": {"$id": "http://e.com/b"}})",
     "/not/$id", R"("b" names "http://e.com/b", which the schema at /else already names)"},
    // A schema that applies itself to the same value: valijson overflows its stack on these.
    {R"({"$ref": "#"})", "/$ref",
     R"("#" leads back here without moving into a property or an item of the value, so validation would never end)"},
    {R"({"allOf": [{"$ref": "#"}]})", "/allOf/0/$ref", "so validation would never end"},
    {R"({"not": {"$ref": "#"}})", "/not/$ref", "so validation would never end"},
    {R"({"dependencies": {"a": {"$ref": "#"}}})", "/dependencies/a/$ref",
     "so validation would never end"},
    {R"({"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}})",
     "/definitions/b/$ref", "so validation would never end"},
    {R"({"definitions": {"a": {"anyOf": [{"type": "string"}, {"$ref": "#/definitions/b"}]},
                         "b": {"if": {"$ref": "#/definitions/a"}}},
         "properties": {"x": {"$ref": "#/definitions/a"}}})",
     "/definitions/b/if/$ref", "so validation would never end"},
};

// Not meta-schema rules, but refused because moss could not honour them.
const Invalid kMossRules[] = {
    {R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})", "/$schema",
     R"(moss validates with JSON Schema draft-07 only, so "$schema" must be "http://json-schema.org/draft-07/schema#", found "https://json-schema.org/draft/2020-12/schema")"},
    {R"({"$schema": "http://json-schema.org/draft-04/schema#"})", "/$schema",
     "moss validates with JSON Schema draft-07 only"},
    {R"({"definitions": {"": {}}, "$ref": "#/definitions/"})", "/$ref",
     "points to a member with an empty name at the end of its path"},
};

void check_refused(const Invalid& invalid) {
  INFO(invalid.schema);
  auto schema = moss::JsonSchema::compile(invalid.schema, "s");
  REQUIRE_FALSE(schema.ok());
  CHECK(schema.status().code() == moss::Code::invalid_argument);
  CHECK_THAT(schema.status().message(),
             StartsWith(std::string("s: invalid JSON Schema at ") + invalid.pointer + ": "));
  CHECK_THAT(schema.status().message(), Contains(invalid.problem));
}

moss::JsonSchema compiled(const std::string& text) {
  auto schema = moss::JsonSchema::compile(text, "s");
  INFO(text << "\n" << schema.status().message());
  REQUIRE(schema.ok());
  return std::move(schema).value();
}

bool accepts(const moss::JsonSchema& schema, const std::string& document) {
  return schema.validate(json::parse(document)).empty();
}

}  // namespace

TEST_CASE("a schema that breaks a rule of the draft-07 meta-schema is refused at its keyword",
          "[json_schema]") {
  for (const Invalid& invalid : kMetaSchemaViolations)
    check_refused(invalid);
}

TEST_CASE("a pattern that is not an ECMA-262 regular expression moss can run is refused",
          "[json_schema]") {
  for (const Invalid& invalid : kBadPatterns)
    check_refused(invalid);
}

TEST_CASE(
    "a $ref that leaves the document, points nowhere, or loops on the same value is "
    "refused",
    "[json_schema]") {
  for (const Invalid& invalid : kBadReferences)
    check_refused(invalid);
}

TEST_CASE("a $schema other than draft-07 is refused", "[json_schema]") {
  for (const Invalid& invalid : kMossRules)
    check_refused(invalid);
}

TEST_CASE("the message names the origin, the keyword's pointer and what was found",
          "[json_schema]") {
  auto schema = moss::JsonSchema::compile(
      R"({"type": "object", "properties": {"n": {"type": "integer", "minimum": "1"}}})",
      "plugin 'x' config schema");
  REQUIRE_FALSE(schema.ok());
  CHECK(schema.status().message() ==
        "plugin 'x' config schema: invalid JSON Schema at /properties/n/minimum: expected a "
        "number, found string");
}

TEST_CASE("compile still refuses text that is not JSON, and a root that is not an object",
          "[json_schema]") {
  auto not_json = moss::JsonSchema::compile("{\"type\": ", "s");
  REQUIRE_FALSE(not_json.ok());
  CHECK(not_json.status().message() == "s: schema is not valid JSON");
  auto boolean = moss::JsonSchema::compile("true", "s");
  REQUIRE_FALSE(boolean.ok());
  CHECK(boolean.status().message() == "s: schema must be a JSON object, found boolean");
  auto array = moss::JsonSchema::compile("[]", "s");
  REQUIRE_FALSE(array.ok());
  CHECK(array.status().message() == "s: schema must be a JSON object, found array");
}

TEST_CASE("compile_document takes a boolean root schema", "[json_schema]") {
  auto everything = moss::JsonSchema::compile_document(true, "s");
  REQUIRE(everything.ok());
  CHECK(everything->validate(json::parse(R"({"any": [1, "thing"]})")).empty());
  auto nothing = moss::JsonSchema::compile_document(false, "s");
  REQUIRE(nothing.ok());
  CHECK_FALSE(nothing->validate(json::object()).empty());
  CHECK_FALSE(nothing->validate(nullptr).empty());

  auto number = moss::JsonSchema::compile_document(3, "s");
  REQUIRE_FALSE(number.ok());
  CHECK(number.status().message() == "s: schema must be a JSON object or a boolean, found integer");
}

TEST_CASE("unknown keywords may hold anything", "[json_schema]") {
  moss::JsonSchema schema =
      compiled(R"({"x-ui": {"type": 5, "minLength": -1}, "id": 7, "nullable": "yes",
                   "properties": {"a": {"x-order": [], "type": "string"}}})");
  CHECK(accepts(schema, R"({"a": "text"})"));
  CHECK_FALSE(accepts(schema, R"({"a": 1})"));
}

TEST_CASE("a count written as 2.0 is an integer, as draft-07 says", "[json_schema]") {
  moss::JsonSchema schema = compiled(R"({"type": "string", "minLength": 2.0})");
  CHECK(accepts(schema, R"("ab")"));
  CHECK_FALSE(accepts(schema, R"("a")"));
  moss::JsonSchema huge = compiled(R"({"maxItems": 18446744073709551615, "maxLength": 1e300})");
  CHECK(accepts(huge, R"([1, 2, 3])"));
}

TEST_CASE(
    "valid schemas valijson alone would refuse or misread are accepted and validate as "
    "draft-07 says",
    "[json_schema]") {
  // An empty "format" names no format.
  CHECK(accepts(compiled(R"({"format": ""})"), R"("x")"));
  // "divisibleBy" is draft 3's; draft-07 does not define it, so it constrains nothing.
  CHECK(accepts(compiled(R"({"divisibleBy": 3})"), "4"));
  // "id" is draft 4's; draft-07 ignores it, so it does not move "$ref"s elsewhere.
  moss::JsonSchema with_id = compiled(
      R"({"id": "http://example.com/elsewhere.json", "definitions": {"s": {"type": "string"}},
          "properties": {"a": {"id": "sub.json", "properties": {"b": {"$ref": "#/definitions/s"}}}}})");
  CHECK(accepts(with_id, R"({"a": {"b": "text"}})"));
  CHECK_FALSE(accepts(with_id, R"({"a": {"b": 1}})"));
}

TEST_CASE("a $ref resolves against $id base URIs inside the document", "[json_schema]") {
  moss::JsonSchema tree = compiled(R"({
    "$id": "http://example.com/schemas/tree.json",
    "type": "object",
    "properties": {"kids": {"type": "array", "items": {"$ref": "node.json"}},
                   "root": {"$ref": "#leaf"}},
    "definitions": {
      "node": {"$id": "node.json", "type": "object",
               "properties": {"value": {"$ref": "#/definitions/positive"},
                              "kids": {"$ref": "tree.json#/properties/kids"}},
               "definitions": {"positive": {"type": "integer", "minimum": 1}}},
      "leaf": {"$id": "#leaf", "type": "string"}
    }})");
  CHECK(accepts(tree, R"({"kids": [{"value": 1, "kids": [{"value": 2}]}], "root": "r"})"));
  CHECK_FALSE(accepts(tree, R"({"kids": [{"value": 1, "kids": [{"value": 0}]}]})"));
  CHECK_FALSE(accepts(tree, R"({"root": 5})"));
}

TEST_CASE("a $ref into an unknown keyword is followed, and what it points to must be a schema",
          "[json_schema]") {
  moss::JsonSchema schema = compiled(R"({"x-shared": {"name": {"type": "string", "maxLength": 3}},
                   "properties": {"n": {"$ref": "#/x-shared/name"}}})");
  CHECK(accepts(schema, R"({"n": "abc"})"));
  CHECK_FALSE(accepts(schema, R"({"n": "abcd"})"));
  check_refused({R"({"x-shared": {"name": {"type": "text"}},
                     "properties": {"n": {"$ref": "#/x-shared/name"}}})",
                 "/x-shared/name/type", R"(found "text")"});
}

TEST_CASE("a $ref to a member whose name needs escaping reaches it", "[json_schema]") {
  moss::JsonSchema schema = compiled(R"({
    "definitions": {"a/b": {"type": "integer"}, "c~d": {"type": "string"},
                    "50%": {"type": "boolean"}},
    "properties": {"slash": {"$ref": "#/definitions/a~1b"}, "tilde": {"$ref": "#/definitions/c~0d"},
                   "percent": {"$ref": "#/definitions/50%25"}}})");
  CHECK(accepts(schema, R"({"slash": 1, "tilde": "t", "percent": true})"));
  CHECK_FALSE(accepts(schema, R"({"slash": "1"})"));
  CHECK_FALSE(accepts(schema, R"({"tilde": 1})"));
  CHECK_FALSE(accepts(schema, R"({"percent": 1})"));
}

TEST_CASE(
    "a schema that recurses into properties or items is accepted and validates nested "
    "values",
    "[json_schema]") {
  moss::JsonSchema schema = compiled(R"({"type": "object", "additionalProperties": false,
    "properties": {"name": {"type": "string"}, "children": {"items": {"$ref": "#"}}}})");
  CHECK(accepts(schema, R"({"name": "a", "children": [{"name": "b", "children": [{}]}]})"));
  CHECK_FALSE(accepts(schema, R"({"children": [{"children": [{"name": 3}]}]})"));
  // Through "definitions" and "allOf", with a keyword that moves into the value in between.
  moss::JsonSchema list = compiled(R"({"definitions": {"list": {"anyOf": [{"type": "null"},
    {"allOf": [{"type": "object"}, {"properties": {"next": {"$ref": "#/definitions/list"}}}]}]}},
    "$ref": "#/definitions/list"})");
  CHECK(accepts(list, R"({"next": {"next": null}})"));
  CHECK_FALSE(accepts(list, R"({"next": {"next": 1}})"));
}

TEST_CASE("patterns are ECMA-262 regular expressions, searched anywhere in the string",
          "[json_schema]") {
  moss::JsonSchema schema =
      compiled(R"({"properties": {"id": {"pattern": "^[a-z]+(-[a-z0-9]+)*?$"}},
                   "patternProperties": {"^x-.+/v\\d{1,2}$": {"type": "integer"}}})");
  CHECK(accepts(schema, R"({"id": "abc-12", "x-a/v10": 3})"));
  CHECK_FALSE(accepts(schema, R"({"id": "Abc"})"));
  CHECK_FALSE(accepts(schema, R"({"x-a/v1": "3"})"));
  CHECK(accepts(compiled(R"({"pattern": "b"})"), R"("abc")"));
}

TEST_CASE("a $schema naming draft-07 is accepted", "[json_schema]") {
  compiled(R"({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"})");
  compiled(R"({"$schema": "http://json-schema.org/draft-07/schema", "type": "object"})");
}
