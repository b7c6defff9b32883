// evolver-moss: the config, the analyze and propose calls through the host's LLM, and the
// reading of the analysis reply (the patch reply is read in patch_reply.cpp).
#include "moss_evolver.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

#include "patch_reply.hpp"
#include "prompts.hpp"
#include "reply_text.hpp"

namespace moss::plugins {

namespace {

using nlohmann::json;
using sdk::Code;
using sdk::Result;
using sdk::Status;

// A step's detail and the error can be whole tool outputs; the prompt keeps their start.
constexpr std::size_t kMaxDetailBytes = 2000;
constexpr std::size_t kMaxErrorBytes = 4000;
constexpr std::size_t kMaxReplyBytesLimit = 16 * 1024 * 1024;

constexpr const char* kAnalyzeFile = "analyze.txt";
constexpr const char* kProposeFile = "propose.txt";

// The placeholders each prompt gets; a prompt file using another is refused.
const std::vector<std::string> kAnalyzeNames = {"task_id", "plugin", "plugin_version",
                                                "score",   "error",  "trace"};
const std::vector<std::string> kProposeNames = {"pattern_id",      "description",      "root_cause",
                                                "affected_module", "occurrence_count", "context",
                                                "files",           "file_list"};

Status invalid_argument(const std::string& message) {
  return Status(Code::invalid_argument, message);
}

Status invalid_reply(const std::string& message) {
  return Status(Code::invalid_reply, message);
}

std::string_view builtin_prompt(std::string_view file_name) {
  return file_name == kAnalyzeFile ? kBuiltinAnalyzePrompt : kBuiltinProposePrompt;
}

std::string render_trace(const std::vector<sdk::TraceStep>& trace) {
  if (trace.empty()) return "(no trace)";
  std::string out;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const sdk::TraceStep& step = trace[i];
    out += std::to_string(i + 1) + ". [" + (step.module.empty() ? "-" : step.module) + "] " +
           step.action + " (" + (step.ok ? "ok" : "failed") +
           "): " + cap_utf8(step.detail, kMaxDetailBytes) + "\n";
  }
  return out;
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

std::string render_files(const std::vector<sdk::SourceFile>& sources) {
  std::string out;
  for (const sdk::SourceFile& file : sources) {
    const std::string fence = fence_for(file.content);
    out += "FILE: " + file.path + "\n" + fence + "\n" + file.content;
    if (!file.content.empty() && file.content.back() != '\n') out += "\n";
    out += fence + "\n\n";
  }
  return out;
}

// The string field `key` of the analysis; invalid_reply if present but not a string, or
// missing or empty when required.
Result<std::string> reply_field(const json& object, const char* key, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return invalid_reply(std::string("the reply's JSON object has no ") + key);
    return std::string();
  }
  if (!it->is_string())
    return invalid_reply(std::string("the reply's ") + key + " is not a string");
  std::string value(trim(it->get<std::string>()));
  if (required && value.empty())
    return invalid_reply(std::string("the reply's ") + key + " is empty");
  return value;
}

Status read_integer(const json& config, const char* key, std::int64_t min, std::int64_t max,
                    std::int64_t& out) {
  auto it = config.find(key);
  if (it == config.end()) return Status();
  if (!it->is_number_integer()) return invalid_argument(std::string(key) + ": must be an integer");
  const std::int64_t value =
      it->is_number_unsigned() ? static_cast<std::int64_t>(std::min<std::uint64_t>(
                                     it->get<std::uint64_t>(), static_cast<std::uint64_t>(max) + 1))
                               : it->get<std::int64_t>();
  if (value < min || value > max) {
    return invalid_argument(std::string(key) + ": must be between " + std::to_string(min) +
                            " and " + std::to_string(max) + " (got " + it->dump() + ")");
  }
  out = value;
  return Status();
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

Result<EvolverConfig> parse_evolver_config(std::string_view config_json,
                                           std::string_view config_dir) {
  json config = json::parse(config_json.empty() ? std::string_view("{}") : config_json, nullptr,
                            /*allow_exceptions=*/false);
  if (!config.is_object()) return invalid_argument("config must be a JSON object");
  for (const auto& [key, unused] : config.items()) {
    if (key != "prompt_dir" && key != "max_reply_bytes" && key != "temperature" &&
        key != "max_tokens") {
      return invalid_argument("unknown key '" + key +
                              "' (known: prompt_dir, max_reply_bytes, temperature, max_tokens)");
    }
  }
  EvolverConfig out;
  if (auto it = config.find("prompt_dir"); it != config.end()) {
    if (!it->is_string()) return invalid_argument("prompt_dir: must be a string");
    out.prompt_dir = it->get<std::string>();
  }
  // A relative path means relative to the config file, like every other path in moss.toml.
  if (!out.prompt_dir.empty() && !config_dir.empty() &&
      std::filesystem::path(out.prompt_dir).is_relative()) {
    out.prompt_dir = (std::filesystem::path(config_dir) / out.prompt_dir).string();
  }
  std::int64_t max_reply_bytes = static_cast<std::int64_t>(out.max_reply_bytes);
  if (Status s = read_integer(config, "max_reply_bytes", 1, kMaxReplyBytesLimit, max_reply_bytes);
      !s.ok())
    return s;
  out.max_reply_bytes = static_cast<std::size_t>(max_reply_bytes);
  std::int64_t max_tokens = out.max_tokens;
  if (Status s = read_integer(config, "max_tokens", 0, 1'000'000, max_tokens); !s.ok()) return s;
  out.max_tokens = static_cast<std::int32_t>(max_tokens);
  if (auto it = config.find("temperature"); it != config.end()) {
    if (!it->is_number()) return invalid_argument("temperature: must be a number");
    out.temperature = it->get<double>();
    if (!(out.temperature >= 0.0 && out.temperature <= 2.0))
      return invalid_argument("temperature: must be between 0 and 2 (got " + it->dump() + ")");
  }
  return out;
}

Status MossEvolver::init(const sdk::InitContext& context) {
  Result<EvolverConfig> config = parse_evolver_config(context.config_json, context.config_dir);
  if (!config.ok()) return config.status();
  const std::string& dir = config.value().prompt_dir;
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
    return invalid_argument("prompt_dir: '" + dir + "' is not a directory");
  // Both files must be usable now, so a typo shows at startup and not at the first failure.
  for (const auto& [file, names] :
       {std::pair(kAnalyzeFile, &kAnalyzeNames), std::pair(kProposeFile, &kProposeNames)}) {
    std::map<std::string, std::string> values;
    for (const std::string& name : *names)
      values[name] = "";
    std::string origin = std::string("built-in ") + file;
    Result<std::string> text = std::string(builtin_prompt(file));
    if (!dir.empty()) {
      origin = (std::filesystem::path(dir) / file).string();
      text = read_prompt_file(origin);
    }
    if (!text.ok()) return invalid_argument("prompt_dir: " + text.status().message());
    Result<std::string> rendered = render_prompt(text.value(), values, origin);
    if (!rendered.ok()) return invalid_argument("prompt_dir: " + rendered.status().message());
  }
  config_ = std::move(config.value());
  host_ = context.host;
  logger_ = context.logger;
  return Status();
}

Result<std::string> MossEvolver::prompt(const char* file_name,
                                        const std::map<std::string, std::string>& values) const {
  if (config_.prompt_dir.empty())
    return render_prompt(builtin_prompt(file_name), values, std::string("built-in ") + file_name);
  const std::string path = (std::filesystem::path(config_.prompt_dir) / file_name).string();
  Result<std::string> text = read_prompt_file(path);
  if (!text.ok()) return text.status();
  return render_prompt(text.value(), values, path);
}

Result<sdk::ChatResponse> MossEvolver::ask(const std::string& prompt, const char* purpose) {
  if (host_ == nullptr) {
    return Status(Code::failed_precondition, "no host services: init was not called with a host");
  }
  sdk::ChatRequest request;
  request.messages.push_back({"user", prompt, {}, "", ""});
  request.temperature = config_.temperature;
  request.max_tokens = config_.max_tokens;
  Result<sdk::ChatResponse> response = host_->chat(request);
  if (!response.ok()) {
    return Status(response.status().code(),
                  std::string(purpose) + ": the LLM call failed: " + response.status().message());
  }
  if (logger_ != nullptr && logger_->enabled(sdk::LogLevel::debug)) {
    logger_->debug(std::string(purpose) + " reply (" +
                   std::to_string(response.value().message.content.size()) +
                   " bytes): " + cap_utf8(response.value().message.content, 4000));
  }
  return response;
}

Result<sdk::FailurePattern> MossEvolver::analyze(const sdk::FailureReport& failure) {
  char score[32] = {};
  std::snprintf(score, sizeof score, "%.4g", failure.score);
  Result<std::string> text =
      prompt(kAnalyzeFile,
             {{"task_id", failure.task_id},
              {"plugin", failure.plugin},
              {"plugin_version", failure.plugin_version},
              {"score", score},
              {"error", failure.error.empty() ? "(none)" : cap_utf8(failure.error, kMaxErrorBytes)},
              {"trace", render_trace(failure.trace)}});
  if (!text.ok()) return text.status();
  Result<sdk::ChatResponse> response = ask(text.value(), "analyze");
  if (!response.ok()) return response.status();
  const std::string& reply = response.value().message.content;

  if (reply.size() > config_.max_reply_bytes) {
    return invalid_reply("reply is " + std::to_string(reply.size()) + " bytes, the limit is " +
                         std::to_string(config_.max_reply_bytes) + " (max_reply_bytes)");
  }
  if (trim(reply).empty()) return invalid_reply("the reply is empty");
  Result<std::string> object_text = find_json_object(reply, "root_cause");
  if (!object_text.ok()) {
    if (response.value().finish_reason != "length") return object_text.status();
    return invalid_reply(object_text.status().message() +
                         " (the reply was cut off: finish_reason \"length\"; raise max_tokens)");
  }
  const json object = json::parse(object_text.value(), nullptr, /*allow_exceptions=*/false);
  Result<std::string> root_cause = reply_field(object, "root_cause", true);
  if (!root_cause.ok()) return root_cause.status();
  Result<std::string> description = reply_field(object, "description", true);
  if (!description.ok()) return description.status();
  Result<std::string> llm_module = reply_field(object, "affected_module", false);
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
  if (sources.empty()) return invalid_argument("propose: no source files given");
  std::string file_list;
  for (const sdk::SourceFile& file : sources)
    file_list += (file_list.empty() ? "" : ", ") + file.path;
  Result<std::string> text =
      prompt(kProposeFile, {{"pattern_id", pattern.pattern_id},
                            {"description", pattern.description},
                            {"root_cause", pattern.root_cause},
                            {"affected_module", pattern.affected_module},
                            {"occurrence_count", std::to_string(pattern.occurrence_count)},
                            {"context", context.empty() ? "(none)" : std::string(context)},
                            {"files", render_files(sources)},
                            {"file_list", file_list}});
  if (!text.ok()) return text.status();
  Result<sdk::ChatResponse> response = ask(text.value(), "propose");
  if (!response.ok()) return response.status();

  // A cut-off diff can still parse (it may end on a hunk boundary): refuse it outright.
  if (response.value().finish_reason == "length") {
    return invalid_reply(
        "the reply was cut off (finish_reason \"length\"); raise max_tokens or ask for a "
        "smaller change");
  }
  Result<sdk::Patch> patch =
      parse_patch_reply(response.value().message.content, sources, config_.max_reply_bytes);
  if (!patch.ok()) return patch.status();
  if (patch.value().description.empty()) patch.value().description = pattern.description;
  return patch;
}

}  // namespace moss::plugins
