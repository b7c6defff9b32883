// The workspace: an evolvable plugin's source, kept as a bare git repository (libgit2) under
// the state directory. Every candidate is one commit whose parent is the version it was
// evolved from, so the lineage is plain git history. Patches are applied to trees in the
// object database, never to a checked-out working copy: a patch that does not apply leaves
// nothing behind (bar unreferenced blobs, which `git gc` prunes).
//
// References: refs/moss/commits/<id> for every commit, so that `git gc` never prunes a
// candidate, and refs/heads/main (HEAD) at the commit made last, for a human with `git log`.
// Commits are signed "moss <moss@localhost>" at the time they are made.
//
// Thread-safe: yes; calls on one Workspace are serialised. Two Workspaces (or processes) on
// one repository are not coordinated: the host's state lock is what keeps them apart.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <moss/sdk/evolver.hpp>

#include "util/status.hpp"

namespace moss {

// What a patch may touch, and how large things may be. A patch breaking a rule is refused
// with Code::invalid_argument and a message that names the rule and the path.
struct PatchRules {
  // Only paths under these top-level folders of the plugin's source may change.
  std::vector<std::string> editable_roots = {"src"};
  std::size_t max_patch_bytes = 256 * 1024;  // the patch body
  std::size_t max_file_bytes = 1024 * 1024;  // any file the patch writes
};

class Workspace {
 public:
  // A workspace that is not open; only there because Result<Workspace> needs a default. Every
  // call on it (and on a moved-from Workspace) fails with failed_precondition.
  Workspace();
  ~Workspace();
  Workspace(Workspace&&) noexcept;
  Workspace& operator=(Workspace&&) noexcept;

  // Opens the bare repository at `git_dir`, creating it (and its parents) if it is missing.
  static Result<Workspace> open(const std::filesystem::path& git_dir);

  // Commits the files under `source_root` that lie in `rules.editable_roots` (regular files
  // only; symlinks, ".git" folders and anything outside are skipped) as a snapshot. The commit's
  // parent is `parent` if not empty, else it is a root commit. Returns the commit id (40 hex
  // digits). A snapshot whose tree equals the parent's returns the parent's id and commits
  // nothing. The executable bit is kept; other permissions are not. Errors: not_found for a
  // missing `source_root` or `parent`, invalid_argument when there is no file to commit.
  Result<std::string> snapshot(const std::filesystem::path& source_root, std::string_view parent,
                               std::string_view message, const PatchRules& rules = {});

  // The text files of `commit`, paths relative to the plugin root ("src/tool.cpp"), sorted.
  Result<std::vector<sdk::SourceFile>> files(std::string_view commit) const;

  // Applies `patch` to the tree of `parent` and commits the result with `parent` as its only
  // parent. Returns the new commit id. Refused (invalid_argument; no commit, no reference)
  // when the patch:
  //   - is larger than the rules allow, or holds binary content (a NUL byte, a git binary
  //     patch) -> "binary patch" / "patch is N bytes, the limit is M";
  //   - names a path that is absolute, has "..", or lies outside the editable roots
  //     -> "'path' is outside the plugin's source (editable: src/)";
  //   - names a path in the SDK (a component "sdk" or "include/moss") -> "touches the SDK";
  //   - does not apply: a diff hunk that does not match, a SEARCH block found zero or several
  //     times -> says which hunk or block and which file;
  //   - changes nothing ("the patch changes nothing"), or would leave a file that is not a
  //     regular file (a symlink) or is larger than max_file_bytes.
  // A unified diff is read leniently (see evolution/patch_diff.hpp): a/ b/ prefixes and the
  // "diff --git" line are optional, hunk line counts are recounted from the body, and a hunk
  // whose lines are at another line than declared moves there if they occur in one place only.
  // An unknown `parent` is not_found: "no commit <id> in <git_dir>".
  Result<std::string> apply(std::string_view parent, const sdk::Patch& patch,
                            std::string_view message, const PatchRules& rules = {});

  // Writes the tree of `commit` into `dir` (created if missing; files not in the tree are
  // left alone). Used by the Builder.
  Status checkout(std::string_view commit, const std::filesystem::path& dir) const;

  // The unified diff from commit `from` to commit `to` (git's format, a/ b/ prefixes).
  Result<std::string> diff(std::string_view from, std::string_view to) const;

  // The parent of `commit`, or "" for a root commit.
  Result<std::string> parent_of(std::string_view commit) const;

  // Every commit the workspace has made (its refs/moss/commits/ references), sorted by id.
  Result<std::vector<std::string>> commits() const;

  // The commit made last (refs/heads/main), or "" when there is none yet.
  Result<std::string> latest() const;

 private:
  struct Impl;
  explicit Workspace(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace moss
