// What the moss benchmarks share: the figures the reporter collects (so each group can print
// its baselines and ratios side by side), percentiles of recorded samples, fresh copies of a
// plugin file that dlopen cannot dedupe, and an InitContext without the Catch2 harness.
#pragma once

#include <moss/sdk/sdk.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace moss::bench {

// One benchmark instance as the reporter saw it: the median of the repetitions when there
// are several, else the single run.
struct Figures {
  double real_ns = 0;  // wall time per iteration, all threads together (Google Benchmark's Time)
  std::map<std::string, double> counters;
  bool median = false;  // from the median aggregate (false: a single run)

  double counter(const std::string& name) const;  // NaN if absent
};

class Results {
 public:
  void add(const benchmark::BenchmarkReporter::Run& run);
  // The figures of benchmark `name` run with `threads` threads; null if it did not run
  // (filtered out, or it failed).
  const Figures* find(const std::string& name, int threads = 1) const;
  // True if any benchmark whose name starts with `prefix` ran.
  bool ran(const std::string& prefix) const;
  std::size_t repetitions() const { return repetitions_; }

 private:
  std::map<std::string, Figures> figures_;
  std::size_t repetitions_ = 1;
};

// A group's ratio tables, printed after all benchmarks ran (nothing for what did not run).
using Summary = std::function<void(const Results&, std::ostream&)>;

// Console output plus the summaries at the end.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter(OutputOptions options, std::vector<Summary> summaries, std::string preamble)
      : benchmark::ConsoleReporter(options),
        summaries_(std::move(summaries)),
        preamble_(std::move(preamble)) {}

  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  Results results_;
  std::vector<Summary> summaries_;
  std::string preamble_;
};

// The p-th percentile (0 < p <= 1) by nearest rank; NaN for no samples. Sorts `samples`.
double percentile(std::vector<double>& samples, double p);

// Durations of one timed step per iteration, turned into p50/p99 counters (in µs).
class Samples {
 public:
  void reserve(std::size_t n) { us_.reserve(n); }
  void add(std::chrono::steady_clock::duration d) {
    us_.push_back(std::chrono::duration<double, std::micro>(d).count());
  }
  double median_us() { return percentile(us_, 0.50); }
  // Sets <prefix>p50_us, <prefix>p99_us and <prefix>max_us.
  void set_counters(benchmark::State& state, const std::string& prefix = "");

 private:
  std::vector<double> us_;
};

// The plugin file the benchmarks load: MOSS_BENCH_PLUGIN if set, else fixture-evolvable-good.
std::filesystem::path plugin_file();

// Fresh copies of a plugin file in a temporary directory. Each copy is a new inode, so
// dlopen loads it anew instead of returning the handle of an earlier copy still mapped.
class PluginCopies {
 public:
  explicit PluginCopies(std::filesystem::path original);
  std::filesystem::path next();
  void remove(const std::filesystem::path& copy);
  // Copies whose library is still mapped in this process (dlclose did not unload them).
  std::size_t still_mapped() const;

 private:
  std::filesystem::path original_;
  test::TempDir dir_;
  std::uint64_t count_ = 0;
};

// An InitContext for bench objects: a null logger and host services that answer nothing.
sdk::InitContext bench_context(const std::string& instance);

// Renders a double with `precision` decimals, or "-" for NaN.
std::string fixed(double value, int precision);

// A plain text table: the first column left-aligned, the others right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "met" or "MISSED" for a goal; "-" when the figure is missing.
std::string goal(double value, double limit);

}  // namespace moss::bench
