// Swap latency (promote of a loaded version: publish, then drain as VersionControl does) and
// load + check + promote of a real plugin file against a bare dlopen + dlsym of the same file.
// Every iteration is timed on its own, so the summary gives p50 and p99, not just a mean.
#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>
#include <thread>
#include <utility>

#include "groups.hpp"
#include "loader/loader.hpp"
#include "runtime/loaded_version.hpp"
#include "runtime/slot.hpp"
#include "util/files.hpp"
#include "util/sha256.hpp"

namespace moss::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSwapPreloaded = "swap/preloaded/idle";
constexpr const char* kSwapPreloadedCaller = "swap/preloaded/caller_leasing";
constexpr const char* kSwapUnload = "swap/unload_old/idle";
constexpr const char* kSwapUnloadCaller = "swap/unload_old/caller_leasing";
constexpr const char* kLoadVsBare = "load/moss_load_promote_vs_bare_dlopen";
constexpr const char* kLoadPhases = "load/inspect_phases";

// Iterations of the benchmarks that load a fresh file each time. Fixed, so the number of
// libraries a pinned plugin leaves mapped stays bounded.
constexpr int kLoadIterations = 200;
constexpr std::chrono::milliseconds kDrainDeadline{1000};
constexpr std::string_view kArgs = R"({"n":3})";
constexpr std::string_view kExpected = R"({"double":6})";

// Loads a version of the plugin from `file`, as PluginManager::load_version does.
Result<std::shared_ptr<const LoadedVersion>> load_version(const std::filesystem::path& file,
                                                          std::int64_t id) {
  auto library = Library::load(file);
  if (!library.ok()) return library.status();
  auto version = std::make_shared<LoadedVersion>("bench", id, library.value());
  Status created = version->create_objects(bench_context("bench"));
  if (!created.ok()) return created;
  return std::shared_ptr<const LoadedVersion>(std::move(version));
}

// A thread calling the slot's tool in a loop, as live traffic would during a swap.
class Caller {
 public:
  explicit Caller(Slot& slot) : thread_([this, &slot] { run(slot); }) {}
  ~Caller() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    thread_.join();
  }
  // After stop(): the counters of the run.
  void set_counters(benchmark::State& state) const {
    state.counters["caller_calls"] = static_cast<double>(calls_);
    state.counters["caller_failures"] = static_cast<double>(failures_);
    state.counters["caller_max_us"] = std::chrono::duration<double, std::micro>(slowest_).count();
  }

 private:
  void run(Slot& slot) {
    while (!stop_.load(std::memory_order_relaxed)) {
      auto start = Clock::now();
      bool ok = false;
      {
        Lease lease = slot.lease("Tool::invoke");
        if (lease.ok()) {
          auto result = lease->get<sdk::Tool>()->invoke(kArgs);
          ok = result.ok() && result.value() == kExpected;
        }
      }
      slowest_ = std::max(slowest_, Clock::now() - start);
      ++calls_;
      if (!ok) ++failures_;
    }
  }

  std::atomic<bool> stop_{false};
  std::uint64_t calls_ = 0;
  std::uint64_t failures_ = 0;
  Clock::duration slowest_{0};
  std::thread thread_;  // last: starts once the counters exist
};

// Promote, timed: publish `next`, then drain the replaced version (destroying it if nothing
// else holds it). Records the whole and the publish alone; returns false after an error.
bool timed_promote(benchmark::State& state, Slot& slot, std::shared_ptr<const LoadedVersion> next,
                   Samples& whole, Samples& publish) {
  auto start = Clock::now();
  slot.publish(std::move(next));
  auto published = Clock::now();
  auto pins = slot.drain(kDrainDeadline);
  auto end = Clock::now();
  if (!pins.empty()) {
    state.SkipWithError("the replaced version was still pinned after the drain deadline");
    return false;
  }
  whole.add(end - start);
  publish.add(published - start);
  state.SetIterationTime(std::chrono::duration<double>(end - start).count());
  return true;
}

// Swaps between two versions that the benchmark keeps loaded: no unload in the timed region.
void swap_preloaded(benchmark::State& state, bool with_caller) {
  PluginCopies copies(plugin_file());
  std::shared_ptr<const LoadedVersion> versions[2];
  for (int i = 0; i < 2; ++i) {
    auto loaded = load_version(copies.next(), i + 1);
    if (!loaded.ok()) return state.SkipWithError(loaded.status().to_string().c_str());
    versions[i] = loaded.value();
  }
  Slot slot("bench");
  slot.publish(versions[0]);
  std::unique_ptr<Caller> caller;
  if (with_caller) caller = std::make_unique<Caller>(slot);

  Samples whole;
  Samples publish;
  std::size_t next = 1;
  for (auto _ : state) {
    if (!timed_promote(state, slot, versions[next], whole, publish)) break;
    next ^= 1;
  }
  if (caller) {
    caller->stop();
    caller->set_counters(state);
  }
  whole.set_counters(state);
  publish.set_counters(state, "publish_");
}

// Each promote replaces a version nothing else holds: the drain destroys its objects and
// unloads its library (when the plugin can be unloaded). Loading the next version is untimed.
void swap_unload(benchmark::State& state, bool with_caller) {
  PluginCopies copies(plugin_file());
  Slot slot("bench");
  {
    auto first = load_version(copies.next(), 1);
    if (!first.ok()) return state.SkipWithError(first.status().to_string().c_str());
    slot.publish(first.value());
  }
  std::unique_ptr<Caller> caller;
  if (with_caller) caller = std::make_unique<Caller>(slot);

  Samples whole;
  Samples publish;
  std::int64_t id = 1;
  for (auto _ : state) {
    auto file = copies.next();
    auto next = load_version(file, ++id);
    copies.remove(file);  // the mapping outlives the file
    if (!next.ok()) {
      state.SkipWithError(next.status().to_string().c_str());
      break;
    }
    if (!timed_promote(state, slot, std::move(next.value()), whole, publish)) break;
  }
  if (caller) {
    caller->stop();
    caller->set_counters(state);
  }
  slot.publish(nullptr);
  (void)slot.drain(kDrainDeadline);
  whole.set_counters(state);
  publish.set_counters(state, "publish_");
  state.counters["still_mapped"] = static_cast<double>(copies.still_mapped());
}

// Interleaved pairs on fresh copies of the file, so drift and the neighbours' load on a
// shared machine hit both sides alike:
//   bare: dlopen(RTLD_NOW | RTLD_LOCAL) + dlsym(entry) + dlclose;
//   moss: Library::load as PluginManager::load_version calls it on a stored version (read,
//         ELF + manifest checks, dlopen, descriptor check; the content-addressed file's
//         SHA-256 is its name, so it is not hashed again) + LoadedVersion::create_objects +
//         Slot::publish + drain, which destroys and unloads the version it replaced.
// Both sides load one library and unload one per iteration. The manual time is moss's.
void load_vs_bare(benchmark::State& state) {
  PluginCopies copies(plugin_file());
  Slot slot("bench");
  Samples moss_whole, moss_load, moss_create, moss_publish, moss_drain;
  Samples bare_whole, bare_open, bare_close;
  std::int64_t id = 0;
  // Every copy has the same bytes: hashed once, outside the timed region, as staging does.
  auto digest = sha256_file(plugin_file());
  if (!digest.ok()) {
    state.SkipWithError(digest.status().to_string().c_str());
    return;
  }
  const LoadOptions stored{.never_unload = false, .known_sha256 = digest.value()};
  bool bare_first = true;

  auto bare = [&]() -> bool {
    auto file = copies.next();
    auto start = Clock::now();
    void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    void* entry = handle != nullptr ? ::dlsym(handle, sdk::kEntrySymbol) : nullptr;
    auto opened = Clock::now();
    if (handle != nullptr) ::dlclose(handle);
    auto end = Clock::now();
    copies.remove(file);
    if (entry == nullptr) {
      state.SkipWithError("bare dlopen/dlsym failed");
      return false;
    }
    bare_whole.add(end - start);
    bare_open.add(opened - start);
    bare_close.add(end - opened);
    return true;
  };
  auto moss = [&]() -> bool {
    auto file = copies.next();
    auto start = Clock::now();
    auto library = Library::load(file, stored);
    auto loaded = Clock::now();
    if (!library.ok()) {
      state.SkipWithError(library.status().to_string().c_str());
      return false;
    }
    auto version = std::make_shared<LoadedVersion>("bench", ++id, library.value());
    Status created = version->create_objects(bench_context("bench"));
    auto ready = Clock::now();
    if (!created.ok()) {
      state.SkipWithError(created.to_string().c_str());
      return false;
    }
    slot.publish(std::move(version));
    auto published = Clock::now();
    auto pins = slot.drain(kDrainDeadline);
    auto end = Clock::now();
    copies.remove(file);
    if (!pins.empty()) {
      state.SkipWithError("the replaced version was still pinned after the drain deadline");
      return false;
    }
    moss_whole.add(end - start);
    moss_load.add(loaded - start);
    moss_create.add(ready - loaded);
    moss_publish.add(published - ready);
    moss_drain.add(end - published);
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    return true;
  };

  for (auto _ : state) {
    bool ok = bare_first ? bare() && moss() : moss() && bare();
    if (!ok) break;
    bare_first = !bare_first;
  }
  slot.publish(nullptr);
  (void)slot.drain(kDrainDeadline);
  state.counters["still_mapped"] = static_cast<double>(copies.still_mapped());
  double moss_p50 = moss_whole.median_us();
  double bare_p50 = bare_whole.median_us();
  state.counters["ratio_p50"] = moss_p50 / bare_p50;
  moss_whole.set_counters(state, "moss_");
  bare_whole.set_counters(state, "bare_");
  state.counters["moss_load_p50_us"] = moss_load.median_us();
  state.counters["moss_create_p50_us"] = moss_create.median_us();
  state.counters["moss_publish_p50_us"] = moss_publish.median_us();
  state.counters["moss_drain_p50_us"] = moss_drain.median_us();
  state.counters["bare_dlopen_p50_us"] = bare_open.median_us();
  state.counters["bare_dlclose_p50_us"] = bare_close.median_us();
}

// Where Library::load's time goes before dlopen: the pieces of inspect_plugin_file, each on
// the same file (no dlopen, so no fresh copies needed).
void inspect_phases(benchmark::State& state) {
  const auto file = plugin_file();
  Samples read, hash, inspect;
  for (auto _ : state) {
    auto start = Clock::now();
    auto bytes = read_file(file);
    auto was_read = Clock::now();
    if (!bytes.ok()) return state.SkipWithError(bytes.status().to_string().c_str());
    auto digest = sha256_hex(bytes.value());
    auto hashed = Clock::now();
    auto inspection = inspect_plugin_file(file);
    auto end = Clock::now();
    if (!inspection.ok()) return state.SkipWithError(inspection.status().to_string().c_str());
    benchmark::DoNotOptimize(digest);
    read.add(was_read - start);
    hash.add(hashed - was_read);
    inspect.add(end - hashed);
    state.SetIterationTime(std::chrono::duration<double>(end - hashed).count());
  }
  state.counters["read_file_p50_us"] = read.median_us();
  state.counters["sha256_p50_us"] = hash.median_us();
  state.counters["inspect_plugin_file_p50_us"] = inspect.median_us();
}

void promote_summary(const Results& r, std::ostream& out) {
  out << "\n2. Swap latency: promote of a loaded version = Slot::publish + Slot::drain (µs)\n";
  Table swaps({"variant", "p50", "p99", "max", "publish p50", "publish p99", "caller max",
               "caller failures", "still mapped", "goal p99<=50"});
  for (const char* name : {kSwapPreloaded, kSwapPreloadedCaller, kSwapUnload, kSwapUnloadCaller}) {
    const Figures* f = r.find(name);
    auto c = [&](const char* counter) {
      return f != nullptr ? f->counter(counter) : std::numeric_limits<double>::quiet_NaN();
    };
    swaps.row({name, fixed(c("p50_us"), 1), fixed(c("p99_us"), 1), fixed(c("max_us"), 1),
               fixed(c("publish_p50_us"), 1), fixed(c("publish_p99_us"), 1),
               fixed(c("caller_max_us"), 1), fixed(c("caller_failures"), 0),
               fixed(c("still_mapped"), 0), goal(c("p99_us"), 50.0)});
  }
  swaps.print(out);
  out << "   preloaded: both versions stay loaded (the benchmark holds them); unload_old: the\n"
         "   drain destroys the replaced version and dlcloses its library. caller_leasing: a\n"
         "   thread calls Tool::invoke through the slot in a loop; 'caller max' is its slowest "
         "call.\n";
}

void load_summary(const Results& r, std::ostream& out) {
  out << "\n3. Load + check + promote of a real file vs bare dlopen + dlsym + dlclose (µs)\n";
  const Figures* f = r.find(kLoadVsBare);
  auto c = [&](const char* counter) {
    return f != nullptr ? f->counter(counter) : std::numeric_limits<double>::quiet_NaN();
  };
  Table load({"side", "p50", "p99", "phases (p50)"});
  load.row({"moss: load + create + publish + drain", fixed(c("moss_p50_us"), 1),
            fixed(c("moss_p99_us"), 1),
            "Library::load " + fixed(c("moss_load_p50_us"), 1) + ", create_objects " +
                fixed(c("moss_create_p50_us"), 1) + ", publish " +
                fixed(c("moss_publish_p50_us"), 1) + ", drain+unload " +
                fixed(c("moss_drain_p50_us"), 1)});
  load.row({"bare: dlopen + dlsym + dlclose", fixed(c("bare_p50_us"), 1),
            fixed(c("bare_p99_us"), 1),
            "dlopen+dlsym " + fixed(c("bare_dlopen_p50_us"), 1) + ", dlclose " +
                fixed(c("bare_dlclose_p50_us"), 1)});
  load.print(out);
  double ratio = c("ratio_p50");
  out << "   ratio moss/bare (p50): " << fixed(ratio, 2) << "x, goal <= 2x: " << goal(ratio, 2.0)
      << "; libraries still mapped afterwards: " << fixed(c("still_mapped"), 0) << "\n";
  out << "   Library::load beyond a bare dlopen + dlsym: "
      << fixed(c("moss_load_p50_us") - c("bare_dlopen_p50_us"), 1) << " µs (p50)\n";
  if (const Figures* p = r.find(kLoadPhases); p != nullptr) {
    out << "   its checks before dlopen, on the same file (p50): inspect_plugin_file "
        << fixed(p->counter("inspect_plugin_file_p50_us"), 1) << " µs, of which read_file "
        << fixed(p->counter("read_file_p50_us"), 1) << " and sha256_hex "
        << fixed(p->counter("sha256_p50_us"), 1) << "\n";
  }
}

void swap_summary(const Results& r, std::ostream& out) {
  if (r.ran("swap/")) promote_summary(r, out);
  if (r.ran("load/")) load_summary(r, out);
}

}  // namespace

Result<Group> swap_group() {
  const auto file = plugin_file();
  auto inspection = inspect_plugin_file(file);
  if (!inspection.ok()) return inspection.status();
  std::ostringstream facts;
  facts << "plugin file: " << file.string() << " (" << inspection->size_bytes << " bytes, "
        << inspection->manifest.name << " " << inspection->manifest.version << ")\n";
  // glibc marks the first library that defines an STB_GNU_UNIQUE symbol NODELETE and binds
  // every later library's uses of that symbol to it; later copies do unload. Loading one copy
  // here, before anything is timed, keeps that one-off pinning out of the measurements.
  auto copies = std::make_shared<PluginCopies>(file);
  auto first = load_version(copies->next(), 0);
  if (!first.ok()) return first.status();
  if (inspection->unique_symbols.empty()) {
    facts << "  no STB_GNU_UNIQUE symbols: dlclose unloads every copy\n";
  } else {
    facts << "  WARNING: " << inspection->unique_symbols.size() << " STB_GNU_UNIQUE symbols (e.g. "
          << inspection->unique_symbols.front()
          << "): built without\n  -fno-gnu-unique. glibc pins the first copy a process loads "
             "and binds later copies'\n  uses of those symbols to it; that copy is loaded "
             "before the run, and 'still mapped'\n  counts the copies dlclose left mapped.\n";
  }

  auto single = [](const char* name, auto body) {
    return benchmark::RegisterBenchmark(name, body)->UseManualTime()->Unit(benchmark::kMicrosecond);
  };
  single(kSwapPreloaded, [](benchmark::State& s) { swap_preloaded(s, false); });
  single(kSwapPreloadedCaller, [](benchmark::State& s) { swap_preloaded(s, true); });
  single(kSwapUnload, [](benchmark::State& s) {
    swap_unload(s, false);
  })->Iterations(kLoadIterations);
  single(kSwapUnloadCaller, [](benchmark::State& s) {
    swap_unload(s, true);
  })->Iterations(kLoadIterations);
  single(kLoadVsBare, load_vs_bare)->Iterations(kLoadIterations);
  single(kLoadPhases, inspect_phases);

  Group group;
  group.fixtures = std::make_shared<
      std::pair<std::shared_ptr<PluginCopies>, std::shared_ptr<const LoadedVersion>>>(
      copies, first.value());
  group.summary = swap_summary;
  group.facts = facts.str();
  return group;
}

}  // namespace moss::bench
