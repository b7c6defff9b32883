// Lenient reading of unified diffs, hunk placement, and the strict git form for libgit2.
#include "evolution/patch_diff.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace moss {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string_view trim_right(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

Status refuse(std::string message) {
  return Status(Code::invalid_argument, std::move(message));
}

constexpr std::array<std::string_view, 11> kExtendedHeaders = {"old mode ",
                                                               "new mode ",
                                                               "deleted file mode ",
                                                               "new file mode ",
                                                               "similarity index ",
                                                               "dissimilarity index ",
                                                               "rename from ",
                                                               "rename to ",
                                                               "copy from ",
                                                               "copy to ",
                                                               "index "};

bool is_extended_header(std::string_view line) {
  return std::any_of(kExtendedHeaders.begin(), kExtendedHeaders.end(),
                     [&](std::string_view prefix) { return starts_with(line, prefix); });
}

bool is_binary_marker(std::string_view line) {
  line = trim_right(line);
  return starts_with(line, "GIT binary patch") ||
         (starts_with(line, "Binary files ") && line.ends_with(" differ"));
}

bool is_file_header(const std::vector<std::string_view>& lines, std::size_t at) {
  return at + 1 < lines.size() && starts_with(lines[at], "--- ") &&
         starts_with(lines[at + 1], "+++ ");
}

// A path from a "--- " or "+++ " line (text after the marker): without diff(1)'s
// "\t<timestamp>", without the git prefix `prefix` ("a/" or "b/"), "" for /dev/null.
Result<std::string> header_path(std::string_view raw, std::string_view prefix) {
  if (std::size_t tab = raw.find('\t'); tab != std::string_view::npos) raw = raw.substr(0, tab);
  raw = trim_right(raw);
  if (raw.empty()) return refuse("a '---' or '+++' line of the diff names no file");
  if (raw.front() == '"') {
    return refuse("the diff names the quoted path " + std::string(raw) +
                  "; quoted (escaped) paths are not supported");
  }
  if (raw == "/dev/null") return std::string();
  if (starts_with(raw, prefix)) raw.remove_prefix(prefix.size());
  return std::string(raw);
}

// The two paths of a "diff --git a/x b/y" line, for sections that have no "---"/"+++".
Result<std::pair<std::string, std::string>> git_line_paths(std::string_view line) {
  std::string_view rest = trim_right(line.substr(std::string_view("diff --git ").size()));
  if (starts_with(rest, "a/")) {
    if (std::size_t at = rest.find(" b/"); at != std::string_view::npos) {
      return std::pair(std::string(rest.substr(2, at - 2)), std::string(rest.substr(at + 3)));
    }
  }
  std::size_t space = rest.find(' ');
  if (space != std::string_view::npos && rest.find(' ', space + 1) == std::string_view::npos) {
    return std::pair(std::string(rest.substr(0, space)), std::string(rest.substr(space + 1)));
  }
  return refuse("cannot read the paths of '" + std::string(trim_right(line)) + "'");
}

bool parse_number(std::string_view& text, std::int64_t& out) {
  const char* end = text.data() + text.size();
  auto [next, error] = std::from_chars(text.data(), end, out);
  if (error != std::errc() || out < 0) return false;
  text.remove_prefix(static_cast<std::size_t>(next - text.data()));
  return true;
}

// "@@ -a[,b] +c[,d] @@...": only `a` is kept; the counts are recomputed from the body.
std::optional<std::int64_t> hunk_old_start(std::string_view header) {
  if (!starts_with(header, "@@ -")) return std::nullopt;
  header.remove_prefix(4);
  std::int64_t old_start = 0;
  std::int64_t ignored = 0;
  if (!parse_number(header, old_start)) return std::nullopt;
  if (starts_with(header, ",")) {
    header.remove_prefix(1);
    if (!parse_number(header, ignored)) return std::nullopt;
  }
  if (!starts_with(header, " +")) return std::nullopt;
  header.remove_prefix(2);
  if (!parse_number(header, ignored)) return std::nullopt;
  if (starts_with(header, ",")) {
    header.remove_prefix(1);
    if (!parse_number(header, ignored)) return std::nullopt;
  }
  if (!starts_with(header, " @@")) return std::nullopt;
  return old_start;
}

std::string hunk_name(const DiffFile& file, std::size_t index) {
  return "hunk " + std::to_string(index + 1) + " (" + file.hunks[index].header + ") of " +
         file.path();
}

// The lines a hunk expects in the old file, without their ' ' or '-' marker.
std::vector<std::string_view> old_lines(const DiffHunk& hunk) {
  std::vector<std::string_view> lines;
  for (const std::string& line : hunk.lines) {
    if (line[0] == ' ' || line[0] == '-') lines.push_back(std::string_view(line).substr(1));
  }
  return lines;
}

}  // namespace

std::int64_t DiffHunk::old_count() const {
  return std::count_if(lines.begin(), lines.end(),
                       [](const std::string& line) { return line[0] == ' ' || line[0] == '-'; });
}

std::int64_t DiffHunk::new_count() const {
  return std::count_if(lines.begin(), lines.end(),
                       [](const std::string& line) { return line[0] == ' ' || line[0] == '+'; });
}

Result<std::vector<DiffFile>> parse_unified_diff(std::string_view text) {
  const std::vector<std::string_view> lines = split_lines(text);
  std::vector<DiffFile> files;
  std::vector<bool> has_file_header;  // per file: whether it had "---"/"+++" lines
  std::size_t at = 0;
  while (at < lines.size()) {
    std::string_view line = lines[at];
    if (is_binary_marker(line)) {
      return refuse("binary patch: line " + std::to_string(at + 1) + " is '" +
                    std::string(trim_right(line)) + "'");
    }
    if (starts_with(line, "diff --git ") || is_file_header(lines, at)) {
      DiffFile file;
      std::string from;  // the paths of git's "rename"/"copy" lines
      std::string to;
      std::size_t next = at;
      if (starts_with(line, "diff --git ")) {
        for (++next; next < lines.size() && is_extended_header(lines[next]); ++next) {
          std::string_view header = trim_right(lines[next]);
          if (starts_with(header, "rename from ") || starts_with(header, "copy from ")) {
            file.kind = header[0] == 'r' ? DiffKind::rename : DiffKind::copy;
            from = header.substr(header.find(" from ") + 6);
          } else if (starts_with(header, "rename to ") || starts_with(header, "copy to ")) {
            file.kind = header[0] == 'r' ? DiffKind::rename : DiffKind::copy;
            to = header.substr(header.find(" to ") + 4);
          } else if (starts_with(header, "similarity index ")) {
            file.similarity_line = header;
          } else if (starts_with(header, "dissimilarity index ")) {
            // Not kept: libgit2 does not accept it after mode lines, and nothing uses it.
          } else if (starts_with(header, "index ")) {
            file.index_line = header;
          } else {
            file.mode_lines.emplace_back(header);
          }
        }
      }
      bool file_header = is_file_header(lines, next);
      if (file_header) {
        Result<std::string> old_path = header_path(lines[next].substr(4), "a/");
        if (!old_path.ok()) return old_path.status();
        Result<std::string> new_path = header_path(lines[next + 1].substr(4), "b/");
        if (!new_path.ok()) return new_path.status();
        file.old_path = std::move(*old_path);
        file.new_path = std::move(*new_path);
        next += 2;
      } else if (file.kind != DiffKind::change) {
        file.old_path = from;
        file.new_path = to;
      } else {
        auto paths = git_line_paths(line);
        if (!paths.ok()) return paths.status();
        file.old_path = std::move(paths->first);
        file.new_path = std::move(paths->second);
        if (starts_with(file.old_path, "a/") && starts_with(file.new_path, "b/")) {
          file.old_path.erase(0, 2);
          file.new_path.erase(0, 2);
        }
        for (const std::string& header : file.mode_lines) {
          if (starts_with(header, "new file mode ")) file.old_path.clear();
          if (starts_with(header, "deleted file mode ")) file.new_path.clear();
        }
      }
      const std::string where = "line " + std::to_string(at + 1) + ": ";
      if (file.old_path.empty() && file.new_path.empty()) {
        return refuse(where + "a file diff from /dev/null to /dev/null");
      }
      if (file.kind != DiffKind::change) {
        const char* verb = file.kind == DiffKind::rename ? "rename" : "copy";
        if (from.empty() || to.empty()) {
          return refuse(where + "a " + verb + " needs both its '" + verb + " from' and '" + verb +
                        " to' lines");
        }
        if (file.old_path != from || file.new_path != to) {
          return refuse(where + "the " + verb + " lines name " + from + " -> " + to +
                        ", but '---' and '+++' name " + file.old_path + " -> " + file.new_path);
        }
      }
      files.push_back(std::move(file));
      has_file_header.push_back(file_header);
      at = next;
      continue;
    }
    if (starts_with(line, "@@")) {
      if (files.empty()) {
        return refuse("line " + std::to_string(at + 1) + ": the hunk '" +
                      std::string(trim_right(line)) +
                      "' comes before any file header ('--- a/path' and '+++ b/path')");
      }
      DiffHunk hunk;
      hunk.header = std::string(trim_right(line));
      if (std::optional<std::int64_t> start = hunk_old_start(hunk.header)) {
        hunk.has_line_numbers = true;
        hunk.old_start = *start;
      }
      std::size_t blank_tail = 0;  // empty lines at the end: the gap after the diff, not context
      std::size_t next = at + 1;
      for (; next < lines.size(); ++next) {
        std::string_view body = lines[next];
        if (starts_with(body, "diff --git ") || starts_with(body, "@@") ||
            is_file_header(lines, next)) {
          break;
        }
        if (body.empty() || body == "\r") {
          hunk.lines.emplace_back(" ");
          ++blank_tail;
        } else if (body[0] == ' ' || body[0] == '-' || body[0] == '+' || body[0] == '\\') {
          hunk.lines.emplace_back(body);
          blank_tail = 0;
        } else {
          break;
        }
      }
      hunk.lines.resize(hunk.lines.size() - blank_tail);
      DiffFile& file = files.back();
      if (hunk.old_count() == 0 && hunk.new_count() == 0) {
        return refuse("hunk " + std::to_string(file.hunks.size() + 1) + " (" + hunk.header +
                      ") of " + file.path() + " has no lines");
      }
      file.hunks.push_back(std::move(hunk));
      at = next;
      continue;
    }
    ++at;  // text around the diff: prose, code fences, "Index:" lines
  }

  if (files.empty()) {
    return refuse(
        "the patch holds no file diff (expected 'diff --git a/path b/path' or '--- a/path' and "
        "'+++ b/path', then '@@' hunks)");
  }
  for (std::size_t index = 0; index < files.size(); ++index) {
    const DiffFile& file = files[index];
    if (has_file_header[index] && file.hunks.empty()) {
      return refuse("the diff for " + file.path() + " has no hunks");
    }

    for (std::size_t hunk = 0; hunk < file.hunks.size(); ++hunk) {
      if (file.creates() && file.hunks[hunk].old_count() != 0) {
        return refuse(hunk_name(file, hunk) +
                      " has '-' or ' ' lines, but the diff creates the file (--- /dev/null)");
      }
      if (file.deletes() && file.hunks[hunk].new_count() != 0) {
        return refuse(hunk_name(file, hunk) +
                      " has '+' or ' ' lines, but the diff deletes the file (+++ /dev/null)");
      }
    }
    for (std::size_t other = 0; other < index; ++other) {
      if (files[other].path() == file.path()) {
        return refuse("the diff has two sections for " + file.path() +
                      "; put all of its hunks in one");
      }
    }
  }
  return files;
}

Status place_hunks(DiffFile& file, std::string_view old_content) {
  const std::vector<std::string_view> content = split_lines(old_content);
  std::vector<std::string_view> all_old_lines;  // for the whole-file check of a deletion
  std::size_t from = 0;                         // hunks are in order: search after the last
  for (std::size_t index = 0; index < file.hunks.size(); ++index) {
    DiffHunk& hunk = file.hunks[index];
    const std::vector<std::string_view> expected = old_lines(hunk);
    all_old_lines.insert(all_old_lines.end(), expected.begin(), expected.end());
    if (expected.empty()) {
      // A pure insertion has nothing to find: its line number is all there is.
      if (!hunk.has_line_numbers) {
        return refuse(hunk_name(file, index) +
                      " has neither '-'/' ' lines nor line numbers, so it has no place");
      }
      continue;
    }
    const auto matches_at = [&](std::size_t line) {
      return line + expected.size() <= content.size() &&
             std::equal(expected.begin(), expected.end(), content.begin() + line);
    };
    if (hunk.has_line_numbers && hunk.old_start >= 1) {
      auto declared = static_cast<std::size_t>(hunk.old_start - 1);
      if (declared >= from && matches_at(declared)) {
        from = declared + expected.size();
        continue;
      }
    }
    std::vector<std::size_t> places;
    for (std::size_t line = from; line + expected.size() <= content.size(); ++line) {
      if (matches_at(line)) places.push_back(line);
    }
    if (places.size() == 1) {
      hunk.old_start = static_cast<std::int64_t>(places.front()) + 1;
      from = places.front() + expected.size();
      continue;
    }
    if (places.empty()) {
      return refuse(
          hunk_name(file, index) + " does not match: its '-' and ' ' lines are not in " +
          (index == 0 ? std::string("the file") : "the file after hunk " + std::to_string(index)));
    }
    return refuse(hunk_name(file, index) + " matches " + std::to_string(places.size()) + " places" +
                  (hunk.has_line_numbers
                       ? ", none of them at its line " + std::to_string(hunk.old_start)
                       : std::string()) +
                  "; add context lines to make it unique");
  }
  if (file.deletes() && !(all_old_lines.size() == content.size() &&
                          std::equal(content.begin(), content.end(), all_old_lines.begin()))) {
    return refuse("the diff deletes " + file.old_path +
                  ", but its '-' lines are not the whole file");
  }
  return Status();
}

std::string render_git_diff(const std::vector<DiffFile>& files) {
  std::string out;
  for (const DiffFile& file : files) {
    const std::string& old_name = file.creates() ? file.new_path : file.old_path;
    const std::string& new_name = file.deletes() ? file.old_path : file.new_path;
    out += "diff --git a/" + old_name + " b/" + new_name + "\n";
    const auto mode_line = [&](std::string_view prefix) -> std::string {
      for (const std::string& line : file.mode_lines) {
        if (starts_with(line, prefix)) return line;
      }
      return {};
    };
    // After "new mode" or "rename to" libgit2 takes no "---" line, only an "index" line.
    bool index_needed = false;
    if (file.creates() || file.deletes()) {
      std::string prefix = file.creates() ? "new file mode " : "deleted file mode ";
      std::string line = mode_line(prefix);
      out += (line.empty() ? prefix + "100644" : line) + "\n";
    } else if (std::string old_mode = mode_line("old mode "), new_mode = mode_line("new mode ");
               !old_mode.empty() && !new_mode.empty()) {
      out += old_mode + "\n" + new_mode + "\n";
      index_needed = true;
    }
    if (file.kind != DiffKind::change) {
      const std::string verb = file.kind == DiffKind::rename ? "rename" : "copy";
      out += (file.similarity_line.empty() ? std::string("similarity index 100%")
                                           : file.similarity_line) +
             "\n";
      out += verb + " from " + file.old_path + "\n" + verb + " to " + file.new_path + "\n";
      index_needed = true;
    }
    // Without hunks the header must end where it is: an "index" line would leave it open.
    if (file.hunks.empty()) continue;
    if (!file.index_line.empty()) {
      out += file.index_line + "\n";
    } else if (index_needed) {
      out += "index 0000000..0000000\n";
    }
    out += file.creates() ? std::string("--- /dev/null\n") : "--- a/" + file.old_path + "\n";
    out += file.deletes() ? std::string("+++ /dev/null\n") : "+++ b/" + file.new_path + "\n";
    // Git's convention: a range of 0 lines starts at the line before it. libgit2 1.5 places
    // a hunk at line new_start - 1 (0-based) of the file as earlier hunks left it, whatever
    // the new count, so the new start here is always the first line's index + 1: for an
    // empty new range that is one more than git would write ("-3,2 +3,0", not "+2,0").
    std::int64_t offset = 0;
    for (const DiffHunk& hunk : file.hunks) {
      const std::int64_t old_count = hunk.old_count();
      const std::int64_t new_count = hunk.new_count();
      const std::int64_t old_start = file.creates() ? 0 : hunk.old_start;
      const std::int64_t first_old_index = old_count > 0 ? old_start - 1 : old_start;
      const std::int64_t new_index = first_old_index + offset;
      const std::int64_t new_start = file.deletes() ? 0 : new_index + 1;
      out += "@@ -" + std::to_string(old_start) + "," + std::to_string(old_count) + " +" +
             std::to_string(new_start) + "," + std::to_string(new_count) + " @@\n";
      for (const std::string& line : hunk.lines)
        out += line + "\n";
      offset += new_count - old_count;
    }
  }
  return out;
}

}  // namespace moss
