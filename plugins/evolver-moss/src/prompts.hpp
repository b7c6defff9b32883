// evolver-moss: the prompt templates. prompts/*.txt are the one source of truth: CMake
// compiles them in as the built-in prompts, and prompt_dir can point at edited copies.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

// prompts/analyze.txt and prompts/propose.txt as they were at build time (generated from
// builtin_prompts.cpp.in).
extern const std::string_view kBuiltinAnalyzePrompt;
extern const std::string_view kBuiltinProposePrompt;

// Replaces each {{name}} in `text` with values[name], in one pass (values are not scanned
// again). Only `name`s made of a-z and _ are placeholders; other {{...}} text, such as
// `{{1}}` in code, stays as it is. failed_precondition naming `origin` for a placeholder
// that has no value.
sdk::Result<std::string> render_prompt(std::string_view text,
                                       const std::map<std::string, std::string>& values,
                                       const std::string& origin);

// The content of the prompt file `path`; failed_precondition saying why it cannot be read.
sdk::Result<std::string> read_prompt_file(const std::string& path);

}  // namespace moss::plugins
