// expect: as_planner<T>: T must have both export_state() and import_state(std::string_view)
#include <moss/sdk/sdk.hpp>
struct P {
  void learn(const std::vector<moss::sdk::PlannedCall>&) {}
  std::vector<moss::sdk::Prediction> predict(const moss::sdk::PlannedCall&, std::int32_t, double) { return {}; }
  std::string export_state() const { return "{}"; }
};
MOSS_PLUGIN("planner", "1.0.0", moss::sdk::kNoConfig, moss::sdk::as_planner<P>)
