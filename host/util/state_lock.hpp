// An exclusive lock on a state directory, held by the one process that may change plugin
// versions (the CLI commands that stage, evaluate, promote or roll back, and the watcher).
// It is what makes "a version left evaluating" mean "abandoned" rather than "in progress".
#pragma once

#include <filesystem>
#include <memory>

#include "util/status.hpp"

namespace moss {

class StateLock {
 public:
  // Takes <state_dir>/moss.lock without waiting; refuses, naming the holder's pid, if another
  // process holds it. The kernel releases the lock if this process dies.
  static Result<std::unique_ptr<StateLock>> acquire(const std::filesystem::path& state_dir);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace moss
