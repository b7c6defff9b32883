// The Tool kind: one callable tool with a JSON Schema for its input, exported in MCP form.
#pragma once

#include <concepts>
#include <string>
#include <string_view>

#include "moss/sdk/detail/glue.hpp"
#include "moss/sdk/object.hpp"
#include "moss/sdk/types.hpp"

namespace moss::sdk {

class Tool : public PluginObject {
 public:
  static constexpr Kind kKind = Kind::tool;

  // Required. Describes the tool: name, description, input JSON Schema, side effects.
  // Called after init, possibly many times; must return the same answer every time.
  // Thread-safe: yes (may be called concurrently with invoke).
  virtual Result<ToolInfo> info() const noexcept = 0;

  // Required. Runs the tool on `args_json`, a JSON object as UTF-8 text that the host has
  // already validated against the input schema. Returns the result as JSON text, or an
  // error (invalid_argument for input the tool cannot handle). The caller owns the result.
  // Thread-safe: yes. The host calls invoke concurrently from several threads and, during
  // a hot swap, on two versions of the plugin at once.
  virtual Result<std::string> invoke(std::string_view args_json) noexcept = 0;
};

namespace detail {

template <class Impl>
class ToolAdapter final : public Tool {
  static_assert(
      requires(const Impl& impl) {
        { impl.info() } -> std::convertible_to<Result<ToolInfo>>;
      },
      "MOSS_PLUGIN as_tool<T>: T needs `ToolInfo info() const` (or Result<ToolInfo>)");
  static_assert(
      requires(Impl & impl, std::string_view args) {
        { impl.invoke(args) } -> std::convertible_to<Result<std::string>>;
      },
      "MOSS_PLUGIN as_tool<T>: T needs `Result<std::string> invoke(std::string_view args_json)`");

 public:
  Status init(const InitContext& context) noexcept override { return call_init(impl_, context); }
  Result<ToolInfo> info() const noexcept override {
    return guarded<Result<ToolInfo>>("Tool::info", [&] { return Result<ToolInfo>(impl_.info()); });
  }
  Result<std::string> invoke(std::string_view args_json) noexcept override {
    return guarded<Result<std::string>>(
        "Tool::invoke", [&] { return Result<std::string>(impl_.invoke(args_json)); });
  }

 private:
  Impl impl_;
};

}  // namespace detail

// Registers T as the plugin's Tool in MOSS_PLUGIN(...).
template <class T>
struct as_tool {
  static constexpr Kind kind = Kind::tool;
  using interface = Tool;
  using adapter = detail::ToolAdapter<T>;
};

}  // namespace moss::sdk
