// Loads a built plugin through the real loader and creates its objects the way the host does,
// for the plugins' load tests and the loader's tests. Needs moss::host.
#pragma once

#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "config/plugin_settings.hpp"
#include "loader/loader.hpp"

namespace moss::test {

// HostServices for tests: chat() answers with the queued replies in order, then with
// `unavailable`; now_ms() reads a clock the test sets. Thread-safe, as HostServices must be.
class TestHost final : public sdk::HostServices {
 public:
  // Replaces the replies not yet given.
  void set_replies(std::deque<std::string> replies) {
    std::lock_guard lock(mutex_);
    replies_ = std::move(replies);
  }
  void set_clock_ms(std::int64_t clock_ms) {
    std::lock_guard lock(mutex_);
    clock_ms_ = clock_ms;
  }

  sdk::Result<sdk::ChatResponse> chat(const sdk::ChatRequest&) noexcept override {
    std::lock_guard lock(mutex_);
    if (replies_.empty()) return sdk::Status(sdk::Code::unavailable, "no backend in this test");
    sdk::ChatResponse response;
    response.message.content = std::move(replies_.front());
    replies_.pop_front();
    return response;
  }
  std::int64_t now_ms() const noexcept override {
    std::lock_guard lock(mutex_);
    return clock_ms_;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<std::string> replies_;
  std::int64_t clock_ms_ = 0;
};

// Loads `file` with the real loader (dlopen); fails the test with the loader's message.
inline std::shared_ptr<Library> load_plugin(const std::filesystem::path& file) {
  auto library = Library::load(file);
  INFO(library.status().to_string());
  REQUIRE(library.ok());
  return library.value();
}

// An InitContext with `config_json` passed to the plugin as given (no schema step). A null
// `logger` or `host` stands for a NullLogger or a TestHost with no replies, both living as
// long as the process, as the context's references must outlive the object.
inline sdk::InitContext make_context(std::string config_json, sdk::Logger* logger = nullptr,
                                     sdk::HostServices* host = nullptr,
                                     std::string instance_name = "test") {
  static sdk::NullLogger null_logger;
  static TestHost idle_host;
  sdk::InitContext context;
  context.instance_name = std::move(instance_name);
  context.config_json = std::move(config_json);
  context.logger = logger != nullptr ? logger : &null_logger;
  context.host = host != nullptr ? host : &idle_host;
  return context;
}

// What the host does with a [plugins.<name>] table before init: resolve it against the
// plugin's config schema (the host's own code: defaults applied, then validated), then
// create the object of I's kind and init it. An invalid table, a bad schema and a refused
// init are returned, not failed, so tests can check them. The instance is named after the
// plugin.
template <class I>
sdk::Result<std::shared_ptr<I>> try_create(const std::shared_ptr<Library>& library,
                                           const std::string& table_json,
                                           sdk::HostServices* host = nullptr) {
  if (!nlohmann::json::accept(table_json)) {
    return sdk::Status(sdk::Code::invalid_argument, "not a JSON table: " + table_json);
  }
  const std::string& name = library->manifest().name;
  Config config;
  config.file = "<test table>";
  PluginConfig plugin;
  plugin.instance = name;
  plugin.settings_json = table_json;
  auto settings = resolve_plugin_settings(config, plugin, library->manifest().config_schema_json);
  if (!settings.ok()) return settings.status();
  return create_object<I>(library, make_context(settings.value(), nullptr, host, name));
}

// try_create, failing the test with the reason if the object cannot be made.
template <class I>
std::shared_ptr<I> create(const std::shared_ptr<Library>& library,
                          const std::string& table_json = "{}", sdk::HostServices* host = nullptr) {
  auto object = try_create<I>(library, table_json, host);
  INFO(object.status().to_string());
  REQUIRE(object.ok());
  return object.value();
}

}  // namespace moss::test
