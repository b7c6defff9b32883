// The LLMBackend kind: a chat-completions model behind some transport (HTTP, a file, ...).
#pragma once

#include <concepts>
#include <string>
#include <string_view>

#include "moss/sdk/detail/glue.hpp"
#include "moss/sdk/object.hpp"
#include "moss/sdk/types.hpp"

namespace moss::sdk {

struct BackendInfo {
  std::string name;             // e.g. "openai-compatible", "replay"
  std::string model;            // the configured default model
  bool supports_tools = false;  // honours ChatRequest::tools and returns tool_calls
  bool supports_streaming = false;
  bool supports_fine_tune = false;  // submit_fine_tune is implemented
};

// Receives streamed text while a chat request is in flight. Owned by the caller.
class ChatStreamSink {
 public:
  virtual ~ChatStreamSink() = default;
  // Called with each text fragment as it arrives, on the thread that called chat().
  virtual void on_text(std::string_view fragment) noexcept = 0;
};

class LLMBackend : public PluginObject {
 public:
  static constexpr Kind kKind = Kind::llm_backend;

  // Required. What this backend is and can do. Thread-safe: yes.
  virtual Result<BackendInfo> info() const noexcept = 0;

  // Required. Sends one chat request and returns the complete reply, with usage, cost and
  // latency filled in. If `sink` is not null and the backend streams, text fragments are
  // passed to it as they arrive; the returned response still holds the whole message.
  // Errors: invalid_argument (no messages, or a request the backend cannot express),
  // unavailable (unreachable, 5xx after retries), deadline_exceeded (timeout),
  // resource_exhausted (429 after retries), context_overflow, invalid_reply (unparseable).
  // Thread-safe: yes; the host may send concurrent requests.
  virtual Result<ChatResponse> chat(const ChatRequest& request, ChatStreamSink* sink) noexcept = 0;

  // Optional (unimplemented by default). Submits a chat fine-tuning dataset (JSONL of
  // {"messages":[...]}) for `base_model`; returns the provider's job id.
  // Thread-safe: yes.
  virtual Result<std::string> submit_fine_tune(std::string_view dataset_jsonl,
                                               std::string_view base_model) noexcept = 0;
};

namespace detail {

template <class Impl>
class LLMBackendAdapter final : public LLMBackend {
  static_assert(
      requires(const Impl& impl) {
        { impl.info() } -> std::convertible_to<Result<BackendInfo>>;
      },
      "MOSS_PLUGIN as_llm_backend<T>: T needs `BackendInfo info() const`");
  static_assert(
      requires(Impl & impl, const ChatRequest& request, ChatStreamSink* sink) {
        { impl.chat(request, sink) } -> std::convertible_to<Result<ChatResponse>>;
      },
      "MOSS_PLUGIN as_llm_backend<T>: T needs "
      "`Result<ChatResponse> chat(const ChatRequest&, ChatStreamSink*)`");

 public:
  Status init(const InitContext& context) noexcept override { return call_init(impl_, context); }
  Result<BackendInfo> info() const noexcept override {
    return guarded<Result<BackendInfo>>("LLMBackend::info",
                                        [&] { return Result<BackendInfo>(impl_.info()); });
  }
  Result<ChatResponse> chat(const ChatRequest& request, ChatStreamSink* sink) noexcept override {
    return guarded<Result<ChatResponse>>(
        "LLMBackend::chat", [&] { return Result<ChatResponse>(impl_.chat(request, sink)); });
  }
  Result<std::string> submit_fine_tune(std::string_view dataset_jsonl,
                                       std::string_view base_model) noexcept override {
    static_assert(
        !requires { &Impl::submit_fine_tune; } ||
            requires { impl_.submit_fine_tune(dataset_jsonl, base_model); },
        "MOSS_PLUGIN as_llm_backend<T>: T::submit_fine_tune must be "
        "`Result<std::string> submit_fine_tune(std::string_view, std::string_view)`");
    if constexpr (requires { impl_.submit_fine_tune(dataset_jsonl, base_model); }) {
      return guarded<Result<std::string>>("LLMBackend::submit_fine_tune", [&] {
        return Result<std::string>(impl_.submit_fine_tune(dataset_jsonl, base_model));
      });
    } else {
      return Status(Code::unimplemented, "this backend does not support fine-tuning");
    }
  }

 private:
  Impl impl_;
};

}  // namespace detail

// Registers T as the plugin's LLMBackend in MOSS_PLUGIN(...).
template <class T>
struct as_llm_backend {
  static constexpr Kind kind = Kind::llm_backend;
  using interface = LLMBackend;
  using adapter = detail::LLMBackendAdapter<T>;
};

}  // namespace moss::sdk
