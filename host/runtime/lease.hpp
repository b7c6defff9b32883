// Leases: how a call pins the plugin version it runs in, without a shared counter or a
// global lock on the call path. Each thread owns a small stack of hazard slots; taking a
// lease writes only to the calling thread's own cache line. A promotion switches a pointer
// and issues one process-wide memory barrier (membarrier), after which scanning the threads'
// slots tells exactly which calls still pin the old version.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/status.hpp"

namespace moss {

class LoadedVersion;
class Slot;

// One thread's lease stack. Never freed: when a thread exits, its record is released for the
// next new thread, so a scanner can always walk the list without locks.
struct alignas(64) ThreadLeases {
  static constexpr std::size_t kMaxDepth = 16;  // nested plugin calls (plugin -> host -> plugin)
  struct Entry {
    std::atomic<const LoadedVersion*> version{nullptr};
    std::atomic<const char*> method{nullptr};
  };

  Entry entries[kMaxDepth];
  std::size_t depth = 0;  // touched only by the owning thread
  std::atomic<int> os_thread_id{0};
  std::atomic<bool> claimed{false};
  ThreadLeases* next = nullptr;  // set once, before the record is published
};

// A call in flight that pins a version.
struct PinnedCall {
  int os_thread_id = 0;
  std::string method;
};

namespace lease_detail {

// The calling thread's record, registered on first use.
ThreadLeases& this_thread();

// After publishing a hazard: a compiler barrier when the writer side uses membarrier, else a
// full fence. Decided once at startup.
extern bool g_light_reader_fence;
inline void reader_fence() noexcept {
  if (g_light_reader_fence) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

}  // namespace lease_detail

// Makes every thread's earlier hazard stores visible to the caller: one membarrier() system
// call, or nothing if readers use full fences. Called after switching a slot's pointer.
void publish_barrier() noexcept;

// The calls that currently pin `version`, on any thread.
std::vector<PinnedCall> calls_pinning(const LoadedVersion* version);

// True if any thread holds a lease on `version`.
bool is_pinned(const LoadedVersion* version);

// The innermost plugin call of the calling thread, for crash reports: its version (or null)
// and method. Async-signal-safe.
const LoadedVersion* current_call_version(const char** method) noexcept;

// A lease on one version, held for the duration of one call. Stack-scoped: leases are
// released in the reverse order of acquisition (they nest with the calls).
class Lease {
 public:
  // Pins `version` directly, for calls made while the caller already owns it (object
  // creation and init). `version` may not be null.
  Lease(const LoadedVersion& version, const char* method) noexcept;
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  bool ok() const noexcept { return version_ != nullptr; }
  const Status& status() const noexcept { return status_; }
  const LoadedVersion& version() const noexcept { return *version_; }
  const LoadedVersion* operator->() const noexcept { return version_; }

 private:
  friend class Slot;
  // Pins the version `slot` serves (see Slot::lease).
  Lease(Slot& slot, const char* method) noexcept;
  // Publishes `candidate` in the next hazard entry; false if the stack is full.
  bool push(const LoadedVersion* candidate, const char* method) noexcept;
  void fail(Status status) noexcept;

  const LoadedVersion* version_ = nullptr;
  Slot* slot_ = nullptr;  // null for a direct pin
  ThreadLeases* thread_ = nullptr;
  std::size_t index_ = 0;
  Status status_;
};

}  // namespace moss
