// Call overhead: what a slot lease adds to a call, against a direct virtual call (A) and the
// naive in-flight counter every thread increments (B), at 1, 2 and 8 threads; the same for
// Tool::invoke; and the host's own call path, PluginManager::invoke_tool.
#include <atomic>
#include <cmath>
#include <fstream>
#include <future>
#include <limits>
#include <string_view>
#include <thread>

#include "config/config.hpp"
#include "groups.hpp"
#include "loader/loader.hpp"
#include "registry/registry.hpp"
#include "runtime/loaded_version.hpp"
#include "runtime/plugin_manager.hpp"
#include "runtime/slot.hpp"
#include "target.hpp"

namespace {

// The in-memory plugin: a tool whose invoke returns a short static string, so a call costs
// the virtual call and the Result, not the tool's work.
class StaticTool {
 public:
  moss::sdk::ToolInfo info() const {
    return {"static", "Returns a short constant", R"({"type":"object"})", false};
  }
  moss::sdk::Result<std::string> invoke(std::string_view) { return std::string("ok"); }
};

}  // namespace

MOSS_PLUGIN("bench-in-memory", "1.0.0", moss::sdk::kNoConfig, moss::sdk::as_tool<StaticTool>)

namespace moss::bench {
namespace {

constexpr int kThreadCounts[] = {1, 2, 8};
constexpr std::string_view kStaticArgs = "{}";
constexpr std::string_view kDoublerArgs = R"({"n":3})";

constexpr const char* kVirtualDirect = "call/virtual/A_direct";
constexpr const char* kVirtualCounter = "call/virtual/B_shared_counter";
constexpr const char* kVirtualLease = "call/virtual/moss_lease";
constexpr const char* kVirtualDraining = "call/virtual/moss_lease_while_draining";
constexpr const char* kInvokeDirect = "call/tool_invoke/direct";
constexpr const char* kInvokeCounter = "call/tool_invoke/shared_counter";
constexpr const char* kInvokeLease = "call/tool_invoke/moss_lease";
constexpr const char* kHostDirect = "call/host_doubler/direct_invoke";
constexpr const char* kHostLease = "call/host_doubler/slot_lease_invoke";
constexpr const char* kHostManager = "call/host_doubler/PluginManager_invoke_tool";

// Baseline B's counter, alone on its cache line: the contention measured is its own.
struct alignas(64) InFlight {
  std::atomic<std::int64_t> calls{0};
};
InFlight g_in_flight;

Result<std::shared_ptr<const LoadedVersion>> make_version(const std::shared_ptr<Library>& library,
                                                          std::int64_t id) {
  auto version = std::make_shared<LoadedVersion>("bench", id, library);
  Status created = version->create_objects(bench_context("bench"));
  if (!created.ok()) return created;
  return std::shared_ptr<const LoadedVersion>(std::move(version));
}

// Everything the call benchmarks use, built once.
struct CallWorld {
  std::shared_ptr<const LoadedVersion> version;  // the in-memory plugin, served by `slot`
  Slot slot{"bench"};

  // A slot whose replaced version stays pinned by `holder` (a call that never returns) for
  // the whole run, so every lease release on it finds a version draining.
  Slot draining_slot{"bench-draining"};
  std::thread holder;
  std::promise<void> holding;
  std::promise<void> release_holder;

  // A host with fixture-evolvable as instance "doubler": the call path of `moss serve`.
  test::TempDir host_dir;
  Config config;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<PluginManager> plugins;
  Slot* doubler = nullptr;

  ~CallWorld() {
    if (holder.joinable()) {
      release_holder.set_value();
      holder.join();
    }
    plugins.reset();
    registry.reset();
  }
};

Status build(CallWorld& world) {
  auto library = Library::from_descriptor(moss_plugin_generated::entry(), "<bench-in-memory>");
  if (!library.ok()) return library.status();
  auto serving = make_version(library.value(), 1);
  if (!serving.ok()) return serving.status();
  world.version = serving.value();
  world.slot.publish(world.version);

  auto pinned = make_version(library.value(), 2);
  auto current = make_version(library.value(), 3);
  if (!pinned.ok()) return pinned.status();
  if (!current.ok()) return current.status();
  world.draining_slot.publish(pinned.value());
  std::future<void> holding = world.holding.get_future();
  world.holder = std::thread([&world, release = world.release_holder.get_future()] {
    Lease lease = world.draining_slot.lease("bench: a call that outlives the run");
    world.holding.set_value();
    release.wait();
  });
  holding.wait();
  world.draining_slot.publish(current.value());
  if (world.draining_slot.draining() != 1) {
    return Status(Code::internal, "the pinned version of the draining slot was reclaimed");
  }

  std::ofstream(world.host_dir / "moss.toml")
      << "state_dir = \"state\"\n"
      << "[plugins.doubler]\npath = \"" << plugin_file().string() << "\"\n";
  auto config = load_config(world.host_dir / "moss.toml");
  if (!config.ok()) return config.status();
  world.config = std::move(config.value());
  auto registry = Registry::open(world.config.registry_file());
  if (!registry.ok()) return registry.status();
  world.registry = std::move(registry.value());
  world.plugins = std::make_unique<PluginManager>(world.config, *world.registry);
  if (world.plugins->start() != 0) {
    return Status(Code::internal, "the bench host could not load " + plugin_file().string());
  }
  auto doubler = world.plugins->slot("doubler");
  if (!doubler.ok()) return doubler.status();
  world.doubler = doubler.value();
  return Status();
}

void add(const char* name, std::function<void(benchmark::State&)> body) {
  auto* b = benchmark::RegisterBenchmark(name, std::move(body));
  for (int threads : kThreadCounts)
    b->Threads(threads);
  b->UseRealTime();
}

// A trivial virtual call with `guard` around it.
template <class Guard>
void trivial_calls(benchmark::State& state, Guard guard) {
  const Target* target = &trivial_target();
  std::int64_t acc = 0;
  for (auto _ : state) {
    if (!guard(state, [&] {
          benchmark::DoNotOptimize(target);  // the call stays a real indirect call
          acc = target->step(acc);
        })) {
      break;
    }
  }
  benchmark::DoNotOptimize(acc);
}

// Guards: what a call site does around the call. Each returns false to stop the loop.
constexpr auto no_guard = [](benchmark::State&, auto&& call) {
  call();
  return true;
};

constexpr auto shared_counter = [](benchmark::State&, auto&& call) {
  g_in_flight.calls.fetch_add(1);
  call();
  g_in_flight.calls.fetch_sub(1);
  return true;
};

auto slot_lease(Slot& slot) {
  return [&slot](benchmark::State& state, auto&& call) {
    Lease lease = slot.lease("bench");
    if (!lease.ok()) {
      state.SkipWithError(lease.status().to_string().c_str());
      return false;
    }
    call();
    return true;
  };
}

// Tool::invoke on `version`'s tool, with `guard` around it.
template <class Guard>
void invoke_calls(benchmark::State& state, const LoadedVersion& version, std::string_view args,
                  Guard guard) {
  sdk::Tool* tool = version.get<sdk::Tool>();
  for (auto _ : state) {
    if (!guard(state, [&] {
          benchmark::DoNotOptimize(tool);
          auto result = tool->invoke(args);
          benchmark::DoNotOptimize(result);
        })) {
      break;
    }
  }
}

// The host's path: slot lease, then the tool of the leased version (PluginManager's code
// without the lookup of the slot by name).
void leased_invoke_calls(benchmark::State& state, Slot& slot, std::string_view args) {
  for (auto _ : state) {
    Lease lease = slot.lease("Tool::invoke");
    if (!lease.ok()) {
      state.SkipWithError(lease.status().to_string().c_str());
      break;
    }
    auto result = lease->get<sdk::Tool>()->invoke(args);
    benchmark::DoNotOptimize(result);
  }
}

double ns(const Figures* f) {
  return f != nullptr ? f->real_ns : std::numeric_limits<double>::quiet_NaN();
}

void virtual_summary(const Results& r, std::ostream& out) {
  out << "\n   a trivial virtual call (A: direct, B: shared std::atomic in-flight counter)\n";
  Table calls({"threads", "A direct", "B counter", "moss lease", "moss-A", "moss/A", "moss/B",
               "lease, draining", "draining/B"});
  for (int t : kThreadCounts) {
    double a = ns(r.find(kVirtualDirect, t));
    double b = ns(r.find(kVirtualCounter, t));
    double m = ns(r.find(kVirtualLease, t));
    double d = ns(r.find(kVirtualDraining, t));
    calls.row({std::to_string(t), fixed(a, 2), fixed(b, 2), fixed(m, 2), fixed(m - a, 2),
               fixed(m / a, 2), fixed(m / b, 2), fixed(d, 1), fixed(d / b, 1)});
  }
  calls.print(out);
  double added = ns(r.find(kVirtualLease, 1)) - ns(r.find(kVirtualDirect, 1));
  out << "   goal: <= 10 ns added uncontended: " << fixed(added, 2) << " ns, " << goal(added, 10.0)
      << "\n";
  for (int t : {2, 8}) {
    double ratio = ns(r.find(kVirtualLease, t)) / ns(r.find(kVirtualCounter, t));
    out << "   goal: beat the shared counter at " << t << " threads: moss/B = " << fixed(ratio, 2)
        << ", "
        << (std::isnan(ratio) ? "-"
            : ratio < 1.0     ? "met"
                              : "MISSED")
        << "\n";
  }
  out << "   'lease, draining': the same lease on a slot whose replaced version is still pinned\n"
         "   by a long call, so every release runs Slot::reclaim().\n";
}

void invoke_summary(const Results& r, std::ostream& out) {
  out << "\n   Tool::invoke of an in-memory tool returning \"ok\"\n";
  Table invoke({"threads", "direct", "counter", "moss lease", "lease-direct", "lease/direct",
                "lease/counter"});
  for (int t : kThreadCounts) {
    double d = ns(r.find(kInvokeDirect, t));
    double c = ns(r.find(kInvokeCounter, t));
    double m = ns(r.find(kInvokeLease, t));
    invoke.row({std::to_string(t), fixed(d, 2), fixed(c, 2), fixed(m, 2), fixed(m - d, 2),
                fixed(m / d, 2), fixed(m / c, 2)});
  }
  invoke.print(out);
}

void host_summary(const Results& r, std::ostream& out) {
  out << "\n   the host's call path: fixture-evolvable's Tool::invoke({\"n\":3}) loaded from its "
         "file\n";
  Table host({"threads", "direct", "slot lease", "invoke_tool", "lease-direct", "invoke_tool-lease",
              "invoke_tool/lease"});
  for (int t : kThreadCounts) {
    double d = ns(r.find(kHostDirect, t));
    double l = ns(r.find(kHostLease, t));
    double m = ns(r.find(kHostManager, t));
    host.row({std::to_string(t), fixed(d, 1), fixed(l, 1), fixed(m, 1), fixed(l - d, 1),
              fixed(m - l, 1), fixed(m / l, 2)});
  }
  host.print(out);
  out << "   invoke_tool = PluginManager::invoke_tool(\"doubler\", ...): the slot looked up by "
         "name\n   under the manager's mutex, then the same lease and call.\n";
}

void summary(const Results& r, std::ostream& out) {
  if (!r.ran("call/")) return;
  out << "\n1. Call overhead in ns per call = wall time / calls of all threads together. With T\n"
         "   threads on C free cores, one call's own cost is about that x min(T, C).\n";
  if (r.ran("call/virtual/")) virtual_summary(r, out);
  if (r.ran("call/tool_invoke/")) invoke_summary(r, out);
  if (r.ran("call/host_doubler/")) host_summary(r, out);
}

}  // namespace

Result<Group> call_overhead_group() {
  auto world = std::make_shared<CallWorld>();
  Status built = build(*world);
  if (!built.ok()) return built;
  CallWorld* w = world.get();

  add(kVirtualDirect, [](benchmark::State& s) { trivial_calls(s, no_guard); });
  add(kVirtualCounter, [](benchmark::State& s) { trivial_calls(s, shared_counter); });
  add(kVirtualLease, [w](benchmark::State& s) { trivial_calls(s, slot_lease(w->slot)); });
  add(kVirtualDraining,
      [w](benchmark::State& s) { trivial_calls(s, slot_lease(w->draining_slot)); });

  add(kInvokeDirect,
      [w](benchmark::State& s) { invoke_calls(s, *w->version, kStaticArgs, no_guard); });
  add(kInvokeCounter,
      [w](benchmark::State& s) { invoke_calls(s, *w->version, kStaticArgs, shared_counter); });
  add(kInvokeLease, [w](benchmark::State& s) { leased_invoke_calls(s, w->slot, kStaticArgs); });

  add(kHostDirect,
      [w](benchmark::State& s) { invoke_calls(s, *w->doubler->active(), kDoublerArgs, no_guard); });
  add(kHostLease, [w](benchmark::State& s) { leased_invoke_calls(s, *w->doubler, kDoublerArgs); });
  add(kHostManager, [w](benchmark::State& s) {
    for (auto _ : s) {
      auto result = w->plugins->invoke_tool("doubler", kDoublerArgs);
      if (!result.ok()) {
        s.SkipWithError(result.status().to_string().c_str());
        break;
      }
      benchmark::DoNotOptimize(result);
    }
  });

  Group group;
  group.fixtures = world;
  group.summary = summary;
  return group;
}

}  // namespace moss::bench
