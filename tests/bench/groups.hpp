// The benchmark groups of bench_swap. Each registers its benchmarks with Google Benchmark and
// returns what they use (kept alive for the whole run) and the summary that prints its
// baselines and ratios after the run.
#pragma once

#include <memory>
#include <string>

#include "support.hpp"

namespace moss::bench {

struct Group {
  std::shared_ptr<void> fixtures;  // what the benchmarks use; destroyed after the run
  Summary summary;
  std::string facts;  // setup facts printed at the top of the summary
};

// 1. Call overhead at 1, 2 and 8 threads: a lease against a direct virtual call and against
// a shared in-flight counter; Tool::invoke with and without a lease; the host's call path.
sdk::Result<Group> call_overhead_group();

// 2. Swap latency: promote (publish + drain) of a loaded version, with and without unloading
// the replaced one, idle and with a caller leasing in a loop.
// 3. Load + check + promote of a real file against a bare dlopen + dlsym of the same file.
sdk::Result<Group> swap_group();

// 4. Rollback during probation to the kept predecessor: VersionControl::rollback, the
// automatic rollback after a failing live window, and the latter's phases.
sdk::Result<Group> rollback_probation_group();

}  // namespace moss::bench
