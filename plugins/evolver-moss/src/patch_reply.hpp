// evolver-moss: reads an LLM's answer to the propose prompt as an sdk::Patch, in one of the
// three forms the SDK defines, or says exactly why it cannot.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

// The longest description taken from the reply's prose, in bytes (cut on a UTF-8 boundary).
inline constexpr std::size_t kMaxDescriptionBytes = 400;

// Reads `reply` as a patch to `sources`. The forms, tried in this order:
//   1. unified diff (a ```diff/```patch fence, a fence that starts with a diff header, or raw
//      "diff --git" / "--- "+"+++ " lines): body is every diff found, in order;
//   2. SEARCH/REPLACE blocks for one file: body is the blocks in canonical form;
//   3. the complete content of one file in a fenced block.
// CRLF becomes LF first. `description` is the prose before the code, or empty if there is
// none. Returns invalid_reply, with the reason, for a reply larger than `max_reply_bytes`,
// binary content, an empty reply, a reply without code, and the form-specific faults that
// README.md lists. Never validates paths beyond choosing one: the host does that.
sdk::Result<sdk::Patch> parse_patch_reply(std::string_view reply,
                                          const std::vector<sdk::SourceFile>& sources,
                                          std::size_t max_reply_bytes);

}  // namespace moss::plugins
