// slug-tool: turns a title into a URL slug ("Hello, World!" -> "hello-world"). One file, so
// that the evolution demo can rebuild it in one compiler call.
//
// THIS VERSION SHIPS WITH REAL BUGS, on purpose: it is the subject of moss's evolution demo,
// and its eval suite (eval/cases.jsonl) exposes them. See README.md for the intended
// behaviour and the list of bugs.
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

namespace {

using moss::sdk::Code;
using moss::sdk::Result;
using moss::sdk::Status;

constexpr std::int64_t kDefaultMaxLength = 64;

// Lower-case ASCII letters and digits form words; every run of anything else becomes one
// '-'; the slug is cut to at most `max_length` bytes at a word boundary.
Result<std::string> slugify(std::string_view text, std::size_t max_length) {
  std::string slug;
  bool pending_dash = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) {
      if (pending_dash && !slug.empty()) slug += '-';
      slug += static_cast<char>(std::tolower(c));
      pending_dash = false;
    } else {
      pending_dash = true;
    }
  }
  if (slug.size() > max_length) {
    // Cut at the last word boundary that fits.
    slug.resize(slug.rfind('-', max_length));
  }
  return slug;
}

class SlugTool {
 public:
  moss::sdk::ToolInfo info() const {
    moss::sdk::ToolInfo info;
    info.name = "slug";
    info.description = "Turns a title into a lower-case URL slug of words joined by '-'.";
    info.input_schema_json = R"({"type":"object","properties":{
        "text":{"type":"string","description":"the title"},
        "max_length":{"type":"integer","minimum":1,"description":"longest slug, in bytes"}},
      "required":["text"],"additionalProperties":false})";
    info.side_effects = false;
    return info;
  }

  Result<std::string> invoke(std::string_view args_json) const {
    const auto args = nlohmann::json::parse(args_json, nullptr, false);
    if (!args.is_object() || !args.contains("text") || !args["text"].is_string()) {
      return Status(Code::invalid_argument, "expected {\"text\": string}");
    }
    const std::int64_t max_length = args.value("max_length", kDefaultMaxLength);
    if (max_length < 1) return Status(Code::invalid_argument, "max_length must be >= 1");
    auto slug = slugify(args["text"].get<std::string>(), static_cast<std::size_t>(max_length));
    if (!slug.ok()) return slug.status();
    return nlohmann::json({{"slug", slug.value()}}).dump();
  }
};

}  // namespace

MOSS_PLUGIN("slug-tool", "1.0.0", R"({"type":"object","additionalProperties":false})",
            moss::sdk::as_tool<SlugTool>)
