// llm-replay: loading a JSONL file of recorded exchanges and answering chat requests from it.
#include "llm_replay.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace moss::plugins {
namespace {

using nlohmann::json;
using sdk::Code;
using sdk::Result;
using sdk::Status;

Status invalid(const std::string& message) {
  return Status(Code::invalid_argument, message);
}

// The first `max_bytes` of `text`, cut at a UTF-8 character boundary, with "..." if cut.
std::string beginning(std::string_view text, std::size_t max_bytes = 80) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return std::string(text.substr(0, end)) + "...";
}

Status check_keys(const json& object, std::initializer_list<std::string_view> allowed,
                  const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view name : allowed)
      known = known || key == name;
    if (!known) return invalid(where + "unknown key '" + key + "'");
  }
  return Status();
}

Result<std::int64_t> token_count(const json& usage, const char* key, const std::string& where) {
  auto it = usage.find(key);
  if (it == usage.end()) return std::int64_t{0};
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0) {
    return invalid(where + "usage." + key + ": must be an integer >= 0");
  }
  return it->get<std::int64_t>();
}

Result<sdk::ToolCall> parse_tool_call(const json& entry, const std::string& where) {
  if (!entry.is_object()) return invalid(where + "must be an object");
  if (Status s = check_keys(entry, {"id", "name", "arguments"}, where); !s.ok()) return s;
  sdk::ToolCall call;
  auto id = entry.find("id");
  if (id != entry.end()) {
    if (!id->is_string()) return invalid(where + "id: must be a string");
    call.id = id->get<std::string>();
  }
  auto name = entry.find("name");
  if (name == entry.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    return invalid(where + "name: required, a non-empty string");
  }
  call.name = name->get<std::string>();
  auto arguments = entry.find("arguments");
  if (arguments == entry.end()) {
    call.arguments_json = "{}";
  } else if (arguments->is_object()) {
    call.arguments_json = arguments->dump();
  } else if (arguments->is_string()) {
    call.arguments_json = arguments->get<std::string>();  // as recorded, even if malformed
  } else {
    return invalid(where + "arguments: must be an object or a string");
  }
  return call;
}

Result<ReplayRecord> parse_record(std::string_view line, const std::string& where,
                                  ReplayMode mode) {
  json doc;
  try {
    doc = json::parse(line);
  } catch (const json::parse_error& e) {
    // nlohmann says "parse error at line 1, column N: ..."; the line is ours to name.
    std::string what = e.what();
    auto column = what.find("column ");
    return invalid(where + "not valid JSON" +
                   (column == std::string::npos ? ": " + what : " at " + what.substr(column)));
  }
  if (!doc.is_object()) return invalid(where + "must be a JSON object");
  if (Status s = check_keys(doc, {"match", "response", "usage", "comment"}, where); !s.ok()) {
    return s;
  }
  ReplayRecord record;
  auto match = doc.find("match");
  if (match != doc.end() && !match->is_string()) return invalid(where + "match: must be a string");
  if (match == doc.end() && mode == ReplayMode::match) {
    return invalid(where + "match: required in match mode (use \"\" to match any message)");
  }
  if (match != doc.end()) record.match = match->get<std::string>();

  auto response = doc.find("response");
  if (response == doc.end() || !response->is_object()) {
    return invalid(where + "response: required, an object");
  }
  if (Status s =
          check_keys(*response, {"content", "tool_calls", "finish_reason"}, where + "response: ");
      !s.ok()) {
    return s;
  }
  sdk::ChatMessage& message = record.response.message;
  message.role = "assistant";
  if (auto content = response->find("content"); content != response->end()) {
    if (!content->is_string()) return invalid(where + "response.content: must be a string");
    message.content = content->get<std::string>();
  }
  if (auto calls = response->find("tool_calls"); calls != response->end()) {
    if (!calls->is_array()) return invalid(where + "response.tool_calls: must be an array");
    for (std::size_t i = 0; i < calls->size(); ++i) {
      auto call =
          parse_tool_call((*calls)[i], where + "response.tool_calls[" + std::to_string(i) + "]: ");
      if (!call.ok()) return call.status();
      message.tool_calls.push_back(std::move(call.value()));
    }
  }
  record.response.finish_reason = message.tool_calls.empty() ? "stop" : "tool_calls";
  if (auto finish = response->find("finish_reason"); finish != response->end()) {
    if (!finish->is_string()) return invalid(where + "response.finish_reason: must be a string");
    record.response.finish_reason = finish->get<std::string>();
  }

  if (auto usage = doc.find("usage"); usage != doc.end()) {
    if (!usage->is_object()) return invalid(where + "usage: must be an object");
    if (Status s = check_keys(*usage, {"prompt_tokens", "completion_tokens"}, where + "usage: ");
        !s.ok()) {
      return s;
    }
    auto prompt = token_count(*usage, "prompt_tokens", where);
    if (!prompt.ok()) return prompt.status();
    auto completion = token_count(*usage, "completion_tokens", where);
    if (!completion.ok()) return completion.status();
    record.response.usage.prompt_tokens = prompt.value();
    record.response.usage.completion_tokens = completion.value();
  }
  return record;
}

Status read_price(const json& doc, const char* key, double& out) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status();
  if (!it->is_number() || !(it->get<double>() >= 0.0)) {
    return invalid(std::string(key) + ": must be a number >= 0");
  }
  out = it->get<double>();
  return Status();
}

}  // namespace

Result<ReplayConfig> parse_replay_config(std::string_view config_json) {
  json doc = json::parse(config_json.empty() ? std::string_view("{}") : config_json, nullptr,
                         /*allow_exceptions=*/false);
  if (!doc.is_object()) return invalid("config must be a JSON object");
  ReplayConfig config;
  auto file = doc.find("file");
  if (file == doc.end() || !file->is_string() || file->get_ref<const std::string&>().empty()) {
    return invalid("file: required, the path of a JSONL file of recorded exchanges");
  }
  config.file = file->get<std::string>();
  if (auto mode = doc.find("mode"); mode != doc.end()) {
    if (*mode == "match") {
      config.mode = ReplayMode::match;
    } else if (*mode == "sequence") {
      config.mode = ReplayMode::sequence;
    } else {
      return invalid("mode: must be \"match\" or \"sequence\"");
    }
  }
  Status s = read_price(doc, "price_per_1k_prompt", config.price_per_1k_prompt);
  if (s.ok()) s = read_price(doc, "price_per_1k_completion", config.price_per_1k_completion);
  if (!s.ok()) return s;
  return config;
}

Result<std::vector<ReplayRecord>> parse_replay_records(std::string_view text,
                                                       const std::string& origin, ReplayMode mode) {
  std::vector<ReplayRecord> records;
  int number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto record = parse_record(line, origin + ":" + std::to_string(number) + ": ", mode);
    if (!record.ok()) return record.status();
    record.value().line = number;
    records.push_back(std::move(record.value()));
  }
  if (records.empty()) return invalid(origin + ": no recorded exchanges in the file");
  return records;
}

Status LlmReplay::init(const sdk::InitContext& context) {
  auto config = parse_replay_config(context.config_json);
  if (!config.ok()) return config.status();
  // A relative path means relative to the config file, like every other path in moss.toml.
  if (!context.config_dir.empty() && !config.value().file.empty() &&
      config.value().file.front() != '/') {
    config.value().file = context.config_dir + "/" + config.value().file;
  }
  std::ifstream in(config.value().file, std::ios::binary);
  if (!in) return invalid("file: cannot open '" + config.value().file + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return invalid("file: cannot read '" + config.value().file + "'");
  auto records = parse_replay_records(text.str(), config.value().file, config.value().mode);
  if (!records.ok()) return records.status();

  std::lock_guard lock(mutex_);
  config_ = std::move(config.value());
  records_ = std::move(records.value());
  used_.assign(records_.size(), false);
  next_in_sequence_ = 0;
  if (context.logger != nullptr) {
    context.logger->info("replaying " + std::to_string(records_.size()) + " exchanges from " +
                         config_.file);
  }
  return Status();
}

sdk::BackendInfo LlmReplay::info() const {
  sdk::BackendInfo info;
  info.name = "replay";
  info.model = "replay";
  info.supports_tools = true;
  info.supports_streaming = false;
  info.supports_fine_tune = false;
  return info;
}

Result<sdk::ChatResponse> LlmReplay::chat(const sdk::ChatRequest& request, sdk::ChatStreamSink*) {
  const auto started = std::chrono::steady_clock::now();
  if (request.messages.empty()) {
    return Status(Code::invalid_argument, "a chat request needs at least one message");
  }
  std::string_view last_user;
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role == "user") {
      last_user = it->content;
      break;
    }
  }

  std::unique_lock lock(mutex_);
  std::size_t chosen = records_.size();
  if (config_.mode == ReplayMode::sequence) {
    if (next_in_sequence_ < records_.size()) chosen = next_in_sequence_++;
  } else {
    for (std::size_t i = 0; i < records_.size(); ++i) {
      if (!used_[i] && last_user.find(records_[i].match) != std::string_view::npos) {
        chosen = i;
        break;
      }
    }
  }
  if (chosen == records_.size()) {
    return Status(Code::not_found,
                  (config_.mode == ReplayMode::sequence
                       ? "all " + std::to_string(records_.size()) + " recorded exchanges in " +
                             config_.file + " have been used"
                       : "no unused recorded exchange in " + config_.file +
                             " matches the last user message") +
                      ": \"" + beginning(last_user) + "\"");
  }
  used_[chosen] = true;
  sdk::ChatResponse response = records_[chosen].response;
  lock.unlock();

  response.model = request.model.empty() ? "replay" : request.model;
  response.usage.cost_usd =
      static_cast<double>(response.usage.prompt_tokens) / 1000.0 * config_.price_per_1k_prompt +
      static_cast<double>(response.usage.completion_tokens) / 1000.0 *
          config_.price_per_1k_completion;
  response.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return response;
}

std::size_t LlmReplay::remaining() const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (bool used : used_)
    count += used ? 0 : 1;
  return count;
}

}  // namespace moss::plugins
