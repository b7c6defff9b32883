// The call every call-overhead benchmark makes: a trivial virtual defined in another
// translation unit, so the compiler cannot inline or devirtualize it.
#pragma once

#include <cstdint>

namespace moss::bench {

class Target {
 public:
  virtual ~Target() = default;
  virtual std::int64_t step(std::int64_t x) const noexcept = 0;
};

// A process-wide Target whose step returns x + 1. Safe to call from any thread.
const Target& trivial_target();

}  // namespace moss::bench
