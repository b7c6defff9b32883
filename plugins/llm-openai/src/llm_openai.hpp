// llm-openai: an LLMBackend for any server speaking OpenAI's chat-completions API (llama.cpp's
// server, Ollama, vLLM, OpenAI), over libcurl, with retries, streaming and error mapping.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <moss/sdk/sdk.hpp>

#include "http_client.hpp"
#include "openai_config.hpp"

namespace moss::plugins {

class LlmOpenAi {
 public:
  // Reads the config and the API key from the environment variable api_key_env names;
  // refuses the config if that variable is unset or empty.
  sdk::Status init(const sdk::InitContext& context);
  sdk::BackendInfo info() const;
  // POSTs the request to base_url + "/chat/completions", streaming (SSE) when the request or
  // the config asks for it, and retries 429, 5xx and connection failures with backoff.
  // Errors: unavailable, deadline_exceeded, resource_exhausted, context_overflow,
  // invalid_reply, invalid_argument, failed_precondition (401/403); every message names the
  // URL and the HTTP status. Thread-safe.
  sdk::Result<sdk::ChatResponse> chat(const sdk::ChatRequest& request, sdk::ChatStreamSink* sink);

  // Replaces the wait between retries (default: std::this_thread::sleep_for), so tests can
  // record the delays instead of waiting. Call before the first chat().
  void set_sleep_for_testing(std::function<void(std::int64_t delay_ms)> sleep);

 private:
  struct Attempt;
  Attempt attempt_once(const std::string& body, bool streaming, sdk::ChatStreamSink* sink);

  openai::OpenAiConfig config_;
  std::string api_key_;    // from the environment; never logged or put in a message
  std::string url_;        // base_url + "/chat/completions"
  std::string shown_url_;  // url_ without credentials, for messages
  sdk::Logger* logger_ = nullptr;
  std::unique_ptr<openai::HttpClient> http_;
  std::function<void(std::int64_t)> sleep_;
};

}  // namespace moss::plugins
