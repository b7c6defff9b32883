// text-tool: a small, UTF-8-correct text utility exposed as one moss Tool ("text").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

// The operations the tool offers. Values start at 1: no operation is valid by accident.
enum class TextOp : std::int32_t { upper = 1, lower, length, words, reverse, trim };

// Decodes UTF-8 into code points. Refuses ill-formed input (RFC 3629: overlong forms,
// surrogates, values above U+10FFFF, stray or missing continuation bytes) with
// invalid_argument naming the byte offset where the ill-formed sequence starts.
sdk::Result<std::u32string> decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view code_points);

// True for the code points of Unicode's White_Space property.
bool is_unicode_space(char32_t c);

// Applies `op` to `text` (valid UTF-8) and returns the value of the tool's "result" as JSON
// text: a string for upper/lower/reverse/trim, an integer for length/words.
sdk::Result<std::string> apply_text_op(TextOp op, std::string_view text);

class TextTool {
 public:
  static constexpr std::int64_t kDefaultMaxInputBytes = 1048576;

  // Reads {"max_input_bytes": N}; a missing key keeps the default.
  sdk::Status init(const sdk::InitContext& context);

  sdk::ToolInfo info() const;

  // args: {"op": "...", "text": "..."}. Returns {"result": ...}.
  sdk::Result<std::string> invoke(std::string_view args_json) const;

  std::int64_t max_input_bytes() const { return max_input_bytes_; }

 private:
  std::int64_t max_input_bytes_ = kDefaultMaxInputBytes;
};

}  // namespace moss::plugins
