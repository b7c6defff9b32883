// The watcher wakes on inotify events in the plugin files' folders (close-after-write and
// rename-into, which is how builds and `install` replace files), then waits for the file to
// settle before staging it. Every step after that is VersionControl's.
#include "runtime/watcher.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <set>
#include <vector>

#include <spdlog/spdlog.h>

#include "logging/logging.hpp"
#include "runtime/plugin_manager.hpp"
#include "util/files.hpp"

namespace moss {
namespace {

struct FileState {
  bool exists = false;
  std::filesystem::file_time_type mtime{};
  std::uintmax_t size = 0;
};

FileState stat_file(const std::filesystem::path& file) {
  std::error_code ec;
  FileState state;
  state.size = std::filesystem::file_size(file, ec);
  if (ec) return state;
  state.mtime = std::filesystem::last_write_time(file, ec);
  state.exists = !ec;
  return state;
}

// Closes the inotify descriptor.
class Inotify {
 public:
  Inotify() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}
  ~Inotify() {
    if (fd_ >= 0) ::close(fd_);
  }
  Inotify(const Inotify&) = delete;
  Inotify& operator=(const Inotify&) = delete;
  int fd() const { return fd_; }

  // Discards pending events.
  void drain() {
    alignas(inotify_event) char buffer[8192];
    while (::read(fd_, buffer, sizeof buffer) > 0) {
    }
  }

 private:
  int fd_;
};

}  // namespace

Watcher::Watcher(PluginManager& plugins, VersionControl& versions, WatchOptions options)
    : plugins_(plugins), versions_(versions), options_(options) {}

Status Watcher::run(const std::atomic<bool>& stop, const WatchCallbacks& callbacks) {
  std::vector<Watched> watched;
  for (const InstanceStatus& status : plugins_.status()) {
    if (status.source.empty()) continue;
    Watched w;
    w.instance = status.instance;
    w.file = std::filesystem::absolute(status.source);
    FileState now = stat_file(w.file);
    w.mtime = now.mtime;
    w.size = now.size;
    watched.push_back(std::move(w));
  }
  if (watched.empty()) return Status(Code::failed_precondition, "no plugin files to watch");

  Inotify inotify;
  if (inotify.fd() < 0) return Status(Code::internal, "inotify_init1 failed: " + errno_text());
  std::set<std::filesystem::path> folders;
  for (const Watched& w : watched)
    folders.insert(w.file.parent_path());
  for (const auto& folder : folders) {
    if (::inotify_add_watch(inotify.fd(), folder.c_str(),
                            IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY) < 0) {
      return Status(Code::failed_precondition,
                    "cannot watch " + folder.string() + ": " + errno_text());
    }
    log().info("watching {} for rebuilt plugins", folder.string());
  }
  if (callbacks.watching) {
    std::vector<std::filesystem::path> files;
    for (const Watched& w : watched)
      files.push_back(w.file);
    callbacks.watching(files);
  }

  while (!stop.load()) {
    pollfd pfd{inotify.fd(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(options_.poll.count()));
    inotify.drain();  // events only wake us; the files' own state decides
    const auto now = std::chrono::steady_clock::now();
    for (Watched& w : watched) {
      FileState state = stat_file(w.file);
      if (state.exists && (state.mtime != w.mtime || state.size != w.size)) {
        w.mtime = state.mtime;
        w.size = state.size;
        w.pending = true;
        w.changed_at = now;
        continue;
      }
      if (!w.pending || now - w.changed_at < options_.settle) continue;
      w.pending = false;
      log().info("plugin '{}': {} was rebuilt; staging it as a candidate", w.instance,
                 w.file.string());
      auto staged = versions_.stage_candidate(w.instance, w.file);
      if (!staged.ok()) {
        log().warn("plugin '{}': not staged: {}", w.instance, staged.status().message());
        if (callbacks.decided) callbacks.decided(w.instance, staged.status());
        continue;
      }
      auto decision = versions_.evaluate(w.instance);
      if (decision.ok()) {
        log().info("plugin '{}': candidate {} {}: {}", w.instance, staged->id, decision->action,
                   decision->reason);
      } else {
        log().warn("plugin '{}': candidate {} not evaluated: {}", w.instance, staged->id,
                   decision.status().message());
      }
      if (callbacks.decided) callbacks.decided(w.instance, decision);
    }
  }
  return Status();
}

}  // namespace moss
