// evolver-moss: the MOSS Evolver. It asks the host's LLM why a task failed and how to fix the
// faulty plugin's source, and turns the answers into a FailurePattern and a Patch (a unified
// diff, SEARCH/REPLACE blocks or a complete file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

// FNV-1a, 64 bits, as 16 lower-case hex digits. Stable across builds and platforms.
std::string fnv1a64_hex(std::string_view text);

// The plugin's settings; README.md has the table.
struct EvolverConfig {
  std::string prompt_dir;  // absolute once init has resolved it; empty: the built-in prompts
  std::size_t max_reply_bytes = 262144;
  double temperature = 0.0;
  std::int32_t max_tokens = 0;  // 0: the backend's default
};

// Reads the [plugins.<name>] table (as JSON). invalid_argument naming the key for a wrong
// type, an out-of-range value or an unknown key. A relative prompt_dir is resolved against
// `config_dir` when that is not empty.
sdk::Result<EvolverConfig> parse_evolver_config(std::string_view config_json,
                                                std::string_view config_dir);

class MossEvolver {
 public:
  // Reads the config. With prompt_dir set, the directory must hold analyze.txt and
  // propose.txt, both using only known placeholders; they are read again at every call.
  sdk::Status init(const sdk::InitContext& context);

  sdk::Result<sdk::FailurePattern> analyze(const sdk::FailureReport& failure);
  sdk::Result<sdk::Patch> propose(const sdk::FailurePattern& pattern,
                                  const std::vector<sdk::SourceFile>& sources,
                                  std::string_view context);

 private:
  // The prompt `file_name` (from prompt_dir, read now, or built in) rendered with `values`.
  sdk::Result<std::string> prompt(const char* file_name,
                                  const std::map<std::string, std::string>& values) const;
  sdk::Result<sdk::ChatResponse> ask(const std::string& prompt, const char* purpose);

  sdk::HostServices* host_ = nullptr;
  sdk::Logger* logger_ = nullptr;
  EvolverConfig config_;
};

}  // namespace moss::plugins
