// The host uses the SDK's Status and Result types too, so errors flow unchanged from a
// plugin through the host to the CLI.
#pragma once

#include <moss/sdk/status.hpp>

namespace moss {

using sdk::Code;
using sdk::Result;
using sdk::Status;

inline Status make_error(Code code, std::string message) {
  return Status(code, std::move(message));
}

}  // namespace moss
