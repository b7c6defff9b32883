// The plugin source workspace on libgit2: a bare repository, trees built in in-memory indexes,
// patches applied to trees (never to a working copy), and a reference per commit.
#include "evolution/workspace.hpp"

#include <git2.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>

#include "evolution/patch_diff.hpp"
#include "evolution/patch_text.hpp"
#include "util/files.hpp"

namespace moss {
namespace {

// Frees a libgit2 object with its own free function.
template <auto Free>
struct GitFree {
  template <class T>
  void operator()(T* object) const noexcept {
    Free(object);
  }
};
using RepositoryPtr = std::unique_ptr<git_repository, GitFree<git_repository_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitFree<git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, GitFree<git_tree_free>>;
using TreeEntryPtr = std::unique_ptr<git_tree_entry, GitFree<git_tree_entry_free>>;
using BlobPtr = std::unique_ptr<git_blob, GitFree<git_blob_free>>;
using IndexPtr = std::unique_ptr<git_index, GitFree<git_index_free>>;
using DiffPtr = std::unique_ptr<git_diff, GitFree<git_diff_free>>;
using SignaturePtr = std::unique_ptr<git_signature, GitFree<git_signature_free>>;
using ReferencePtr = std::unique_ptr<git_reference, GitFree<git_reference_free>>;
using ReferenceIteratorPtr =
    std::unique_ptr<git_reference_iterator, GitFree<git_reference_iterator_free>>;

// A git_buf that is disposed of on scope exit.
class GitBuffer {
 public:
  GitBuffer() = default;
  ~GitBuffer() { git_buf_dispose(&buf_); }
  GitBuffer(const GitBuffer&) = delete;
  GitBuffer& operator=(const GitBuffer&) = delete;
  git_buf* get() { return &buf_; }
  std::string text() const {
    return buf_.ptr == nullptr ? std::string() : std::string(buf_.ptr, buf_.size);
  }

 private:
  git_buf buf_ = GIT_BUF_INIT;
};

constexpr const char* kLatestRef = "refs/heads/main";
constexpr std::string_view kCommitRefPrefix = "refs/moss/commits/";

void init_libgit2() {
  // Once per process, never shut down: other Workspaces may be open until exit.
  static const bool initialised = [] {
    git_libgit2_init();
    // The host records a commit id as soon as it has one, so the objects must be on disk
    // before that: a crash must not leave a recorded id without its commit.
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
    return true;
  }();
  (void)initialised;
}

std::string git_message() {
  const git_error* error = git_error_last();
  return error != nullptr && error->message != nullptr ? error->message : "unknown libgit2 error";
}

Status git_failure(Code code, const std::string& what) {
  return Status(code, what + ": " + git_message());
}

std::string oid_text(const git_oid& oid) {
  char text[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(text, sizeof text, &oid);
  return text;
}

bool is_commit_id(std::string_view id) {
  return id.size() == GIT_OID_HEXSZ && std::all_of(id.begin(), id.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

bool is_regular(git_filemode_t mode) {
  return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

std::string mode_text(std::uint32_t mode) {
  char text[16] = {};
  std::snprintf(text, sizeof text, "%06o", mode);
  return text;
}

// One blob of a tree.
struct TreeFile {
  std::string path;
  git_oid id{};
  git_filemode_t mode = GIT_FILEMODE_UNREADABLE;
};

struct WalkState {
  std::vector<TreeFile> files;
  bool out_of_memory = false;
};

int collect_blob(const char* root, const git_tree_entry* entry, void* payload) noexcept {
  auto* state = static_cast<WalkState*>(payload);
  if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) return 0;  // trees are walked into
  try {
    state->files.push_back(TreeFile{std::string(root) + git_tree_entry_name(entry),
                                    *git_tree_entry_id(entry), git_tree_entry_filemode(entry)});
    return 0;
  } catch (...) {
    state->out_of_memory = true;
    return -1;
  }
}

// Every blob of `tree` (symlinks included; submodules are not blobs), sorted by path.
Result<std::vector<TreeFile>> list_tree(git_tree* tree) {
  WalkState state;
  if (git_tree_walk(tree, GIT_TREEWALK_PRE, collect_blob, &state) != 0) {
    if (state.out_of_memory) return Status(Code::internal, "out of memory listing a tree");
    return git_failure(Code::internal, "cannot walk the tree");
  }
  std::sort(state.files.begin(), state.files.end(),
            [](const TreeFile& a, const TreeFile& b) { return a.path < b.path; });
  return std::move(state.files);
}

// Whether a path from a tree is safe to join to a directory.
bool is_safe_relative(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  for (const auto& component : std::filesystem::path(path)) {
    if (component.empty() || component == ".." || component == ".") return false;
  }
  return true;
}

// Runs `body`, turning an escaping exception into `internal`: nothing throws out of the
// Workspace.
template <class R, class F>
R guarded(const char* operation, F&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& exception) {
    return R(
        Status(Code::internal, std::string("Workspace::") + operation + ": " + exception.what()));
  } catch (...) {
    return R(
        Status(Code::internal, std::string("Workspace::") + operation + ": unknown exception"));
  }
}

// What git_apply_to_tree reached, for the refusal message.
struct ApplyProgress {
  std::string path;
  std::size_t hunk = 0;  // 1-based; 0 before the first hunk of `path`
};

int on_apply_delta(const git_diff_delta* delta, void* payload) noexcept {
  auto* progress = static_cast<ApplyProgress*>(payload);
  try {
    const char* path =
        delta->new_file.path != nullptr ? delta->new_file.path : delta->old_file.path;
    progress->path = path != nullptr ? path : "";
  } catch (...) {
    progress->path.clear();
  }
  progress->hunk = 0;
  return 0;
}

int on_apply_hunk(const git_diff_hunk*, void* payload) noexcept {
  ++static_cast<ApplyProgress*>(payload)->hunk;
  return 0;
}

}  // namespace

struct Workspace::Impl {
  std::filesystem::path git_dir;
  RepositoryPtr repo;
  std::mutex mutex;

  Status no_commit(std::string_view id) const {
    return Status(Code::not_found, "no commit " + std::string(id) + " in " + git_dir.string());
  }

  Result<CommitPtr> commit(std::string_view id) {
    if (!is_commit_id(id)) return no_commit(id);
    git_oid oid{};
    if (git_oid_fromstrn(&oid, id.data(), id.size()) != 0) return no_commit(id);
    git_commit* raw = nullptr;
    int rc = git_commit_lookup(&raw, repo.get(), &oid);
    if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) return no_commit(id);
    if (rc != 0) return git_failure(Code::internal, "cannot read commit " + std::string(id));
    return CommitPtr(raw);
  }

  Result<TreePtr> tree_of(const git_commit* commit) {
    git_tree* raw = nullptr;
    if (git_commit_tree(&raw, commit) != 0) {
      return git_failure(Code::internal,
                         "cannot read the tree of commit " + oid_text(*git_commit_id(commit)));
    }
    return TreePtr(raw);
  }

  // Every file of the tree of commit `id`.
  Result<std::vector<TreeFile>> files_of(std::string_view id) {
    Result<CommitPtr> found = commit(id);
    if (!found.ok()) return found.status();
    Result<TreePtr> tree = tree_of(found->get());
    if (!tree.ok()) return tree.status();
    return list_tree(tree->get());
  }

  Result<TreePtr> tree(const git_oid& id) {
    git_tree* raw = nullptr;
    if (git_tree_lookup(&raw, repo.get(), &id) != 0) {
      return git_failure(Code::internal, "cannot read tree " + oid_text(id));
    }
    return TreePtr(raw);
  }

  Result<std::string> blob_content(const git_oid& id) {
    git_blob* raw = nullptr;
    if (git_blob_lookup(&raw, repo.get(), &id) != 0) {
      return git_failure(Code::internal, "cannot read blob " + oid_text(id));
    }
    BlobPtr blob(raw);
    const auto* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
    return std::string(data, static_cast<std::size_t>(git_blob_rawsize(blob.get())));
  }

  // The content of `path` in `tree`, or nullopt if there is no such path. A folder or a
  // symlink there is refused: patches edit regular files.
  Result<std::optional<std::string>> file_in(git_tree* tree, const std::string& path) {
    git_tree_entry* raw = nullptr;
    int rc = git_tree_entry_bypath(&raw, tree, path.c_str());
    if (rc == GIT_ENOTFOUND) return std::optional<std::string>();
    if (rc != 0) return git_failure(Code::internal, "cannot look up '" + path + "'");
    TreeEntryPtr entry(raw);
    if (!is_regular(git_tree_entry_filemode(entry.get()))) {
      return Status(Code::invalid_argument, "'" + path + "' is not a regular file (mode " +
                                                mode_text(git_tree_entry_filemode(entry.get())) +
                                                ")");
    }
    Result<std::string> content = blob_content(*git_tree_entry_id(entry.get()));
    if (!content.ok()) return content.status();
    return std::optional<std::string>(std::move(*content));
  }

  // Refuses a path below an existing file ("src/a.cpp/x.cpp" while src/a.cpp is a file):
  // libgit2's index would drop that file to make room for the folder.
  Status check_folders(git_tree* tree, const std::string& path) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string folder = path.substr(0, slash);
      git_tree_entry* raw = nullptr;
      int rc = git_tree_entry_bypath(&raw, tree, folder.c_str());
      if (rc == GIT_ENOTFOUND) return Status();
      if (rc != 0) return git_failure(Code::internal, "cannot look up '" + folder + "'");
      TreeEntryPtr entry(raw);
      if (git_tree_entry_type(entry.get()) != GIT_OBJECT_TREE) {
        return Status(Code::invalid_argument,
                      "'" + path + "' cannot be written: '" + folder + "' is a file, not a folder");
      }
    }
    return Status();
  }

  Result<git_oid> write_blob(std::string_view content) {
    git_oid id{};
    if (git_blob_create_from_buffer(&id, repo.get(), content.data(), content.size()) != 0) {
      return git_failure(Code::internal, "cannot write a blob");
    }
    return id;
  }

  Result<IndexPtr> index_of(git_tree* tree) {
    git_index* raw = nullptr;
    if (git_index_new(&raw) != 0) return git_failure(Code::internal, "cannot create an index");
    IndexPtr index(raw);
    if (tree != nullptr && git_index_read_tree(index.get(), tree) != 0) {
      return git_failure(Code::internal, "cannot read a tree into an index");
    }
    return index;
  }

  Status add_to_index(git_index* index, const std::string& path, const git_oid& blob,
                      git_filemode_t mode) {
    git_index_entry entry{};
    entry.path = path.c_str();
    entry.mode = mode;
    entry.id = blob;
    if (git_index_add(index, &entry) != 0) {
      return git_failure(Code::invalid_argument, "cannot write '" + path + "'");
    }
    return Status();
  }

  Result<git_oid> write_tree(git_index* index) {
    git_oid id{};
    if (git_index_write_tree_to(&id, index, repo.get()) != 0) {
      return git_failure(Code::internal, "cannot write a tree");
    }
    return id;
  }

  // Commits `tree_id` on `parent` (null for a root commit) and references the commit.
  Result<std::string> commit_tree(const git_oid& tree_id, const git_commit* parent,
                                  std::string_view message) {
    Result<TreePtr> tree_object = tree(tree_id);
    if (!tree_object.ok()) return tree_object.status();
    git_signature* raw_signature = nullptr;
    if (git_signature_now(&raw_signature, "moss", "moss@localhost") != 0) {
      return git_failure(Code::internal, "cannot make the commit signature");
    }
    SignaturePtr signature(raw_signature);
    std::string text(message.substr(0, message.find('\0')));
    if (text.empty()) text = "(no message)";
    if (text.back() != '\n') text.push_back('\n');
    const git_commit* parents[] = {parent};
    git_oid id{};
    if (git_commit_create(&id, repo.get(), nullptr, signature.get(), signature.get(), nullptr,
                          text.c_str(), tree_object->get(), parent != nullptr ? 1 : 0,
                          parents) != 0) {
      return git_failure(Code::internal, "cannot commit in " + git_dir.string());
    }
    const std::string commit_id = oid_text(id);
    const std::string keep_ref = std::string(kCommitRefPrefix) + commit_id;
    git_reference* raw_ref = nullptr;
    if (git_reference_create(&raw_ref, repo.get(), keep_ref.c_str(), &id, 1, "moss: commit") != 0) {
      return git_failure(Code::internal, "cannot create " + keep_ref);
    }
    ReferencePtr keep(raw_ref);
    raw_ref = nullptr;
    if (git_reference_create(&raw_ref, repo.get(), kLatestRef, &id, 1, "moss: latest commit") !=
        0) {
      return git_failure(Code::internal, std::string("cannot update ") + kLatestRef);
    }
    ReferencePtr latest(raw_ref);
    return commit_id;
  }

  // The last line of defence, whatever the patch form: every path the new tree changes
  // against `before` must pass the rules, every file it writes must be a regular text file
  // within the size limit, and it removes only the paths in `removals`.
  Status check_changes(git_tree* before, const git_oid& after, const PatchRules& rules,
                       const std::vector<std::string>& removals) {
    Result<TreePtr> after_tree = tree(after);
    if (!after_tree.ok()) return after_tree.status();
    git_diff* raw = nullptr;
    if (git_diff_tree_to_tree(&raw, repo.get(), before, after_tree->get(), nullptr) != 0) {
      return git_failure(Code::internal, "cannot compare the patched tree");
    }
    DiffPtr diff(raw);
    for (std::size_t index = 0; index < git_diff_num_deltas(diff.get()); ++index) {
      const git_diff_delta* delta = git_diff_get_delta(diff.get(), index);
      for (const char* path : {delta->old_file.path, delta->new_file.path}) {
        if (path == nullptr) continue;
        if (Status allowed = check_patch_path(path, rules); !allowed.ok()) return allowed;
      }
      if (delta->status == GIT_DELTA_DELETED) {
        const std::string path = delta->old_file.path;
        if (std::find(removals.begin(), removals.end(), path) == removals.end()) {
          return Status(Code::invalid_argument,
                        "the patch would remove '" + path + "', which it does not delete");
        }
        continue;
      }
      const std::string path = delta->new_file.path;
      if (!is_regular(static_cast<git_filemode_t>(delta->new_file.mode))) {
        return Status(Code::invalid_argument, "'" + path + "' would not be a regular file (mode " +
                                                  mode_text(delta->new_file.mode) +
                                                  "); patches write regular files only");
      }
      Result<std::string> content = blob_content(delta->new_file.id);
      if (!content.ok()) return content.status();
      if (Status ok = check_patch_result(path, *content, rules); !ok.ok()) return ok;
    }
    return Status();
  }

  // Writes `path` with `content` into `index` (the parent's tree), keeping an existing
  // executable bit.
  Status write_file(git_tree* tree, git_index* index, const std::string& path,
                    std::string_view content) {
    if (Status folders = check_folders(tree, path); !folders.ok()) return folders;
    git_filemode_t mode = GIT_FILEMODE_BLOB;
    if (const git_index_entry* existing = git_index_get_bypath(index, path.c_str(), 0)) {
      mode = static_cast<git_filemode_t>(existing->mode);
    }
    Result<git_oid> blob = write_blob(content);
    if (!blob.ok()) return blob.status();
    return add_to_index(index, path, *blob, mode);
  }

  Result<IndexPtr> apply_full_file(git_tree* parent, const sdk::Patch& patch,
                                   const PatchRules& rules) {
    if (Status allowed = check_patch_path(patch.path, rules); !allowed.ok()) return allowed;
    if (Status ok = check_patch_result(patch.path, patch.body, rules); !ok.ok()) return ok;
    Result<std::optional<std::string>> current = file_in(parent, patch.path);
    if (!current.ok()) return current.status();
    Result<IndexPtr> index = index_of(parent);
    if (!index.ok()) return index;
    if (Status written = write_file(parent, index->get(), patch.path, patch.body); !written.ok()) {
      return written;
    }
    return index;
  }

  Result<IndexPtr> apply_search_replace_patch(git_tree* parent, const sdk::Patch& patch,
                                              const PatchRules& rules) {
    if (Status allowed = check_patch_path(patch.path, rules); !allowed.ok()) return allowed;
    Result<std::optional<std::string>> current = file_in(parent, patch.path);
    if (!current.ok()) return current.status();
    if (current->has_value() && is_binary(**current)) {
      return Status(Code::invalid_argument,
                    "'" + patch.path + "' is a binary file; SEARCH/REPLACE edits text");
    }
    Result<std::string> replaced = apply_search_replace(*current, patch.body, patch.path);
    if (!replaced.ok()) return replaced.status();
    if (Status ok = check_patch_result(patch.path, *replaced, rules); !ok.ok()) return ok;
    Result<IndexPtr> index = index_of(parent);
    if (!index.ok()) return index;
    if (Status written = write_file(parent, index->get(), patch.path, *replaced); !written.ok()) {
      return written;
    }
    return index;
  }

  // Applies a unified diff; `removals` receives the paths it deletes or renames away.
  Result<IndexPtr> apply_unified_diff(git_tree* parent, const sdk::Patch& patch,
                                      const PatchRules& rules, std::vector<std::string>& removals) {
    Result<std::vector<DiffFile>> parsed = parse_unified_diff(patch.body);
    if (!parsed.ok()) return parsed.status();
    std::vector<DiffFile>& files = *parsed;
    // Every path first: one bad path refuses the whole patch before anything is read.
    for (const DiffFile& file : files) {
      for (const std::string* path : {&file.old_path, &file.new_path}) {
        if (path->empty()) continue;
        if (Status allowed = check_patch_path(*path, rules); !allowed.ok()) return allowed;
      }
    }
    for (DiffFile& file : files) {
      if (file.kind == DiffKind::change && !file.creates() && !file.deletes() &&
          file.old_path != file.new_path) {
        // libgit2 would write the new path and keep the old one: a copy nobody asked for.
        return Status(Code::invalid_argument,
                      "the diff names two files, " + file.old_path + " ('---') and " +
                          file.new_path +
                          " ('+++'); a rename needs git's 'rename from' and 'rename to' lines");
      }
      if (!file.creates()) {
        Result<std::optional<std::string>> old_content = file_in(parent, file.old_path);
        if (!old_content.ok()) return old_content.status();
        if (!old_content->has_value()) {
          return Status(Code::invalid_argument,
                        "the diff changes " + file.old_path + ", which does not exist");
        }
        if (Status placed = place_hunks(file, **old_content); !placed.ok()) return placed;
      }
      // libgit2 would write a "new" file over an existing one (prepending to it).
      if (!file.deletes() && file.new_path != file.old_path) {
        if (Status folders = check_folders(parent, file.new_path); !folders.ok()) return folders;
        Result<std::optional<std::string>> existing = file_in(parent, file.new_path);
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {
          return Status(Code::invalid_argument,
                        "the diff creates " + file.new_path + ", which exists already");
        }
      }
    }

    for (const DiffFile& file : files) {
      if (file.deletes() || file.kind == DiffKind::rename) removals.push_back(file.old_path);
    }
    const std::string text = render_git_diff(files);
    git_diff* raw_diff = nullptr;
    if (git_diff_from_buffer(&raw_diff, text.data(), text.size()) != 0) {
      // Its line numbers are those of the rewritten text, hence the hint.
      return git_failure(Code::invalid_argument,
                         "the diff does not parse (after moss put it in git's form)");
    }
    DiffPtr diff(raw_diff);
    const std::size_t deltas = git_diff_num_deltas(diff.get());
    if (deltas != files.size()) {
      return Status(Code::invalid_argument,
                    "the diff does not parse: libgit2 read " + std::to_string(deltas) +
                        " file(s) where moss read " + std::to_string(files.size()));
    }
    // libgit2's own reading of the paths is what it applies, so that is checked too.
    for (std::size_t index = 0; index < deltas; ++index) {
      const git_diff_delta* delta = git_diff_get_delta(diff.get(), index);
      if ((delta->flags & GIT_DIFF_FLAG_BINARY) != 0) {
        return Status(Code::invalid_argument,
                      std::string("binary patch: the diff of ") +
                          (delta->new_file.path != nullptr ? delta->new_file.path : "?") +
                          " is binary");
      }
      for (const char* path : {delta->old_file.path, delta->new_file.path}) {
        if (path == nullptr) continue;
        if (Status allowed = check_patch_path(path, rules); !allowed.ok()) return allowed;
      }
    }

    ApplyProgress progress;
    git_apply_options options{};
    git_apply_options_init(&options, GIT_APPLY_OPTIONS_VERSION);
    options.delta_cb = on_apply_delta;
    options.hunk_cb = on_apply_hunk;
    options.payload = &progress;
    git_index* raw_index = nullptr;
    if (git_apply_to_tree(&raw_index, repo.get(), parent, diff.get(), &options) != 0) {
      const std::string reason = git_message();
      if (progress.path.empty()) {
        return Status(Code::invalid_argument, "the diff does not apply: " + reason);
      }
      auto file = std::find_if(files.begin(), files.end(), [&](const DiffFile& candidate) {
        return candidate.new_path == progress.path || candidate.old_path == progress.path;
      });
      if (progress.hunk == 0 || file == files.end() || progress.hunk > file->hunks.size()) {
        return Status(Code::invalid_argument,
                      "the diff of " + progress.path + " does not apply: " + reason);
      }
      return Status(Code::invalid_argument, "hunk " + std::to_string(progress.hunk) + " (" +
                                                file->hunks[progress.hunk - 1].header + ") of " +
                                                progress.path + " does not apply: " + reason);
    }
    return IndexPtr(raw_index);
  }
};

Workspace::Workspace() = default;
Workspace::Workspace(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Workspace::~Workspace() = default;
Workspace::Workspace(Workspace&&) noexcept = default;
Workspace& Workspace::operator=(Workspace&&) noexcept = default;

namespace {
Status not_open() {
  return Status(Code::failed_precondition, "the workspace is not open");
}
}  // namespace

Result<Workspace> Workspace::open(const std::filesystem::path& git_dir) {
  return guarded<Result<Workspace>>("open", [&]() -> Result<Workspace> {
    init_libgit2();
    git_repository* raw = nullptr;
    std::error_code ec;
    bool exists = std::filesystem::exists(git_dir, ec);
    bool create = !exists || (std::filesystem::is_directory(git_dir, ec) &&
                              std::filesystem::is_empty(git_dir, ec));
    if (!create) {
      if (git_repository_open_bare(&raw, git_dir.c_str()) != 0) {
        return git_failure(Code::failed_precondition,
                           git_dir.string() + " exists but is not a bare git repository");
      }
    } else {
      git_repository_init_options options{};
      git_repository_init_options_init(&options, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
      options.flags =
          GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
      options.initial_head = "main";
      if (git_repository_init_ext(&raw, git_dir.c_str(), &options) != 0) {
        return git_failure(Code::failed_precondition,
                           "cannot create the repository " + git_dir.string());
      }
    }
    auto impl = std::make_unique<Impl>();
    impl->git_dir = git_dir;
    impl->repo.reset(raw);
    return Workspace(std::move(impl));
  });
}

Result<std::string> Workspace::snapshot(const std::filesystem::path& source_root,
                                        std::string_view parent, std::string_view message,
                                        const PatchRules& rules) {
  return guarded<Result<std::string>>("snapshot", [&]() -> Result<std::string> {
    if (!impl_) return not_open();
    std::lock_guard lock(impl_->mutex);
    CommitPtr parent_commit;
    if (!parent.empty()) {
      Result<CommitPtr> found = impl_->commit(parent);
      if (!found.ok()) return found.status();
      parent_commit = std::move(*found);
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(source_root, ec)) {
      return Status(Code::not_found, source_root.string() + " is not a directory");
    }

    Result<IndexPtr> index = impl_->index_of(nullptr);
    if (!index.ok()) return index.status();
    for (const std::string& root : rules.editable_roots) {
      std::filesystem::path relative_root = std::filesystem::path(root).lexically_normal();
      if (relative_root.empty() || relative_root.is_absolute() || *relative_root.begin() == "..") {
        return Status(Code::invalid_argument,
                      "editable root '" + root + "' is not a folder inside the plugin");
      }
      const std::filesystem::path folder = source_root / relative_root;
      if (!std::filesystem::is_directory(std::filesystem::symlink_status(folder, ec))) continue;
      for (auto it = std::filesystem::recursive_directory_iterator(folder);
           it != std::filesystem::recursive_directory_iterator(); ++it) {
        const std::filesystem::file_status status = it->symlink_status();
        if (std::filesystem::is_directory(status)) {
          if (it->path().filename() == ".git") it.disable_recursion_pending();
          continue;
        }
        if (!std::filesystem::is_regular_file(status)) continue;  // symlinks, sockets, ...
        const std::string path = it->path().lexically_relative(source_root).generic_string();
        Result<std::string> content = read_file(it->path());
        if (!content.ok()) return content.status();
        Result<git_oid> blob = impl_->write_blob(*content);
        if (!blob.ok()) return blob.status();
        const bool executable = (status.permissions() & std::filesystem::perms::owner_exec) !=
                                std::filesystem::perms::none;
        if (Status added =
                impl_->add_to_index(index->get(), path, *blob,
                                    executable ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB);
            !added.ok()) {
          return added;
        }
      }
    }
    if (git_index_entrycount(index->get()) == 0) {
      return Status(Code::invalid_argument,
                    source_root.string() + " has no files under " + editable_roots_text(rules));
    }
    Result<git_oid> tree_id = impl_->write_tree(index->get());
    if (!tree_id.ok()) return tree_id.status();
    if (parent_commit && git_oid_equal(&*tree_id, git_commit_tree_id(parent_commit.get()))) {
      return std::string(parent);
    }
    return impl_->commit_tree(*tree_id, parent_commit.get(), message);
  });
}

Result<std::vector<sdk::SourceFile>> Workspace::files(std::string_view commit) const {
  using Files = std::vector<sdk::SourceFile>;
  return guarded<Result<Files>>("files", [&]() -> Result<Files> {
    if (!impl_) return not_open();
    std::lock_guard lock(impl_->mutex);
    Result<std::vector<TreeFile>> listed = impl_->files_of(commit);
    if (!listed.ok()) return listed.status();
    Files files;
    for (const TreeFile& file : *listed) {
      if (!is_regular(file.mode)) continue;
      Result<std::string> content = impl_->blob_content(file.id);
      if (!content.ok()) return content.status();
      if (is_binary(*content)) continue;
      files.push_back(sdk::SourceFile{file.path, std::move(*content)});
    }
    return files;
  });
}

Result<std::string> Workspace::apply(std::string_view parent, const sdk::Patch& patch,
                                     std::string_view message, const PatchRules& rules) {
  return guarded<Result<std::string>>("apply", [&]() -> Result<std::string> {
    if (!impl_) return not_open();
    std::lock_guard lock(impl_->mutex);
    Result<CommitPtr> parent_commit = impl_->commit(parent);
    if (!parent_commit.ok()) return parent_commit.status();
    Result<TreePtr> parent_tree = impl_->tree_of(parent_commit->get());
    if (!parent_tree.ok()) return parent_tree.status();
    if (Status body = check_patch_body(patch.body, rules); !body.ok()) return body;

    Result<IndexPtr> index = Status(Code::internal, "unreachable");
    std::vector<std::string> removals;  // only a diff may delete or rename files
    switch (patch.format) {
      case sdk::PatchFormat::full_file:
        index = impl_->apply_full_file(parent_tree->get(), patch, rules);
        break;
      case sdk::PatchFormat::search_replace:
        index = impl_->apply_search_replace_patch(parent_tree->get(), patch, rules);
        break;
      case sdk::PatchFormat::unified_diff:
        index = impl_->apply_unified_diff(parent_tree->get(), patch, rules, removals);
        break;
      default:
        return Status(
            Code::invalid_argument,
            "unknown patch format " + std::to_string(static_cast<std::int32_t>(patch.format)));
    }
    if (!index.ok()) return index.status();
    Result<git_oid> tree_id = impl_->write_tree(index->get());
    if (!tree_id.ok()) return tree_id.status();
    if (git_oid_equal(&*tree_id, git_tree_id(parent_tree->get()))) {
      return Status(Code::invalid_argument, "the patch changes nothing");
    }
    if (Status checked = impl_->check_changes(parent_tree->get(), *tree_id, rules, removals);
        !checked.ok()) {
      return checked;
    }
    return impl_->commit_tree(*tree_id, parent_commit->get(), message);
  });
}

Status Workspace::checkout(std::string_view commit, const std::filesystem::path& dir) const {
  return guarded<Status>("checkout", [&]() -> Status {
    if (!impl_) return not_open();
    std::lock_guard lock(impl_->mutex);
    Result<std::vector<TreeFile>> listed = impl_->files_of(commit);
    if (!listed.ok()) return listed.status();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return Status(Code::failed_precondition,
                    dir.string() + ": cannot create directory: " + ec.message());
    }
    for (const TreeFile& file : *listed) {
      if (!is_regular(file.mode)) continue;  // moss never commits symlinks
      if (!is_safe_relative(file.path)) {
        return Status(Code::internal, "commit " + std::string(commit) + " holds the unsafe path '" +
                                          file.path + "'");
      }
      Result<std::string> content = impl_->blob_content(file.id);
      if (!content.ok()) return content.status();
      const std::filesystem::path target = dir / file.path;
      if (Status written = write_file_atomic(target, *content); !written.ok()) return written;
      if (file.mode == GIT_FILEMODE_BLOB_EXECUTABLE) {
        std::filesystem::permissions(target,
                                     std::filesystem::perms::owner_exec |
                                         std::filesystem::perms::group_exec |
                                         std::filesystem::perms::others_exec,
                                     std::filesystem::perm_options::add, ec);
        if (ec) {
          return Status(Code::internal,
                        target.string() + ": cannot make executable: " + ec.message());
        }
      }
    }
    return Status();
  });
}

Result<std::string> Workspace::diff(std::string_view from, std::string_view to) const {
  return guarded<Result<std::string>>("diff", [&]() -> Result<std::string> {
    if (!impl_) return not_open();
    std::lock_guard lock(impl_->mutex);
    Result<CommitPtr> from_commit = impl_->commit(from);
    if (!from_commit.ok()) return from_commit.status();
    Result<CommitPtr> to_commit = impl_->commit(to);
    if (!to_commit.ok()) return to_commit.status();
    Result<TreePtr> from_tree = impl_->tree_of(from_commit->get());
    if (!from_tree.ok()) return from_tree.status();
    Result<TreePtr> to_tree = impl_->tree_of(to_commit->get());
    if (!to_tree.ok()) return to_tree.status();
    git_diff* raw = nullptr;
    if (git_diff_tree_to_tree(&raw, impl_->repo.get(), from_tree->get(), to_tree->get(), nullptr) !=
        0) {
      return git_failure(Code::internal,
                         "cannot compare " + std::string(from) + " with " + std::string(to));
    }
    DiffPtr diff(raw);
    GitBuffer text;
    if (git_diff_to_buf(text.get(), diff.get(), GIT_DIFF_FORMAT_PATCH) != 0) {
      return git_failure(Code::internal, "cannot format the diff");
    }
    return text.text();
  });
}

Result<std::string> Workspace::parent_of(std::string_view commit) const {
  return guarded<Result<std::string>>("parent_of", [&]() -> Result<std::string> {
    if (!impl_) return not_open();
    std::lock_guard lock(impl_->mutex);
    Result<CommitPtr> found = impl_->commit(commit);
    if (!found.ok()) return found.status();
    if (git_commit_parentcount(found->get()) == 0) return std::string();
    return oid_text(*git_commit_parent_id(found->get(), 0));
  });
}

Result<std::vector<std::string>> Workspace::commits() const {
  using Ids = std::vector<std::string>;
  return guarded<Result<Ids>>("commits", [&]() -> Result<Ids> {
    if (!impl_) return not_open();
    std::lock_guard lock(impl_->mutex);
    const std::string glob = std::string(kCommitRefPrefix) + "*";
    git_reference_iterator* raw = nullptr;
    if (git_reference_iterator_glob_new(&raw, impl_->repo.get(), glob.c_str()) != 0) {
      return git_failure(Code::internal, "cannot list " + glob);
    }
    ReferenceIteratorPtr iterator(raw);
    Ids ids;
    const char* name = nullptr;
    int rc = 0;
    while ((rc = git_reference_next_name(&name, iterator.get())) == 0) {
      std::string_view id = std::string_view(name).substr(kCommitRefPrefix.size());
      if (is_commit_id(id)) ids.emplace_back(id);
    }
    if (rc != GIT_ITEROVER) return git_failure(Code::internal, "cannot list " + glob);
    std::sort(ids.begin(), ids.end());
    return ids;
  });
}

Result<std::string> Workspace::latest() const {
  return guarded<Result<std::string>>("latest", [&]() -> Result<std::string> {
    if (!impl_) return not_open();
    std::lock_guard lock(impl_->mutex);
    git_oid id{};
    int rc = git_reference_name_to_id(&id, impl_->repo.get(), kLatestRef);
    if (rc == GIT_ENOTFOUND) return std::string();
    if (rc != 0) return git_failure(Code::internal, std::string("cannot read ") + kLatestRef);
    return oid_text(id);
  });
}

}  // namespace moss
