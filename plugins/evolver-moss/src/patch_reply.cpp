// evolver-moss: the three patch forms (unified diff, SEARCH/REPLACE, full file) read out of a
// chatty LLM reply, and the reasons for refusing one.
#include "patch_reply.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <utility>

#include "reply_text.hpp"

namespace moss::plugins {

namespace {

using Lines = std::vector<std::string_view>;
using sdk::Code;
using sdk::Result;
using sdk::Status;

Status invalid_reply(std::string message) {
  return Status(Code::invalid_reply, std::move(message));
}

std::string line_number(std::size_t index) {
  return "line " + std::to_string(index + 1) + " of the reply";
}

// What a form found: the patch minus its description, and the line where its code starts
// (the prose before it becomes the description).
struct Found {
  sdk::Patch patch;
  std::size_t code_start = 0;
};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  });
  return out;
}

// "a, b, c and 4 more": the source paths for a message, at most ten of them.
std::string path_list(const std::vector<sdk::SourceFile>& sources) {
  constexpr std::size_t kShown = 10;
  std::string out;
  for (std::size_t i = 0; i < sources.size() && i < kShown; ++i)
    out += (i == 0 ? "" : ", ") + sources[i].path;
  if (sources.size() > kShown) out += " and " + std::to_string(sources.size() - kShown) + " more";
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

// ---------------------------------------------------------------------------------------
// Paths: how a reply names the file a block is for.

// A token that can be a relative or absolute file path: no spaces, quotes or colons, not a
// URL, and with a '/' or a file extension ("x.cpp", ".clang-format").
bool looks_like_path(std::string_view s) {
  if (s.empty() || s.size() > 1024) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7f || std::string_view("\"'`<>|*?:\\").find(c) != std::string_view::npos)
      return false;
  }
  if (s.back() == '.' || s.back() == '/') return false;
  if (s.find('/') != std::string_view::npos) return true;
  const std::size_t dot = s.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == s.size()) return false;
  const std::string_view extension = s.substr(dot + 1);
  if (extension.size() > 10) return false;
  if (std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }))
    return false;  // "1.5" is a number
  return std::all_of(extension.begin(), extension.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '+' || c == '-';
  });
}

// `s` without Markdown around it: heading and quote marks, a list bullet, bold and code
// marks, quotes, and a trailing colon; also without a leading "//" (a comment naming a file).
std::string_view strip_decoration(std::string_view s) {
  s = trim(s);
  if (s.starts_with("//")) s = trim(s.substr(2));
  while (!s.empty() && (s.front() == '#' || s.front() == '>'))
    s = trim(s.substr(1));
  if (s.size() > 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && s[1] == ' ')
    s = trim(s.substr(2));
  constexpr std::string_view kWrap = "*`\"'";
  for (bool changed = true; changed && !s.empty();) {
    changed = false;
    if (kWrap.find(s.front()) != std::string_view::npos) {
      s.remove_prefix(1);
      changed = true;
    }
    if (!s.empty() && (kWrap.find(s.back()) != std::string_view::npos || s.back() == ':')) {
      s.remove_suffix(1);
      changed = true;
    }
    s = trim(s);
  }
  return s;
}

// A line that only names a file: "File: src/x.cpp" (also "Path:", "Filename:", any case,
// with Markdown around it), or the path alone ("src/x.cpp", "`src/x.cpp`", "### src/x.cpp").
std::optional<std::string_view> path_line(std::string_view line) {
  const std::string_view s = strip_decoration(line);
  if (const std::size_t colon = s.find(':'); colon != std::string_view::npos) {
    const std::string key = lower(strip_decoration(s.substr(0, colon)));
    if (key == "file" || key == "filename" || key == "file name" || key == "path" ||
        key == "filepath" || key == "file path") {
      const std::string_view value = strip_decoration(s.substr(colon + 1));
      if (looks_like_path(value)) return value;
    }
    return std::nullopt;
  }
  if (looks_like_path(s)) return s;
  return std::nullopt;
}

class PathFinder {
 public:
  explicit PathFinder(const std::vector<sdk::SourceFile>& sources) : sources_(sources) {}

  // The source `name` means: the same path, or the only source whose path ends with
  // "/<name>", or the only one that `name` ends with ("/<path>"), so "x.cpp" and
  // "plugins/p/src/x.cpp" both find "src/x.cpp".
  std::optional<std::string> known(std::string_view name) const {
    name = clean(name);
    if (name.empty()) return std::nullopt;
    for (const sdk::SourceFile& file : sources_)
      if (file.path == name) return file.path;
    const std::string* match = nullptr;
    std::size_t matches = 0;
    for (const sdk::SourceFile& file : sources_) {
      const std::string_view path = file.path;
      if (ends_with_component(path, name) || ends_with_component(name, path)) {
        match = &file.path;
        ++matches;
      }
    }
    if (matches == 1) return *match;
    return std::nullopt;
  }

  // `name` as a source path if it means one, else as given (a new file, or a path the host
  // will refuse).
  std::string choose(std::string_view name) const {
    return known(name).value_or(std::string(clean(name)));
  }

  // The path a fence's info string names: "cpp src/x.cpp", "src/x.cpp", "cpp:src/x.cpp",
  // "cpp title=\"src/x.cpp\"".
  std::optional<std::string> named_by_info(std::string_view info) const {
    std::size_t k = 0;
    for (std::size_t begin = 0; begin < info.size(); ++k) {
      std::size_t end = info.find_first_of(" \t", begin);
      if (end == std::string_view::npos) end = info.size();
      std::string_view token = info.substr(begin, end - begin);
      begin = end + 1;
      for (std::string_view key : {"title=", "file=", "path=", "filename="})
        if (token.starts_with(key)) token.remove_prefix(key.size());
      token = strip_decoration(token);
      if (const std::size_t colon = token.find(':'); k == 0 && colon != std::string_view::npos)
        token = token.substr(colon + 1);
      if (looks_like_path(token)) return choose(token);
    }
    return std::nullopt;
  }

  // The path a line of prose names: a path line (any path), or else, if `in_sentence`, a
  // known source mentioned in a sentence ("Here is the fixed `src/x.cpp`:").
  std::optional<std::string> named_by_line(std::string_view line, bool in_sentence = true) const {
    if (std::optional<std::string_view> path = path_line(line)) return choose(*path);
    if (!in_sentence) return std::nullopt;
    for (std::size_t begin = 0; begin < line.size();) {
      std::size_t end = line.find_first_of(" \t", begin);
      if (end == std::string_view::npos) end = line.size();
      std::string_view token = line.substr(begin, end - begin);
      begin = end + 1;
      constexpr std::string_view kPunctuation = "`*\"'()[],.:;!?";
      while (!token.empty() && kPunctuation.find(token.front()) != std::string_view::npos)
        token.remove_prefix(1);
      while (!token.empty() && kPunctuation.find(token.back()) != std::string_view::npos)
        token.remove_suffix(1);
      if (looks_like_path(token))
        if (std::optional<std::string> path = known(token)) return path;
    }
    return std::nullopt;
  }

  // The only source if there is exactly one; else invalid_reply: "<who> no file and there
  // are N source files: ...".
  Result<std::string> only_source(const std::string& who) const {
    if (sources_.size() == 1) return sources_.front().path;
    return invalid_reply(who + " no file and there are " + std::to_string(sources_.size()) +
                         " source files: " + path_list(sources_));
  }

 private:
  static std::string_view clean(std::string_view name) {
    while (name.starts_with("./"))
      name.remove_prefix(2);
    return name;
  }
  // `path` is `tail`, or ends with "/<tail>".
  static bool ends_with_component(std::string_view path, std::string_view tail) {
    return path.size() > tail.size() && path.ends_with(tail) &&
           path[path.size() - tail.size() - 1] == '/';
  }

  const std::vector<sdk::SourceFile>& sources_;
};

// ---------------------------------------------------------------------------------------
// SEARCH/REPLACE markers, which the diff reader must step around.

constexpr std::string_view kSearch = "<<<<<<< SEARCH";
constexpr std::string_view kDivider = "=======";
constexpr std::string_view kReplace = ">>>>>>> REPLACE";

enum class Marker { none, search, divider, replace };

// The marker `text` (already trimmed) is: 5 to 9 '<', '=' or '>', then, after spaces,
// "SEARCH", nothing or "REPLACE". The host reads markers the same way (at the start of a
// line), so a line this reads as text, the host reads as text too.
Marker marker_in(std::string_view text) {
  if (text.empty()) return Marker::none;
  const char fill = text.front();
  std::size_t run = text.find_first_not_of(fill);
  if (run == std::string_view::npos) run = text.size();
  if (run < 5 || run > 9) return Marker::none;
  const std::string_view word = trim(text.substr(run));
  if (fill == '<' && word == "SEARCH") return Marker::search;
  if (fill == '=' && word.empty()) return Marker::divider;
  if (fill == '>' && word == "REPLACE") return Marker::replace;
  return Marker::none;
}

// The marker `line` is, with any spaces around it.
Marker marker_of(std::string_view line) {
  return marker_in(trim(line));
}

// Whether `lines` hold a SEARCH or REPLACE marker at the start of a line. A diff cannot: its
// lines start with ' ', '+' or '-'. (A lone ======= can, as context.)
bool has_block_marker(const Lines& lines) {
  return std::any_of(lines.begin(), lines.end(), [](std::string_view line) {
    const Marker marker = marker_in(line.substr(0, line.find_last_not_of(" \t") + 1));
    return marker == Marker::search || marker == Marker::replace;
  });
}

// ---------------------------------------------------------------------------------------
// Unified diffs.

bool is_file_header_at(const Lines& lines, std::size_t i) {
  return lines[i].starts_with("diff --git ") ||
         (lines[i].starts_with("--- ") && i + 1 < lines.size() && lines[i + 1].starts_with("+++ "));
}

bool is_hunk_header(std::string_view line) {
  return line.starts_with("@@ -");
}

bool is_hunk_line(std::string_view line) {
  return !line.empty() && (line[0] == ' ' || line[0] == '+' || line[0] == '-' || line[0] == '\\');
}

bool is_extended_header(std::string_view line) {
  for (std::string_view prefix : {"index ", "old mode ", "new mode ", "deleted file mode ",
                                  "new file mode ", "similarity index ", "dissimilarity index ",
                                  "rename from ", "rename to ", "copy from ", "copy to "}) {
    if (line.starts_with(prefix)) return true;
  }
  return false;
}

// Reads "<start>[,<count>]" at the front of `s`; the count is 1 when left out.
bool read_range(std::string_view& s, long& count) {
  long start = 0;
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), start);
  if (error != std::errc() || end == s.data()) return false;
  s.remove_prefix(static_cast<std::size_t>(end - s.data()));
  count = 1;
  if (s.starts_with(",")) {
    s.remove_prefix(1);
    auto [count_end, count_error] = std::from_chars(s.data(), s.data() + s.size(), count);
    if (count_error != std::errc() || count_end == s.data() || count < 0) return false;
    s.remove_prefix(static_cast<std::size_t>(count_end - s.data()));
  }
  return true;
}

// The old and new line counts of a hunk header "@@ -a[,b] +c[,d] @@".
std::optional<std::pair<long, long>> hunk_counts(std::string_view line) {
  std::string_view s = line.substr(4);
  long old_count = 0;
  long new_count = 0;
  if (!read_range(s, old_count) || !s.starts_with(" +")) return std::nullopt;
  s.remove_prefix(2);
  if (!read_range(s, new_count) || !s.starts_with(" @@")) return std::nullopt;
  return std::make_pair(old_count, new_count);
}

// The end of the diff that starts with the file header at lines[start]: file headers and
// their hunks, each hunk as long as its header counts, then any further hunk lines (so
// wrong counts do not cut a hunk short). Prose after the diff ends it.
std::size_t diff_end(const Lines& lines, std::size_t start) {
  std::size_t i = start;
  while (i < lines.size() && is_file_header_at(lines, i)) {
    if (lines[i].starts_with("diff --git ")) {
      ++i;
      while (i < lines.size() && is_extended_header(lines[i]))
        ++i;
    }
    if (i + 1 < lines.size() && lines[i].starts_with("--- ") && lines[i + 1].starts_with("+++ "))
      i += 2;
    while (i < lines.size() && is_hunk_header(lines[i])) {
      const std::optional<std::pair<long, long>> counts = hunk_counts(lines[i]);
      ++i;
      if (counts) {
        long old_left = counts->first;
        long new_left = counts->second;
        while (i < lines.size() && (old_left > 0 || new_left > 0)) {
          const std::string_view line = lines[i];
          if (line.empty() || line[0] == ' ') {  // an empty line is an empty context line
            --old_left;
            --new_left;
          } else if (line[0] == '-') {
            --old_left;
          } else if (line[0] == '+') {
            --new_left;
          } else if (line[0] != '\\') {
            break;
          }
          ++i;
        }
      }
      while (i < lines.size() && is_hunk_line(lines[i]) && !is_file_header_at(lines, i))
        ++i;
    }
  }
  return i;
}

// A path on a ---/+++ line or in "diff --git": without a timestamp, quotes and a/ b/.
std::string header_path(std::string_view s) {
  s = trim(s.substr(0, s.find('\t')));
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  if (s != "/dev/null" && (s.starts_with("a/") || s.starts_with("b/"))) s.remove_prefix(2);
  return std::string(s);
}

std::string path_of_git_line(std::string_view line) {
  std::string_view rest = trim(line.substr(std::string_view("diff --git ").size()));
  std::size_t at = std::string_view::npos;
  if (rest.ends_with("\"") && rest.size() >= 2) {
    at = rest.rfind('"', rest.size() - 2);
  } else if (std::size_t b = rest.rfind(" b/"); b != std::string_view::npos) {
    at = b + 1;
  } else if (std::size_t space = rest.rfind(' '); space != std::string_view::npos) {
    at = space + 1;
  }
  return header_path(at == std::string_view::npos ? rest : rest.substr(at));
}

// The new path of the first file of the diff in lines[begin, end); its old path if it is
// deleted.
std::string first_diff_path(const Lines& lines, std::size_t begin, std::size_t end) {
  std::string git_path;
  for (std::size_t i = begin; i < end; ++i) {
    if (lines[i].starts_with("diff --git ")) {
      if (!git_path.empty()) break;  // a file without ---/+++ lines (a mode change, a rename)
      git_path = path_of_git_line(lines[i]);
    } else if (i + 1 < end && lines[i].starts_with("--- ") && lines[i + 1].starts_with("+++ ")) {
      std::string new_path = header_path(lines[i + 1].substr(4));
      return new_path == "/dev/null" ? header_path(lines[i].substr(4)) : new_path;
    }
  }
  return git_path;
}

// Every unified diff in the reply, in order: fenced (a ```diff/```patch block, or any block
// that starts with a file header) and raw. nullopt if there is none.
Result<std::optional<Found>> find_diff(const Lines& lines, const std::vector<Fence>& fences) {
  Found found;
  found.patch.format = sdk::PatchFormat::unified_diff;
  std::string problem;  // why a part that looks like a diff cannot be used
  auto add = [&](const Lines& part, std::size_t begin, std::size_t end, std::size_t code_line) {
    if (found.patch.body.empty()) {
      found.patch.path = first_diff_path(part, begin, end);
      found.code_start = code_line;
    }
    found.patch.body += join_lines(part, begin, end);
  };

  std::size_t next_fence = 0;
  bool in_block = false;  // inside a raw SEARCH/REPLACE block, whose text is not a diff
  for (std::size_t i = 0; i < lines.size();) {
    while (next_fence < fences.size() && fences[next_fence].open_line < i)
      ++next_fence;  // a raw diff ran over it
    if (next_fence < fences.size() && fences[next_fence].open_line == i) {
      const Fence& fence = fences[next_fence++];
      i = fence.close_line + 1;
      const Lines& body = fence.body;
      if (has_block_marker(body)) continue;
      const std::string language = lower(fence.info.substr(0, fence.info.find_first_of(" \t")));
      const bool diff_fence = language == "diff" || language == "patch" || language == "udiff";
      std::size_t first = 0;
      while (first < body.size() && trim(body[first]).empty())
        ++first;
      std::size_t header = first;
      while (header < body.size() && !is_file_header_at(body, header))
        ++header;
      if (header < body.size() && (diff_fence || header == first)) {
        if (!fence.closed) {
          return invalid_reply("the diff block opened on " + line_number(fence.open_line) +
                               " is never closed");
        }
        // The fence delimits the diff; trailing blank lines go unless a hunk counts them.
        std::size_t last = body.size();
        while (last > header && trim(body[last - 1]).empty())
          --last;
        add(body, header, std::max(last, diff_end(body, header)), fence.open_line);
      } else if (problem.empty() &&
                 (diff_fence || (first < body.size() && is_hunk_header(body[first])))) {
        const bool has_hunk = std::any_of(body.begin(), body.end(), is_hunk_header);
        problem = "the " + (diff_fence ? "```" + language + " block" : std::string("code block")) +
                  " opened on " + line_number(fence.open_line) +
                  (has_hunk ? " has a diff without a file header (--- a/<path> and +++ b/<path> "
                              "lines)"
                            : " holds no unified diff (no --- / +++ file header)");
      }
      continue;
    }
    const Marker marker = marker_of(lines[i]);
    if (marker == Marker::search) in_block = true;
    if (marker == Marker::replace) in_block = false;
    if (!in_block && is_file_header_at(lines, i)) {
      const std::size_t end = diff_end(lines, i);
      add(lines, i, end, i);
      i = end;
      continue;
    }
    if (!in_block && is_hunk_header(lines[i]) && problem.empty()) {
      problem = line_number(i) +
                " starts a diff hunk, but the diff has no file header (--- a/<path> and "
                "+++ b/<path> lines)";
    }
    ++i;
  }
  if (!found.patch.body.empty()) return std::optional<Found>(std::move(found));
  if (!problem.empty()) return invalid_reply(problem);
  return std::optional<Found>();
}

// ---------------------------------------------------------------------------------------
// SEARCH/REPLACE blocks.

struct Block {
  std::size_t open_line = 0;
  std::size_t indent = 0;  // of its markers, taken off its lines (a block in an indented list)
  std::string search;
  std::string replace;
  std::optional<std::string> named;  // the file named before it
};

std::string_view without_indent(std::string_view line, std::size_t indent) {
  std::size_t spaces = 0;
  while (spaces < indent && spaces < line.size() && line[spaces] == ' ')
    ++spaces;
  return line.substr(spaces);
}

// The file named closest before lines[end], looking back to lines[begin]: a fence's info
// string or a path line; or a known source mentioned in the nearest line of prose (not in
// quoted code: an earlier sentence may well name a file that does not change).
std::optional<std::string> named_before(const Lines& lines, const std::vector<bool>& in_code,
                                        std::size_t begin, std::size_t end,
                                        const PathFinder& paths) {
  bool nearest_prose = true;
  for (std::size_t k = end; k-- > begin;) {
    if (std::optional<std::string_view> info = fence_info(lines[k])) {
      if (std::optional<std::string> path = paths.named_by_info(*info)) return path;
      continue;
    }
    if (trim(lines[k]).empty()) continue;
    const bool sentence = nearest_prose && !in_code[k];
    if (std::optional<std::string> path = paths.named_by_line(lines[k], sentence)) return path;
    if (!in_code[k]) nearest_prose = false;
  }
  return std::nullopt;
}

// Which lines are inside fenced blocks (the fence lines included).
std::vector<bool> code_mask(const Lines& lines, const std::vector<Fence>& fences) {
  std::vector<bool> in_code(lines.size(), false);
  for (const Fence& fence : fences)
    for (std::size_t i = fence.open_line; i <= fence.close_line && i < lines.size(); ++i)
      in_code[i] = true;
  return in_code;
}

Result<std::optional<Found>> find_search_replace(const Lines& lines,
                                                 const std::vector<Fence>& fences,
                                                 const PathFinder& paths) {
  const bool any = std::any_of(lines.begin(), lines.end(), [](std::string_view line) {
    const Marker marker = marker_of(line);
    return marker == Marker::search || marker == Marker::replace;
  });
  if (!any) return std::optional<Found>();

  const std::vector<bool> in_code = code_mask(lines, fences);
  std::vector<Block> blocks;
  Block block;
  enum class State { outside, search, replace } state = State::outside;
  std::size_t after_previous = 0;  // the first line after the previous block
  auto fault = [&](const std::string& what) {
    return invalid_reply("SEARCH/REPLACE block " + std::to_string(blocks.size() + 1) + " " + what);
  };
  auto opened = [&] { return "(opened on " + line_number(block.open_line) + ")"; };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Marker marker = marker_of(lines[i]);
    switch (state) {
      case State::outside:
        if (marker == Marker::search) {
          block = Block();
          block.open_line = i;
          block.indent = lines[i].find_first_not_of(' ');
          block.named = named_before(lines, in_code, after_previous, i, paths);
          state = State::search;
        } else if (marker != Marker::none) {
          return fault("has no " + std::string(kSearch) + " line: " + line_number(i) + " is " +
                       std::string(trim(lines[i])) + " outside any block");
        }
        break;
      case State::search:
        if (marker == Marker::divider) {
          state = State::replace;
        } else if (marker == Marker::search) {
          return fault(opened() + " has a second " + std::string(kSearch) + " on " +
                       line_number(i) + " before its " + std::string(kDivider));
        } else if (marker == Marker::replace) {
          return fault(opened() + " has no " + std::string(kDivider) + " line before its " +
                       std::string(kReplace) + " on " + line_number(i));
        } else {
          block.search.append(without_indent(lines[i], block.indent)).push_back('\n');
        }
        break;
      case State::replace:
        if (marker == Marker::replace) {
          blocks.push_back(std::move(block));
          block = Block();
          after_previous = i + 1;
          state = State::outside;
        } else if (marker == Marker::search) {
          return fault(opened() + " is not closed: " + line_number(i) + " opens another block " +
                       "before its " + std::string(kReplace));
        } else if (marker == Marker::divider) {
          return fault(opened() + " has a second " + std::string(kDivider) + " on " +
                       line_number(i));
        } else {
          block.replace.append(without_indent(lines[i], block.indent)).push_back('\n');
        }
        break;
    }
  }
  if (state == State::search) {
    return fault(opened() + " never ends: no " + std::string(kDivider) + " and no " +
                 std::string(kReplace) + " line");
  }
  if (state == State::replace)
    return fault(opened() + " never ends: no " + std::string(kReplace) + " line");

  // A block without a name of its own is for the file of the block before it.
  std::vector<std::string> files;
  std::optional<std::string> current;
  for (const Block& b : blocks) {
    if (b.named) current = b.named;
    if (current && std::find(files.begin(), files.end(), *current) == files.end())
      files.push_back(*current);
  }
  if (files.size() > 1) {
    return invalid_reply("the SEARCH/REPLACE blocks name more than one file (" + joined(files) +
                         "); a patch in this form changes one file");
  }
  Found found;
  found.patch.format = sdk::PatchFormat::search_replace;
  if (files.empty()) {
    Result<std::string> only = paths.only_source("the reply's SEARCH/REPLACE blocks name");
    if (!only.ok()) return only.status();
    found.patch.path = std::move(only.value());
  } else {
    found.patch.path = files.front();
  }
  for (const Block& b : blocks) {
    found.patch.body += std::string(kSearch) + "\n" + b.search + std::string(kDivider) + "\n" +
                        b.replace + std::string(kReplace) + "\n";
  }
  found.code_start = blocks.front().open_line;
  return std::optional<Found>(std::move(found));
}

// ---------------------------------------------------------------------------------------
// A complete file in a fenced block.

bool is_shell_language(std::string_view info) {
  const std::string language = lower(info.substr(0, info.find_first_of(" \t")));
  return language == "bash" || language == "sh" || language == "shell" || language == "console" ||
         language == "zsh" || language == "powershell";
}

Result<std::optional<Found>> find_full_file(const Lines& lines, const std::vector<Fence>& fences,
                                            const PathFinder& paths) {
  if (fences.empty()) return std::optional<Found>();
  struct Candidate {
    const Fence* fence = nullptr;
    std::optional<std::string> named;
  };
  std::vector<Candidate> named;
  std::vector<Candidate> unnamed;
  const Fence* unclosed = nullptr;
  std::size_t previous_end = 0;
  for (const Fence& fence : fences) {
    if (!fence.closed) {
      unclosed = &fence;
      break;
    }
    const bool blank = std::all_of(fence.body.begin(), fence.body.end(),
                                   [](std::string_view line) { return trim(line).empty(); });
    if (!blank) {
      Candidate candidate{&fence, paths.named_by_info(fence.info)};
      if (!candidate.named) {  // else the nearest line of prose before the fence
        std::size_t k = fence.open_line;
        while (k > previous_end && trim(lines[k - 1]).empty())
          --k;
        if (k > previous_end) candidate.named = paths.named_by_line(lines[k - 1]);
      }
      if (!candidate.named) {  // else a first line such as "// src/x.cpp", which stays
        auto first = std::find_if(fence.body.begin(), fence.body.end(),
                                  [](std::string_view line) { return !trim(line).empty(); });
        candidate.named = paths.named_by_line(*first, /*in_sentence=*/false);
      }
      (candidate.named ? named : unnamed).push_back(candidate);
    }
    previous_end = fence.close_line + 1;
  }

  Found found;
  found.patch.format = sdk::PatchFormat::full_file;
  const Fence* chosen = nullptr;
  if (!named.empty()) {
    std::vector<std::string> files;
    for (const Candidate& c : named)
      if (std::find(files.begin(), files.end(), *c.named) == files.end()) files.push_back(*c.named);
    if (files.size() > 1) {
      return invalid_reply("the reply holds complete files for more than one file (" +
                           joined(files) + "); a patch in this form changes one file");
    }
    if (named.size() > 1) {
      return invalid_reply("the reply holds " + std::to_string(named.size()) + " code blocks for " +
                           files.front() + "; the complete file must be given once");
    }
    chosen = named.front().fence;
    found.patch.path = files.front();
  } else if (!unnamed.empty()) {
    auto code = std::find_if(unnamed.begin(), unnamed.end(),
                             [](const Candidate& c) { return !is_shell_language(c.fence->info); });
    chosen = (code != unnamed.end() ? *code : unnamed.front()).fence;
    Result<std::string> only = paths.only_source("the reply names");
    if (!only.ok()) return only.status();
    found.patch.path = std::move(only.value());
  } else if (unclosed != nullptr) {
    return invalid_reply("the code block opened on " + line_number(unclosed->open_line) +
                         " is never closed");
  } else {
    return invalid_reply("the reply's code block is empty");
  }
  found.patch.body = join_lines(chosen->body, 0, chosen->body.size());
  found.code_start = chosen->open_line;
  return std::optional<Found>(std::move(found));
}

// ---------------------------------------------------------------------------------------

// Why `reply` is binary, or nullopt.
std::optional<std::string> binary_content(std::string_view reply, const Lines& lines) {
  if (const std::size_t nul = reply.find('\0'); nul != std::string_view::npos)
    return "the reply holds a NUL byte (byte " + std::to_string(nul) + ")";
  if (const std::size_t bad = invalid_utf8_offset(reply); bad != std::string_view::npos)
    return "the reply is not valid UTF-8 (byte " + std::to_string(bad) + ")";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    if (line.starts_with("GIT binary patch"))
      return "the reply holds a GIT binary patch (" + line_number(i) + ")";
    if (line.starts_with("Binary files ") && line.ends_with(" differ"))
      return "the reply holds \"" + cap_utf8(line, 80) + "\" (" + line_number(i) + ")";
  }
  return std::nullopt;
}

// The prose before lines[end], outside code blocks and without lines that only name a file.
std::string prose_before(const Lines& lines, std::size_t end, const std::vector<Fence>& fences) {
  const std::vector<bool> in_code = code_mask(lines, fences);
  std::string prose;
  for (std::size_t i = 0; i < end && i < lines.size(); ++i) {
    if (in_code[i] || fence_info(lines[i]) || path_line(lines[i])) continue;
    prose.append(lines[i]).push_back('\n');
  }
  return cap_utf8(trim(prose), kMaxDescriptionBytes);
}

}  // namespace

Result<sdk::Patch> parse_patch_reply(std::string_view raw_reply,
                                     const std::vector<sdk::SourceFile>& sources,
                                     std::size_t max_reply_bytes) {
  if (raw_reply.size() > max_reply_bytes) {
    return invalid_reply("reply is " + std::to_string(raw_reply.size()) + " bytes, the limit is " +
                         std::to_string(max_reply_bytes) + " (max_reply_bytes)");
  }
  if (trim(raw_reply).empty()) return invalid_reply("the reply is empty");
  const std::string reply = normalize_newlines(raw_reply);
  const Lines lines = split_lines(reply);
  if (std::optional<std::string> why = binary_content(reply, lines))
    return invalid_reply("binary patch: " + *why);

  const std::vector<Fence> fences = find_fences(lines);
  const PathFinder paths(sources);
  Result<std::optional<Found>> found = find_diff(lines, fences);
  if (found.ok() && !found.value()) found = find_search_replace(lines, fences, paths);
  if (found.ok() && !found.value()) found = find_full_file(lines, fences, paths);
  if (!found.ok()) return found.status();
  if (!found.value()) {
    return invalid_reply(
        "the reply holds no code: no unified diff, no SEARCH/REPLACE block and no fenced code "
        "block; the reply begins " +
        excerpt(reply));
  }
  sdk::Patch patch = std::move(found.value()->patch);
  patch.description = prose_before(lines, found.value()->code_start, fences);
  return patch;
}

}  // namespace moss::plugins
