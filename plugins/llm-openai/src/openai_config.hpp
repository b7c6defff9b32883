// llm-openai's settings: the [plugins.<name>] table, parsed and checked again by the plugin so
// the class also refuses a bad table when it is used outside the host (tests, other hosts).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <moss/sdk/sdk.hpp>

namespace moss::plugins::openai {

// Bounds shared by the declared schema (plugin.cpp) and parse_openai_config.
inline constexpr std::int64_t kMaxTimeoutMs = 3'600'000;       // one hour
inline constexpr std::int64_t kMaxConnectTimeoutMs = 600'000;  // ten minutes
inline constexpr std::int32_t kMaxRetries = 10;
inline constexpr std::int64_t kMaxRetryBackoffMs = 60'000;

struct OpenAiConfig {
  // The API root; requests go to base_url + "/chat/completions". No trailing slash.
  std::string base_url = "http://127.0.0.1:8080/v1";
  std::string model;                 // used when ChatRequest::model is empty; may be empty too
  std::string api_key_env;           // the environment variable holding the key; empty: no key
  std::int64_t timeout_ms = 60'000;  // one HTTP attempt, from connect to last byte
  std::int64_t connect_timeout_ms = 5'000;  // the TCP (and TLS) connect of one attempt
  std::int32_t max_retries = 3;             // extra attempts after the first one
  std::int64_t retry_backoff_ms = 500;      // the first retry's delay, doubled each time
  double price_per_1k_prompt = 0.0;         // USD per 1000 prompt tokens
  double price_per_1k_completion = 0.0;     // USD per 1000 completion tokens
  bool stream = false;                      // stream (SSE) even when ChatRequest::stream is false
};

// Parses the config JSON ("" means {}). invalid_argument naming the key when a value has the
// wrong type or range, when a key is unknown, and for an `api_key` key: the key itself is
// never taken from the config.
sdk::Result<OpenAiConfig> parse_openai_config(std::string_view config_json);

// `url` without credentials, for messages: "http://user:secret@host/v1" -> "http://host/v1".
std::string redact_url(std::string_view url);

}  // namespace moss::plugins::openai
