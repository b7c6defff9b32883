// A small HTTP POST client over libcurl for llm-openai: one easy handle per call (taken from a
// pool so keep-alive connections are reused), safe to use from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace moss::plugins::openai {

// Replies larger than this are refused, so a misbehaving server cannot exhaust memory.
inline constexpr std::size_t kMaxReplyBytes = 64u << 20;

struct HttpPost {
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::int64_t timeout_ms = 60'000;  // the whole transfer
  std::int64_t connect_timeout_ms = 5'000;
  // Called with body bytes as they arrive, only while the status is 2xx. Returning false
  // aborts the transfer (Transport::aborted). May be empty.
  std::function<bool(std::string_view)> on_body;
};

// How the transfer ended, as far as the network is concerned.
enum class Transport : std::int32_t {
  completed = 1,        // a whole HTTP reply arrived (any status)
  connect_failed = 2,   // no connection: refused, unresolvable, connect timeout, TLS handshake
  timed_out = 3,        // connected, but the reply did not complete within timeout_ms
  connection_lost = 4,  // connected, then the connection closed or broke mid-reply
  aborted = 5,          // on_body returned false
  too_large = 6,        // the reply exceeded kMaxReplyBytes
  failed = 7,           // anything else curl reports (bad TLS certificate, ...)
};

struct HttpReply {
  Transport transport = Transport::failed;
  std::string transport_error;  // curl's description when transport != completed
  std::int32_t status = 0;      // the HTTP status; 0 if none arrived
  std::string body;             // the whole body, also when it was streamed to on_body
  std::string retry_after;      // the Retry-After header, if any
  std::string retry_after_ms;   // the retry-after-ms header (OpenAI, Azure), if any
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `post` and waits for the reply. Thread-safe.
  HttpReply post(const HttpPost& post);

 private:
  void* acquire();  // a CURL easy handle
  void release(void* handle);

  std::mutex mutex_;
  std::vector<void*> idle_;  // reset handles kept for their open connections
};

}  // namespace moss::plugins::openai
