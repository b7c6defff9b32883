// Per-thread hazard slots with an asymmetric fence (the scheme of userspace RCU's "memb"
// flavour and of folly's hazard pointers): readers pay a compiler barrier, the rare writer
// pays one membarrier() system call.
#include "runtime/lease.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace moss {
namespace lease_detail {
namespace {

std::atomic<ThreadLeases*> g_records{nullptr};

// Releases the thread's record when the thread exits, so a new thread can reuse it.
struct RecordOwner {
  ThreadLeases* record = nullptr;
  ~RecordOwner() {
    if (record != nullptr) record->claimed.store(false, std::memory_order_release);
  }
};

thread_local ThreadLeases* t_record = nullptr;
thread_local RecordOwner t_owner;

ThreadLeases* claim_record() {
  for (ThreadLeases* r = g_records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    bool expected = false;
    if (r->claimed.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return r;
  }
  auto* record = new ThreadLeases();  // never freed: scanners walk the list without locks
  record->claimed.store(true, std::memory_order_relaxed);
  ThreadLeases* head = g_records.load(std::memory_order_relaxed);
  do {
    record->next = head;
  } while (!g_records.compare_exchange_weak(head, record, std::memory_order_release,
                                            std::memory_order_relaxed));
  return record;
}

long membarrier(int command) {
  return ::syscall(__NR_membarrier, command, 0, 0);
}

// Registers for expedited private membarrier; readers may then use a compiler barrier only.
bool register_membarrier() {
  long supported = membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

}  // namespace

bool g_light_reader_fence = register_membarrier();

ThreadLeases& this_thread() {
  if (t_record == nullptr) {
    t_record = claim_record();
    t_record->os_thread_id.store(static_cast<int>(::gettid()), std::memory_order_relaxed);
    t_owner.record = t_record;
  }
  return *t_record;
}

template <class Visit>
void for_each_pin(Visit&& visit) {
  for (ThreadLeases* r = g_records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    for (auto& entry : r->entries) {
      const LoadedVersion* v = entry.version.load(std::memory_order_acquire);
      if (v != nullptr) visit(*r, entry, v);
    }
  }
}

}  // namespace lease_detail

void publish_barrier() noexcept {
  if (lease_detail::g_light_reader_fence) {
    lease_detail::membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

std::vector<PinnedCall> calls_pinning(const LoadedVersion* version) {
  std::vector<PinnedCall> calls;
  lease_detail::for_each_pin(
      [&](const ThreadLeases& r, const ThreadLeases::Entry& e, const LoadedVersion* v) {
        if (v != version) return;
        const char* method = e.method.load(std::memory_order_relaxed);
        calls.push_back({r.os_thread_id.load(std::memory_order_relaxed), method ? method : "?"});
      });
  return calls;
}

bool is_pinned(const LoadedVersion* version) {
  bool pinned = false;
  lease_detail::for_each_pin([&](const ThreadLeases&, const ThreadLeases::Entry&,
                                 const LoadedVersion* v) { pinned = pinned || v == version; });
  return pinned;
}

const LoadedVersion* current_call_version(const char** method) noexcept {
  ThreadLeases* record = lease_detail::t_record;
  if (record == nullptr || record->depth == 0) return nullptr;
  const auto& entry = record->entries[record->depth - 1];
  if (method != nullptr) *method = entry.method.load(std::memory_order_relaxed);
  return entry.version.load(std::memory_order_relaxed);
}

bool Lease::push(const LoadedVersion* candidate, const char* method) noexcept {
  thread_ = &lease_detail::this_thread();
  index_ = thread_->depth;
  if (index_ == ThreadLeases::kMaxDepth) return false;
  ThreadLeases::Entry& entry = thread_->entries[index_];
  entry.method.store(method, std::memory_order_relaxed);
  entry.version.store(candidate, std::memory_order_relaxed);
  lease_detail::reader_fence();
  return true;
}

void Lease::fail(Status status) noexcept {
  version_ = nullptr;
  thread_ = nullptr;
  status_ = std::move(status);
}

Lease::Lease(const LoadedVersion& version, const char* method) noexcept {
  if (push(&version, method)) {
    version_ = &version;
    ++thread_->depth;
  } else {
    fail(Status(Code::resource_exhausted, "plugin calls nested too deeply"));
  }
}

}  // namespace moss
