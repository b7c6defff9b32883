// A Slot serves one plugin instance: the active version that new calls lease, the
// predecessor kept loaded during probation, and replaced versions that drain. Promotion is
// one atomic pointer switch; a replaced version is destroyed (objects first, then its
// library) when the last call that pinned it ends.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/lease.hpp"

namespace moss {

class LoadedVersion;

// Told the outcome of each call made through PluginManager::invoke_tool while it is set on a
// slot (a version on probation). Called after the call's lease is released.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void on_call(std::int64_t version_id, bool ok) noexcept = 0;
};

class Slot {
 public:
  explicit Slot(std::string instance) : instance_(std::move(instance)) {}
  ~Slot();
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

  const std::string& instance() const { return instance_; }

  // Pins the active version for one call. Lock-free; writes only the calling thread's
  // lease record. Not ok() if the slot serves nothing (failed_precondition).
  Lease lease(const char* method) noexcept { return Lease(*this, method); }

  // What the previous version becomes when a new one is published.
  enum class Previous {
    drain = 1,           // destroyed once no call pins it
    keep_for_probation,  // kept loaded as the predecessor, for an instant rollback
  };

  // Makes `next` the version new calls get (null: serve nothing). Calls already running
  // finish on the version they leased.
  void publish(std::shared_ptr<const LoadedVersion> next, Previous previous = Previous::drain);

  std::shared_ptr<const LoadedVersion> active() const;
  // True if a version serves (lock-free).
  bool serving() const noexcept { return active_.load(std::memory_order_acquire) != nullptr; }
  std::shared_ptr<const LoadedVersion> predecessor() const;
  // Lets the predecessor drain (probation ended without a rollback).
  void release_predecessor();

  // Destroys the replaced versions no call pins any more; returns how many still drain.
  // Without `wait`, gives up at once (returning non-zero) if another thread holds the lock.
  std::size_t reclaim(bool wait = true);
  // Waits until every replaced version is destroyed or `deadline` passes, and returns the
  // calls that still pin one (empty when all drained).
  std::vector<PinnedCall> drain(std::chrono::milliseconds deadline);
  std::size_t draining() const;

  // The observer must outlive the slot or be cleared (null) first.
  void set_observer(CallObserver* observer) {
    observer_.store(observer, std::memory_order_release);
  }
  CallObserver* observer() const { return observer_.load(std::memory_order_acquire); }

 private:
  friend class Lease;

  std::string instance_;
  std::atomic<const LoadedVersion*> active_{nullptr};
  // Read on every lease release; true only while replaced versions wait to drain.
  std::atomic<bool> has_draining_{false};
  std::atomic<CallObserver*> observer_{nullptr};

  mutable std::mutex mutex_;  // writers only: publish, reclaim, queries
  std::shared_ptr<const LoadedVersion> owner_;
  std::shared_ptr<const LoadedVersion> predecessor_;
  std::vector<std::shared_ptr<const LoadedVersion>> draining_;
};

}  // namespace moss
