// Host logging (spdlog): level and format from [logging] and -v, optional JSON lines, and
// the Logger handle plugins receive through the SDK.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <moss/sdk/object.hpp>

#include "config/config.hpp"
#include "util/status.hpp"

namespace spdlog {
class logger;
}

namespace moss {

// Installs the default logger. `verbosity` lowers the configured level by one step per -v.
// Refuses an unwritable log file with a clear error (and leaves the previous logger).
Status configure_logging(const LoggingConfig& config, int verbosity);

// The host's logger ("moss").
spdlog::logger& log();

// A plugin's log handle: lines carry the plugin instance's name. Thread-safe.
class PluginLogger final : public sdk::Logger {
 public:
  explicit PluginLogger(std::string instance);
  void log(sdk::LogLevel level, std::string_view message) noexcept override;
  bool enabled(sdk::LogLevel level) const noexcept override;

 private:
  std::string instance_;
};

}  // namespace moss
