// Kept apart from the benchmarks on purpose: without LTO the call stays a real indirect call.
#include "target.hpp"

namespace moss::bench {
namespace {

class Increment final : public Target {
 public:
  std::int64_t step(std::int64_t x) const noexcept override { return x + 1; }
};

}  // namespace

const Target& trivial_target() {
  static const Increment target;
  return target;
}

}  // namespace moss::bench
