// spdlog setup. JSON lines are built with nlohmann-json so messages are always escaped.
#include "logging/logging.hpp"

#include <chrono>
#include <ctime>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace moss {
namespace {

// {"ts":"2026-11-24T10:00:00.123Z","level":"info","logger":"moss","msg":"..."}
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto since_epoch = msg.time.time_since_epoch();
    std::time_t seconds = duration_cast<std::chrono::seconds>(since_epoch).count();
    auto millis = duration_cast<milliseconds>(since_epoch).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis));
    nlohmann::json line = {
        {"ts", stamp},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLineFormatter>();
  }
};

spdlog::level::level_enum parse_level(const std::string& name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "warn") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  if (name == "off") return spdlog::level::off;
  return spdlog::level::info;
}

spdlog::level::level_enum to_spdlog(sdk::LogLevel level) {
  switch (level) {
    case sdk::LogLevel::trace: return spdlog::level::trace;
    case sdk::LogLevel::debug: return spdlog::level::debug;
    case sdk::LogLevel::info: return spdlog::level::info;
    case sdk::LogLevel::warn: return spdlog::level::warn;
    case sdk::LogLevel::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> make_stderr_logger() {
  auto logger = std::make_shared<spdlog::logger>(
      "moss", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::info);
  return logger;
}

std::mutex& logger_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::shared_ptr<spdlog::logger>& current_logger() {
  static std::shared_ptr<spdlog::logger> logger = make_stderr_logger();
  return logger;
}

}  // namespace

Status configure_logging(const LoggingConfig& config, int verbosity) {
  spdlog::sink_ptr sink;
  if (config.file_path.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.file_path.string());
    } catch (const std::exception& e) {
      return Status(Code::failed_precondition,
                    "[logging] file " + config.file_path.string() + ": cannot open: " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("moss", sink);
  if (config.format == "json") {
    logger->set_formatter(std::make_unique<JsonLineFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  int level = static_cast<int>(parse_level(config.level)) - verbosity;
  if (level < spdlog::level::trace) level = spdlog::level::trace;
  logger->set_level(static_cast<spdlog::level::level_enum>(level));
  logger->flush_on(spdlog::level::warn);
  std::lock_guard<std::mutex> lock(logger_mutex());
  current_logger() = std::move(logger);
  return Status();
}

spdlog::logger& log() {
  std::lock_guard<std::mutex> lock(logger_mutex());
  return *current_logger();
}

PluginLogger::PluginLogger(std::string instance) : instance_(std::move(instance)) {}

void PluginLogger::log(sdk::LogLevel level, std::string_view message) noexcept {
  try {
    moss::log().log(to_spdlog(level), "[{}] {}", instance_, message);
  } catch (...) {
    // Logging must never take a plugin call down.
  }
}

bool PluginLogger::enabled(sdk::LogLevel level) const noexcept {
  return moss::log().should_log(to_spdlog(level));
}

}  // namespace moss
