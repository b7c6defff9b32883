// evolver-moss: rendering prompt templates and reading them from prompt_dir.
#include "prompts.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace moss::plugins {

sdk::Result<std::string> render_prompt(std::string_view text,
                                       const std::map<std::string, std::string>& values,
                                       const std::string& origin) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find("{{", i);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find("}}", open + 2);
    const std::string_view name = close == std::string_view::npos
                                      ? std::string_view()
                                      : text.substr(open + 2, close - open - 2);
    const bool is_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || c == '_';
    });
    if (!is_name) {  // not a placeholder, e.g. "{{" in code
      out.append(text.substr(i, open + 2 - i));
      i = open + 2;
      continue;
    }
    auto value = values.find(std::string(name));
    if (value == values.end()) {
      std::string known;
      for (const auto& [key, unused] : values)
        known += (known.empty() ? "" : ", ") + key;
      return sdk::Status(
          sdk::Code::failed_precondition,
          origin + ": unknown placeholder {{" + std::string(name) + "}} (known: " + known + ")");
    }
    out.append(text.substr(i, open - i));
    out.append(value->second);
    i = close + 2;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

sdk::Result<std::string> read_prompt_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return sdk::Status(
        sdk::Code::failed_precondition,
        "prompt file '" + path + "' " +
            (std::filesystem::exists(path, ec) ? "is not a regular file" : "does not exist"));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    return sdk::Status(sdk::Code::failed_precondition,
                       "prompt file '" + path + "' cannot be read: " + std::strerror(errno));
  }
  return text.str();
}

}  // namespace moss::plugins
