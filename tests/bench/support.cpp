// The reporter that collects each benchmark's median and prints the groups' ratio tables,
// and the small helpers the benchmark groups share.
#include "support.hpp"

#include <link.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>

namespace moss::bench {

double Figures::counter(const std::string& name) const {
  auto it = counters.find(name);
  return it == counters.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
}

void Results::add(const benchmark::BenchmarkReporter::Run& run) {
  if (run.error_occurred) return;
  const bool is_median = run.run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate &&
                         run.aggregate_name == "median";
  if (run.run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate && !is_median) return;
  Figures& figures = figures_[run.run_name.function_name + "#" + std::to_string(run.threads)];
  if (figures.median && !is_median) return;  // keep the median over any single repetition
  const double seconds_per_unit = 1.0 / benchmark::GetTimeUnitMultiplier(run.time_unit);
  figures.real_ns = run.GetAdjustedRealTime() * seconds_per_unit * 1e9;
  figures.median = is_median;
  figures.counters.clear();
  for (const auto& [name, counter] : run.counters)
    figures.counters[name] = counter.value;
  repetitions_ = std::max<std::size_t>(repetitions_, static_cast<std::size_t>(run.repetitions));
}

const Figures* Results::find(const std::string& name, int threads) const {
  auto it = figures_.find(name + "#" + std::to_string(threads));
  return it == figures_.end() ? nullptr : &it->second;
}

bool Results::ran(const std::string& prefix) const {
  auto it = figures_.lower_bound(prefix);
  return it != figures_.end() && it->first.starts_with(prefix);
}

void SummaryReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs)
    results_.add(run);
  benchmark::ConsoleReporter::ReportRuns(runs);
}

void SummaryReporter::Finalize() {
  benchmark::ConsoleReporter::Finalize();
  std::ostream& out = GetOutputStream();
  out << "\n==== moss benchmark summary: "
      << (results_.repetitions() > 1
              ? "medians of " + std::to_string(results_.repetitions()) + " repetitions"
              : std::string("single runs (use --benchmark_repetitions for medians)"))
      << "; every ratio compares figures of this run ====\n"
      << preamble_;
  for (const Summary& summary : summaries_)
    summary(results_, out);
  out.flush();
}

double percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(samples.begin(), samples.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(samples.size())));
  return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

void Samples::set_counters(benchmark::State& state, const std::string& prefix) {
  state.counters[prefix + "p50_us"] = percentile(us_, 0.50);
  state.counters[prefix + "p99_us"] = percentile(us_, 0.99);
  state.counters[prefix + "max_us"] = percentile(us_, 1.0);
}

std::filesystem::path plugin_file() {
  const char* chosen = std::getenv("MOSS_BENCH_PLUGIN");
  return chosen != nullptr && *chosen != '\0' ? chosen : MOSS_BENCH_PLUGIN_FILE;
}

PluginCopies::PluginCopies(std::filesystem::path original) : original_(std::move(original)) {}

std::filesystem::path PluginCopies::next() {
  auto copy = dir_ / ("copy-" + std::to_string(++count_) + ".so");
  std::filesystem::copy_file(original_, copy, std::filesystem::copy_options::overwrite_existing);
  return copy;
}

void PluginCopies::remove(const std::filesystem::path& copy) {
  std::error_code ec;
  std::filesystem::remove(copy, ec);
}

std::size_t PluginCopies::still_mapped() const {
  struct Search {
    std::string_view dir{};
    std::size_t found = 0;
  } search{dir_.path().native(), 0};
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (info->dlpi_name != nullptr && std::string_view(info->dlpi_name).starts_with(s->dir))
          ++s->found;
        return 0;
      },
      &search);
  return search.found;
}

namespace {

class IdleHost final : public sdk::HostServices {
 public:
  sdk::Result<sdk::ChatResponse> chat(const sdk::ChatRequest&) noexcept override {
    return sdk::Status(sdk::Code::unavailable, "no backend in a benchmark");
  }
  std::int64_t now_ms() const noexcept override { return 0; }
};

}  // namespace

sdk::InitContext bench_context(const std::string& instance) {
  static sdk::NullLogger logger;
  static IdleHost host;
  sdk::InitContext context;
  context.instance_name = instance;
  context.config_json = "{}";
  context.logger = &logger;
  context.host = &host;
  return context;
}

std::string fixed(double value, int precision) {
  if (std::isnan(value)) return "-";
  char text[64] = {};
  std::snprintf(text, sizeof text, "%.*f", precision, value);
  return text;
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string pad(widths[i] - row[i].size(), ' ');
      line += i == 0 ? row[i] + pad : "  " + pad + row[i];
    }
    out << "  " << line << "\n";
  }
}

std::string goal(double value, double limit) {
  if (std::isnan(value)) return "-";
  return value <= limit ? "met" : "MISSED";
}

}  // namespace moss::bench
