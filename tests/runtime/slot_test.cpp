// Slots and leases with real plugin libraries: promotion switches new calls at once, calls in
// flight finish on the version they leased, and a replaced library is unloaded when its
// last call ends.
#include <dlfcn.h>

#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "plugin_harness.hpp"
#include "runtime/plugin_manager.hpp"
#include "runtime/slot.hpp"
#include "temp_dir.hpp"

using moss::LoadedVersion;
using moss::Slot;

namespace {

bool is_mapped(const std::filesystem::path& file) {
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  ::dlclose(handle);
  return true;
}

// Each version is its own copy of the good fixture: dlopen keys libraries by path.
class Versions {
 public:
  std::shared_ptr<const LoadedVersion> make(const std::string& prefix) {
    auto file = dir_ / ("v" + std::to_string(++count_) + ".so");
    std::filesystem::copy_file(std::string(MOSS_FIXTURE_DIR) + "/fixture-good.so", file);
    files_.push_back(file);
    auto library = moss::test::load_plugin(file);
    auto version = std::make_shared<LoadedVersion>("echo", count_, library);
    REQUIRE(
        version->create_objects(moss::test::make_context("{\"prefix\":\"" + prefix + "\"}")).ok());
    return version;
  }
  const std::filesystem::path& file(int n) const { return files_.at(n - 1); }

 private:
  moss::test::TempDir dir_;
  int count_ = 0;
  std::vector<std::filesystem::path> files_;
};

std::string call(Slot& slot) {
  auto lease = slot.lease("Tool::invoke");
  REQUIRE(lease.ok());
  auto result = lease->get<moss::sdk::Tool>()->invoke("{}");
  REQUIRE(result.ok());
  return result.value();
}

// Blocks a thread inside a lease until released.
class HeldCall {
 public:
  explicit HeldCall(Slot& slot) {
    thread_ = std::thread([&] {
      auto lease = slot.lease("Tool::invoke");
      std::unique_lock lock(mutex_);
      version_ = &lease.version();
      entered_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return released_; });
    });
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return entered_; });
  }
  ~HeldCall() { release(); }
  const LoadedVersion* version() const { return version_; }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false;
  bool released_ = false;
  const LoadedVersion* version_ = nullptr;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a lease on an empty slot says why it failed", "[slot]") {
  Slot slot("echo");
  auto lease = slot.lease("Tool::invoke");
  REQUIRE_FALSE(lease.ok());
  CHECK(lease.status().code() == moss::Code::failed_precondition);
  CHECK(lease.status().message() == "plugin 'echo' has no serving version");
}

TEST_CASE("promote sends new calls to the new version at once", "[slot]") {
  Versions versions;
  Slot slot("echo");
  slot.publish(versions.make("v1"));
  CHECK(call(slot) == R"({"prefix":"v1","args":{}})");
  slot.publish(versions.make("v2"));
  CHECK(call(slot) == R"({"prefix":"v2","args":{}})");
}

TEST_CASE("promote keeps in-flight calls on the old version", "[slot]") {
  Versions versions;
  Slot slot("echo");
  auto v1 = versions.make("v1");
  slot.publish(v1);
  HeldCall in_flight(slot);
  REQUIRE(in_flight.version() == v1.get());
  v1.reset();
  slot.publish(versions.make("v2"));

  CHECK(call(slot) == R"({"prefix":"v2","args":{}})");
  CHECK(slot.draining() == 1);         // v1 waits for its call
  CHECK(is_mapped(versions.file(1)));  // and its library stays loaded
  in_flight.release();
  CHECK(slot.draining() == 0);  // the last lease's release reclaimed it
  CHECK_FALSE(is_mapped(versions.file(1)));
  CHECK(is_mapped(versions.file(2)));
}

TEST_CASE("a drain deadline reports which calls still pin the old version", "[slot]") {
  Versions versions;
  Slot slot("echo");
  slot.publish(versions.make("v1"));
  HeldCall in_flight(slot);
  slot.publish(versions.make("v2"));

  auto pins = slot.drain(std::chrono::milliseconds(20));
  REQUIRE(pins.size() == 1);
  CHECK(pins[0].method == "Tool::invoke");
  CHECK(pins[0].os_thread_id > 0);
  in_flight.release();
  CHECK(slot.drain(std::chrono::milliseconds(1000)).empty());
}

TEST_CASE("probation keeps the predecessor loaded for an instant rollback", "[slot]") {
  Versions versions;
  Slot slot("echo");
  auto v1 = versions.make("v1");
  slot.publish(v1);
  slot.publish(versions.make("v2"), Slot::Previous::keep_for_probation);
  CHECK(slot.predecessor() == v1);
  CHECK(slot.draining() == 0);

  slot.publish(slot.predecessor());  // roll back without loading anything
  CHECK(call(slot) == R"({"prefix":"v1","args":{}})");
  CHECK(slot.predecessor() == nullptr);
  v1.reset();
  CHECK(slot.drain(std::chrono::milliseconds(1000)).empty());
  CHECK_FALSE(is_mapped(versions.file(2)));  // the rolled-back version is gone
}

TEST_CASE("ending probation lets the predecessor drain", "[slot]") {
  Versions versions;
  Slot slot("echo");
  slot.publish(versions.make("v1"));
  slot.publish(versions.make("v2"), Slot::Previous::keep_for_probation);
  slot.release_predecessor();
  CHECK(slot.drain(std::chrono::milliseconds(1000)).empty());
  CHECK_FALSE(is_mapped(versions.file(1)));
}

TEST_CASE("leases nest up to a fixed depth, then refuse", "[slot]") {
  Versions versions;
  Slot slot("echo");
  slot.publish(versions.make("v1"));
  // Leases are not movable; hold them through a helper that constructs in place.
  struct Holder {
    explicit Holder(Slot& s) : lease(s.lease("nested")) {}
    moss::Lease lease;
  };
  std::vector<std::unique_ptr<Holder>> stack;
  for (std::size_t i = 0; i < moss::ThreadLeases::kMaxDepth; ++i) {
    stack.push_back(std::make_unique<Holder>(slot));
    REQUIRE(stack.back()->lease.ok());
  }
  auto one_too_many = slot.lease("nested");
  CHECK_FALSE(one_too_many.ok());
  CHECK(one_too_many.status().code() == moss::Code::resource_exhausted);
  while (!stack.empty())
    stack.pop_back();  // released innermost first
  CHECK(slot.lease("again").ok());
}

TEST_CASE("calls on many threads never see a destroyed version while versions swap",
          "[slot][stress]") {
  Versions versions;
  Slot slot("echo");
  std::vector<std::shared_ptr<const LoadedVersion>> pool = {versions.make("a"), versions.make("b")};
  slot.publish(pool[0]);
  std::atomic<bool> stop{false};
  std::atomic<long> calls{0};
  std::atomic<long> failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto lease = slot.lease("Tool::invoke");
        auto result = lease.ok() ? lease->get<moss::sdk::Tool>()->invoke("{}")
                                 : moss::sdk::Result<std::string>(lease.status());
        if (!result.ok() || (result.value().find("\"a\"") == std::string::npos &&
                             result.value().find("\"b\"") == std::string::npos)) {
          failures.fetch_add(1);
        }
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  while (calls.load() < 4)  // the callers run before the swaps start, however busy the CPU
    std::this_thread::yield();
  for (int swap = 0; swap < 2000; ++swap)
    slot.publish(pool[(swap + 1) % 2]);
  stop = true;
  for (auto& t : callers)
    t.join();
  CHECK(failures.load() == 0);
  CHECK(calls.load() > 0);
  CHECK(slot.drain(std::chrono::milliseconds(1000)).empty());
}
