// HostServices: plugins reach other plugins only through the host, never by pointer, so a
// backend can be swapped or disabled without its callers holding stale objects.
#include "runtime/host_services.hpp"

#include <chrono>

#include "runtime/plugin_manager.hpp"

namespace moss {

namespace {
thread_local UsageScope* t_scope = nullptr;
}  // namespace

UsageScope::UsageScope(std::int64_t max_tokens, double max_cost_usd)
    : max_tokens_(max_tokens), max_cost_usd_(max_cost_usd) {
  t_scope = this;
}

UsageScope::~UsageScope() {
  t_scope = nullptr;
}

UsageScope* UsageScope::current() {
  return t_scope;
}

void UsageScope::add(const sdk::Usage& usage) {
  usage_.prompt_tokens += usage.prompt_tokens;
  usage_.completion_tokens += usage.completion_tokens;
  usage_.cost_usd += usage.cost_usd;
}

std::string UsageScope::exhausted() const {
  if (max_tokens_ > 0 && tokens() >= max_tokens_) {
    return "the LLM token budget is spent (" + std::to_string(tokens()) + " of " +
           std::to_string(max_tokens_) + " tokens)";
  }
  if (max_cost_usd_ > 0 && usage_.cost_usd >= max_cost_usd_) {
    return "the LLM cost budget is spent (" + std::to_string(usage_.cost_usd) + " of " +
           std::to_string(max_cost_usd_) + " USD)";
  }
  return {};
}

HostServicesImpl::HostServicesImpl(const PluginManager& plugins, std::string backend)
    : plugins_(plugins), backend_(std::move(backend)) {}

sdk::Result<sdk::ChatResponse> HostServicesImpl::chat(const sdk::ChatRequest& request) noexcept {
  try {
    auto name = plugins_.instance_of_kind(sdk::Kind::llm_backend, backend_, "llm_backend");
    if (!name.ok()) return name.status();
    auto slot = plugins_.slot(name.value());
    if (!slot.ok()) return slot.status();
    Lease lease = slot.value()->lease("LLMBackend::chat");
    if (!lease.ok()) return lease.status();
    auto* backend = lease->get<sdk::LLMBackend>();
    if (backend == nullptr) {
      return Status(Code::failed_precondition,
                    "llm_backend '" + name.value() + "' is not an LLM backend plugin");
    }
    UsageScope* scope = UsageScope::current();
    if (scope != nullptr) {
      if (std::string spent = scope->exhausted(); !spent.empty()) {
        return Status(Code::resource_exhausted, spent);
      }
    }
    auto response = backend->chat(request, nullptr);
    if (response.ok() && scope != nullptr) scope->add(response->usage);
    return response;
  } catch (const std::exception& e) {
    return Status(Code::internal, std::string("host chat failed: ") + e.what());
  }
}

std::int64_t HostServicesImpl::now_ms() const noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace moss
