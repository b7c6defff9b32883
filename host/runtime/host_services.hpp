// The services the host offers plugins (sdk::HostServices): chat through the configured
// LLM backend instance, and the clock.
#pragma once

#include <moss/sdk/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace moss {

class PluginManager;

// Counts the LLM usage of the chat calls a thread makes while it is alive, and refuses
// calls once a cap is reached. The evolution loop opens one per attempt, so each attempt
// knows its own tokens and cost even when several run at once. Scopes do not nest.
class UsageScope {
 public:
  // Caps of 0 mean none.
  UsageScope(std::int64_t max_tokens, double max_cost_usd);
  ~UsageScope();
  UsageScope(const UsageScope&) = delete;
  UsageScope& operator=(const UsageScope&) = delete;

  const sdk::Usage& usage() const { return usage_; }
  std::int64_t tokens() const { return usage_.prompt_tokens + usage_.completion_tokens; }
  // Empty while under the caps; else why the next call is refused.
  std::string exhausted() const;
  void add(const sdk::Usage& usage);
  // The calling thread's scope, or null.
  static UsageScope* current();

 private:
  std::int64_t max_tokens_;
  double max_cost_usd_;
  sdk::Usage usage_;
};

class HostServicesImpl final : public sdk::HostServices {
 public:
  // `backend` names the llm_backend instance; empty means the only one there is.
  // chat() counts usage into the calling thread's UsageScope and refuses (resource_exhausted)
  // once its cap is reached.
  HostServicesImpl(const PluginManager& plugins, std::string backend);

  sdk::Result<sdk::ChatResponse> chat(const sdk::ChatRequest& request) noexcept override;
  std::int64_t now_ms() const noexcept override;

 private:
  const PluginManager& plugins_;
  std::string backend_;
};

}  // namespace moss
