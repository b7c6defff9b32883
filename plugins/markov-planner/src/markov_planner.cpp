// markov-planner: transition and argument counts, and predictions derived from them.
#include "markov_planner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>
#include <utility>

#include <nlohmann/json.hpp>

namespace moss::plugins {
namespace {

using nlohmann::json;
using sdk::Code;
using sdk::Result;
using sdk::Status;

constexpr const char* kStateFormat = "markov-planner/1";

Status invalid(const std::string& message) {
  return Status(Code::invalid_argument, message);
}

bool is_positive_integer(const json& value) {
  return value.is_number_integer() && value.get<std::int64_t>() >= 1;
}

}  // namespace

Result<MarkovConfig> parse_markov_config(std::string_view config_json) {
  json doc = json::parse(config_json.empty() ? std::string_view("{}") : config_json, nullptr,
                         /*allow_exceptions=*/false);
  if (!doc.is_object()) return invalid("config must be a JSON object");
  MarkovConfig config;
  if (auto it = doc.find("max_speculations"); it != doc.end()) {
    if (!is_positive_integer(*it) || it->get<std::int64_t>() > 1000) {
      return invalid("max_speculations: must be an integer in [1, 1000]");
    }
    config.max_speculations = it->get<std::int32_t>();
  }
  if (auto it = doc.find("min_confidence"); it != doc.end()) {
    if (!it->is_number() || !(it->get<double>() >= 0.0 && it->get<double>() <= 1.0)) {
      return invalid("min_confidence: must be a number in [0, 1]");
    }
    config.min_confidence = it->get<double>();
  }
  return config;
}

MarkovPlanner::MarkovPlanner() {
  std::random_device random;
  char prefix[16] = {};
  std::snprintf(prefix, sizeof prefix, "mp%08x", static_cast<unsigned>(random()));
  id_prefix_ = prefix;
}

Status MarkovPlanner::init(const sdk::InitContext& context) {
  auto config = parse_markov_config(context.config_json);
  if (!config.ok()) return config.status();
  std::unique_lock lock(mutex_);
  config_ = config.value();
  return Status();
}

Status MarkovPlanner::learn(const std::vector<sdk::PlannedCall>& trace) {
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (trace[i].tool.empty()) {
      return invalid("trace[" + std::to_string(i) + "]: a call without a tool name");
    }
  }
  std::unique_lock lock(mutex_);
  for (std::size_t i = 1; i < trace.size(); ++i) {
    Transition& t = model_.next[trace[i - 1].tool][trace[i].tool];
    ++t.count;
    ++t.arguments[trace[i].arguments_json];
  }
  ++model_.traces;
  return Status();
}

Result<std::vector<sdk::Prediction>> MarkovPlanner::predict(const sdk::PlannedCall& current,
                                                            std::int32_t max_predictions,
                                                            double min_confidence) const {
  if (std::isnan(min_confidence)) return invalid("min_confidence is NaN");
  std::shared_lock lock(mutex_);
  const auto limit =
      static_cast<std::size_t>(max_predictions > 0 ? max_predictions : config_.max_speculations);
  const double floor = min_confidence >= 0.0 ? min_confidence : config_.min_confidence;

  std::vector<sdk::Prediction> predictions;
  auto from = model_.next.find(current.tool);
  if (from == model_.next.end()) return predictions;
  std::int64_t total = 0;
  for (const auto& [to, transition] : from->second)
    total += transition.count;
  for (const auto& [to, transition] : from->second) {
    // The map is ordered, so among equally frequent argument texts the smallest wins.
    auto best = std::max_element(transition.arguments.begin(), transition.arguments.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    const double confidence = static_cast<double>(best->second) / static_cast<double>(total);
    if (confidence < floor) continue;
    sdk::Prediction p;
    p.call.tool = to;
    p.call.arguments_json = best->first;
    p.confidence = confidence;
    predictions.push_back(std::move(p));
  }
  std::sort(predictions.begin(), predictions.end(), [](const auto& a, const auto& b) {
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    return a.call.tool < b.call.tool;
  });
  if (predictions.size() > limit) predictions.resize(limit);
  for (auto& p : predictions)
    p.id = id_prefix_ + "-" + std::to_string(++next_id_);
  return predictions;
}

std::string MarkovPlanner::stats() const {
  std::shared_lock lock(mutex_);
  std::int64_t transitions = 0;
  std::int64_t patterns = 0;
  for (const auto& [from, targets] : model_.next) {
    patterns += static_cast<std::int64_t>(targets.size());
    for (const auto& [to, transition] : targets)
      transitions += transition.count;
  }
  json stats = {
      {"traces_learned", model_.traces},
      {"transitions", transitions},
      {"patterns_learned", patterns},
      {"tools_with_successors", model_.next.size()},
      {"max_speculations", config_.max_speculations},
      {"min_confidence", config_.min_confidence},
  };
  return stats.dump();
}

std::string MarkovPlanner::export_state() const {
  std::shared_lock lock(mutex_);
  json transitions = json::array();
  for (const auto& [from, targets] : model_.next) {
    for (const auto& [to, transition] : targets) {
      json arguments = json::array();
      for (const auto& [text, count] : transition.arguments) {
        arguments.push_back({{"json", text}, {"count", count}});
      }
      transitions.push_back(
          {{"from", from}, {"to", to}, {"count", transition.count}, {"arguments", arguments}});
    }
  }
  json doc = {{"format", kStateFormat}, {"traces", model_.traces}, {"transitions", transitions}};
  return doc.dump();
}

Status MarkovPlanner::import_state(std::string_view state_json) {
  json doc = json::parse(state_json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return invalid("state: not a JSON object");
  if (doc.value("format", std::string()) != kStateFormat) {
    return invalid(std::string("state: format must be \"") + kStateFormat + "\"");
  }
  auto traces = doc.find("traces");
  if (traces == doc.end() || !traces->is_number_integer() || traces->get<std::int64_t>() < 0) {
    return invalid("state: traces: must be an integer >= 0");
  }
  auto transitions = doc.find("transitions");
  if (transitions == doc.end() || !transitions->is_array()) {
    return invalid("state: transitions: must be an array");
  }
  Model next;
  next.traces = traces->get<std::int64_t>();
  for (std::size_t i = 0; i < transitions->size(); ++i) {
    const json& entry = (*transitions)[i];
    const std::string where = "state: transitions[" + std::to_string(i) + "]: ";
    if (!entry.is_object()) return invalid(where + "must be an object");
    auto from = entry.find("from");
    auto to = entry.find("to");
    if (from == entry.end() || !from->is_string() || from->get_ref<const std::string&>().empty() ||
        to == entry.end() || !to->is_string() || to->get_ref<const std::string&>().empty()) {
      return invalid(where + "from and to: must be non-empty strings");
    }
    auto count = entry.find("count");
    if (count == entry.end() || !is_positive_integer(*count)) {
      return invalid(where + "count: must be an integer >= 1");
    }
    auto& targets = next.next[from->get<std::string>()];
    if (targets.count(to->get<std::string>()) != 0) return invalid(where + "a repeated transition");
    Transition& t = targets[to->get<std::string>()];
    t.count = count->get<std::int64_t>();
    auto arguments = entry.find("arguments");
    if (arguments == entry.end() || !arguments->is_array() || arguments->empty()) {
      return invalid(where + "arguments: must be a non-empty array");
    }
    std::int64_t sum = 0;
    for (const json& argument : *arguments) {
      auto text = argument.is_object() ? argument.find("json") : argument.end();
      auto n = argument.is_object() ? argument.find("count") : argument.end();
      if (!argument.is_object() || text == argument.end() || !text->is_string() ||
          n == argument.end() || !is_positive_integer(*n)) {
        return invalid(where +
                       "arguments: each must be {\"json\": string, \"count\": integer >= 1}");
      }
      if (!t.arguments.emplace(text->get<std::string>(), n->get<std::int64_t>()).second) {
        return invalid(where + "arguments: a repeated argument text");
      }
      sum += n->get<std::int64_t>();
    }
    if (sum != t.count) {
      return invalid(where + "arguments: counts sum to " + std::to_string(sum) + ", not count " +
                     std::to_string(t.count));
    }
  }
  std::unique_lock lock(mutex_);
  model_ = std::move(next);
  return Status();
}

}  // namespace moss::plugins
