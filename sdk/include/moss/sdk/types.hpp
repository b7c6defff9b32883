// Vocabulary structs shared by several plugin kinds. JSON always travels as UTF-8 text.
// Structs only ever grow at the end (ABI minor bump).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moss::sdk {

// What a Tool is, in MCP form: {name, description, inputSchema}.
struct ToolInfo {
  std::string name;               // 1-64 chars of [A-Za-z0-9_.-]; unique within a host
  std::string description;        // one or two sentences for the model
  std::string input_schema_json;  // JSON Schema (draft-07) of the arguments object
  bool side_effects = true;       // false only if invoking it changes nothing outside the call;
                                  // only side-effect-free tools may be speculated (IdleSpec)
};

// A tool call requested by a model.
struct ToolCall {
  std::string id;              // the model's call id; may be empty for backends without ids
  std::string name;            // the tool's name
  std::string arguments_json;  // a JSON object, as text
};

// One chat message. `role` is "system", "user", "assistant" or "tool".
struct ChatMessage {
  std::string role;
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant messages only
  std::string tool_call_id;          // tool messages only: which call this answers
  std::string name;                  // optional participant or tool name
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  std::vector<ToolInfo> tools;  // offered to the model as functions
  std::string model;            // empty: the backend's configured model
  double temperature = 0.7;
  std::int32_t max_tokens = 0;  // 0: the backend's default
  std::int64_t seed = -1;       // -1: none
  bool stream = false;          // ask the backend to stream (it still returns the whole reply)
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0.0;  // from the backend's configured per-token prices
};

struct ChatResponse {
  ChatMessage message;        // role "assistant"
  std::string finish_reason;  // "stop", "length", "tool_calls", ...
  std::string model;          // the model that answered
  Usage usage;
  double latency_ms = 0.0;  // wall time of the request, measured by the backend
};

}  // namespace moss::sdk
