// Unified diffs as models write them, read leniently and written back in the exact git form
// that libgit2's parser accepts. libgit2 1.5 needs a "diff --git" line per file, strips the
// first path component whatever it is (so "src/x" without a/ b/ prefixes becomes "x"),
// ignores body lines beyond a hunk's declared counts, and applies a hunk only at its
// declared line. So the Workspace parses the diff here first: it adds the prefixes and the
// header, recounts every hunk from its body, and places every hunk where its lines are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.hpp"

namespace moss {

struct DiffHunk {
  std::string header;              // the "@@" line as the patch wrote it
  bool has_line_numbers = false;   // whether `header` parsed as "@@ -a[,b] +c[,d] @@"
  std::int64_t old_start = 0;      // as declared (git's convention), then as placed
  std::vector<std::string> lines;  // each starts with ' ', '-', '+' or '\\'

  std::int64_t old_count() const;  // ' ' and '-' lines
  std::int64_t new_count() const;  // ' ' and '+' lines
};

// How a file section's two paths relate, from git's "rename"/"copy" lines.
enum class DiffKind : std::int32_t {
  change = 1,  // one file, changed in place (or created, or deleted)
  rename = 2,  // old_path moves to new_path
  copy = 3,    // new_path is a changed copy of old_path, which stays
};

struct DiffFile {
  std::string old_path;  // without "a/"; empty for /dev/null (a new file)
  std::string new_path;  // without "b/"; empty for /dev/null (a deleted file)
  DiffKind kind = DiffKind::change;
  // Git's extended header, as written: "old mode 100644" and "new mode 100755", or
  // "new file mode 100644" / "deleted file mode 100644"; "similarity index 90%";
  // "index 1234567..89abcde 100644". Empty when absent.
  std::vector<std::string> mode_lines;
  std::string similarity_line;
  std::string index_line;
  std::vector<DiffHunk> hunks;

  bool creates() const { return old_path.empty(); }
  bool deletes() const { return new_path.empty(); }
  // The path the file has before the patch if it exists, else after.
  const std::string& path() const { return creates() ? new_path : old_path; }
};

// Reads a unified diff: git's form, or plain "--- x" / "+++ y" sections without "diff --git"
// lines, with or without a/ b/ prefixes, with text around it (prose, code fences). A body
// line that is empty (a blank context line whose space was lost) counts as context. Refused
// (invalid_argument): a binary patch, a quoted path, a hunk before any file header, a file
// without hunks (other than git's mode-only and rename-only sections), two sections for one
// file, no file at all. "---" and "+++" naming two different files without git's rename or
// copy lines are read as written; libgit2 would make that a copy, so the Workspace refuses
// it after checking the paths.
Result<std::vector<DiffFile>> parse_unified_diff(std::string_view text);

// Places each hunk of `file` on `old_content`, the file as it is before the patch: at its
// declared line if its old lines ("-" and " ") are there, else at the one place after the
// previous hunk where they are. A hunk whose lines are nowhere, or in several places but
// not at its declared line, is refused and the message names the hunk and the file. For a
// deleted file, the old lines must be the whole file.
Status place_hunks(DiffFile& file, std::string_view old_content);

// Writes `files` back in the form libgit2 1.5 parses: "diff --git a/x b/y", the extended
// header in the order its parser demands (mode lines, "similarity index", "rename"/"copy"
// lines, then an "index" line, which it needs before "---" after a mode change or a rename),
// with "new file mode"/"deleted file mode" added if missing, "--- a/x", "+++ b/y", and hunk
// headers whose counts are those of the bodies.
std::string render_git_diff(const std::vector<DiffFile>& files);

}  // namespace moss
