// text-tool: UTF-8 decoding and the six text operations behind the "text" tool.
#include "text_tool.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

#include <nlohmann/json.hpp>

namespace moss::plugins {
namespace {

using nlohmann::json;
using sdk::Code;
using sdk::Result;
using sdk::Status;

constexpr std::pair<std::string_view, TextOp> kOps[] = {
    {"upper", TextOp::upper}, {"lower", TextOp::lower},     {"length", TextOp::length},
    {"words", TextOp::words}, {"reverse", TextOp::reverse}, {"trim", TextOp::trim},
};

Status invalid_utf8(std::size_t offset, unsigned char byte, const char* why) {
  char hex[8] = {};
  std::snprintf(hex, sizeof hex, "0x%02X", byte);
  return Status(Code::invalid_argument, "invalid UTF-8 at byte offset " + std::to_string(offset) +
                                            " (byte " + hex + "): " + why);
}

bool is_continuation(unsigned char b) {
  return (b & 0xC0) == 0x80;
}

}  // namespace

Result<std::u32string> decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      out.push_back(lead);
      ++i;
      continue;
    }
    std::size_t length = 0;
    char32_t value = 0;
    // The allowed range of the second byte narrows for E0, ED, F0 and F4 (RFC 3629 §4):
    // that is what excludes overlong forms, surrogates and values above U+10FFFF.
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      value = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      value = lead & 0x0F;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      value = lead & 0x07;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else if (is_continuation(lead)) {
      return invalid_utf8(i, lead, "a continuation byte without a lead byte");
    } else {
      return invalid_utf8(i, lead, "this byte never occurs in UTF-8");
    }
    if (i + length > text.size()) {
      return invalid_utf8(i, lead, "the sequence is cut off by the end of the text");
    }
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < second_min || second > second_max) {
      if (!is_continuation(second)) {
        return invalid_utf8(i, lead, "the sequence is missing continuation bytes");
      }
      return invalid_utf8(i, lead,
                          lead == 0xED   ? "a UTF-16 surrogate"
                          : lead == 0xF4 ? "a value above U+10FFFF"
                                         : "an overlong encoding");
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if (!is_continuation(b)) {
        return invalid_utf8(i, lead, "the sequence is missing continuation bytes");
      }
      value = (value << 6) | (b & 0x3F);
    }
    out.push_back(value);
    i += length;
  }
  return out;
}

std::string encode_utf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool is_unicode_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

Result<std::string> apply_text_op(TextOp op, std::string_view text) {
  auto decoded = decode_utf8(text);
  if (!decoded.ok()) return decoded.status();
  std::u32string& cps = decoded.value();
  json result;
  switch (op) {
    case TextOp::upper:
    case TextOp::lower: {
      // ASCII only: bytes below 0x80 never occur inside a multi-byte UTF-8 sequence, so a
      // byte-wise change cannot damage other characters.
      std::string s(text);
      for (char& ch : s) {
        if (op == TextOp::upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        if (op == TextOp::lower && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      }
      result = s;
      break;
    }
    case TextOp::length: result = cps.size(); break;
    case TextOp::words: {
      std::size_t count = 0;
      bool in_word = false;
      for (char32_t c : cps) {
        bool space = is_unicode_space(c);
        if (!space && !in_word) ++count;
        in_word = !space;
      }
      result = count;
      break;
    }
    case TextOp::reverse:
      std::reverse(cps.begin(), cps.end());
      result = encode_utf8(cps);
      break;
    case TextOp::trim: {
      auto first = std::find_if_not(cps.begin(), cps.end(), is_unicode_space);
      auto last = std::find_if_not(cps.rbegin(), cps.rend(), is_unicode_space).base();
      result = first < last ? encode_utf8(std::u32string(first, last)) : std::string();
      break;
    }
    default: return Status(Code::invalid_argument, "unknown operation");
  }
  return result.dump();
}

Status TextTool::init(const sdk::InitContext& context) {
  json config = json::parse(context.config_json.empty() ? "{}" : context.config_json, nullptr,
                            /*allow_exceptions=*/false);
  if (!config.is_object()) return Status(Code::invalid_argument, "config must be a JSON object");
  if (auto it = config.find("max_input_bytes"); it != config.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1) {
      return Status(Code::invalid_argument, "max_input_bytes: must be an integer >= 1");
    }
    max_input_bytes_ = it->get<std::int64_t>();
  }
  return Status();
}

sdk::ToolInfo TextTool::info() const {
  sdk::ToolInfo info;
  info.name = "text";
  info.description =
      "Transforms or measures UTF-8 text. op: upper/lower (ASCII letters only; other "
      "characters unchanged), length (Unicode code points), words (runs of non-whitespace), "
      "reverse (by code point), trim (Unicode whitespace at both ends).";
  info.input_schema_json =
      R"({"type":"object",)"
      R"("properties":{"op":{"type":"string","enum":["upper","lower","length","words","reverse","trim"]},)"
      R"("text":{"type":"string"}},"required":["op","text"],"additionalProperties":false})";
  info.side_effects = false;
  return info;
}

Result<std::string> TextTool::invoke(std::string_view args_json) const {
  // nlohmann rejects ill-formed UTF-8 too, but without saying where in the text it is.
  if (auto valid = decode_utf8(args_json); !valid.ok()) {
    return Status(Code::invalid_argument, "arguments: " + valid.status().message());
  }
  json args = json::parse(args_json, nullptr, /*allow_exceptions=*/false);
  if (args.is_discarded()) return Status(Code::invalid_argument, "arguments are not valid JSON");
  if (!args.is_object()) return Status(Code::invalid_argument, "arguments must be a JSON object");
  for (const auto& [key, value] : args.items()) {
    if (key != "op" && key != "text") {
      return Status(Code::invalid_argument, "unknown argument '" + key + "'");
    }
  }
  auto op_it = args.find("op");
  auto text_it = args.find("text");
  if (op_it == args.end() || !op_it->is_string()) {
    return Status(Code::invalid_argument, "op: required, a string");
  }
  if (text_it == args.end() || !text_it->is_string()) {
    return Status(Code::invalid_argument, "text: required, a string");
  }
  const auto& op_name = op_it->get_ref<const std::string&>();
  auto op = std::find_if(std::begin(kOps), std::end(kOps),
                         [&](const auto& entry) { return entry.first == op_name; });
  if (op == std::end(kOps)) {
    return Status(Code::invalid_argument,
                  "op: '" + op_name + "' is not one of upper, lower, length, words, reverse, trim");
  }
  const auto& text = text_it->get_ref<const std::string&>();
  if (static_cast<std::int64_t>(text.size()) > max_input_bytes_) {
    return Status(Code::invalid_argument, "text: " + std::to_string(text.size()) +
                                              " bytes, more than max_input_bytes (" +
                                              std::to_string(max_input_bytes_) + ")");
  }
  auto result = apply_text_op(op->second, text);
  if (!result.ok()) return Status(Code::invalid_argument, "text: " + result.status().message());
  return "{\"result\":" + result.value() + "}";
}

}  // namespace moss::plugins
