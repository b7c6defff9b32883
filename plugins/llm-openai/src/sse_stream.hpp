// Streamed chat completions: Server-Sent Events split into events across arbitrary network
// chunk boundaries, and the chunks' deltas (text and tool-call fragments) merged into one reply.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <moss/sdk/sdk.hpp>

#include "openai_wire.hpp"

namespace moss::plugins::openai {

// Groups an SSE byte stream into events. Lines may end in \n, \r\n or \r, and may be split
// anywhere between feed() calls. `data:` lines are joined with \n; a blank line ends an event.
// An `event:` name is passed on, and llama.cpp's non-standard `error: <json>` line becomes an
// event named "error". Comments (`:`), `id:`, `retry:` and unknown fields are skipped.
class SseReader {
 public:
  // Called once per event; returns false to stop reading (later input is ignored).
  using EventHandler = std::function<bool(std::string_view event, std::string_view data)>;

  explicit SseReader(EventHandler on_event) : on_event_(std::move(on_event)) {}
  void feed(std::string_view bytes);
  // Ends the stream: an event not yet closed by a blank line is delivered.
  void finish();
  bool stopped() const { return stopped_; }

 private:
  void take_line(std::string_view line);
  void dispatch();

  EventHandler on_event_;
  std::string line_;  // the current line, not yet ended
  bool after_cr_ = false;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
  bool stopped_ = false;
};

// Merges the chunks of a streamed chat completion. Text fragments go to the sink (if any) as
// they arrive. Tool-call fragments are matched to their call by `index`; without an index, by
// `id`; without either, to the last call, unless the fragment names a function and the last
// call already has a name, which starts a new call. `arguments` strings are concatenated; an
// object replaces what came before.
class StreamAccumulator {
 public:
  explicit StreamAccumulator(sdk::ChatStreamSink* sink) : sink_(sink) {}

  // Takes one SSE event. Returns false when the stream must stop: [DONE], an error event
  // (see server_error()), or a malformed chunk (see failure()).
  bool on_event(std::string_view event, std::string_view data);

  // True once any data event arrived (a chunk, [DONE], an error, or a malformed chunk).
  bool saw_chunks() const {
    return chunks_ > 0 || done_ || server_error_.has_value() || !failure_.ok();
  }
  bool done() const { return done_; }
  bool sent_text() const { return sent_text_; }
  const std::optional<ServerError>& server_error() const { return server_error_; }
  // The raw data of the error event, for classify_error_reply.
  const std::string& server_error_data() const { return server_error_data_; }
  const sdk::Status& failure() const { return failure_; }

  // The reply so far. invalid_reply if no chunk carried a choice.
  sdk::Result<sdk::ChatResponse> finish() const;

 private:
  struct PartialCall {
    std::int64_t index = -1;  // -1: the server sent none
    std::string id;
    std::string name;
    std::string arguments;
  };
  void merge_tool_call(const nlohmann::json& fragment);

  sdk::ChatStreamSink* sink_ = nullptr;
  std::int64_t chunks_ = 0;
  bool done_ = false;
  bool sent_text_ = false;
  bool saw_choice_ = false;
  std::optional<ServerError> server_error_;
  std::string server_error_data_;
  sdk::Status failure_;
  std::string content_;
  std::vector<PartialCall> calls_;
  std::string finish_reason_;
  std::string model_;
  sdk::Usage usage_;
};

}  // namespace moss::plugins::openai
