// The OpenAI chat-completions wire format: the request body, the reply, and the error
// envelopes servers use (OpenAI, llama.cpp's server, Ollama, vLLM). Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <moss/sdk/sdk.hpp>
#include <nlohmann/json_fwd.hpp>

namespace moss::plugins::openai {

// The JSON body of POST <base_url>/chat/completions. `model` is left out when empty,
// `max_tokens` when 0 and `seed` when -1. A streamed request also asks for usage in the last
// chunk. invalid_argument when a message has an unknown role or a tool's input schema is not
// a JSON object.
sdk::Result<std::string> build_chat_body(const sdk::ChatRequest& request, const std::string& model,
                                         bool stream);

// An error a server reported in its body.
struct ServerError {
  std::string message;           // never empty: the server's text, or a description of the body
  std::string type;              // "invalid_request_error", "exceed_context_size_error", ... or ""
  std::string code;              // "context_length_exceeded", "429", ... (numbers as text) or ""
  std::int32_t status_hint = 0;  // an HTTP status the envelope names (its numeric code), or 0
};

// The error in `body` if it is an error envelope and not a completion:
//   {"error": {"message", "type", "code"}}      OpenAI, llama.cpp, Ollama, newer vLLM
//   {"error": "text"}                           Ollama's native form, some proxies
//   {"object": "error", "message", "code", ...} older vLLM; any object with "message" and no
//                                               "choices" counts
//   {"detail": "text" | [...]}                  FastAPI servers (vLLM's request validation)
// nullopt for anything else, including a body that is not JSON.
std::optional<ServerError> parse_error_envelope(std::string_view body);
// The same for an already parsed document.
std::optional<ServerError> error_envelope_of(const nlohmann::json& doc);

// True if the error says the request does not fit the model's context window.
bool is_context_overflow(const ServerError& error);

// What an error reply means for the caller.
struct ReplyError {
  sdk::Status status;
  bool retryable = false;  // 429 (except an exhausted quota) and 5xx, never a context overflow
  std::int32_t effective_status = 0;  // the HTTP status, or the one the body implies for a 200
};

// Maps an error reply to a Status: an HTTP status outside 2xx, or a 2xx (`http_status`) whose
// body is an error envelope. `where` ("POST <url>: HTTP <status>") opens the message.
ReplyError classify_error_reply(std::int32_t http_status, std::string_view body,
                                const std::string& where);

// The tool call's arguments as JSON text: a string is kept as sent ("" becomes "{}"), an
// object (which some servers send) is serialised, a missing (null pointer) or null value is
// "{}".
std::string arguments_text(const nlohmann::json* arguments);

// Token counts from a "usage" object; missing or malformed counts are 0, as a usage report
// is informational and never fails a reply.
sdk::Usage parse_usage(const nlohmann::json& usage);

// Message content as text: a string, null (""), or an array of parts whose "text" members are
// concatenated. nullopt for anything else.
std::optional<std::string> content_text(const nlohmann::json& content);

// Parses a non-streamed chat.completion object (the first choice). invalid_reply with the
// reason: not JSON, not an object, no choices, no message, a field of the wrong type.
sdk::Result<sdk::ChatResponse> parse_chat_completion(std::string_view body);

// The first `max_bytes` of `text`, cut at a UTF-8 boundary, with "..." if cut.
std::string beginning(std::string_view text, std::size_t max_bytes = 200);

// The delay before retry number `attempt` (0 for the first retry), in ms. A Retry-After (in
// seconds) or retry-after-ms header value wins, capped at kMaxRetryAfterMs; otherwise
// backoff_ms * 2^attempt, capped at kMaxBackoffMs, scaled by a jitter factor in [0.5, 1]
// (`jitter01` in [0, 1]).
inline constexpr std::int64_t kMaxBackoffMs = 30'000;
inline constexpr std::int64_t kMaxRetryAfterMs = 60'000;
std::int64_t retry_delay_ms(std::int32_t attempt, std::int64_t backoff_ms,
                            std::string_view retry_after, std::string_view retry_after_ms,
                            double jitter01);

}  // namespace moss::plugins::openai
