// Zero-failure swap under load: callers hammer a tool through PluginManager::invoke_tool while
// VersionControl swaps between two real versions a thousand times. Counts are asserted, never
// times: no call fails, both versions serve, and every replaced library is unloaded.
#include <dlfcn.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "deployment.hpp"
#include "runtime/slot.hpp"

using moss::test::Deployment;

namespace {

constexpr int kCallers = 8;
constexpr int kSwaps = 1000;

bool is_mapped(const std::filesystem::path& file) {
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  ::dlclose(handle);
  return true;
}

// Counts the calls each version served, as the slot reports them after each call's lease.
// The slot's observer hook is free here: nothing is on probation, so VersionControl never
// sets or clears it.
class ServedBy final : public moss::CallObserver {
 public:
  ServedBy(std::int64_t first, std::int64_t second) : ids_{first, second} {}

  void on_call(std::int64_t version_id, bool ok) noexcept override {
    std::size_t index = version_id == ids_[0] ? 0 : version_id == ids_[1] ? 1 : 2;
    calls_[index].fetch_add(1, std::memory_order_relaxed);
    if (!ok) failed_.fetch_add(1, std::memory_order_relaxed);
  }

  std::int64_t calls_on(std::int64_t version_id) const {
    std::size_t index = version_id == ids_[0] ? 0 : version_id == ids_[1] ? 1 : 2;
    return calls_[index].load();
  }
  std::int64_t calls_on_others() const { return calls_[2].load(); }
  std::int64_t failed() const { return failed_.load(); }

 private:
  std::array<std::int64_t, 2> ids_;
  std::array<std::atomic<std::int64_t>, 3> calls_{};
  std::atomic<std::int64_t> failed_{0};
};

// One thread calling "doubler" with its own run of n until told to stop; each answer must be
// exactly {"double":2n}.
struct Caller {
  std::int64_t calls = 0;
  std::int64_t failures = 0;
  std::string first_failure;

  void run(moss::PluginManager& plugins, int index, const std::atomic<bool>& stop,
           std::atomic<int>& started) {
    // The lowest priority: on a machine with fewer cores than callers, the swapping thread
    // is not starved, and the callers still take every cycle it leaves.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
    for (std::int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      const std::int64_t n = index * 100'000 + i % 100'000;
      auto answer = plugins.invoke_tool("doubler", "{\"n\":" + std::to_string(n) + "}");
      const std::string expected = "{\"double\":" + std::to_string(2 * n) + "}";
      if (!answer.ok() || answer.value() != expected) {
        if (failures++ == 0) {
          first_failure = "n=" + std::to_string(n) + ": " +
                          (answer.ok() ? answer.value() : answer.status().to_string());
        }
      }
      if (calls++ == 0) started.fetch_add(1);
    }
  }
};

}  // namespace

TEST_CASE("1,000 swaps under 8 calling threads fail no call and unload every replaced version",
          "[versions][swap][load]") {
  Deployment d("good");
  const std::int64_t first = d.active_id();
  const std::int64_t second = d.stage("good-too").id;
  const std::filesystem::path first_file = d.registry().version(first)->path;
  const std::filesystem::path second_file = d.registry().version(second)->path;
  REQUIRE(first_file != second_file);
  auto slot = d.plugins().slot("doubler");
  REQUIRE(slot.ok());

  ServedBy served(first, second);
  slot.value()->set_observer(&served);
  std::atomic<bool> stop{false};
  std::atomic<int> started{0};
  std::vector<Caller> callers(kCallers);
  std::vector<std::thread> threads;
  for (int t = 0; t < kCallers; ++t) {
    threads.emplace_back([&, t] { callers[t].run(d.plugins(), t, stop, started); });
  }
  while (started.load() < kCallers)  // every caller is running before the first swap
    std::this_thread::yield();

  // Swap 1 promotes the staged candidate (forced: no worker); the others roll back to the
  // version that served before. Each loads the target from its content-addressed file,
  // commits, publishes and drains (unloading) the replaced version.
  int swaps = 0;
  int left_draining = 0;  // swaps that returned with the replaced version still pinned
  std::optional<std::string> swap_error;
  for (int i = 1; i <= kSwaps; ++i) {
    const std::int64_t target = i % 2 == 1 ? second : first;
    auto swapped = i == 1 ? d.versions().promote("doubler", second, /*force=*/true)
                          : d.versions().rollback("doubler", target);
    if (!swapped.ok() || swapped->id != target) {
      swap_error = "swap " + std::to_string(i) + ": " +
                   (swapped.ok() ? "served version " + std::to_string(swapped->id)
                                 : swapped.status().to_string());
      break;
    }
    if (slot.value()->draining() != 0) ++left_draining;
    ++swaps;
  }
  stop = true;
  for (auto& thread : threads)
    thread.join();
  slot.value()->set_observer(nullptr);

  INFO(swap_error.value_or("all swaps done"));
  REQUIRE(swaps == kSwaps);
  // A swap returns once the replaced version drained or the drain deadline passed; on a
  // starved CPU a preempted caller can outlast the deadline. Every version still unloads
  // once its last call ends.
  if (left_draining > 0) WARN(left_draining << " swaps returned before their drain finished");
  CHECK(slot.value()->drain(std::chrono::seconds(30)).empty());

  std::int64_t calls = 0;
  std::int64_t failures = 0;
  for (const Caller& caller : callers) {
    INFO(caller.first_failure);
    CHECK(caller.failures == 0);
    calls += caller.calls;
    failures += caller.failures;
  }
  CHECK(failures == 0);
  CHECK(served.failed() == 0);
  // Every call was served by one of the two versions, and each served some.
  CHECK(served.calls_on(first) + served.calls_on(second) == calls);
  CHECK(served.calls_on_others() == 0);
  CHECK(served.calls_on(first) > 0);
  CHECK(served.calls_on(second) > 0);

  // An even number of swaps ends on the first version. The other one drained: its library
  // is unmapped, and the slot keeps nothing but the active version.
  CHECK(d.active_id() == first);
  auto active = slot.value()->active();
  REQUIRE(active != nullptr);
  CHECK(active->version_id() == first);
  CHECK(slot.value()->draining() == 0);
  CHECK(slot.value()->predecessor() == nullptr);
  CHECK(is_mapped(first_file));
  CHECK_FALSE(is_mapped(second_file));
  CHECK(d.state_of(second) == moss::VersionState::rolled_back);
  auto consistent = d.registry().check_consistency();
  INFO(consistent.to_string());
  CHECK(consistent.ok());
}
