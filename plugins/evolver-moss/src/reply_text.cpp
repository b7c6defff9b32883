// evolver-moss: lines, fences, UTF-8 and JSON extraction for reading LLM replies.
#include "reply_text.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

namespace moss::plugins {

namespace {

// Each '{' tried as the start of an object costs a scan to its end, so a reply made of
// braces would cost quadratic time; real replies have a handful.
constexpr std::size_t kMaxObjectStarts = 256;

// The length of the well-formed UTF-8 character at text[i], or 0 if it is malformed.
std::size_t utf8_char_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint32_t code_point = 0;
  std::uint32_t smallest = 0;
  if ((lead >> 5) == 0x6) {
    length = 2, code_point = lead & 0x1f, smallest = 0x80;
  } else if ((lead >> 4) == 0xe) {
    length = 3, code_point = lead & 0x0f, smallest = 0x800;
  } else if ((lead >> 3) == 0x1e) {
    length = 4, code_point = lead & 0x07, smallest = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3f);
  }
  if (code_point < smallest || code_point > 0x10ffff ||
      (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return 0;
  }
  return length;
}

struct FenceMark {
  std::size_t indent = 0;
  char tick = 0;
  std::size_t length = 0;
  std::string_view rest;
};

// A fence line: up to 3 spaces, then 3 or more backticks or tildes, then the rest.
std::optional<FenceMark> fence_mark(std::string_view line) {
  FenceMark mark;
  while (mark.indent < line.size() && line[mark.indent] == ' ')
    ++mark.indent;
  if (mark.indent > 3 || mark.indent == line.size()) return std::nullopt;
  mark.tick = line[mark.indent];
  if (mark.tick != '`' && mark.tick != '~') return std::nullopt;
  std::size_t end = line.find_first_not_of(mark.tick, mark.indent);
  if (end == std::string_view::npos) end = line.size();
  mark.length = end - mark.indent;
  if (mark.length < 3) return std::nullopt;
  mark.rest = line.substr(end);
  return mark;
}

std::string_view remove_indent(std::string_view line, std::size_t indent) {
  std::size_t spaces = 0;
  while (spaces < indent && spaces < line.size() && line[spaces] == ' ')
    ++spaces;
  return line.substr(spaces);
}

// The index just past the object that opens at text[open], or npos if it never closes.
// Braces inside JSON strings do not count.
std::size_t balanced_end(std::string_view text, std::size_t open) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::string normalize_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out.push_back(text[i]);
  }
  return out;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t newline = text.find('\n', begin);
    if (newline == std::string_view::npos) newline = text.size();
    lines.push_back(text.substr(begin, newline - begin));
    begin = newline + 1;
  }
  return lines;
}

std::string join_lines(const std::vector<std::string_view>& lines, std::size_t begin,
                       std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end && i < lines.size(); ++i) {
    out.append(lines[i]);
    out.push_back('\n');
  }
  return out;
}

std::size_t invalid_utf8_offset(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_char_length(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

std::string cap_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
    --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::string excerpt(std::string_view text, std::size_t max_bytes) {
  std::string out = "\"";
  std::size_t i = 0;
  while (i < text.size() && i < max_bytes) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (std::size_t length = c >= 0x80 ? utf8_char_length(text, i) : 0; length > 0) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    } else {
      char hex[8] = {};
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
    ++i;
  }
  out += '"';
  if (i < text.size()) out += "...";
  return out;
}

std::optional<std::string_view> fence_info(std::string_view line) {
  std::optional<FenceMark> mark = fence_mark(line);
  if (!mark || (mark->tick == '`' && mark->rest.find('`') != std::string_view::npos))
    return std::nullopt;
  return trim(mark->rest);
}

std::vector<Fence> find_fences(const std::vector<std::string_view>& lines) {
  std::vector<Fence> fences;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::optional<FenceMark> open = fence_mark(lines[i]);
    // A backtick fence's info string cannot hold a backtick (it would be inline code).
    if (!open || (open->tick == '`' && open->rest.find('`') != std::string_view::npos)) continue;
    Fence fence;
    fence.open_line = i;
    fence.info = trim(open->rest);
    std::size_t j = i + 1;
    for (; j < lines.size(); ++j) {
      std::optional<FenceMark> close = fence_mark(lines[j]);
      if (close && close->tick == open->tick && close->length >= open->length &&
          trim(close->rest).empty()) {
        fence.closed = true;
        break;
      }
      fence.body.push_back(remove_indent(lines[j], open->indent));
    }
    fence.close_line = j;
    fences.push_back(std::move(fence));
    i = j;
  }
  return fences;
}

sdk::Result<std::string> find_json_object(std::string_view reply, std::string_view wanted_key) {
  using nlohmann::json;
  // Regions to search, best first: the bodies of ```json blocks, then the whole reply.
  std::vector<std::string> regions;
  const std::vector<std::string_view> lines = split_lines(reply);
  for (const Fence& fence : find_fences(lines)) {
    std::string_view language = fence.info.substr(0, fence.info.find(' '));
    if (fence.closed && (language == "json" || language == "JSON"))
      regions.push_back(join_lines(fence.body, 0, fence.body.size()));
  }
  regions.emplace_back(reply);

  std::optional<std::string> first_object;
  std::string problem;
  for (const std::string& region : regions) {
    std::size_t tried = 0;
    for (std::size_t open = region.find('{'); open != std::string::npos && tried < kMaxObjectStarts;
         open = region.find('{', open + 1), ++tried) {
      const std::size_t end = balanced_end(region, open);
      if (end == std::string_view::npos) {
        if (problem.empty()) problem = "an unbalanced '{'";
        continue;
      }
      std::string candidate = region.substr(open, end - open);
      json parsed = json::parse(candidate, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_object()) {
        problem = "a {...} that is not valid JSON";
        continue;
      }
      if (parsed.contains(std::string(wanted_key))) return candidate;
      if (!first_object) first_object = std::move(candidate);
    }
  }
  if (first_object) return std::move(*first_object);
  return sdk::Status(sdk::Code::invalid_reply,
                     "no JSON object in the reply" +
                         (problem.empty() ? std::string() : " (found " + problem + ")") +
                         "; the reply begins " + excerpt(reply));
}

}  // namespace moss::plugins
