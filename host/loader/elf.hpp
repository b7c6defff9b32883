// A bounds-checked reader for the parts of an ELF shared object the loader needs before it
// dares to dlopen the file: its dynamic symbols and one named section.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/status.hpp"

namespace moss {

struct ElfSymbol {
  std::string name;
  bool global = false;  // STB_GLOBAL or STB_WEAK
  bool unique = false;  // STB_GNU_UNIQUE: pins the library in memory
  bool defined = false;
};

struct ElfImage {
  std::uint64_t size_bytes = 0;
  std::vector<ElfSymbol> dynamic_symbols;   // defined, visible ones only
  std::optional<std::string> section_data;  // the requested section, if present
};

// Parses `data`, the bytes of `file`, and extracts the contents of `section_name` if present.
// Refuses anything that is not a 64-bit little-endian shared object for this machine, and any
// structure that points past the end of the data, with a message naming the file, what was
// expected and what was found.
Result<ElfImage> parse_elf(const std::filesystem::path& file, const std::string& data,
                           const std::string& section_name);

}  // namespace moss
