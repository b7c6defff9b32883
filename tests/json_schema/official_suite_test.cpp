// The official JSON-Schema-Test-Suite's draft-07 tests, run through moss::JsonSchema: every
// schema must pass moss's validity check, and every test's "valid" must match validate().
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "util/json_schema.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Why a part of the suite does not run as an ordinary test.
enum class Treatment {
  // moss refuses the schema: it refers to a schema outside itself, which the suite expects an
  // implementation to fetch, and moss never fetches schemas. The test checks the refusal.
  refused,
  // moss accepts the schema, but valijson does not check what these cases are about. The test
  // checks that at least one case still disagrees, so a stale exclusion is noticed.
  not_checked,
};

struct Exclusion {
  std::string_view file;   // relative to draft7/
  std::string_view group;  // a group's "description"; empty for every group of the file
  Treatment treatment;
  std::string_view reason;
};

constexpr std::string_view kNeedsMetaSchema =
    "refers to the draft-07 meta-schema by its URL (http://json-schema.org/draft-07/schema#); "
    "moss never fetches schemas and does not bundle the meta-schema";
constexpr std::string_view kFormatNotChecked =
    "valijson checks only the formats date, time and date-time; draft-07 makes format checks "
    "optional";

// Every part of the draft-07 suite that does not run as an ordinary test. Everything else does,
// the optional/ folder included.
constexpr Exclusion kExclusions[] = {
    {"refRemote.json", "", Treatment::refused,
     "every group refers to schemas at http://localhost:1234/, which the suite expects to be "
     "fetched; moss never fetches schemas"},
    {"definitions.json", "valid definition", Treatment::refused, kNeedsMetaSchema},
    {"definitions.json", "invalid definition", Treatment::refused, kNeedsMetaSchema},
    {"ref.json", "remote ref, containing refs itself", Treatment::refused, kNeedsMetaSchema},
    {"optional/bignum.json", "integer", Treatment::not_checked,
     "nlohmann/json holds integers beyond 64 bits as doubles, and valijson's \"integer\" type "
     "wants a 64-bit integer"},
    {"optional/zeroTerminatedFloats.json", "", Treatment::not_checked,
     "valijson does not count 1.0 as an integer, and moss keeps that so a plugin whose schema "
     "says \"integer\" is given a JSON integer; the suite marks this optional"},
    {"optional/content.json", "", Treatment::not_checked,
     "valijson does not check contentMediaType and contentEncoding; draft-07 makes that "
     "optional"},
    {"optional/ecmascript-regex.json", "", Treatment::not_checked,
     "it tests the format \"regex\", which valijson does not check; draft-07 makes format checks "
     "optional"},
    {"optional/format/email.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/hostname.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/idn-email.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/idn-hostname.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/ipv4.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/ipv6.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/iri-reference.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/iri.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/json-pointer.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/regex.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/relative-json-pointer.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/uri-reference.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/uri-template.json", "", Treatment::not_checked, kFormatNotChecked},
    {"optional/format/uri.json", "", Treatment::not_checked, kFormatNotChecked},
};

// The keyword files of draft-07 (the suite's folder outside optional/); all must be installed.
constexpr std::string_view kKeywordFiles[] = {
    "additionalItems.json",
    "additionalProperties.json",
    "allOf.json",
    "anyOf.json",
    "boolean_schema.json",
    "const.json",
    "contains.json",
    "default.json",
    "definitions.json",
    "dependencies.json",
    "enum.json",
    "exclusiveMaximum.json",
    "exclusiveMinimum.json",
    "if-then-else.json",
    "items.json",
    "maxItems.json",
    "maxLength.json",
    "maxProperties.json",
    "maximum.json",
    "minItems.json",
    "minLength.json",
    "minProperties.json",
    "minimum.json",
    "multipleOf.json",
    "not.json",
    "oneOf.json",
    "pattern.json",
    "patternProperties.json",
    "properties.json",
    "propertyNames.json",
    "ref.json",
    "refRemote.json",
    "required.json",
    "type.json",
    "uniqueItems.json",
};

fs::path draft7_dir() {
  const fs::path dir = fs::path(MOSS_JSON_SCHEMA_TEST_SUITE_DIR) / "draft7";
  if (!fs::is_directory(dir)) {
    FAIL("the JSON-Schema-Test-Suite is not at "
         << dir << ": install Debian's json-schema-test-suite package, or configure with "
         << "-DMOSS_JSON_SCHEMA_TEST_SUITE_DIR=<the suite's tests/ folder>");
  }
  return dir;
}

struct Group {
  std::string file;  // relative to draft7/
  json group;        // {"description", "schema", "tests"}
  std::string description() const { return group.at("description").get<std::string>(); }
};

// Every group of every file under draft7/, in file name order.
std::vector<Group> all_groups() {
  const fs::path dir = draft7_dir();
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<Group> groups;
  for (const fs::path& path : files) {
    std::ifstream in(path);
    const json parsed = json::parse(in);
    const std::string relative = path.lexically_relative(dir).generic_string();
    for (const json& group : parsed)
      groups.push_back({relative, group});
  }
  REQUIRE_FALSE(groups.empty());
  return groups;
}

const Exclusion* exclusion_for(const Group& group) {
  for (const Exclusion& exclusion : kExclusions) {
    if (exclusion.file == group.file &&
        (exclusion.group.empty() || exclusion.group == group.description())) {
      return &exclusion;
    }
  }
  return nullptr;
}

std::string name_of(const Group& group) {
  return group.file + ": " + group.description();
}

moss::Result<moss::JsonSchema> compile(const Group& group) {
  return moss::JsonSchema::compile_document(group.group.at("schema"), name_of(group));
}

}  // namespace

TEST_CASE(
    "the installed suite has every draft-07 keyword file, and each exclusion names a part "
    "of it",
    "[json_schema]") {
  const fs::path dir = draft7_dir();
  for (std::string_view file : kKeywordFiles) {
    INFO(file);
    CHECK(fs::is_regular_file(dir / file));
  }
  const std::vector<Group> groups = all_groups();
  for (const Exclusion& exclusion : kExclusions) {
    INFO(exclusion.file << ": " << (exclusion.group.empty() ? "(all groups)" : exclusion.group));
    CHECK(std::any_of(groups.begin(), groups.end(),
                      [&](const Group& group) { return exclusion_for(group) == &exclusion; }));
  }
}

TEST_CASE("every schema of the official suite is valid to moss, except those that need fetching",
          "[json_schema]") {
  int accepted = 0;
  int refused = 0;
  for (const Group& group : all_groups()) {
    INFO(name_of(group));
    const Exclusion* exclusion = exclusion_for(group);
    auto schema = compile(group);
    if (exclusion != nullptr && exclusion->treatment == Treatment::refused) {
      REQUIRE_FALSE(schema.ok());
      CHECK(schema.status().code() == moss::Code::invalid_argument);
      CHECK_THAT(schema.status().message(), Catch::Contains("moss never fetches schemas"));
      ++refused;
    } else {
      INFO(schema.status().message());
      CHECK(schema.ok());
      ++accepted;
    }
  }
  std::cout << "official draft-07 suite: " << accepted << " schemas accepted, " << refused
            << " refused because they refer outside themselves\n";
  CHECK(accepted > 0);
  CHECK(refused > 0);
}

TEST_CASE("moss validates every case of the official suite as the suite expects", "[json_schema]") {
  std::set<std::string> files;
  int groups_run = 0;
  int cases_run = 0;
  int groups_excluded = 0;
  for (const Group& group : all_groups()) {
    if (exclusion_for(group) != nullptr) {
      ++groups_excluded;
      continue;
    }
    auto schema = compile(group);
    INFO(name_of(group) << "\n" << schema.status().message());
    REQUIRE(schema.ok());
    for (const json& test : group.group.at("tests")) {
      INFO(name_of(group) << ": " << test.at("description").get<std::string>() << "\n"
                          << "data: " << test.at("data").dump());
      const bool expected = test.at("valid").get<bool>();
      const std::vector<moss::SchemaViolation> violations = schema->validate(test.at("data"));
      CHECK(violations.empty() == expected);
      ++cases_run;
    }
    files.insert(group.file);
    ++groups_run;
  }
  std::cout << "official draft-07 suite: " << cases_run << " cases in " << groups_run
            << " groups from " << files.size() << " files ran; " << groups_excluded
            << " groups excluded\n";
  for (std::string_view file : kKeywordFiles) {
    // Every group of these is refused (see kExclusions).
    if (file == "refRemote.json" || file == "definitions.json") continue;
    INFO(file << " did not run");
    CHECK(files.count(std::string(file)) == 1);
  }
  CHECK(cases_run > 0);
}

TEST_CASE("every official group excluded as not checked still has a case moss gets wrong",
          "[json_schema]") {
  for (const Group& group : all_groups()) {
    const Exclusion* exclusion = exclusion_for(group);
    if (exclusion == nullptr || exclusion->treatment != Treatment::not_checked) continue;
    auto schema = compile(group);
    REQUIRE(schema.ok());
    int wrong = 0;
    for (const json& test : group.group.at("tests")) {
      const bool expected = test.at("valid").get<bool>();
      if (schema->validate(test.at("data")).empty() != expected) ++wrong;
    }
    INFO(name_of(group) << ": every case now passes; drop its exclusion (" << exclusion->reason
                        << ")");
    CHECK(wrong > 0);
  }
}
