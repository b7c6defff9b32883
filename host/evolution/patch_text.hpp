// The parts of patch checking and application that need no repository: the path rules, the
// body checks, and SEARCH/REPLACE blocks. The Workspace calls these before it touches git.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "evolution/workspace.hpp"
#include "util/status.hpp"

namespace moss {

// Checks one path that a patch writes or removes. Refused (invalid_argument), in this order:
//   - a component "sdk", or components "include/moss" -> "'p' touches the SDK";
//   - empty, absolute, "..", or outside every editable root
//     -> "'p' is outside the plugin's source (editable: src/)";
//   - an empty or "." component, a ".git" component, a backslash or a control character
//     -> "'p' is not a plain relative path".
Status check_patch_path(std::string_view path, const PatchRules& rules);

// "src/" or "src/, lib/": the editable roots as the refusal messages show them.
std::string editable_roots_text(const PatchRules& rules);

// Checks the patch body: at most rules.max_patch_bytes ("patch is N bytes, the limit is M"),
// and text ("binary patch: ..." for a NUL byte).
Status check_patch_body(std::string_view body, const PatchRules& rules);

// Checks content that a patch would leave in `path`: at most rules.max_file_bytes, no NUL.
Status check_patch_result(std::string_view path, std::string_view content, const PatchRules& rules);

// Whether `content` is binary. moss (like git) calls content with a NUL byte binary.
bool is_binary(std::string_view content);

// Applies the SEARCH/REPLACE blocks of `body` (the format documented in sdk/evolver.hpp) to
// `current`, the content of `path`, or nullopt when the file does not exist. A SEARCH text
// matches only at the start of a line. Errors (invalid_argument) name the block and the file:
// "SEARCH block 2 does not match src/x.cpp", "SEARCH block 2 matches 3 places in src/x.cpp".
Result<std::string> apply_search_replace(const std::optional<std::string>& current,
                                         std::string_view body, std::string_view path);

}  // namespace moss
