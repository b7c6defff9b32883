// evolver-moss: the MOSS Evolver. It asks the host's LLM for a failure's root cause and
// for the fixed source of the faulty plugin, and turns the answers into a pattern and a patch.
// Minimal for now: one full-file patch per proposal.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

// FNV-1a, 64 bits, as 16 lower-case hex digits. Stable across builds and platforms.
std::string fnv1a64_hex(std::string_view text);

// The text of the first balanced JSON object in `reply` that parses: first inside ```json
// fences, then anywhere. invalid_reply, with the reason, if there is none.
sdk::Result<std::string> first_json_object(std::string_view reply);

// A fenced code block (``` or longer) found in a reply.
struct FencedBlock {
  std::string info;    // the info string after the opening fence, e.g. "cpp"
  std::string body;    // the lines between the fences, each ending in '\n'
  std::string before;  // the reply's text before the opening fence
};
// The first fenced block of `reply`; invalid_reply if there is none or it is not closed.
sdk::Result<FencedBlock> first_fenced_block(std::string_view reply);

// Replaces each {{name}} in `text` with values[name], in one pass (values are not scanned
// again). failed_precondition naming `origin` for a {{name}} that has no value.
sdk::Result<std::string> render_prompt(std::string_view text,
                                       const std::map<std::string, std::string>& values,
                                       const std::string& origin);

// The built-in prompts, used when prompt_dir is empty.
extern const char* const kAnalyzePrompt;
extern const char* const kProposePrompt;

class MossEvolver {
 public:
  // Config: {"prompt_dir": ""}; if set, it must be a directory holding analyze.txt and
  // propose.txt, which are read at every call.
  sdk::Status init(const sdk::InitContext& context);

  sdk::Result<sdk::FailurePattern> analyze(const sdk::FailureReport& failure);
  sdk::Result<sdk::Patch> propose(const sdk::FailurePattern& pattern,
                                  const std::vector<sdk::SourceFile>& sources,
                                  std::string_view context);

 private:
  sdk::Result<std::string> prompt(const char* file_name, const char* builtin,
                                  const std::map<std::string, std::string>& values) const;
  sdk::Result<std::string> ask(const std::string& prompt, const char* purpose);

  sdk::HostServices* host_ = nullptr;
  sdk::Logger* logger_ = nullptr;
  std::string prompt_dir_;
};

}  // namespace moss::plugins
