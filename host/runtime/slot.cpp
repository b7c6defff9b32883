// Slot: publication with an asymmetric barrier, and reclamation of drained versions by
// whichever thread notices first (the promoter, a reaper, or the call that held the last
// lease).
#include "runtime/slot.hpp"

#include <thread>

#include "runtime/plugin_manager.hpp"

namespace moss {

Lease::Lease(Slot& slot, const char* method) noexcept : slot_(&slot) {
  while (true) {
    const LoadedVersion* candidate = slot.active_.load(std::memory_order_acquire);
    if (candidate == nullptr) {
      fail(Status(Code::failed_precondition,
                  "plugin '" + slot.instance() + "' has no serving version"));
      return;
    }
    if (!push(candidate, method)) {
      fail(Status(Code::resource_exhausted, "plugin calls nested too deeply"));
      return;
    }
    // Still the active version after our hazard became visible: it cannot be reclaimed
    // until we clear the hazard. Otherwise a promotion raced us; retry on the new one.
    if (slot.active_.load(std::memory_order_acquire) == candidate) {
      version_ = candidate;
      ++thread_->depth;
      return;
    }
    thread_->entries[index_].version.store(nullptr, std::memory_order_relaxed);
  }
}

Lease::~Lease() {
  if (version_ == nullptr) return;
  thread_->entries[index_].version.store(nullptr, std::memory_order_release);
  thread_->depth = index_;
  // The call that held the last lease on a replaced version frees it. Calls on the active
  // version skip this: they never wait while another version drains.
  if (slot_ != nullptr && slot_->has_draining_.load(std::memory_order_relaxed) &&
      slot_->active_.load(std::memory_order_relaxed) != version_) {
    slot_->reclaim(/*wait=*/false);
  }
}

Slot::~Slot() {
  // Destroy in the reverse order of creation: the newest version first.
  publish(nullptr);
  std::lock_guard lock(mutex_);
  predecessor_.reset();
  draining_.clear();
}

void Slot::publish(std::shared_ptr<const LoadedVersion> next, Previous previous) {
  std::lock_guard lock(mutex_);
  std::shared_ptr<const LoadedVersion> replaced = std::move(owner_);
  owner_ = std::move(next);
  if (predecessor_ == owner_) predecessor_.reset();  // a rollback to the predecessor
  active_.store(owner_.get(), std::memory_order_release);
  // After this, every call that will ever lease `replaced` has its hazard visible.
  publish_barrier();
  if (!replaced) return;
  if (previous == Previous::keep_for_probation) {
    if (predecessor_) draining_.push_back(std::move(predecessor_));
    predecessor_ = std::move(replaced);
  } else {
    draining_.push_back(std::move(replaced));
  }
  has_draining_.store(!draining_.empty(), std::memory_order_relaxed);
}

std::shared_ptr<const LoadedVersion> Slot::active() const {
  std::lock_guard lock(mutex_);
  return owner_;
}

std::shared_ptr<const LoadedVersion> Slot::predecessor() const {
  std::lock_guard lock(mutex_);
  return predecessor_;
}

void Slot::release_predecessor() {
  std::lock_guard lock(mutex_);
  if (predecessor_) draining_.push_back(std::move(predecessor_));
  has_draining_.store(!draining_.empty(), std::memory_order_relaxed);
}

std::size_t Slot::reclaim(bool wait) {
  std::vector<std::shared_ptr<const LoadedVersion>> drained;
  std::size_t remaining = 0;
  {
    std::unique_lock lock(mutex_, std::defer_lock);
    if (wait) {
      lock.lock();
    } else if (!lock.try_lock()) {
      return 1;  // another thread holds the lock: it reclaims, or this call's caller retries
    }
    for (auto it = draining_.begin(); it != draining_.end();) {
      if (is_pinned(it->get())) {
        ++it;
      } else {
        drained.push_back(std::move(*it));
        it = draining_.erase(it);
      }
    }
    remaining = draining_.size();
    has_draining_.store(remaining > 0, std::memory_order_relaxed);
  }
  // Destroyed outside the lock: plugin destructors and dlclose may take their time.
  drained.clear();
  return remaining;
}

std::size_t Slot::draining() const {
  std::lock_guard lock(mutex_);
  return draining_.size();
}

std::vector<PinnedCall> Slot::drain(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  auto pause = std::chrono::microseconds(50);
  while (reclaim() > 0) {
    if (std::chrono::steady_clock::now() >= until) {
      std::vector<PinnedCall> pins;
      std::lock_guard lock(mutex_);
      for (const auto& version : draining_) {
        for (auto& call : calls_pinning(version.get()))
          pins.push_back(std::move(call));
      }
      return pins;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(5000));
  }
  return {};
}

}  // namespace moss
