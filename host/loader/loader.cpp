// The plugin loader. Order matters: everything that can be checked without running plugin
// code (ELF structure, entry symbol, manifest, ABI, toolchain) is checked before dlopen.
#include "loader/loader.hpp"

#include <dlfcn.h>

#include <cstddef>
#include <system_error>

#include <boost/dll/shared_library.hpp>
#include <nlohmann/json.hpp>

#include "loader/elf.hpp"
#include "util/files.hpp"
#include "util/sha256.hpp"

namespace moss {

struct Library::DlHandle {
  boost::dll::shared_library library;
};

namespace {

// The descriptor size of ABI 1.0. A plugin's descriptor must be at least this large; fields
// appended in later minors are read only when struct_size covers them.
constexpr std::size_t kMinDescriptorSize = sizeof(sdk::PluginDescriptor);

std::string abi_text(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

Result<std::uint32_t> parse_kinds(const nlohmann::json& kinds, const std::string& origin) {
  if (!kinds.is_array() || kinds.empty()) {
    return Status(Code::invalid_argument,
                  origin + ": manifest field 'kinds': expected a non-empty array of kind names");
  }
  std::uint32_t mask = 0;
  for (const auto& entry : kinds) {
    bool known = false;
    for (sdk::Kind kind : sdk::kAllKinds) {
      if (entry.is_string() && entry.get<std::string>() == sdk::kind_name(kind)) {
        mask |= static_cast<std::uint32_t>(kind);
        known = true;
      }
    }
    if (!known) {
      return Status(Code::invalid_argument, origin + ": manifest names unknown kind " +
                                                entry.dump() + "; expected one of " +
                                                kinds_to_string(0x3f));
    }
  }
  return mask;
}

}  // namespace

std::string kinds_to_string(std::uint32_t kinds) {
  std::string out;
  for (sdk::Kind kind : sdk::kAllKinds) {
    if ((kinds & static_cast<std::uint32_t>(kind)) == 0) continue;
    if (!out.empty()) out += ",";
    out += sdk::kind_name(kind);
  }
  return out;
}

Result<PluginManifest> parse_manifest(std::string_view json, const std::string& origin) {
  while (!json.empty() && json.back() == '\0')
    json.remove_suffix(1);
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status(Code::invalid_argument,
                  origin + ": the moss_manifest section is not a JSON object");
  }
  auto field = [&](const char* key, auto check) -> Status {
    auto it = doc.find(key);
    if (it == doc.end() || !check(*it)) {
      return Status(Code::invalid_argument,
                    origin + ": manifest field '" + key + "' is missing or has the wrong type");
    }
    return Status();
  };
  auto is_string = [](const nlohmann::json& v) { return v.is_string(); };
  auto is_small_uint = [](const nlohmann::json& v) {
    return v.is_number_unsigned() && v.get<std::uint64_t>() <= 0xffff;
  };
  for (const char* key : {"name", "version", "toolchain"}) {
    Status s = field(key, is_string);
    if (!s.ok()) return s;
  }
  for (const char* key : {"abi_major", "abi_minor"}) {
    Status s = field(key, is_small_uint);
    if (!s.ok()) return s;
  }
  Status schema = field("config_schema", [](const nlohmann::json& v) { return v.is_object(); });
  if (!schema.ok()) return schema;

  PluginManifest manifest;
  manifest.name = doc["name"].get<std::string>();
  manifest.version = doc["version"].get<std::string>();
  manifest.toolchain = doc["toolchain"].get<std::string>();
  manifest.abi_major = doc["abi_major"].get<std::uint16_t>();
  manifest.abi_minor = doc["abi_minor"].get<std::uint16_t>();
  manifest.config_schema_json = doc["config_schema"].dump();
  manifest.raw_json = std::string(json);
  auto kinds = parse_kinds(doc.value("kinds", nlohmann::json()), origin);
  if (!kinds.ok()) return kinds.status();
  manifest.kinds = kinds.value();
  return manifest;
}

Status check_compatibility(const PluginManifest& m, const std::string& origin) {
  const std::string plugin = origin + ": plugin '" + m.name + "'";
  if (m.abi_major != sdk::kAbiMajor) {
    return Status(Code::failed_precondition,
                  plugin + " was built for moss SDK ABI " + abi_text(m.abi_major, m.abi_minor) +
                      ", but this host supports ABI " + abi_text(sdk::kAbiMajor, sdk::kAbiMinor) +
                      ": ABI major mismatch (expected " + std::to_string(sdk::kAbiMajor) +
                      ", found " + std::to_string(m.abi_major) + ")");
  }
  if (m.abi_minor > sdk::kAbiMinor) {
    return Status(Code::failed_precondition,
                  plugin + " was built for moss SDK ABI " + abi_text(m.abi_major, m.abi_minor) +
                      ", newer than this host's ABI " + abi_text(sdk::kAbiMajor, sdk::kAbiMinor) +
                      " (expected minor <= " + std::to_string(sdk::kAbiMinor) + ", found " +
                      std::to_string(m.abi_minor) + "); upgrade moss to load it");
  }
  if (m.toolchain != sdk::kToolchain) {
    return Status(Code::failed_precondition,
                  plugin + " was built with an incompatible toolchain (expected '" +
                      std::string(sdk::kToolchain) + "', found '" + m.toolchain + "')");
  }
  return Status();
}

Result<FileInspection> inspect_plugin_file(const std::filesystem::path& file, bool hash) {
  const std::string origin = file.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return Status(Code::not_found, origin + ": no such plugin file (expected a regular file)");
  }
  // One read serves both the ELF checks and the hash.
  auto bytes = read_file(file);
  if (!bytes.ok()) return bytes.status();
  auto image = parse_elf(file, bytes.value(), sdk::kManifestSection);
  if (!image.ok()) return image.status();

  FileInspection inspection;
  inspection.path = file;
  inspection.size_bytes = image->size_bytes;
  bool has_entry = false;
  for (const ElfSymbol& symbol : image->dynamic_symbols) {
    if (symbol.name == sdk::kEntrySymbol) has_entry = true;
    if (symbol.unique) inspection.unique_symbols.push_back(symbol.name);
  }
  if (!has_entry) {
    return Status(
        Code::invalid_argument,
        origin + ": not a moss plugin: expected the exported symbol '" + sdk::kEntrySymbol +
            "', found " + std::to_string(image->dynamic_symbols.size()) + " other exported symbol" +
            (image->dynamic_symbols.size() == 1 ? "" : "s") + " (build it with MOSS_PLUGIN(...))");
  }
  if (!image->section_data) {
    return Status(Code::invalid_argument,
                  origin + ": not a moss plugin: expected a '" + sdk::kManifestSection +
                      "' section, found none (build it with MOSS_PLUGIN(...))");
  }
  auto manifest = parse_manifest(*image->section_data, origin);
  if (!manifest.ok()) return manifest.status();
  inspection.manifest = std::move(manifest.value());

  if (hash) inspection.sha256 = sha256_hex(bytes.value());
  return inspection;
}

Library::Library() = default;
Library::~Library() = default;

Status Library::check_descriptor(const sdk::PluginDescriptor* d, const PluginManifest& expected,
                                 const std::string& origin) {
  if (d == nullptr) {
    return Status(Code::invalid_argument,
                  origin +
                      ": the plugin entry returned no descriptor (expected a pointer, "
                      "found null)");
  }
  if (d->struct_size < kMinDescriptorSize) {
    return Status(Code::invalid_argument,
                  origin + ": plugin descriptor too small (expected at least " +
                      std::to_string(kMinDescriptorSize) + " bytes, found " +
                      std::to_string(d->struct_size) + ")");
  }
  auto mismatch = [&](const char* what, const std::string& want, const std::string& got) {
    return Status(Code::invalid_argument, origin + ": descriptor disagrees with the manifest on " +
                                              what + " (expected '" + want + "', found '" + got +
                                              "')");
  };
  auto text = [](const char* s) { return s == nullptr ? std::string("(null)") : std::string(s); };
  if (d->abi_major != expected.abi_major || d->abi_minor != expected.abi_minor) {
    return mismatch("the ABI", abi_text(expected.abi_major, expected.abi_minor),
                    abi_text(d->abi_major, d->abi_minor));
  }
  if (text(d->toolchain) != expected.toolchain) {
    return mismatch("the toolchain", expected.toolchain, text(d->toolchain));
  }
  if (text(d->name) != expected.name) return mismatch("the name", expected.name, text(d->name));
  if (text(d->version) != expected.version) {
    return mismatch("the version", expected.version, text(d->version));
  }
  if (d->kinds != expected.kinds) {
    return mismatch("the kinds", kinds_to_string(expected.kinds), kinds_to_string(d->kinds));
  }
  if (d->create == nullptr || d->destroy == nullptr) {
    return Status(Code::invalid_argument,
                  origin +
                      ": descriptor lacks its create/destroy functions (expected both, found "
                      "null)");
  }
  return Status();
}

Result<std::shared_ptr<Library>> Library::load(const std::filesystem::path& file,
                                               const LoadOptions& options) {
  auto inspection = inspect_plugin_file(file, options.known_sha256.empty());
  if (!inspection.ok()) return inspection.status();
  if (!options.known_sha256.empty()) inspection->sha256 = options.known_sha256;
  const std::string origin = file.string();
  Status compatible = check_compatibility(inspection->manifest, origin);
  if (!compatible.ok()) return compatible;

  auto handle = std::make_unique<DlHandle>();
  unsigned mode = boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now;
  if (options.never_unload) mode |= RTLD_NODELETE;
  std::error_code ec;
  handle->library.load(file, static_cast<boost::dll::load_mode::type>(mode), ec);
  if (ec) {
    const char* detail = ::dlerror();
    return Status(Code::failed_precondition,
                  origin + ": dlopen failed: " + (detail != nullptr ? detail : ec.message()));
  }
  if (!handle->library.has(sdk::kEntrySymbol)) {
    return Status(Code::invalid_argument, origin + ": the loaded library lacks the symbol '" +
                                              sdk::kEntrySymbol + "' found in its file");
  }
  auto& entry = handle->library.get_alias<sdk::EntryFunction>(sdk::kEntrySymbol);
  const sdk::PluginDescriptor* descriptor = entry();
  Status valid = check_descriptor(descriptor, inspection->manifest, origin);
  if (!valid.ok()) return valid;

  std::shared_ptr<Library> library(new Library());
  library->handle_ = std::move(handle);
  library->descriptor_ = descriptor;
  library->manifest_ = std::move(inspection->manifest);
  library->label_ = origin;
  library->sha256_ = std::move(inspection->sha256);
  library->pinned_in_memory_ = options.never_unload || !inspection->unique_symbols.empty();
  return library;
}

Result<std::shared_ptr<Library>> Library::from_descriptor(const sdk::PluginDescriptor* descriptor,
                                                          std::string label) {
  if (descriptor == nullptr || descriptor->manifest == nullptr) {
    return Status(Code::invalid_argument, label + ": no descriptor or no manifest in it");
  }
  auto manifest = parse_manifest(descriptor->manifest, label);
  if (!manifest.ok()) return manifest.status();
  Status compatible = check_compatibility(manifest.value(), label);
  if (!compatible.ok()) return compatible;
  Status valid = check_descriptor(descriptor, manifest.value(), label);
  if (!valid.ok()) return valid;

  std::shared_ptr<Library> library(new Library());
  library->descriptor_ = descriptor;
  library->manifest_ = std::move(manifest.value());
  library->label_ = std::move(label);
  library->sha256_ = sha256_hex(library->manifest_.raw_json);
  return library;
}

Result<std::shared_ptr<sdk::PluginObject>> Library::create(sdk::Kind kind) {
  if (!manifest_.implements(kind)) {
    return Status(Code::not_found, label_ + ": plugin '" + manifest_.name +
                                       "' does not implement kind '" + sdk::kind_name(kind) +
                                       "' (it implements " + kinds_to_string(manifest_.kinds) +
                                       ")");
  }
  std::string error;
  sdk::PluginObject* object = descriptor_->create(kind, &error);
  if (object == nullptr) {
    return Status(Code::plugin_exception, label_ + ": plugin '" + manifest_.name +
                                              "' failed to create its " + sdk::kind_name(kind) +
                                              ": " + (error.empty() ? "no reason given" : error));
  }
  // The deleter holds the library: the plugin's destroy runs before the library can unload.
  auto destroy = descriptor_->destroy;
  return std::shared_ptr<sdk::PluginObject>(
      object, [library = shared_from_this(), destroy](sdk::PluginObject* o) { destroy(o); });
}

}  // namespace moss
