// The plugin descriptor and MOSS_PLUGIN(...), which generates a plugin's only exported entry,
// its descriptor, its factory, and the manifest the host reads without running plugin code.
#pragma once

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <type_traits>

// Boost.DLL on std::filesystem: plugins then pull in no Boost.System statics, whose
// STB_GNU_UNIQUE symbols would make the library impossible to unload.
#ifndef BOOST_DLL_USE_STD_FS
#define BOOST_DLL_USE_STD_FS 1
#endif
#include <boost/dll/alias.hpp>

#include "moss/sdk/detail/glue.hpp"
#include "moss/sdk/detail/manifest.hpp"
#include "moss/sdk/object.hpp"
#include "moss/sdk/version.hpp"

namespace moss::sdk {

// What a plugin's entry returns. A plain struct with static storage in the plugin.
// It only grows at the end; `struct_size` says how much of it the plugin was built with.
struct PluginDescriptor {
  std::uint32_t struct_size = 0;
  std::uint16_t abi_major = 0;
  std::uint16_t abi_minor = 0;
  const char* toolchain = nullptr;      // MOSS_SDK_TOOLCHAIN of the plugin's build
  const char* name = nullptr;           // 1-64 chars of [A-Za-z0-9_.-]
  const char* version = nullptr;        // the plugin's own version, e.g. "1.2.0"
  std::uint32_t kinds = 0;              // bitwise OR of Kind values
  const char* config_schema = nullptr;  // JSON Schema of its [plugins.<name>] table
  const char* manifest = nullptr;       // the same JSON as the moss_manifest section

  // Creates the object implementing `kind`. Returns null on failure and, if `error` is not
  // null, stores the reason there. The object is owned by the caller and must be released
  // with `destroy`, never with delete, and before the library is unloaded.
  PluginObject* (*create)(Kind kind, std::string* error) noexcept = nullptr;
  void (*destroy)(PluginObject* object) noexcept = nullptr;
};

// The single exported symbol (a BOOST_DLL_ALIAS pointer to the entry function).
inline constexpr const char* kEntrySymbol = "moss_plugin_entry";
// The ELF section holding the manifest JSON.
inline constexpr const char* kManifestSection = "moss_manifest";
// The signature of the entry function.
using EntryFunction = const PluginDescriptor*();

// The config schema of a plugin that takes no configuration.
inline constexpr const char kNoConfig[] = R"({"type":"object","additionalProperties":false})";

namespace detail {

template <class Tag>
concept KindTag = requires {
  { Tag::kind } -> std::convertible_to<Kind>;
  typename Tag::interface;
  typename Tag::adapter;
  requires std::is_base_of_v<typename Tag::interface, typename Tag::adapter>;
};

template <class Adapter>
PluginObject* make_object(std::string* error) noexcept {
  static_assert(std::is_default_constructible_v<Adapter>,
                "MOSS_PLUGIN: plugin classes must be default-constructible; "
                "take configuration in init(const moss::sdk::InitContext&)");
  try {
    return new Adapter();
  } catch (...) {
    if (error != nullptr) {
      try {
        *error = status_from_current_exception("constructor").message();
      } catch (...) {
      }
    }
    return nullptr;
  }
}

template <class... Tags>
struct KindList {
  static_assert(sizeof...(Tags) > 0,
                "MOSS_PLUGIN: list at least one kind, e.g. moss::sdk::as_tool<MyTool>");
  static_assert((KindTag<Tags> && ...),
                "MOSS_PLUGIN: each kind must be given as moss::sdk::as_tool<T>, as_llm_backend<T>, "
                "as_evolver<T>, as_guard<T>, as_compiler<T> or as_planner<T>");

  static constexpr std::uint32_t mask = (static_cast<std::uint32_t>(Tags::kind) | ...);
  static_assert(std::popcount(mask) == sizeof...(Tags),
                "MOSS_PLUGIN: each kind may be registered at most once per plugin");

  static PluginObject* create(Kind kind, std::string* error) noexcept {
    PluginObject* object = nullptr;
    bool known = ((kind == Tags::kind ? (object = make_object<typename Tags::adapter>(error), true)
                                      : false) ||
                  ...);
    if (!known && error != nullptr) {
      try {
        *error = std::string("this plugin does not implement kind '") + kind_name(kind) + "'";
      } catch (...) {
      }
    }
    return object;
  }
};

inline void destroy_object(PluginObject* object) noexcept {
  delete object;
}

}  // namespace detail
}  // namespace moss::sdk

// MOSS_PLUGIN(NAME, VERSION, CONFIG_SCHEMA, moss::sdk::as_tool<MyTool>, ...)
//
// Use once per plugin, at namespace scope in one source file.
//   NAME           string literal, 1-64 chars of [A-Za-z0-9_.-]
//   VERSION        string literal, e.g. "1.2.0"
//   CONFIG_SCHEMA  JSON Schema (string literal) of the plugin's [plugins.<name>] table,
//                  or moss::sdk::kNoConfig
//   ...            one as_<kind><Class> per implemented kind
#define MOSS_PLUGIN(NAME, VERSION, CONFIG_SCHEMA, ...)                                           \
  namespace moss_plugin_generated {                                                              \
  using Kinds = ::moss::sdk::detail::KindList<__VA_ARGS__>;                                      \
  inline constexpr const char* kName = NAME;                                                     \
  inline constexpr const char* kVersion = VERSION;                                               \
  inline constexpr const char* kConfigSchema = CONFIG_SCHEMA;                                    \
  static_assert(::moss::sdk::detail::is_valid_name(kName),                                       \
                "MOSS_PLUGIN: NAME must be 1-64 characters of [A-Za-z0-9_.-]");                  \
  static_assert(::moss::sdk::detail::is_valid_version(kVersion),                                 \
                "MOSS_PLUGIN: VERSION must be 1-64 printable characters without quotes");        \
  static_assert(::moss::sdk::detail::is_json_object(kConfigSchema),                              \
                "MOSS_PLUGIN: CONFIG_SCHEMA must be a JSON object (a JSON Schema)");             \
  inline constexpr std::size_t kManifestSize =                                                   \
      ::moss::sdk::detail::manifest_size(kName, kVersion, kConfigSchema, Kinds::mask);           \
  __attribute__((section("moss_manifest"), used)) constexpr std::array<char, kManifestSize>      \
      kManifest = ::moss::sdk::detail::make_manifest<kManifestSize>(kName, kVersion,             \
                                                                    kConfigSchema, Kinds::mask); \
  constexpr ::moss::sdk::PluginDescriptor kDescriptor{sizeof(::moss::sdk::PluginDescriptor),     \
                                                      MOSS_SDK_ABI_MAJOR,                        \
                                                      MOSS_SDK_ABI_MINOR,                        \
                                                      MOSS_SDK_TOOLCHAIN,                        \
                                                      kName,                                     \
                                                      kVersion,                                  \
                                                      Kinds::mask,                               \
                                                      kConfigSchema,                             \
                                                      kManifest.data(),                          \
                                                      &Kinds::create,                            \
                                                      &::moss::sdk::detail::destroy_object};     \
  inline const ::moss::sdk::PluginDescriptor* entry() noexcept {                                 \
    return &kDescriptor;                                                                         \
  }                                                                                              \
  }                                                                                              \
  BOOST_DLL_ALIAS(moss_plugin_generated::entry, moss_plugin_entry)
