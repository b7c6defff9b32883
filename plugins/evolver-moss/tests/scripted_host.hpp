// A scripted stand-in for the host's services in evolver-moss's class tests: chat() answers
// with queued replies and records every request. The LLM is a host service, so this is the
// plugin's whole outside world.
#pragma once

#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>

#include <deque>
#include <string>
#include <vector>

#include "moss_evolver.hpp"

namespace moss::test {

class ScriptedHost final : public sdk::HostServices {
 public:
  struct Reply {
    std::string content;
    std::string finish_reason = "stop";
  };

  sdk::Result<sdk::ChatResponse> chat(const sdk::ChatRequest& request) noexcept override {
    requests.push_back(request);
    prompts.push_back(request.messages.empty() ? "" : request.messages.back().content);
    if (replies.empty()) return sdk::Status(sdk::Code::unavailable, "no scripted reply left");
    sdk::ChatResponse response;
    response.message.role = "assistant";
    response.message.content = replies.front().content;
    response.finish_reason = replies.front().finish_reason;
    replies.pop_front();
    return response;
  }
  std::int64_t now_ms() const noexcept override { return 1700000000123; }

  void reply(std::string content, std::string finish_reason = "stop") {
    replies.push_back({std::move(content), std::move(finish_reason)});
  }

  std::deque<Reply> replies;
  std::vector<sdk::ChatRequest> requests;
  std::vector<std::string> prompts;
};

// Inits `evolver` with `config_json` and `host`; fails the test if init refuses.
inline void configure(plugins::MossEvolver& evolver, ScriptedHost& host,
                      const std::string& config_json = "{}", const std::string& config_dir = "") {
  static sdk::NullLogger logger;
  sdk::InitContext context;
  context.config_json = config_json;
  context.config_dir = config_dir;
  context.logger = &logger;
  context.host = &host;
  sdk::Status status = evolver.init(context);
  INFO(status.to_string());
  REQUIRE(status.ok());
}

inline sdk::FailurePattern pattern_for(const std::string& module) {
  sdk::FailurePattern p;
  p.pattern_id = "0123456789abcdef";
  p.description = "lower is broken";
  p.root_cause = "lower maps to upper";
  p.affected_module = module;
  p.occurrence_count = 1;
  return p;
}

}  // namespace moss::test
