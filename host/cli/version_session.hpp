// What the commands that change plugin versions share (version_commands.cpp,
// evolve_commands.cpp): a session holding the state lock and a VersionControl.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "registry/registry.hpp"
#include "runtime/version_control.hpp"

namespace moss::cli {

// A version-changing session: it holds the state lock, so versions and evolution attempts a
// dead process left unfinished are abandoned first.
struct VersionSession : Session {
  std::string actor = actors::cli;
  std::unique_ptr<VersionControl> versions;
};

// Opens it; returns the exit code on failure (after printing why), kExitOk otherwise.
int open_session(Context& context, VersionSession& session);

// The exit code for a refused or failed version change.
int exit_code_for_change(const Status& status);

nlohmann::json version_brief(const VersionRow& v);
// "version 3 (1.0.0, sha256 0123456789ab)".
std::string describe(const VersionRow& v);

}  // namespace moss::cli
