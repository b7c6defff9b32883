// llm-replay: an LLM backend that answers from a file of recorded exchanges. It exists for
// offline demos and deterministic tests; it never contacts a model.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins {

// match: answer with the first unused record whose `match` occurs in the last user message.
// sequence: answer with the records in file order, whatever the request.
enum class ReplayMode : std::int32_t { match = 1, sequence = 2 };

struct ReplayConfig {
  std::string file;  // JSONL of recorded exchanges; relative paths resolve against the cwd
  ReplayMode mode = ReplayMode::match;
  double price_per_1k_prompt = 0.0;      // USD per 1000 prompt tokens
  double price_per_1k_completion = 0.0;  // USD per 1000 completion tokens
};

sdk::Result<ReplayConfig> parse_replay_config(std::string_view config_json);

struct ReplayRecord {
  std::string match;           // required in match mode
  sdk::ChatResponse response;  // message, finish_reason and token counts as recorded
  int line = 0;                // 1-based line in the file, for messages
};

// Parses the JSONL text of a replay file; blank lines are skipped. `origin` (the file name)
// and the line number prefix every error.
sdk::Result<std::vector<ReplayRecord>> parse_replay_records(std::string_view text,
                                                            const std::string& origin,
                                                            ReplayMode mode);

class LlmReplay {
 public:
  // Loads `file` once; a malformed line fails init with its line number.
  sdk::Status init(const sdk::InitContext& context);
  sdk::BackendInfo info() const;
  // Answers from the next fitting record and marks it used. not_found when none fits.
  // The sink is not used: the backend does not stream.
  sdk::Result<sdk::ChatResponse> chat(const sdk::ChatRequest& request, sdk::ChatStreamSink* sink);
  // Records not yet used.
  std::size_t remaining() const;

 private:
  mutable std::mutex mutex_;
  ReplayConfig config_;
  std::vector<ReplayRecord> records_;
  std::vector<bool> used_;
  std::size_t next_in_sequence_ = 0;
};

}  // namespace moss::plugins
