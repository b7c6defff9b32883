// Path rules, body checks and SEARCH/REPLACE blocks: pure text work, no git.
#include "evolution/patch_text.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace moss {
namespace {

std::vector<std::string_view> split_components(std::string_view path) {
  std::vector<std::string_view> components;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      components.push_back(path.substr(start));
      return components;
    }
    components.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A root as configured ("src", "src/", "lib/core") as components, without the empty tail.
std::vector<std::string_view> root_components(std::string_view root) {
  while (!root.empty() && root.back() == '/')
    root.remove_suffix(1);
  if (root.empty()) return {};
  return split_components(root);
}

bool touches_sdk(const std::vector<std::string_view>& components) {
  for (std::size_t i = 0; i < components.size(); ++i) {
    if (equals_ignoring_case(components[i], "sdk")) return true;
    if (i + 1 < components.size() && equals_ignoring_case(components[i], "include") &&
        equals_ignoring_case(components[i + 1], "moss")) {
      return true;
    }
  }
  return false;
}

bool is_plain_component(std::string_view component) {
  if (component.empty() || component == "." || equals_ignoring_case(component, ".git")) {
    return false;
  }
  return std::none_of(component.begin(), component.end(), [](char c) {
    return c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

// The blocks of a SEARCH/REPLACE body.
struct Block {
  std::string search;
  std::string replace;
};

std::string_view trim_right(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  return line;
}

// A marker line: 5 to 9 copies of `fill`, then (optionally after spaces) `word`.
bool is_marker(std::string_view line, char fill, std::string_view word) {
  line = trim_right(line);
  std::size_t run = 0;
  while (run < line.size() && line[run] == fill)
    ++run;
  if (run < 5 || run > 9) return false;
  std::string_view rest = line.substr(run);
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  return rest == word;
}

Result<std::vector<Block>> parse_blocks(std::string_view body, std::string_view path,
                                        bool strip_carriage_returns) {
  enum class State { outside, search, replace };
  State state = State::outside;
  std::vector<Block> blocks;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    std::string_view line =
        end == std::string_view::npos ? body.substr(start) : body.substr(start, end - start);
    start = end == std::string_view::npos ? body.size() : end + 1;
    if (strip_carriage_returns && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string number = std::to_string(blocks.size());
    switch (state) {
      case State::outside:
        // Text around the blocks (a file name, code fences, prose) is not part of the patch.
        if (is_marker(line, '<', "SEARCH")) {
          blocks.emplace_back();
          state = State::search;
        }
        break;
      case State::search:
        if (is_marker(line, '=', "")) {
          state = State::replace;
        } else if (is_marker(line, '<', "SEARCH") || is_marker(line, '>', "REPLACE")) {
          return Status(Code::invalid_argument, "SEARCH block " + number + " for " +
                                                    std::string(path) + " has no '=======' line");
        } else {
          blocks.back().search.append(line).push_back('\n');
        }
        break;
      case State::replace:
        if (is_marker(line, '>', "REPLACE")) {
          state = State::outside;
        } else if (is_marker(line, '<', "SEARCH")) {
          return Status(Code::invalid_argument, "SEARCH block " + number + " for " +
                                                    std::string(path) +
                                                    " is not closed by '>>>>>>> REPLACE'");
        } else {
          blocks.back().replace.append(line).push_back('\n');
        }
        break;
    }
  }
  if (state != State::outside) {
    return Status(Code::invalid_argument,
                  "SEARCH block " + std::to_string(blocks.size()) + " for " + std::string(path) +
                      (state == State::search ? " has no '=======' line"
                                              : " is not closed by '>>>>>>> REPLACE'"));
  }
  if (blocks.empty()) {
    return Status(Code::invalid_argument,
                  "the patch for " + std::string(path) +
                      " holds no SEARCH/REPLACE block ('<<<<<<< SEARCH' ... '=======' ... "
                      "'>>>>>>> REPLACE')");
  }
  return blocks;
}

// The positions where `needle` occurs in `haystack` at the start of a line.
std::vector<std::size_t> line_aligned_matches(std::string_view haystack, std::string_view needle) {
  std::vector<std::size_t> positions;
  for (std::size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + 1)) {
    if (at == 0 || haystack[at - 1] == '\n') positions.push_back(at);
  }
  return positions;
}

std::string squeeze_whitespace(std::string_view text) {
  // Each line without leading and trailing blanks; used only to explain a miss.
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
      line.remove_prefix(1);
    out.append(trim_right(line)).push_back('\n');
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string editable_roots_text(const PatchRules& rules) {
  if (rules.editable_roots.empty()) return "nothing";
  std::string text;
  for (const std::string& root : rules.editable_roots) {
    if (!text.empty()) text += ", ";
    std::string_view trimmed = root;
    while (!trimmed.empty() && trimmed.back() == '/')
      trimmed.remove_suffix(1);
    text.append(trimmed).push_back('/');
  }
  return text;
}

Status check_patch_path(std::string_view path, const PatchRules& rules) {
  const std::string quoted = "'" + std::string(path) + "'";
  const auto outside = [&] {
    return Status(Code::invalid_argument, quoted + " is outside the plugin's source (editable: " +
                                              editable_roots_text(rules) + ")");
  };
  std::vector<std::string_view> components = split_components(path);
  // The SDK is named first: "../../sdk/include/moss/sdk/tool.hpp" is an SDK edit that happens
  // to be outside the plugin as well, and the SDK is the reason that matters.
  if (touches_sdk(components)) {
    return Status(Code::invalid_argument, quoted + " touches the SDK, which no patch may change");
  }
  if (path.empty() || path.front() == '/') return outside();
  if (std::find(components.begin(), components.end(), "..") != components.end()) {
    return outside();
  }
  if (!std::all_of(components.begin(), components.end(), is_plain_component)) {
    return Status(Code::invalid_argument,
                  quoted +
                      " is not a plain relative path (an empty, '.' or '.git' component, "
                      "a backslash or a control character)");
  }
  for (const std::string& root : rules.editable_roots) {
    std::vector<std::string_view> prefix = root_components(root);
    if (prefix.empty() || prefix.size() >= components.size()) continue;
    if (std::equal(prefix.begin(), prefix.end(), components.begin())) return Status();
  }
  return outside();
}

bool is_binary(std::string_view content) {
  return content.find('\0') != std::string_view::npos;
}

Status check_patch_body(std::string_view body, const PatchRules& rules) {
  if (body.size() > rules.max_patch_bytes) {
    return Status(Code::invalid_argument, "patch is " + std::to_string(body.size()) +
                                              " bytes, the limit is " +
                                              std::to_string(rules.max_patch_bytes));
  }
  if (is_binary(body)) {
    return Status(Code::invalid_argument, "binary patch: the body holds a NUL byte");
  }
  return Status();
}

Status check_patch_result(std::string_view path, std::string_view content,
                          const PatchRules& rules) {
  if (content.size() > rules.max_file_bytes) {
    return Status(Code::invalid_argument,
                  "'" + std::string(path) + "' would be " + std::to_string(content.size()) +
                      " bytes, the limit is " + std::to_string(rules.max_file_bytes));
  }
  if (is_binary(content)) {
    return Status(Code::invalid_argument,
                  "binary patch: '" + std::string(path) + "' would hold a NUL byte");
  }
  return Status();
}

Result<std::string> apply_search_replace(const std::optional<std::string>& current,
                                         std::string_view body, std::string_view path) {
  // A body written with CRLF line ends for a file without them: the model's line ends, not
  // a wish to change the file's.
  bool strip_carriage_returns = !current.has_value() || current->find('\r') == std::string::npos;
  Result<std::vector<Block>> blocks = parse_blocks(body, path, strip_carriage_returns);
  if (!blocks.ok()) return blocks.status();

  const std::string file = std::string(path);
  std::optional<std::string> content = current;
  for (std::size_t index = 0; index < blocks->size(); ++index) {
    const Block& block = (*blocks)[index];
    const std::string name = "SEARCH block " + std::to_string(index + 1);
    if (block.search.empty()) {
      if (content.has_value()) {
        return Status(
            Code::invalid_argument,
            name + " is empty, but " + file + " exists (an empty SEARCH only creates a new file)");
      }
      content = block.replace;
      continue;
    }
    if (!content.has_value()) {
      return Status(Code::invalid_argument,
                    name + " does not match " + file + ": the file does not exist");
    }
    // SEARCH texts are whole lines, so a last line without its newline gets one for the
    // match, and loses it again afterwards.
    std::string text = *content;
    bool newline_added = !text.empty() && text.back() != '\n';
    if (newline_added) text.push_back('\n');
    std::vector<std::size_t> matches = line_aligned_matches(text, block.search);
    if (matches.empty()) {
      std::string hint;
      if (!line_aligned_matches(squeeze_whitespace(text), squeeze_whitespace(block.search))
               .empty()) {
        hint = " (its lines are there with different indentation or trailing blanks)";
      }
      return Status(Code::invalid_argument, name + " does not match " + file + hint);
    }
    if (matches.size() > 1) {
      return Status(Code::invalid_argument, name + " matches " + std::to_string(matches.size()) +
                                                " places in " + file +
                                                "; add lines around it to make it unique");
    }
    text.replace(matches.front(), block.search.size(), block.replace);
    if (newline_added && !text.empty() && text.back() == '\n') text.pop_back();
    content = std::move(text);
  }
  return *content;
}

}  // namespace moss
