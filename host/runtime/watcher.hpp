// Hot reload: watches the configured plugin files; a rebuilt file becomes a candidate, is
// evaluated in isolation and gated by the Ratchet, all without a restart.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "runtime/version_control.hpp"
#include "util/status.hpp"

namespace moss {

class PluginManager;

struct WatchOptions {
  // A changed file is staged once it has kept the same size and mtime for this long, so a
  // build that writes in several steps is never read half-written. (Inspection would refuse
  // a truncated file anyway; this avoids even trying.)
  std::chrono::milliseconds settle{300};
  std::chrono::milliseconds poll{100};
};

struct WatchCallbacks {
  // Once the files are watched: a change from now on will be noticed.
  std::function<void(const std::vector<std::filesystem::path>& files)> watching;
  // After each staged file was judged (or could not be).
  std::function<void(const std::string& instance, const Result<GateDecision>& decision)> decided;
};

class Watcher {
 public:
  Watcher(PluginManager& plugins, VersionControl& versions, WatchOptions options = {});

  // Watches until `stop` becomes true. Each decision is logged and reported.
  Status run(const std::atomic<bool>& stop, const WatchCallbacks& callbacks = {});

 private:
  struct Watched {
    std::string instance;
    std::filesystem::path file;
    std::filesystem::file_time_type mtime{};
    std::uintmax_t size = 0;
    bool pending = false;  // changed; staged once it has settled
    std::chrono::steady_clock::time_point changed_at{};
  };

  PluginManager& plugins_;
  VersionControl& versions_;
  WatchOptions options_;
};

}  // namespace moss
