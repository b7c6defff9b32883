// llm-openai: one chat request = one or more HTTP attempts, each mapped to a reply or an error.
#include "llm_openai.hpp"

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>
#include <utility>

#include "openai_wire.hpp"
#include "sse_stream.hpp"

namespace moss::plugins {
namespace {

using sdk::Code;
using sdk::Status;

double jitter01() {
  std::random_device device;
  return std::uniform_real_distribution<double>(0.0, 1.0)(device);
}

// The key must never reach a log line or an error message, even if a server echoes it.
std::string without_key(std::string text, const std::string& key) {
  if (key.size() < 4) return text;
  for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
    text.replace(at, key.size(), "[redacted]");
  }
  return text;
}

}  // namespace

struct LlmOpenAi::Attempt {
  sdk::Result<sdk::ChatResponse> result = Status(Code::internal, "no attempt was made");
  bool retryable = false;
  std::int32_t http_status = 0;  // effective status, for the 401/403 hint
  std::string retry_after;
  std::string retry_after_ms;
};

Status LlmOpenAi::init(const sdk::InitContext& context) {
  auto config = openai::parse_openai_config(context.config_json);
  if (!config.ok()) return config.status();
  std::string key;
  if (!config.value().api_key_env.empty()) {
    const std::string& name = config.value().api_key_env;
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      return Status(Code::failed_precondition,
                    "api_key_env: the environment variable " + name + " is " +
                        (value == nullptr ? "not set" : "empty") +
                        "; set it to the API key, or remove api_key_env for a server without "
                        "keys");
    }
    key = value;
    if (key.find_first_of("\r\n") != std::string::npos) {
      return Status(Code::failed_precondition,
                    "api_key_env: the API key in " + name + " contains a line break");
    }
  }
  try {
    http_ = std::make_unique<openai::HttpClient>();
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
  config_ = std::move(config.value());
  api_key_ = std::move(key);
  url_ = config_.base_url + "/chat/completions";
  shown_url_ = openai::redact_url(url_);
  logger_ = context.logger;
  if (!sleep_) {
    sleep_ = [](std::int64_t delay_ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    };
  }
  if (logger_ != nullptr) {
    logger_->info("chat requests go to " + shown_url_ +
                  (config_.model.empty() ? std::string(" (no default model)")
                                         : " (default model " + config_.model + ")") +
                  (api_key_.empty() ? "" : " with the key from $" + config_.api_key_env));
  }
  return Status();
}

void LlmOpenAi::set_sleep_for_testing(std::function<void(std::int64_t delay_ms)> sleep) {
  sleep_ = std::move(sleep);
}

sdk::BackendInfo LlmOpenAi::info() const {
  sdk::BackendInfo info;
  info.name = "openai-compatible";
  info.model = config_.model;
  info.supports_tools = true;
  info.supports_streaming = true;
  info.supports_fine_tune = false;
  return info;
}

sdk::Result<sdk::ChatResponse> LlmOpenAi::chat(const sdk::ChatRequest& request,
                                               sdk::ChatStreamSink* sink) {
  const auto started = std::chrono::steady_clock::now();
  if (!http_) return Status(Code::failed_precondition, "llm-openai: chat() before init()");
  const std::string& model = request.model.empty() ? config_.model : request.model;
  const bool streaming = request.stream || config_.stream;
  auto body = openai::build_chat_body(request, model, streaming);
  if (!body.ok()) return Status(body.status().code(), "request: " + body.status().message());

  for (std::int32_t attempt = 0;; ++attempt) {
    Attempt outcome = attempt_once(body.value(), streaming, sink);
    if (outcome.result.ok()) {
      sdk::ChatResponse response = std::move(outcome.result.value());
      if (response.model.empty()) response.model = model;
      response.usage.cost_usd =
          static_cast<double>(response.usage.prompt_tokens) / 1000.0 * config_.price_per_1k_prompt +
          static_cast<double>(response.usage.completion_tokens) / 1000.0 *
              config_.price_per_1k_completion;
      response.latency_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count();
      return response;
    }
    const Status& failure = outcome.result.status();
    if (!outcome.retryable || attempt >= config_.max_retries) {
      std::string message = failure.message();
      if (outcome.http_status == 401 || outcome.http_status == 403) {
        message += config_.api_key_env.empty()
                       ? " (no API key is configured: set api_key_env to the name of an "
                         "environment variable holding it)"
                       : " (check the API key in $" + config_.api_key_env + ")";
      }
      if (attempt > 0) message += " (gave up after " + std::to_string(attempt + 1) + " attempts)";
      return Status(failure.code(), without_key(std::move(message), api_key_));
    }
    const std::int64_t delay_ms = openai::retry_delay_ms(
        attempt, config_.retry_backoff_ms, outcome.retry_after, outcome.retry_after_ms, jitter01());
    if (logger_ != nullptr) {
      logger_->warn(without_key(failure.to_string(), api_key_) + "; retry " +
                    std::to_string(attempt + 1) + " of " + std::to_string(config_.max_retries) +
                    " in " + std::to_string(delay_ms) + " ms");
    }
    sleep_(delay_ms);
  }
}

LlmOpenAi::Attempt LlmOpenAi::attempt_once(const std::string& body, bool streaming,
                                           sdk::ChatStreamSink* sink) {
  openai::HttpPost post;
  post.url = url_;
  post.body = body;
  post.headers = {"Content-Type: application/json",
                  streaming ? "Accept: text/event-stream" : "Accept: application/json",
                  "Expect:"};  // no 100-continue round trip for large prompts
  if (!api_key_.empty()) post.headers.push_back("Authorization: Bearer " + api_key_);
  post.timeout_ms = config_.timeout_ms;
  post.connect_timeout_ms = config_.connect_timeout_ms;

  openai::StreamAccumulator stream(sink);
  openai::SseReader reader([&stream](std::string_view event, std::string_view data) {
    return stream.on_event(event, data);
  });
  if (streaming) {
    post.on_body = [&](std::string_view bytes) {
      reader.feed(bytes);
      // Keep reading after [DONE] (the server ends the reply); stop on an error or bad chunk.
      return stream.failure().ok() && !stream.server_error();
    };
  }

  openai::HttpReply reply = http_->post(post);
  Attempt out;
  out.http_status = reply.status;
  out.retry_after = reply.retry_after;
  out.retry_after_ms = reply.retry_after_ms;
  const std::string where =
      "POST " + shown_url_ + ": " +
      (reply.status != 0 ? "HTTP " + std::to_string(reply.status) : "no HTTP response");
  // Text already given to the sink cannot be taken back, so such a call is not repeated.
  const bool may_repeat = !stream.sent_text();

  auto take_reply_error = [&](std::int32_t status, std::string_view error_body,
                              const std::string& context) {
    openai::ReplyError error = openai::classify_error_reply(status, error_body, context);
    out.result = error.status;
    out.retryable = error.retryable && may_repeat;
    out.http_status = error.effective_status;
  };

  switch (reply.transport) {
    case openai::Transport::completed: break;
    case openai::Transport::connect_failed:
      out.result = Status(Code::unavailable, where + ": cannot connect: " + reply.transport_error);
      out.retryable = true;
      return out;
    case openai::Transport::timed_out:
      out.result = Status(
          Code::deadline_exceeded,
          where + ": no complete reply within timeout_ms = " + std::to_string(config_.timeout_ms) +
              " ms" + (stream.sent_text() ? " (the stream had started)" : ""));
      return out;
    case openai::Transport::connection_lost:
      out.result =
          Status(Code::unavailable, where + ": the connection broke before the reply was " +
                                        "complete: " + reply.transport_error);
      out.retryable = may_repeat;
      return out;
    case openai::Transport::too_large:
      out.result =
          Status(Code::invalid_reply, where + ": the reply exceeds " +
                                          std::to_string(openai::kMaxReplyBytes >> 20) + " MiB");
      return out;
    case openai::Transport::aborted:
      if (!stream.failure().ok()) {
        out.result = Status(Code::invalid_reply, where + ": " + stream.failure().message());
      } else {
        take_reply_error(reply.status, stream.server_error_data(),
                         where + " (error in the stream)");
      }
      return out;
    case openai::Transport::failed:
      out.result = Status(Code::unavailable, where + ": " + reply.transport_error);
      return out;
  }

  if (reply.status < 200 || reply.status >= 300) {
    take_reply_error(reply.status, reply.body, where);
    return out;
  }
  // The reply the events of a stream add up to, or the error they carried.
  auto take_stream = [&](const openai::StreamAccumulator& events) {
    if (events.server_error()) {
      take_reply_error(reply.status, events.server_error_data(), where + " (error in the stream)");
    } else if (!events.failure().ok()) {
      out.result = Status(Code::invalid_reply, where + ": " + events.failure().message());
    } else if (auto response = events.finish(); !response.ok()) {
      out.result = Status(Code::invalid_reply, where + ": " + response.status().message());
    } else {
      out.result = std::move(response);
    }
  };
  if (streaming) {
    reader.finish();
    if (stream.saw_chunks()) {
      take_stream(stream);
      return out;
    }
    // No events at all: the server ignored "stream" and sent one JSON reply; read it below.
  } else if (reply.body.starts_with("data:")) {
    // A server (or proxy) that streams although it was not asked to: read the events whole.
    openai::StreamAccumulator whole(nullptr);
    openai::SseReader events([&whole](std::string_view event, std::string_view data) {
      return whole.on_event(event, data);
    });
    events.feed(reply.body);
    events.finish();
    take_stream(whole);
    return out;
  }
  if (openai::parse_error_envelope(reply.body)) {
    take_reply_error(reply.status, reply.body, where + " (error in the body)");
    return out;
  }
  auto response = openai::parse_chat_completion(reply.body);
  if (!response.ok()) {
    out.result = Status(Code::invalid_reply, where + ": " + response.status().message());
  } else {
    out.result = std::move(response);
  }
  return out;
}

}  // namespace moss::plugins
