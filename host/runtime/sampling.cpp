// Percentile bootstrap: no distributional assumption about scores, which are bounded and
// often bimodal (a case passes or it does not), so a t-interval would be a poor fit.
#include "runtime/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace moss {
namespace {

constexpr int kResamples = 4000;
constexpr std::uint64_t kSeed = 0x6d6f7373;  // fixed: the same scores give the same verdict

double pair_ratio(double candidate, double baseline) {
  if (baseline > 0.0) return candidate / baseline;
  return candidate > 0.0 ? 2.0 : 1.0;
}

}  // namespace

RatioInterval ratio_interval(const std::vector<double>& candidate,
                             const std::vector<double>& baseline, double confidence,
                             double threshold) {
  RatioInterval interval;
  const std::size_t n = std::min(candidate.size(), baseline.size());
  std::vector<double> ratios(n);
  for (std::size_t i = 0; i < n; ++i)
    ratios[i] = pair_ratio(candidate[i], baseline[i]);
  if (n == 0) {
    interval.verdict = "Inconclusive";
    return interval;
  }
  interval.mean = std::accumulate(ratios.begin(), ratios.end(), 0.0) / static_cast<double>(n);

  std::mt19937_64 rng(kSeed);
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  std::vector<double> means(kResamples);
  for (double& mean : means) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      sum += ratios[pick(rng)];
    mean = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const double tail = (1.0 - confidence) / 2.0;
  auto at = [&](double q) {
    auto index = static_cast<std::size_t>(std::floor(q * static_cast<double>(kResamples - 1)));
    return means[std::min(index, means.size() - 1)];
  };
  interval.lower = at(tail);
  interval.upper = at(1.0 - tail);
  if (interval.lower >= threshold) {
    interval.verdict = "Successful";
  } else if (interval.upper < threshold) {
    interval.verdict = "Failed";
  } else {
    interval.verdict = "Inconclusive";
  }
  return interval;
}

}  // namespace moss
