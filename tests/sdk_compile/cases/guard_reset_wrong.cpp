// expect: as_guard<T>: T::reset must be `void reset(const GuardReset&)`
#include <moss/sdk/sdk.hpp>
struct G {
  moss::sdk::Result<moss::sdk::Verdict> pre_check(const moss::sdk::GuardTask&) { return moss::sdk::Verdict{}; }
  void reset(double) {}
};
MOSS_PLUGIN("guard", "1.0.0", moss::sdk::kNoConfig, moss::sdk::as_guard<G>)
