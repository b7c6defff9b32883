// bench_swap: the benchmarks of issue 3 (call overhead, swap latency, load + promote, rollback
// during probation), each next to its baselines, then a summary of ratios computed from this
// run alone.
//
//   bench_swap                                   all groups, 5 repetitions, medians
//   bench_swap --benchmark_filter='^call/'       one group (call/, swap/, load/ or rollback/)
//   MOSS_BENCH_PLUGIN=/path/x.so bench_swap      another fixture-evolvable build
//
// Flags on the command line come after the defaults (5 repetitions, aggregates only), and
// Google Benchmark keeps the last occurrence of a flag, so they override them.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "groups.hpp"
#include "logging/logging.hpp"
#include "runtime/lease.hpp"

int main(int argc, char** argv) {
  moss::LoggingConfig quiet;
  quiet.level = "error";
  (void)moss::configure_logging(quiet, 0);

  std::vector<std::string> defaults = {"--benchmark_repetitions=5",
                                       "--benchmark_report_aggregates_only=true"};
  std::vector<char*> args = {argv[0]};
  for (std::string& flag : defaults)
    args.push_back(flag.data());
  for (int i = 1; i < argc; ++i)
    args.push_back(argv[i]);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 2;

  std::vector<moss::bench::Group> groups;
  for (auto make : {moss::bench::call_overhead_group, moss::bench::swap_group,
                    moss::bench::rollback_probation_group}) {
    auto group = make();
    if (!group.ok()) {
      std::cerr << "bench_swap: setup failed: " << group.status().to_string() << "\n";
      return 1;
    }
    groups.push_back(std::move(group.value()));
  }

  std::string facts = std::string("reader fence: ") +
                      (moss::lease_detail::g_light_reader_fence
                           ? "compiler barrier (membarrier PRIVATE_EXPEDITED registered)\n"
                           : "full fence (membarrier unavailable)\n");
  std::vector<moss::bench::Summary> summaries;
  for (const auto& group : groups) {
    facts += group.facts;
    summaries.push_back(group.summary);
  }
  auto options = benchmark::ConsoleReporter::OO_Tabular;
  if (::isatty(STDOUT_FILENO)) options = benchmark::ConsoleReporter::OO_ColorTabular;
  moss::bench::SummaryReporter reporter(options, std::move(summaries), std::move(facts));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
