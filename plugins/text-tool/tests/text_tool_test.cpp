// text-tool's behaviour, tested on the class directly: UTF-8 handling, each operation,
// argument checking and the input size limit.
#include <catch2/catch.hpp>

#include <string>

#include "text_tool.hpp"

using Catch::Matchers::Contains;
using moss::plugins::TextTool;
using moss::sdk::Code;

namespace {

TextTool tool_with_config(const std::string& config_json) {
  moss::sdk::NullLogger logger;
  moss::sdk::InitContext context;
  context.config_json = config_json;
  context.logger = &logger;
  TextTool tool;
  auto status = tool.init(context);
  REQUIRE(status.ok());
  return tool;
}

std::string run(const TextTool& tool, const std::string& args) {
  auto result = tool.invoke(args);
  INFO(result.status().to_string());
  REQUIRE(result.ok());
  return result.value();
}

moss::sdk::Status failure(const TextTool& tool, const std::string& args) {
  auto result = tool.invoke(args);
  REQUIRE_FALSE(result.ok());
  return result.status();
}

}  // namespace

TEST_CASE("upper changes ASCII letters only", "[text-tool]") {
  TextTool tool;
  CHECK(run(tool, R"({"op":"upper","text":"abc xyz 123 é ß"})") ==
        R"({"result":"ABC XYZ 123 é ß"})");
}

TEST_CASE("lower changes ASCII letters only", "[text-tool]") {
  TextTool tool;
  CHECK(run(tool, R"({"op":"lower","text":"ABC Ä Ω"})") == R"({"result":"abc Ä Ω"})");
}

TEST_CASE("length counts code points, not bytes", "[text-tool]") {
  TextTool tool;
  CHECK(run(tool, R"({"op":"length","text":"héllo"})") == R"({"result":5})");
  CHECK(run(tool, "{\"op\":\"length\",\"text\":\"\xF0\x9F\x98\x80!\"}") == R"({"result":2})");
  CHECK(run(tool, R"({"op":"length","text":""})") == R"({"result":0})");
}

TEST_CASE("words counts runs separated by Unicode whitespace", "[text-tool]") {
  TextTool tool;
  CHECK(run(tool, R"({"op":"words","text":"  one two\tthree\n"})") == R"({"result":3})");
  // U+00A0 (no-break space) and U+3000 (ideographic space) separate words too.
  CHECK(run(tool,
            "{\"op\":\"words\",\"text\":\"a\xC2\xA0"
            "b\xE3\x80\x80"
            "c\"}") == R"({"result":3})");
  CHECK(run(tool, R"({"op":"words","text":"   "})") == R"({"result":0})");
}

TEST_CASE("reverse reverses code points and keeps multi-byte characters intact", "[text-tool]") {
  TextTool tool;
  CHECK(run(tool, R"({"op":"reverse","text":"añb€"})") == R"({"result":"€bña"})");
  CHECK(run(tool, "{\"op\":\"reverse\",\"text\":\"x\xF0\x9F\x98\x80y\"}") ==
        "{\"result\":\"y\xF0\x9F\x98\x80x\"}");
}

TEST_CASE("trim removes Unicode whitespace at both ends only", "[text-tool]") {
  TextTool tool;
  CHECK(run(tool, "{\"op\":\"trim\",\"text\":\"\xC2\xA0 a b \\n\"}") == R"({"result":"a b"})");
  CHECK(run(tool, R"({"op":"trim","text":" \t "})") == R"({"result":""})");
}

TEST_CASE("ill-formed UTF-8 in the text is refused with its byte offset", "[text-tool][utf8]") {
  auto decoded = moss::plugins::decode_utf8(
      "ab\xFF"
      "c");
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == Code::invalid_argument);
  CHECK_THAT(decoded.status().message(), Contains("byte offset 2"));
}

TEST_CASE("ill-formed UTF-8 in the arguments is refused with its byte offset",
          "[text-tool][utf8]") {
  TextTool tool;
  auto status = failure(tool, "{\"op\":\"length\",\"text\":\"ab\xC3\"}");
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains("invalid UTF-8 at byte offset 25"));
}

TEST_CASE("overlong forms, surrogates and values above U+10FFFF are ill-formed",
          "[text-tool][utf8]") {
  CHECK_THAT(moss::plugins::decode_utf8("\xC0\x80").status().message(),
             Contains("byte offset 0"));  // overlong NUL
  CHECK_THAT(moss::plugins::decode_utf8("a\xE0\x80\xAF").status().message(), Contains("overlong"));
  CHECK_THAT(moss::plugins::decode_utf8("a\xED\xA0\x80").status().message(), Contains("surrogate"));
  CHECK_THAT(moss::plugins::decode_utf8("\xF4\x90\x80\x80").status().message(),
             Contains("above U+10FFFF"));
  CHECK_THAT(moss::plugins::decode_utf8("ok\x80").status().message(),
             Contains("continuation byte without a lead byte"));
  CHECK_THAT(moss::plugins::decode_utf8("\xE2\x82").status().message(), Contains("cut off"));
  CHECK_THAT(moss::plugins::decode_utf8("\xE2(\xA1").status().message(),
             Contains("missing continuation"));
}

TEST_CASE("decoding and encoding round-trip every length of UTF-8 sequence", "[text-tool][utf8]") {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF";
  auto decoded = moss::plugins::decode_utf8(text);
  REQUIRE(decoded.ok());
  CHECK(decoded.value() ==
        std::u32string{U'a', U'\u00E9', U'\u20AC', U'\U0001F600', U'\U0010FFFF'});
  CHECK(moss::plugins::encode_utf8(decoded.value()) == text);
}

TEST_CASE("an unknown op is refused and the valid ops are named", "[text-tool]") {
  TextTool tool;
  auto status = failure(tool, R"({"op":"shout","text":"x"})");
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains("'shout' is not one of upper, lower"));
}

TEST_CASE("missing, mistyped and extra arguments are refused by name", "[text-tool]") {
  TextTool tool;
  CHECK_THAT(failure(tool, R"({"op":"upper"})").message(), Contains("text: required"));
  CHECK_THAT(failure(tool, R"({"op":1,"text":"x"})").message(), Contains("op: required"));
  CHECK_THAT(failure(tool, R"({"op":"upper","text":"x","lang":"en"})").message(),
             Contains("unknown argument 'lang'"));
  CHECK(failure(tool, R"(["upper","x"])").code() == Code::invalid_argument);
  CHECK_THAT(failure(tool, R"({"op":"upper",)").message(), Contains("not valid JSON"));
}

TEST_CASE("text longer than max_input_bytes is refused", "[text-tool]") {
  TextTool tool = tool_with_config(R"({"max_input_bytes":4})");
  CHECK(run(tool, R"({"op":"length","text":"abcd"})") == R"({"result":4})");
  auto status = failure(tool, R"({"op":"length","text":"abcde"})");
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains("5 bytes, more than max_input_bytes (4)"));
}

TEST_CASE("max_input_bytes counts bytes, not code points", "[text-tool]") {
  TextTool tool = tool_with_config(R"({"max_input_bytes":3})");
  CHECK_FALSE(tool.invoke(R"({"op":"length","text":"éé"})").ok());  // 2 code points, 4 bytes
}

TEST_CASE("max_input_bytes defaults to one mebibyte", "[text-tool]") {
  CHECK(tool_with_config("{}").max_input_bytes() == 1048576);
}

TEST_CASE("a max_input_bytes below 1 is refused at init", "[text-tool]") {
  moss::sdk::InitContext context;
  context.config_json = R"({"max_input_bytes":0})";
  TextTool tool;
  auto status = tool.init(context);
  CHECK(status.code() == Code::invalid_argument);
  CHECK_THAT(status.message(), Contains("max_input_bytes"));
}

TEST_CASE("the tool declares no side effects and a closed input schema", "[text-tool]") {
  TextTool tool;
  auto info = tool.info();
  CHECK(info.name == "text");
  CHECK_FALSE(info.side_effects);
  CHECK_THAT(info.input_schema_json, Contains(R"("additionalProperties":false)"));
  CHECK_THAT(info.input_schema_json, Contains(R"("required":["op","text"])"));
  CHECK_THAT(info.description, Contains("ASCII"));
}

TEST_CASE("output escapes control characters as JSON requires", "[text-tool]") {
  TextTool tool;
  CHECK(run(tool, R"({"op":"reverse","text":"a\"\n"})") == R"({"result":"\n\"a"})");
}
