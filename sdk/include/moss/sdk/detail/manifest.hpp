// Compile-time checks and the compile-time manifest that MOSS_PLUGIN embeds in the
// `moss_manifest` ELF section, so a plugin can be inspected without running any of its code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "moss/sdk/object.hpp"
#include "moss/sdk/version.hpp"

namespace moss::sdk::detail {

constexpr std::size_t cstr_length(const char* s) {
  std::size_t n = 0;
  while (s[n] != '\0')
    ++n;
  return n;
}

// 1-64 characters of [A-Za-z0-9_.-]; the same rule as MCP tool names.
constexpr bool is_valid_name(const char* s) {
  std::size_t n = cstr_length(s);
  if (n == 0 || n > 64) return false;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// 1-64 printable ASCII characters, no quote or backslash (it is embedded in JSON verbatim).
constexpr bool is_valid_version(const char* s) {
  std::size_t n = cstr_length(s);
  if (n == 0 || n > 64) return false;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

// A small constexpr JSON syntax checker, so a malformed config schema fails the build.
class JsonSyntax {
 public:
  explicit constexpr JsonSyntax(const char* text) : s_(text) {}

  constexpr bool is_object() {
    skip_ws();
    if (s_[i_] != '{') return false;
    if (!value(0)) return false;
    skip_ws();
    return s_[i_] == '\0';
  }

 private:
  constexpr void skip_ws() {
    while (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')
      ++i_;
  }
  constexpr bool literal(const char* word) {
    for (std::size_t k = 0; word[k] != '\0'; ++k, ++i_) {
      if (s_[i_] != word[k]) return false;
    }
    return true;
  }
  constexpr bool string() {
    ++i_;  // opening quote
    while (s_[i_] != '"') {
      char c = s_[i_];
      if (c == '\0' || static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        ++i_;
        if (s_[i_] == '\0') return false;
      }
      ++i_;
    }
    ++i_;
    return true;
  }
  constexpr bool number() {
    if (s_[i_] == '-') ++i_;
    bool digits = false;
    while ((s_[i_] >= '0' && s_[i_] <= '9') || s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E' ||
           s_[i_] == '+' || s_[i_] == '-') {
      digits = digits || (s_[i_] >= '0' && s_[i_] <= '9');
      ++i_;
    }
    return digits;
  }
  constexpr bool value(int depth) {
    if (depth > 64) return false;
    skip_ws();
    char c = s_[i_];
    if (c == '{') return container('}', true, depth);
    if (c == '[') return container(']', false, depth);
    if (c == '"') return string();
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    return number();
  }
  constexpr bool container(char close, bool keyed, int depth) {
    ++i_;
    skip_ws();
    if (s_[i_] == close) {
      ++i_;
      return true;
    }
    while (true) {
      skip_ws();
      if (keyed) {
        if (s_[i_] != '"' || !string()) return false;
        skip_ws();
        if (s_[i_] != ':') return false;
        ++i_;
      }
      if (!value(depth + 1)) return false;
      skip_ws();
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] != close) return false;
      ++i_;
      return true;
    }
  }

  const char* s_;
  std::size_t i_ = 0;
};

constexpr bool is_json_object(const char* s) {
  return JsonSyntax(s).is_object();
}

// Writes the manifest, or only counts its length when `out` is null.
class ManifestWriter {
 public:
  explicit constexpr ManifestWriter(char* out) : out_(out) {}
  constexpr void put(const char* s) {
    for (std::size_t k = 0; s[k] != '\0'; ++k)
      put(s[k]);
  }
  constexpr void put(char c) {
    if (out_ != nullptr) out_[n_] = c;
    ++n_;
  }
  constexpr void put_uint(std::uint32_t v) {
    char digits[10] = {};
    int count = 0;
    do {
      digits[count++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (count > 0)
      put(digits[--count]);
  }
  constexpr std::size_t size() const { return n_; }

 private:
  char* out_;
  std::size_t n_ = 0;
};

// {"moss_manifest":1,"name":..,"version":..,"abi_major":..,"abi_minor":..,"toolchain":..,
//  "kinds":[..],"config_schema":{..}}
constexpr void write_manifest(ManifestWriter& w, const char* name, const char* version,
                              const char* config_schema, std::uint32_t kinds) {
  w.put("{\"moss_manifest\":1,\"name\":\"");
  w.put(name);
  w.put("\",\"version\":\"");
  w.put(version);
  w.put("\",\"abi_major\":");
  w.put_uint(MOSS_SDK_ABI_MAJOR);
  w.put(",\"abi_minor\":");
  w.put_uint(MOSS_SDK_ABI_MINOR);
  w.put(",\"toolchain\":\"" MOSS_SDK_TOOLCHAIN "\",\"kinds\":[");
  bool first = true;
  for (Kind kind : kAllKinds) {
    if ((kinds & static_cast<std::uint32_t>(kind)) == 0) continue;
    if (!first) w.put(',');
    first = false;
    w.put('"');
    w.put(kind_name(kind));
    w.put('"');
  }
  w.put("],\"config_schema\":");
  w.put(config_schema);
  w.put('}');
}

constexpr std::size_t manifest_size(const char* name, const char* version,
                                    const char* config_schema, std::uint32_t kinds) {
  ManifestWriter counter(nullptr);
  write_manifest(counter, name, version, config_schema, kinds);
  return counter.size() + 1;  // NUL
}

template <std::size_t N>
constexpr std::array<char, N> make_manifest(const char* name, const char* version,
                                            const char* config_schema, std::uint32_t kinds) {
  std::array<char, N> text{};
  ManifestWriter writer(text.data());
  write_manifest(writer, name, version, config_schema, kinds);
  return text;
}

}  // namespace moss::sdk::detail
