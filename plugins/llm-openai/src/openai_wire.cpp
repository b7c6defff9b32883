// llm-openai: building chat-completions requests and reading replies and error envelopes.
#include "openai_wire.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

namespace moss::plugins::openai {
namespace {

using nlohmann::json;
using sdk::Code;
using sdk::Status;

// Message text may hold invalid UTF-8 (tool output, truncated text); it is sent with U+FFFD
// in place of the bad bytes rather than failing the request.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status invalid_reply(const std::string& message) {
  return Status(Code::invalid_reply, message);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

// A member as text: strings as they are, numbers and other values serialised, null as "".
std::string member_text(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return dump(*it);
}

std::int32_t status_from_code(const json& object) {
  for (const char* key : {"code", "status"}) {
    auto it = object.find(key);
    if (it == object.end()) continue;
    if (it->is_number_integer()) {
      std::int64_t value = it->get<std::int64_t>();
      if (value >= 100 && value <= 599) return static_cast<std::int32_t>(value);
    }
  }
  return 0;
}

// The HTTP status an error body in a 2xx reply stands for, from its code or type.
std::int32_t implied_status(const ServerError& error) {
  if (error.status_hint >= 400) return error.status_hint;
  std::string kind = lower(error.type + " " + error.code);
  if (kind.find("rate_limit") != std::string::npos || kind.find("quota") != std::string::npos) {
    return 429;
  }
  if (kind.find("auth") != std::string::npos || kind.find("api_key") != std::string::npos ||
      kind.find("permission") != std::string::npos) {
    return 401;
  }
  if (kind.find("not_found") != std::string::npos) return 404;
  if (kind.find("invalid_request") != std::string::npos ||
      kind.find("bad_request") != std::string::npos ||
      kind.find("badrequest") != std::string::npos) {
    return 400;
  }
  return 500;  // the server failed and did not say why
}

std::string describe(const ServerError& error) {
  std::string text = error.message;
  if (!error.type.empty() || !error.code.empty()) {
    text += " (";
    if (!error.type.empty()) text += "type: " + error.type;
    if (!error.type.empty() && !error.code.empty()) text += ", ";
    if (!error.code.empty()) text += "code: " + error.code;
    text += ")";
  }
  return text;
}

// A number of milliseconds from a header value ("2", "1.5"), scaled by `unit_ms`.
std::optional<std::int64_t> header_delay_ms(std::string_view value, double unit_ms) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  double number = 0.0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size() || !std::isfinite(number) ||
      number < 0.0) {
    return std::nullopt;  // e.g. an HTTP date, which is not worth a clock comparison here
  }
  double ms = std::min(number * unit_ms, static_cast<double>(kMaxRetryAfterMs));
  return static_cast<std::int64_t>(std::ceil(ms));
}

Status check_role(const std::string& role, std::size_t index) {
  static constexpr std::array<std::string_view, 4> kRoles = {"system", "user", "assistant", "tool"};
  if (std::find(kRoles.begin(), kRoles.end(), role) != kRoles.end()) return Status();
  return Status(Code::invalid_argument, "messages[" + std::to_string(index) +
                                            "].role: must be system, user, assistant " +
                                            "or tool (found \"" + role + "\")");
}

}  // namespace

std::string beginning(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return std::string(text.substr(0, end)) + "...";
}

sdk::Result<std::string> build_chat_body(const sdk::ChatRequest& request, const std::string& model,
                                         bool stream) {
  json body = json::object();
  if (!model.empty()) body["model"] = model;

  json messages = json::array();
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    const sdk::ChatMessage& message = request.messages[i];
    if (Status s = check_role(message.role, i); !s.ok()) return s;
    json out = {{"role", message.role}};
    if (message.role == "assistant" && !message.tool_calls.empty()) {
      // The API allows (and some servers expect) null content next to tool calls.
      out["content"] = message.content.empty() ? json(nullptr) : json(message.content);
      json calls = json::array();
      for (std::size_t j = 0; j < message.tool_calls.size(); ++j) {
        const sdk::ToolCall& call = message.tool_calls[j];
        if (call.name.empty()) {
          return Status(Code::invalid_argument, "messages[" + std::to_string(i) + "].tool_calls[" +
                                                    std::to_string(j) + "].name: required");
        }
        json entry = {{"type", "function"},
                      {"function",
                       {{"name", call.name},
                        {"arguments", call.arguments_json.empty() ? "{}" : call.arguments_json}}}};
        if (!call.id.empty()) entry["id"] = call.id;
        calls.push_back(std::move(entry));
      }
      out["tool_calls"] = std::move(calls);
    } else {
      out["content"] = message.content;
    }
    if (message.role == "tool" && !message.tool_call_id.empty()) {
      out["tool_call_id"] = message.tool_call_id;
    }
    // OpenAI does not document `name` on tool messages; the call id identifies the call.
    if (!message.name.empty() && message.role != "tool") out["name"] = message.name;
    messages.push_back(std::move(out));
  }
  body["messages"] = std::move(messages);

  if (!request.tools.empty()) {
    json tools = json::array();
    for (std::size_t i = 0; i < request.tools.size(); ++i) {
      const sdk::ToolInfo& tool = request.tools[i];
      std::string where = "tools[" + std::to_string(i) + "] ('" + tool.name + "'): ";
      if (tool.name.empty()) {
        return Status(Code::invalid_argument, "tools[" + std::to_string(i) + "].name: required");
      }
      json parameters = {{"type", "object"}, {"properties", json::object()}};
      if (!tool.input_schema_json.empty()) {
        parameters = json::parse(tool.input_schema_json, nullptr, /*allow_exceptions=*/false);
        if (!parameters.is_object()) {
          return Status(Code::invalid_argument,
                        where + "input_schema_json: must be a JSON object (a JSON Schema)");
        }
      }
      json function = {{"name", tool.name}};
      if (!tool.description.empty()) function["description"] = tool.description;
      function["parameters"] = std::move(parameters);
      tools.push_back({{"type", "function"}, {"function", std::move(function)}});
    }
    body["tools"] = std::move(tools);
  }

  if (std::isfinite(request.temperature)) body["temperature"] = request.temperature;
  if (request.max_tokens < 0) {
    return Status(Code::invalid_argument, "max_tokens: must be >= 0 (0: the server's default)");
  }
  if (request.max_tokens > 0) body["max_tokens"] = request.max_tokens;
  if (request.seed != -1) body["seed"] = request.seed;
  body["stream"] = stream;
  if (stream) body["stream_options"] = {{"include_usage", true}};
  return dump(body);
}

std::optional<ServerError> parse_error_envelope(std::string_view body) {
  return error_envelope_of(json::parse(body, nullptr, /*allow_exceptions=*/false));
}

std::optional<ServerError> error_envelope_of(const json& doc) {
  if (!doc.is_object()) return std::nullopt;
  if (auto choices = doc.find("choices"); choices != doc.end() && !choices->is_null()) {
    return std::nullopt;  // a completion, even if it carries "error": null
  }
  ServerError error;
  if (auto inner = doc.find("error"); inner != doc.end() && !inner->is_null()) {
    if (inner->is_object()) {
      error.message = member_text(*inner, "message");
      error.type = member_text(*inner, "type");
      error.code = member_text(*inner, "code");
      error.status_hint = status_from_code(*inner);
    } else if (inner->is_string()) {
      error.message = inner->get<std::string>();
    } else {
      error.message = dump(*inner);
    }
    if (error.status_hint == 0) error.status_hint = status_from_code(doc);
  } else if (auto message = doc.find("message"); message != doc.end() && message->is_string()) {
    error.message = message->get<std::string>();
    error.type = member_text(doc, "type");
    error.code = member_text(doc, "code");
    error.status_hint = status_from_code(doc);
  } else if (auto detail = doc.find("detail"); detail != doc.end() && !detail->is_null()) {
    error.message = detail->is_string() ? detail->get<std::string>() : dump(*detail);
  } else {
    return std::nullopt;
  }
  if (error.message.empty()) error.message = "the server sent no message: " + beginning(dump(doc));
  return error;
}

bool is_context_overflow(const ServerError& error) {
  if (error.code == "context_length_exceeded" || error.type == "exceed_context_size_error") {
    return true;
  }
  static constexpr std::array<std::string_view, 7> kPhrases = {
      "maximum context length",  // OpenAI, vLLM, Ollama
      "context window",
      "context length",
      "context size",  // llama.cpp: "exceeds the available context size"
      "context_length_exceeded",
      "maximum model length",  // vLLM: "longer than the maximum model length"
      "prompt is too long"};
  std::string text = lower(error.message);
  return std::any_of(kPhrases.begin(), kPhrases.end(), [&](std::string_view phrase) {
    return text.find(phrase) != std::string::npos;
  });
}

ReplyError classify_error_reply(std::int32_t http_status, std::string_view body,
                                const std::string& where) {
  std::optional<ServerError> envelope = parse_error_envelope(body);
  std::int32_t effective = http_status;
  if (http_status >= 200 && http_status < 300) {
    effective = envelope ? implied_status(*envelope) : 500;
  }
  std::string message = where + ": ";
  if (envelope) {
    message += describe(*envelope);
  } else if (body.empty()) {
    message += "empty body";
  } else {
    message += "body: " + beginning(body);
  }

  ReplyError out;
  out.effective_status = effective;
  if (envelope && is_context_overflow(*envelope)) {
    out.status = Status(Code::context_overflow, message);
  } else if (effective == 429) {
    // An exhausted quota does not come back by waiting a few seconds.
    out.retryable = !(envelope && envelope->code == "insufficient_quota");
    out.status = Status(Code::resource_exhausted, message);
  } else if (effective >= 500) {
    out.retryable = true;
    out.status = Status(Code::unavailable, message);
  } else if (effective == 401 || effective == 403) {
    out.status = Status(Code::failed_precondition, message);
  } else if (effective == 408) {
    out.status = Status(Code::deadline_exceeded, message);
  } else if (effective >= 400) {
    out.status = Status(Code::invalid_argument, message);
  } else if (effective >= 300) {
    out.status = Status(Code::invalid_argument,
                        message + " (the server redirects; set base_url to the final address)");
  } else {
    out.status = Status(Code::invalid_reply, message);
  }
  return out;
}

std::string arguments_text(const json* arguments) {
  if (arguments == nullptr || arguments->is_null()) return "{}";
  if (arguments->is_string()) {
    const auto& text = arguments->get_ref<const std::string&>();
    return text.empty() ? "{}" : text;
  }
  return dump(*arguments);
}

sdk::Usage parse_usage(const json& usage) {
  sdk::Usage out;
  if (!usage.is_object()) return out;
  auto count = [&](const char* key) -> std::int64_t {
    auto it = usage.find(key);
    if (it == usage.end() || !it->is_number()) return 0;
    double value = it->get<double>();
    return value >= 0.0 && value < 9.0e18 ? static_cast<std::int64_t>(value) : 0;
  };
  out.prompt_tokens = count("prompt_tokens");
  out.completion_tokens = count("completion_tokens");
  return out;
}

std::optional<std::string> content_text(const json& content) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) return std::nullopt;
  std::string text;
  for (const json& part : content) {
    if (part.is_string()) {
      text += part.get<std::string>();
    } else if (part.is_object()) {
      auto it = part.find("text");
      if (it != part.end() && it->is_string()) text += it->get<std::string>();
    }
  }
  return text;
}

sdk::Result<sdk::ChatResponse> parse_chat_completion(std::string_view body) {
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::parse_error& e) {
    return invalid_reply("not valid JSON (" + std::string(e.what()) + "): " + beginning(body));
  }
  if (!doc.is_object()) return invalid_reply("not a JSON object: " + beginning(body));
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array()) {
    return invalid_reply("no \"choices\" array in the reply: " + beginning(body));
  }
  if (choices->empty()) return invalid_reply("\"choices\" is empty: " + beginning(body));
  const json& choice = choices->front();
  if (!choice.is_object()) return invalid_reply("choices[0] is not an object");
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    return invalid_reply("choices[0] has no \"message\" object: " + beginning(body));
  }

  sdk::ChatResponse response;
  response.message.role = "assistant";
  if (auto content = message->find("content"); content != message->end()) {
    auto text = content_text(*content);
    if (!text) return invalid_reply("choices[0].message.content: must be a string or null");
    response.message.content = std::move(*text);
  }
  if (auto calls = message->find("tool_calls"); calls != message->end() && !calls->is_null()) {
    if (!calls->is_array()) return invalid_reply("choices[0].message.tool_calls: must be an array");
    for (std::size_t i = 0; i < calls->size(); ++i) {
      const json& call = (*calls)[i];
      std::string where = "choices[0].message.tool_calls[" + std::to_string(i) + "]";
      if (!call.is_object()) return invalid_reply(where + ": must be an object");
      auto function = call.find("function");
      if (function == call.end() || !function->is_object()) {
        return invalid_reply(where + ": no \"function\" object");
      }
      sdk::ToolCall out;
      out.id = member_text(call, "id");
      out.name = member_text(*function, "name");
      if (out.name.empty()) return invalid_reply(where + ".function.name: missing or empty");
      auto arguments = function->find("arguments");
      out.arguments_json = arguments_text(arguments == function->end() ? nullptr : &*arguments);
      response.message.tool_calls.push_back(std::move(out));
    }
  }
  response.finish_reason = member_text(choice, "finish_reason");
  response.model = member_text(doc, "model");
  if (auto usage = doc.find("usage"); usage != doc.end()) response.usage = parse_usage(*usage);
  return response;
}

std::int64_t retry_delay_ms(std::int32_t attempt, std::int64_t backoff_ms,
                            std::string_view retry_after, std::string_view retry_after_ms,
                            double jitter01) {
  if (auto ms = header_delay_ms(retry_after_ms, 1.0)) return *ms;
  if (auto ms = header_delay_ms(retry_after, 1000.0)) return *ms;
  double delay = static_cast<double>(backoff_ms);
  for (std::int32_t i = 0; i < attempt && delay < static_cast<double>(kMaxBackoffMs); ++i)
    delay *= 2.0;
  delay = std::min(delay, static_cast<double>(kMaxBackoffMs));
  jitter01 = std::clamp(jitter01, 0.0, 1.0);
  return static_cast<std::int64_t>(delay * (0.5 + 0.5 * jitter01));
}

}  // namespace moss::plugins::openai
