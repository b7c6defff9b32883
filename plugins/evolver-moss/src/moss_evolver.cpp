// evolver-moss: prompts, reply parsing, and the analyze/propose calls through the host's LLM.
#include "moss_evolver.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace moss::plugins {

const char* const kAnalyzePrompt = R"(You are analysing a failed task of a moss agent plugin.

Task: {{task_id}}
Plugin: {{plugin}} (version {{plugin_version}})
Score: {{score}}
Error:
{{error}}

Trace, one step per line (module, action, outcome, detail):
{{trace}}

Find the root cause. Reply with only a JSON object:
{"root_cause": "...", "affected_module": "...", "description": "..."}
- root_cause: the underlying defect, in one or two sentences
- affected_module: the module or source file that has to change
- description: a one-line summary of the failure pattern
)";

const char* const kProposePrompt = R"(You are fixing the source code of a moss plugin.

Failure pattern {{pattern_id}}:
- description: {{description}}
- root cause: {{root_cause}}
- affected module: {{affected_module}}

Context from the host (evaluation results, errors of earlier attempts):
{{context}}

Source files:

{{files}}
Return the fixed source of exactly one of these files: {{file_list}}.
Keep every signature and interface as it is and change only what the fix needs.
Reply with a line "FILE: <path>", then the complete new content of that file in one fenced
code block.
)";

namespace {

using nlohmann::json;
using sdk::Code;
using sdk::Result;
using sdk::Status;

Status invalid_reply(const std::string& message) {
  return Status(Code::invalid_reply, message);
}

// The index just past the object that opens at text[open], or npos if it never closes.
// Braces inside JSON strings do not count.
std::size_t balanced_end(std::string_view text, std::size_t open) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = open; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

struct Line {
  std::string_view text;  // without the newline
  std::size_t begin = 0;  // offset in the reply
  std::size_t end = 0;    // offset just past the newline
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t newline = text.find('\n', begin);
    std::size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    std::string_view line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({line, begin, end});
    begin = end;
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  const char* space = " \t\r\n";
  std::size_t first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

// A CommonMark backtick fence: up to 3 spaces, then 3 or more backticks. Returns the number of
// backticks (0 if the line is no fence) and the rest of the line.
std::pair<std::size_t, std::string_view> fence(std::string_view line) {
  std::size_t indent = line.find_first_not_of(' ');
  if (indent == std::string_view::npos || indent > 3) return {0, {}};
  std::size_t ticks = line.find_first_not_of('`', indent);
  if (ticks == std::string_view::npos) ticks = line.size();
  std::size_t count = ticks - indent;
  if (count < 3) return {0, {}};
  return {count, line.substr(ticks)};
}

// A fence longer than any backtick run in `content`, so the content cannot close it.
std::string fence_for(std::string_view content) {
  std::size_t longest = 0;
  std::size_t run = 0;
  for (char c : content) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

struct FenceScan {
  FencedBlock block;
  std::size_t opening_line = 0;  // 1-based
  bool closed = false;
};

// Every fenced block of `text`, in order; an unclosed one runs to the end and is the last.
std::vector<FenceScan> scan_fenced_blocks(std::string_view text) {
  std::vector<FenceScan> blocks;
  std::vector<Line> lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto [ticks, info] = fence(lines[i].text);
    if (ticks == 0 || info.find('`') != std::string_view::npos) continue;
    FenceScan scan;
    scan.block.info = std::string(trim(info));
    scan.block.before = std::string(text.substr(0, lines[i].begin));
    scan.opening_line = i + 1;
    std::size_t j = i + 1;
    for (; j < lines.size(); ++j) {
      auto [closing, after] = fence(lines[j].text);
      if (closing >= ticks && trim(after).empty()) {
        scan.closed = true;
        break;
      }
      scan.block.body += std::string(lines[j].text) + "\n";
    }
    blocks.push_back(std::move(scan));
    i = j;
  }
  return blocks;
}

std::string render_trace(const std::vector<sdk::TraceStep>& trace) {
  if (trace.empty()) return "(no trace)";
  std::string out;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const sdk::TraceStep& step = trace[i];
    out += std::to_string(i + 1) + ". [" + (step.module.empty() ? "-" : step.module) + "] " +
           step.action + " (" + (step.ok ? "ok" : "failed") + "): " + step.detail + "\n";
  }
  return out;
}

std::string render_files(const std::vector<sdk::SourceFile>& sources) {
  std::string out;
  for (const sdk::SourceFile& file : sources) {
    const std::string f = fence_for(file.content);
    out += "FILE: " + file.path + "\n" + f + "\n" + file.content;
    if (!file.content.empty() && file.content.back() != '\n') out += "\n";
    out += f + "\n\n";
  }
  return out;
}

// The string field `key` of a reply object; invalid_reply if present but not a string, or
// missing when required.
Result<std::string> reply_field(const json& object, const char* key, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return invalid_reply(std::string("the reply's JSON object has no ") + key);
    return std::string();
  }
  if (!it->is_string()) {
    return invalid_reply(std::string("the reply's ") + key + " is not a string");
  }
  std::string value(trim(it->get<std::string>()));
  if (required && value.empty())
    return invalid_reply(std::string("the reply's ") + key + " is empty");
  return value;
}

}  // namespace

std::string fnv1a64_hex(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char hex[17] = {};
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

Result<std::string> first_json_object(std::string_view reply) {
  // Regions to search, best first: the bodies of ```json blocks, then the whole reply.
  std::vector<std::string> regions;
  for (const FenceScan& block : scan_fenced_blocks(reply)) {
    if (block.closed && (block.block.info == "json" || block.block.info == "JSON"))
      regions.push_back(block.block.body);
  }
  regions.emplace_back(reply);

  std::string last_error;
  for (const std::string& region : regions) {
    for (std::size_t open = region.find('{'); open != std::string::npos;
         open = region.find('{', open + 1)) {
      std::size_t end = balanced_end(region, open);
      if (end == std::string_view::npos) {
        if (last_error.empty()) last_error = "an unbalanced '{'";
        continue;
      }
      std::string candidate = region.substr(open, end - open);
      json parsed = json::parse(candidate, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_object()) return candidate;
      last_error = "a balanced {...} that is not valid JSON";
    }
  }
  return invalid_reply("no JSON object in the reply" +
                       (last_error.empty() ? std::string() : " (found " + last_error + ")"));
}

Result<FencedBlock> first_fenced_block(std::string_view reply) {
  std::vector<FenceScan> blocks = scan_fenced_blocks(reply);
  if (blocks.empty()) return invalid_reply("no fenced code block in the reply");
  if (!blocks.front().closed) {
    return invalid_reply("the code block opened on line " +
                         std::to_string(blocks.front().opening_line) +
                         " of the reply is never closed");
  }
  return std::move(blocks.front().block);
}

Result<std::string> render_prompt(std::string_view text,
                                  const std::map<std::string, std::string>& values,
                                  const std::string& origin) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t open = text.find("{{", i);
    if (open == std::string_view::npos) break;
    std::size_t close = text.find("}}", open + 2);
    std::string_view name = close == std::string_view::npos
                                ? std::string_view()
                                : text.substr(open + 2, close - open - 2);
    bool is_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
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
      return Status(Code::failed_precondition, origin + ": unknown placeholder {{" +
                                                   std::string(name) + "}} (known: " + known + ")");
    }
    out.append(text.substr(i, open - i));
    out.append(value->second);
    i = close + 2;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

Status MossEvolver::init(const sdk::InitContext& context) {
  json config = json::parse(context.config_json.empty() ? "{}" : context.config_json, nullptr,
                            /*allow_exceptions=*/false);
  if (!config.is_object()) return Status(Code::invalid_argument, "config must be a JSON object");
  if (auto it = config.find("prompt_dir"); it != config.end()) {
    if (!it->is_string()) return Status(Code::invalid_argument, "prompt_dir: must be a string");
    prompt_dir_ = it->get<std::string>();
  }
  std::error_code ec;
  if (!prompt_dir_.empty() && !std::filesystem::is_directory(prompt_dir_, ec)) {
    return Status(Code::invalid_argument, "prompt_dir: '" + prompt_dir_ + "' is not a directory");
  }
  host_ = context.host;
  logger_ = context.logger;
  return Status();
}

Result<std::string> MossEvolver::prompt(const char* file_name, const char* builtin,
                                        const std::map<std::string, std::string>& values) const {
  if (prompt_dir_.empty())
    return render_prompt(builtin, values, std::string("built-in ") + file_name);
  const std::string path = (std::filesystem::path(prompt_dir_) / file_name).string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::failed_precondition, "prompt_dir: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return render_prompt(text.str(), values, path);
}

Result<std::string> MossEvolver::ask(const std::string& prompt, const char* purpose) {
  if (host_ == nullptr) {
    return Status(Code::failed_precondition, "no host services: init was not called with a host");
  }
  sdk::ChatRequest request;
  request.messages.push_back({"user", prompt, {}, "", ""});
  request.temperature = 0.0;
  auto response = host_->chat(request);
  if (!response.ok()) {
    return Status(response.status().code(),
                  std::string(purpose) + ": the LLM call failed: " + response.status().message());
  }
  if (logger_ != nullptr && logger_->enabled(sdk::LogLevel::debug)) {
    logger_->debug(std::string(purpose) + " reply: " + response.value().message.content);
  }
  return std::move(response.value().message.content);
}

Result<sdk::FailurePattern> MossEvolver::analyze(const sdk::FailureReport& failure) {
  char score[32] = {};
  std::snprintf(score, sizeof score, "%.4g", failure.score);
  auto text = prompt("analyze.txt", kAnalyzePrompt,
                     {{"task_id", failure.task_id},
                      {"plugin", failure.plugin},
                      {"plugin_version", failure.plugin_version},
                      {"score", score},
                      {"error", failure.error.empty() ? "(none)" : failure.error},
                      {"trace", render_trace(failure.trace)}});
  if (!text.ok()) return text.status();
  auto reply = ask(text.value(), "analyze");
  if (!reply.ok()) return reply.status();

  auto object_text = first_json_object(reply.value());
  if (!object_text.ok()) return object_text.status();
  json object = json::parse(object_text.value());
  auto root_cause = reply_field(object, "root_cause", true);
  if (!root_cause.ok()) return root_cause.status();
  auto description = reply_field(object, "description", true);
  if (!description.ok()) return description.status();
  auto llm_module = reply_field(object, "affected_module", false);
  if (!llm_module.ok()) return llm_module.status();

  sdk::FailurePattern pattern;
  pattern.pattern_id = fnv1a64_hex(failure.task_id);
  pattern.root_cause = std::move(root_cause.value());
  pattern.description = std::move(description.value());
  auto step = std::find_if(failure.trace.begin(), failure.trace.end(),
                           [](const sdk::TraceStep& s) { return !s.module.empty(); });
  pattern.affected_module = step != failure.trace.end()   ? step->module
                            : !llm_module.value().empty() ? llm_module.value()
                                                          : failure.plugin;
  pattern.occurrence_count = 1;
  pattern.last_occurrence_ms = host_->now_ms();
  return pattern;
}

Result<sdk::Patch> MossEvolver::propose(const sdk::FailurePattern& pattern,
                                        const std::vector<sdk::SourceFile>& sources,
                                        std::string_view context) {
  if (sources.empty()) return Status(Code::invalid_argument, "propose: no source files given");
  std::string file_list;
  for (const auto& file : sources)
    file_list += (file_list.empty() ? "" : ", ") + file.path;
  auto text = prompt("propose.txt", kProposePrompt,
                     {{"pattern_id", pattern.pattern_id},
                      {"description", pattern.description},
                      {"root_cause", pattern.root_cause},
                      {"affected_module", pattern.affected_module},
                      {"context", context.empty() ? "(none)" : std::string(context)},
                      {"files", render_files(sources)},
                      {"file_list", file_list}});
  if (!text.ok()) return text.status();
  auto reply = ask(text.value(), "propose");
  if (!reply.ok()) return reply.status();

  auto block = first_fenced_block(reply.value());
  if (!block.ok()) return block.status();
  const std::string info(block.value().info.substr(0, block.value().info.find(' ')));
  if (info == "diff" || info == "patch") {
    return invalid_reply("the reply holds a diff; this evolver only accepts the complete file");
  }
  if (trim(block.value().body).empty()) return invalid_reply("the reply's code block is empty");

  // The file: named on a "FILE:" line before the block, else the affected module if it is one
  // of the sources, else the only source.
  auto is_source = [&](std::string_view path) {
    return std::any_of(sources.begin(), sources.end(),
                       [&](const sdk::SourceFile& f) { return f.path == path; });
  };
  std::string path;
  std::string prose;
  for (const Line& line : split_lines(block.value().before)) {
    std::string_view t = trim(line.text);
    if (t.rfind("FILE:", 0) == 0) {
      path = std::string(trim(t.substr(5)));
    } else if (!t.empty()) {
      prose += std::string(t) + "\n";
    }
  }
  if (!path.empty() && !is_source(path)) {
    return invalid_reply("the reply names " + path + ", which is not one of: " + file_list);
  }
  if (path.empty() && is_source(pattern.affected_module)) path = pattern.affected_module;
  if (path.empty() && sources.size() == 1) path = sources.front().path;
  if (path.empty()) {
    return invalid_reply("the reply names no file (expected a line \"FILE: <path>\" with one of: " +
                         file_list + ")");
  }

  sdk::Patch patch;
  patch.format = sdk::PatchFormat::full_file;
  patch.path = std::move(path);
  patch.body = std::move(block.value().body);
  std::string_view explanation = trim(prose);
  patch.description = "pattern " + pattern.pattern_id + ": " + pattern.description +
                      (explanation.empty() ? "" : "\n" + std::string(explanation));
  return patch;
}

}  // namespace moss::plugins
