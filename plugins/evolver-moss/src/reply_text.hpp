// evolver-moss: the text handling that reading an LLM's reply needs: lines, Markdown fences,
// UTF-8 checks, short excerpts for error messages, and JSON objects buried in prose.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

// `text` with every CRLF turned into LF.
std::string normalize_newlines(std::string_view text);

// `text` without leading and trailing spaces, tabs, CRs and LFs.
std::string_view trim(std::string_view text);

// The lines of `text`, without their '\n'. A final line without '\n' counts; a final '\n'
// does not start another line.
std::vector<std::string_view> split_lines(std::string_view text);

// `lines[begin, end)`, each followed by '\n'.
std::string join_lines(const std::vector<std::string_view>& lines, std::size_t begin,
                       std::size_t end);

// The offset of the first byte that is not part of well-formed UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF count as malformed), or npos if there is none.
std::size_t invalid_utf8_offset(std::string_view text);

// At most `max_bytes` of `text`, cut on a UTF-8 character boundary, with "..." appended if
// anything was cut.
std::string cap_utf8(std::string_view text, std::size_t max_bytes);

// A short, quoted, one-line excerpt of the start of `text` for an error message: newlines
// shown as \n, other control bytes and malformed UTF-8 as \xNN.
std::string excerpt(std::string_view text, std::size_t max_bytes = 120);

// A Markdown fenced code block (``` or ~~~, 3 or more, indented by at most 3 spaces).
struct Fence {
  std::size_t open_line = 0;   // index into the lines it was found in
  std::size_t close_line = 0;  // index of the closing fence; == lines.size() if never closed
  bool closed = false;
  std::string_view info;               // the info string, trimmed, e.g. "cpp src/x.cpp"
  std::vector<std::string_view> body;  // the lines between, with the fence's indent removed
};

// If `line` is a fence line (opening or closing), its info string, trimmed; else nullopt.
std::optional<std::string_view> fence_info(std::string_view line);

// Every fenced block of `lines`, in order. An unclosed block runs to the end and is the last.
std::vector<Fence> find_fences(const std::vector<std::string_view>& lines);

// The text of a JSON object in `reply` that parses. Candidates are the balanced {...} in the
// bodies of ```json fences, then anywhere in the reply (braces inside JSON strings do not
// count). The first candidate that has the key `wanted_key` wins, else the first candidate.
// invalid_reply, with the reason and an excerpt of the reply, if there is none.
sdk::Result<std::string> find_json_object(std::string_view reply, std::string_view wanted_key);

}  // namespace moss::plugins
