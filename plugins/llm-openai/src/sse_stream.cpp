// llm-openai: reading Server-Sent Events and merging streamed chat-completion chunks.
#include "sse_stream.hpp"

#include <nlohmann/json.hpp>

namespace moss::plugins::openai {
namespace {

using nlohmann::json;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

std::string string_member(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

void SseReader::feed(std::string_view bytes) {
  while (!bytes.empty() && !stopped_) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes.front() == '\n') {  // the \n of a \r\n split between two feeds
        bytes.remove_prefix(1);
        continue;
      }
    }
    std::size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      line_.append(bytes);
      return;
    }
    line_.append(bytes.substr(0, end));
    if (bytes[end] == '\r') {
      if (end + 1 < bytes.size()) {
        if (bytes[end + 1] == '\n') ++end;
      } else {
        after_cr_ = true;
      }
    }
    bytes.remove_prefix(end + 1);
    std::string line = std::move(line_);
    line_.clear();
    take_line(line);
  }
}

void SseReader::finish() {
  if (stopped_) return;
  if (!line_.empty()) {
    std::string line = std::move(line_);
    line_.clear();
    take_line(line);
  }
  dispatch();
}

void SseReader::take_line(std::string_view line) {
  if (line.empty()) {
    dispatch();
    return;
  }
  if (line.front() == ':') return;  // a comment, often a keep-alive
  std::size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data" || field == "error") {
    if (field == "error") event_ = "error";  // llama.cpp's server: "error: {json}"
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_ = std::string(value);
  }
}

void SseReader::dispatch() {
  if (has_data_ && !stopped_) stopped_ = !on_event_(event_, data_);
  event_.clear();
  data_.clear();
  has_data_ = false;
}

bool StreamAccumulator::on_event(std::string_view event, std::string_view data) {
  if (done_ || server_error_ || !failure_.ok()) return false;
  if (trim(data) == "[DONE]") {
    done_ = true;
    return false;
  }
  if (event == "error") {
    server_error_data_ = std::string(data);
    server_error_ = parse_error_envelope(data);
    if (!server_error_) server_error_ = ServerError{beginning(data), "", "", 0};
    return false;
  }
  json chunk = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (chunk.is_discarded() && data.find('\n') != std::string_view::npos) {
    // Some servers omit the blank line between events, so several chunks arrive as one
    // multi-line event: take them one line at a time.
    std::size_t start = 0;
    while (start <= data.size()) {
      std::size_t end = data.find('\n', start);
      if (end == std::string_view::npos) end = data.size();
      std::string_view line = data.substr(start, end - start);
      start = end + 1;
      if (!trim(line).empty() && !on_event("", line)) return false;
    }
    return true;
  }
  if (!chunk.is_object()) {
    failure_ =
        sdk::Status(sdk::Code::invalid_reply, "stream chunk " + std::to_string(chunks_ + 1) +
                                                  " is not a JSON object: " + beginning(data));
    return false;
  }
  ++chunks_;
  if (auto error = error_envelope_of(chunk)) {
    server_error_ = std::move(error);
    server_error_data_ = std::string(data);
    return false;
  }
  if (std::string model = string_member(chunk, "model"); !model.empty()) model_ = std::move(model);
  if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
    usage_ = parse_usage(*usage);
  }
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return true;  // e.g. a usage-only chunk
  const std::string where = "stream chunk " + std::to_string(chunks_) + ": ";
  for (const json& choice : *choices) {
    if (!choice.is_object()) continue;
    auto index = choice.find("index");
    if (index != choice.end() && index->is_number_integer() && index->get<std::int64_t>() != 0) {
      continue;  // only one choice is requested; ignore any other
    }
    saw_choice_ = true;
    const json* delta = nullptr;
    if (auto it = choice.find("delta"); it != choice.end() && it->is_object()) {
      delta = &*it;
    } else if (auto message = choice.find("message");
               message != choice.end() && message->is_object()) {
      delta = &*message;  // a server that sends whole messages in its chunks
    }
    if (delta != nullptr) {
      if (auto content = delta->find("content"); content != delta->end()) {
        auto text = content_text(*content);
        if (!text) {
          failure_ = sdk::Status(sdk::Code::invalid_reply,
                                 where + "delta.content: must be a string or null");
          return false;
        }
        if (!text->empty()) {
          content_ += *text;
          if (sink_ != nullptr) sink_->on_text(*text);
          sent_text_ = true;
        }
      }
      if (auto calls = delta->find("tool_calls"); calls != delta->end() && !calls->is_null()) {
        if (!calls->is_array()) {
          failure_ =
              sdk::Status(sdk::Code::invalid_reply, where + "delta.tool_calls: must be an array");
          return false;
        }
        for (const json& fragment : *calls) {
          if (!fragment.is_object()) {
            failure_ = sdk::Status(sdk::Code::invalid_reply,
                                   where + "delta.tool_calls: each entry must be an object");
            return false;
          }
          merge_tool_call(fragment);
        }
      }
    }
    if (auto finish = choice.find("finish_reason"); finish != choice.end() && finish->is_string()) {
      finish_reason_ = finish->get<std::string>();
    }
  }
  return true;
}

void StreamAccumulator::merge_tool_call(const json& fragment) {
  std::int64_t index = -1;
  if (auto it = fragment.find("index"); it != fragment.end() && it->is_number_integer()) {
    index = it->get<std::int64_t>();
  }
  std::string id = string_member(fragment, "id");
  const json* function = nullptr;
  if (auto it = fragment.find("function"); it != fragment.end() && it->is_object()) {
    function = &*it;
  }
  std::string name = function != nullptr ? string_member(*function, "name") : std::string();

  PartialCall* target = nullptr;
  if (index >= 0) {
    for (PartialCall& call : calls_) {
      if (call.index == index) target = &call;  // the last call with this index
    }
    // A server that numbers every call 0 still gives each a new id.
    if (target != nullptr && !id.empty() && !target->id.empty() && target->id != id) {
      target = nullptr;
    }
  } else if (!id.empty()) {
    for (PartialCall& call : calls_) {
      if (call.id == id) target = &call;
    }
  } else if (!calls_.empty()) {
    target = &calls_.back();
    if (!name.empty() && !target->name.empty()) target = nullptr;
  }
  if (target == nullptr) {
    calls_.push_back(PartialCall{index, "", "", ""});
    target = &calls_.back();
  }
  if (target->id.empty()) target->id = std::move(id);
  if (target->name.empty()) target->name = std::move(name);
  if (function != nullptr) {
    if (auto arguments = function->find("arguments"); arguments != function->end()) {
      if (arguments->is_string()) {
        target->arguments += arguments->get<std::string>();
      } else if (!arguments->is_null()) {
        target->arguments = arguments_text(&*arguments);  // a whole object at once
      }
    }
  }
}

sdk::Result<sdk::ChatResponse> StreamAccumulator::finish() const {
  if (!saw_choice_) {
    return sdk::Status(sdk::Code::invalid_reply,
                       "the stream ended after " + std::to_string(chunks_) +
                           " chunk(s) without any choice" + (done_ ? "" : " and without [DONE]"));
  }
  sdk::ChatResponse response;
  response.message.role = "assistant";
  response.message.content = content_;
  for (std::size_t i = 0; i < calls_.size(); ++i) {
    const PartialCall& call = calls_[i];
    if (call.name.empty()) {
      return sdk::Status(sdk::Code::invalid_reply,
                         "streamed tool call " + std::to_string(i) +
                             (call.id.empty() ? "" : " (id " + call.id + ")") +
                             " never named its function");
    }
    response.message.tool_calls.push_back(
        {call.id, call.name, call.arguments.empty() ? "{}" : call.arguments});
  }
  response.finish_reason = finish_reason_;
  response.model = model_;
  response.usage = usage_;
  return response;
}

}  // namespace moss::plugins::openai
