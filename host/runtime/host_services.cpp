// HostServices: plugins reach other plugins only through the host, never by pointer, so a
// backend can be swapped or disabled without its callers holding stale objects.
#include "runtime/host_services.hpp"

#include <chrono>

#include "runtime/plugin_manager.hpp"

namespace moss {

HostServicesImpl::HostServicesImpl(const PluginManager& plugins, std::string backend)
    : plugins_(plugins), backend_(std::move(backend)) {}

sdk::Result<sdk::ChatResponse> HostServicesImpl::chat(const sdk::ChatRequest& request) noexcept {
  try {
    std::string name = backend_;
    if (name.empty()) {
      for (const InstanceStatus& s : plugins_.status()) {
        if (s.state == InstanceState::active && s.manifest &&
            s.manifest->implements(sdk::Kind::llm_backend)) {
          if (!name.empty()) {
            return Status(Code::failed_precondition,
                          "several LLM backends are loaded ('" + name + "', '" + s.instance +
                              "'); set llm_backend in moss.toml to choose one");
          }
          name = s.instance;
        }
      }
      if (name.empty()) return Status(Code::unavailable, "no LLM backend plugin is loaded");
    }
    auto slot = plugins_.slot(name);
    if (!slot.ok()) return slot.status();
    Lease lease = slot.value()->lease("LLMBackend::chat");
    if (!lease.ok()) return lease.status();
    auto* backend = lease->get<sdk::LLMBackend>();
    if (backend == nullptr) {
      return Status(Code::failed_precondition,
                    "llm_backend '" + name + "' is not an LLM backend plugin");
    }
    return backend->chat(request, nullptr);
  } catch (const std::exception& e) {
    return Status(Code::internal, std::string("host chat failed: ") + e.what());
  }
}

std::int64_t HostServicesImpl::now_ms() const noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace moss
