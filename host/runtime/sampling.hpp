// The sampled Ratchet mode: baseline and candidate run interleaved R times; the verdict
// comes from a confidence interval of the candidate/baseline score ratio, not one number.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moss {

struct RatioInterval {
  double mean = 0.0;   // mean of the per-pair ratios candidate_i / baseline_i
  double lower = 0.0;  // the interval at the requested confidence
  double upper = 0.0;
  // Successful: lower >= threshold. Failed: upper < threshold. Inconclusive: otherwise.
  std::string verdict;
};

// Pairs candidate[i] with baseline[i] (both in [0,1], same length >= 2). A pair with a zero
// baseline has ratio 1 if the candidate is also 0, else 2 (a candidate that works where the
// baseline scored nothing counts as a clear improvement). The interval is a percentile
// bootstrap of the mean ratio with a fixed seed, so the same scores give the same verdict.
RatioInterval ratio_interval(const std::vector<double>& candidate,
                             const std::vector<double>& baseline, double confidence,
                             double threshold);

}  // namespace moss
