// The plugin loader: reads a plugin file's manifest without running it, loads it with
// Boost.DLL, checks it against this host's SDK ABI, and makes objects that keep their
// library loaded for as long as they live.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <moss/sdk/plugin.hpp>

#include "util/status.hpp"

namespace moss {

// The metadata MOSS_PLUGIN embeds in the `moss_manifest` section.
struct PluginManifest {
  std::string name;
  std::string version;
  std::uint16_t abi_major = 0;
  std::uint16_t abi_minor = 0;
  std::string toolchain;
  std::uint32_t kinds = 0;         // bitwise OR of sdk::Kind
  std::string config_schema_json;  // JSON Schema of the plugin's config table
  std::string raw_json;            // the section as found

  bool implements(sdk::Kind kind) const { return (kinds & static_cast<std::uint32_t>(kind)) != 0; }
};

// Parses and checks a manifest JSON text. `origin` names the file in errors.
Result<PluginManifest> parse_manifest(std::string_view json, const std::string& origin);

// Everything known about a plugin file without executing any code from it.
struct FileInspection {
  std::filesystem::path path;
  std::uint64_t size_bytes = 0;
  std::string sha256;
  PluginManifest manifest;
  // STB_GNU_UNIQUE symbols pin a library in memory: dlclose will not unload it.
  std::vector<std::string> unique_symbols;
};

// Reads the ELF file: its exported entry symbol and its manifest section. Runs no plugin
// code. Errors name the file, what was expected and what was found.
// With `hash` false, sha256 is left empty (for files whose hash is already known).
Result<FileInspection> inspect_plugin_file(const std::filesystem::path& file, bool hash = true);

// Checks the manifest against this host: ABI major equal, minor not newer, same toolchain.
Status check_compatibility(const PluginManifest& manifest, const std::string& origin);

// Joins kind names, e.g. "tool,guard".
std::string kinds_to_string(std::uint32_t kinds);

struct LoadOptions {
  // Keep the library mapped after its last object is gone (RTLD_NODELETE), for plugins
  // that cannot be unloaded safely (threads they started, atexit handlers, ...).
  bool never_unload = false;
  // The file's SHA-256 when the caller knows it (a content-addressed copy in the version
  // store, named by its hash and never written again): the file is then not hashed again.
  std::string known_sha256;
};

// A loaded plugin library. Shared (std::shared_ptr) by every object created from it, so the
// library is unloaded only after the last object is destroyed.
class Library : public std::enable_shared_from_this<Library> {
 public:
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // Inspects `file`, refuses an incompatible plugin before loading it, then dlopens it
  // (RTLD_LOCAL | RTLD_NOW) and checks the descriptor its entry returns against the manifest.
  static Result<std::shared_ptr<Library>> load(const std::filesystem::path& file,
                                               const LoadOptions& options = {});

  // Wraps an in-memory descriptor (no dlopen), for unit tests of host logic.
  // `label` stands in for the file name in messages.
  static Result<std::shared_ptr<Library>> from_descriptor(const sdk::PluginDescriptor* descriptor,
                                                          std::string label);

  const PluginManifest& manifest() const { return manifest_; }
  const std::string& label() const { return label_; }  // the file path, or the test label
  const std::string& sha256() const { return sha256_; }
  bool is_loaded_from_file() const { return handle_ != nullptr; }
  // True if dlclose cannot unload this library (STB_GNU_UNIQUE symbols).
  bool pinned_in_memory() const { return pinned_in_memory_; }

  // Creates the object of `kind`; the plugin's destroy function releases it.
  Result<std::shared_ptr<sdk::PluginObject>> create(sdk::Kind kind);

 private:
  struct DlHandle;  // Boost.DLL's shared_library, kept out of this header
  Library();
  static Status check_descriptor(const sdk::PluginDescriptor* d, const PluginManifest& expected,
                                 const std::string& origin);

  std::unique_ptr<DlHandle> handle_;
  const sdk::PluginDescriptor* descriptor_ = nullptr;
  PluginManifest manifest_;
  std::string label_;
  std::string sha256_;
  bool pinned_in_memory_ = false;
};

// Creates the object of I's kind from `library` and initialises it with `context`.
// The returned pointer keeps `library` loaded; destroying it calls the plugin's destroy.
template <class I>
Result<std::shared_ptr<I>> create_object(const std::shared_ptr<Library>& library,
                                         const sdk::InitContext& context) {
  auto object = library->create(I::kKind);
  if (!object.ok()) return object.status();
  Status init = object.value()->init(context);
  if (!init.ok()) {
    return Status(init.code(), library->label() + ": " + sdk::kind_name(I::kKind) +
                                   " init failed: " + init.message());
  }
  // Aliasing constructor: shares ownership (and the library pin) with the base object.
  return std::shared_ptr<I>(object.value(), static_cast<I*>(object.value().get()));
}

}  // namespace moss
