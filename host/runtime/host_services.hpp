// The services the host offers plugins (sdk::HostServices): chat through the configured
// LLM backend instance, and the clock.
#pragma once

#include <moss/sdk/object.hpp>

#include <functional>
#include <memory>
#include <string>

namespace moss {

class PluginManager;

class HostServicesImpl final : public sdk::HostServices {
 public:
  // `backend` names the llm_backend instance; empty means the only one there is.
  HostServicesImpl(const PluginManager& plugins, std::string backend);

  sdk::Result<sdk::ChatResponse> chat(const sdk::ChatRequest& request) noexcept override;
  std::int64_t now_ms() const noexcept override;

 private:
  const PluginManager& plugins_;
  std::string backend_;
};

}  // namespace moss
