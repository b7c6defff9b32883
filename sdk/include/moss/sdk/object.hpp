// What every plugin object shares: its kind, the host services it receives at init,
// and the logger handle (so plugins need no logging library of their own).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "moss/sdk/status.hpp"
#include "moss/sdk/types.hpp"

namespace moss::sdk {

// The six plugin kinds. Values are bits of PluginDescriptor::kinds; new kinds are appended.
enum class Kind : std::uint32_t {
  tool = 1u << 0,
  llm_backend = 1u << 1,
  evolver = 1u << 2,
  guard = 1u << 3,
  compiler = 1u << 4,
  planner = 1u << 5,
};

inline constexpr Kind kAllKinds[] = {Kind::tool,  Kind::llm_backend, Kind::evolver,
                                     Kind::guard, Kind::compiler,    Kind::planner};

// Stable names used in manifests, config and the CLI.
constexpr const char* kind_name(Kind kind) noexcept {
  switch (kind) {
    case Kind::tool: return "tool";
    case Kind::llm_backend: return "llm_backend";
    case Kind::evolver: return "evolver";
    case Kind::guard: return "guard";
    case Kind::compiler: return "compiler";
    case Kind::planner: return "planner";
  }
  return "unknown";
}

enum class LogLevel : std::int32_t {
  trace = 1,
  debug = 2,
  info = 3,
  warn = 4,
  error = 5,
};

// A log sink owned by the host. The host tags every line with the plugin instance.
// Thread-safe: may be called from any thread.
class Logger {
 public:
  virtual ~Logger() = default;
  // Required. Writes one message. Never throws.
  virtual void log(LogLevel level, std::string_view message) noexcept = 0;
  // Required. False if a message at `level` would be dropped; lets callers skip formatting.
  virtual bool enabled(LogLevel level) const noexcept = 0;

  void trace(std::string_view m) noexcept { log(LogLevel::trace, m); }
  void debug(std::string_view m) noexcept { log(LogLevel::debug, m); }
  void info(std::string_view m) noexcept { log(LogLevel::info, m); }
  void warn(std::string_view m) noexcept { log(LogLevel::warn, m); }
  void error(std::string_view m) noexcept { log(LogLevel::error, m); }
};

// A logger that drops everything; for unit tests of plugin classes outside a host.
class NullLogger final : public Logger {
 public:
  void log(LogLevel, std::string_view) noexcept override {}
  bool enabled(LogLevel) const noexcept override { return false; }
};

// Services the host offers to plugins. Owned by the host; valid until the object is destroyed.
// Thread-safe: may be called from any thread.
class HostServices {
 public:
  virtual ~HostServices() = default;
  // Required. Sends a chat request to the host's configured LLM backend, with the host's
  // budgets and accounting applied. Returns `unavailable` if no backend is configured.
  virtual Result<ChatResponse> chat(const ChatRequest& request) noexcept = 0;
  // Required. Milliseconds since the Unix epoch, from the host's clock (tests may fake it).
  virtual std::int64_t now_ms() const noexcept = 0;
};

// What an object receives at init. The references stay valid until the object is destroyed.
struct InitContext {
  std::string instance_name;     // the name this instance has in moss.toml
  std::string config_json;       // its [plugins.<name>] table as JSON, validated, defaults applied
  std::string state_dir;         // a directory this instance may write to; empty if none
  Logger* logger = nullptr;      // never null when the host calls init
  HostServices* host = nullptr;  // never null when the host calls init
  std::string config_dir;        // the config file's folder: resolve relative paths in
                                 // settings against it; empty if there is no config file
};

// The base of every interface. Interfaces have a virtual destructor, no data members,
// noexcept virtuals, and only ever grow at the end.
class PluginObject {
 public:
  virtual ~PluginObject() = default;
  // Called once, after creation and before any other method, on one thread.
  // Returns an error to refuse the configuration; the host then destroys the object.
  // Optional for plugin classes: the SDK glue returns ok if the class has no init().
  virtual Status init(const InitContext& context) noexcept = 0;
};

}  // namespace moss::sdk
