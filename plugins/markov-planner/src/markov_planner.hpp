// markov-planner: a first-order Markov model of tool calls (IdleSpec's predictor) as a moss
// Planner. It keeps raw counts and derives probabilities when asked.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

struct MarkovConfig {
  std::int32_t max_speculations = 3;  // used when predict() is given max_predictions <= 0
  double min_confidence = 0.6;        // used when predict() is given min_confidence < 0
};

sdk::Result<MarkovConfig> parse_markov_config(std::string_view config_json);

class MarkovPlanner {
 public:
  MarkovPlanner();

  sdk::Status init(const sdk::InitContext& context);

  // Counts each consecutive pair of calls (from tool -> to tool) and the exact argument text
  // of the second call. A trace with a nameless call is refused whole.
  sdk::Status learn(const std::vector<sdk::PlannedCall>& trace);

  // One prediction per tool seen after `current.tool`, carrying that tool's most frequent
  // arguments. Its confidence is the probability of that exact call (tool and arguments),
  // since speculation only pays off when both match: count(from -> to with those arguments)
  // / count(from -> anything).
  sdk::Result<std::vector<sdk::Prediction>> predict(const sdk::PlannedCall& current,
                                                    std::int32_t max_predictions,
                                                    double min_confidence) const;

  std::string stats() const;
  std::string export_state() const;
  // All or nothing: a document that fails validation leaves the model unchanged.
  sdk::Status import_state(std::string_view state_json);

 private:
  struct Transition {
    std::int64_t count = 0;
    std::map<std::string, std::int64_t> arguments;  // argument text -> count; sums to count
  };
  struct Model {
    std::map<std::string, std::map<std::string, Transition>> next;  // from -> to -> counts
    std::int64_t traces = 0;
  };

  mutable std::shared_mutex mutex_;
  MarkovConfig config_;
  Model model_;
  std::string id_prefix_;  // differs per object, so ids stay unique across versions
  mutable std::atomic<std::uint64_t> next_id_{0};
};

}  // namespace moss::plugins
