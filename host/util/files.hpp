// File helpers: whole-file reads and crash-safe writes (temporary name, fsync, rename).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/status.hpp"

namespace moss {

Result<std::string> read_file(const std::filesystem::path& file);

// Writes `data` to `target` so that a reader sees either the old file or the whole new one:
// written to a temporary name in the same directory, fsynced, then renamed over `target`.
Status write_file_atomic(const std::filesystem::path& target, std::string_view data);

// Copies `source` to `target` the same way.
Status copy_file_atomic(const std::filesystem::path& source, const std::filesystem::path& target);

// "errno text" for the current errno, e.g. "No such file or directory".
std::string errno_text();

}  // namespace moss
