// The conformance checks. They call plugin code, so they run only in the conformance worker;
// every check makes its own objects, so one check's state never leaks into the next.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <regex>
#include <thread>

#include <moss/sdk/sdk.hpp>

#include "evaluation/conformance.hpp"
#include "evaluation/worker.hpp"
#include "util/json_schema.hpp"

namespace moss {
namespace {

using nlohmann::json;

// Collects what a check saw. A call that returns plugin_exception threw across the boundary
// (the SDK glue caught it): always a failure.
class Probe {
 public:
  explicit Probe(std::string id) : id_(std::move(id)) {}

  void fail(std::string problem) { problems_.push_back(std::move(problem)); }
  void note(std::string seen) { notes_.push_back(std::move(seen)); }
  bool failed() const { return !problems_.empty(); }

  // False (and a failure) if the call threw.
  bool returned(const Status& status, const std::string& call) {
    if (status.code() != Code::plugin_exception) return true;
    fail(call + " threw across the boundary: " + status.message());
    return false;
  }
  // The call must fail, with any code but plugin_exception.
  void expect_error(const Status& status, const std::string& call) {
    if (!returned(status, call)) return;
    if (status.ok()) fail(call + " succeeded; it must return an error");
  }
  // The call must succeed.
  bool expect_ok(const Status& status, const std::string& call) {
    if (!returned(status, call)) return false;
    if (!status.ok()) fail(call + " failed: " + code_text(status));
    return status.ok();
  }

  CheckResult result() const {
    if (problems_.empty()) return {id_, CheckStatus::passed, join(notes_)};
    std::vector<std::string> shown(problems_.begin(),
                                   problems_.begin() + std::min(problems_.size(), kShown));
    if (problems_.size() > kShown) {
      shown.push_back("and " + std::to_string(problems_.size() - kShown) + " more");
    }
    return {id_, CheckStatus::failed, join(shown)};
  }

  static std::string code_text(const Status& status) {
    return std::string(sdk::code_name(status.code())) + ": " + status.message();
  }

 private:
  static std::string join(const std::vector<std::string>& parts) {
    std::string text;
    for (const auto& part : parts)
      text += (text.empty() ? "" : "; ") + part;
    return text;
  }

  static constexpr std::size_t kShown = 4;  // problems named in the detail

  std::string id_;
  std::vector<std::string> problems_;
  std::vector<std::string> notes_;
};

CheckResult skipped(std::string id, std::string why) {
  return {std::move(id), CheckStatus::skipped, std::move(why)};
}

// The settings init receives; the error says to pass --settings.
Result<std::string> resolve_settings(const CheckContext& context) {
  auto settings =
      resolve_worker_settings(context.settings_json, context.library->manifest(), context.instance);
  if (settings.ok()) return settings;
  return make_error(settings.status().code(),
                    settings.status().message() + " (pass settings with --settings)");
}

sdk::InitContext init_context(const CheckContext& context, const std::string& settings) {
  sdk::InitContext init;
  init.instance_name = context.instance;
  init.config_json = settings;
  init.logger = context.logger;
  init.host = context.host;
  return init;
}

// A fresh, initialised object of I's kind.
template <class I>
Result<std::shared_ptr<I>> make(const CheckContext& context) {
  auto settings = resolve_settings(context);
  if (!settings.ok()) return settings.status();
  return create_object<I>(context.library, init_context(context, settings.value()));
}

// Runs `body` on a fresh object of I's kind; a failure to make one fails the check.
template <class I>
CheckResult with_object(const std::string& id, const CheckContext& context,
                        const std::function<void(I&, Probe&)>& body) {
  Probe probe(id);
  auto object = make<I>(context);
  if (!object.ok()) {
    probe.fail("cannot create the object: " + object.status().message());
    return probe.result();
  }
  body(*object.value(), probe);
  return probe.result();
}

bool is_json_object_text(const std::string& text) {
  return json::parse(text, nullptr, false).is_object();
}

// --- General checks. ---

CheckResult check_descriptor(CheckContext& context) {
  // Library::load has compared the descriptor the entry returned with the manifest.
  const PluginManifest& m = context.library->manifest();
  Probe probe("descriptor");
  static const std::regex kVersion(R"(\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?)");
  if (!std::regex_match(m.version, kVersion)) {
    probe.fail("version '" + m.version + "' is not MAJOR.MINOR.PATCH (semantic versioning)");
  }
  probe.note("'" + m.name + "' " + m.version + ", " + kinds_to_string(m.kinds) + ", ABI " +
             std::to_string(m.abi_major) + "." + std::to_string(m.abi_minor) +
             "; the descriptor matches the manifest");
  return probe.result();
}

CheckResult check_config_schema(CheckContext& context) {
  Probe probe("config_schema");
  const PluginManifest& m = context.library->manifest();
  auto schema = JsonSchema::compile(m.config_schema_json, "config schema");
  if (!schema.ok()) {
    probe.fail(schema.status().message());
    return probe.result();
  }
  if (schema->document().value("type", json()) != "object") {
    probe.fail(
        "config schema: the root must say \"type\": \"object\" (a [plugins.<name>] "
        "table is an object), found " +
        schema->document().value("type", json()).dump());
  }
  json defaults = json::object();
  schema->apply_defaults(defaults);
  std::vector<SchemaViolation> violations = schema->validate(defaults);
  if (violations.empty()) {
    probe.note("valid draft-07 object schema; its defaults " + defaults.dump() + " are valid");
  } else {
    probe.note("valid draft-07 object schema; an empty table is not valid (" +
               (violations[0].path.empty() ? "" : violations[0].path + ": ") +
               violations[0].message + "), so every instance needs settings");
  }
  return probe.result();
}

CheckResult check_init(CheckContext& context) {
  Probe probe("init");
  auto settings = resolve_settings(context);
  if (!settings.ok()) {
    probe.fail(settings.status().message());
    return probe.result();
  }
  for (sdk::Kind kind : sdk::kAllKinds) {
    if (!context.library->manifest().implements(kind)) continue;
    auto object = context.library->create(kind);
    const std::string what = std::string(sdk::kind_name(kind));
    if (!object.ok()) {
      probe.fail(what + ": cannot create: " + object.status().message());
      continue;
    }
    probe.expect_ok(object.value()->init(init_context(context, settings.value())),
                    what + " init with " + settings.value());
  }
  if (!probe.failed()) probe.note("every kind initialises with " + settings.value());
  return probe.result();
}

// --- Tool. ---

// The tool's info, or a failure.
std::optional<sdk::ToolInfo> tool_info(sdk::Tool& tool, Probe& probe) {
  auto info = tool.info();
  if (!probe.expect_ok(info.status(), "Tool::info()")) return std::nullopt;
  return info.value();
}

CheckResult check_tool_info(CheckContext& context) {
  return with_object<sdk::Tool>("tool.info", context, [](sdk::Tool& tool, Probe& probe) {
    auto first = tool_info(tool, probe);
    auto second = tool_info(tool, probe);
    if (!first || !second) return;
    if (first->name != second->name || first->description != second->description ||
        first->input_schema_json != second->input_schema_json ||
        first->side_effects != second->side_effects) {
      probe.fail("Tool::info() answered differently on a second call; it must be stable");
    }
    if (first->description.empty()) probe.fail("the description is empty; the model needs one");
    probe.note("'" + first->name + "': " + first->description.substr(0, 80));
  });
}

CheckResult check_tool_name(CheckContext& context) {
  return with_object<sdk::Tool>("tool.name", context, [](sdk::Tool& tool, Probe& probe) {
    auto info = tool_info(tool, probe);
    if (!info) return;
    static const std::regex kName("[A-Za-z0-9_.-]{1,64}");
    if (!std::regex_match(info->name, kName)) {
      probe.fail("name '" + info->name + "' (" + std::to_string(info->name.size()) +
                 " bytes) must be 1-64 characters of [A-Za-z0-9_.-]");
    } else {
      probe.note("'" + info->name + "'");
    }
  });
}

CheckResult check_tool_input_schema(CheckContext& context) {
  return with_object<sdk::Tool>("tool.input_schema", context, [](sdk::Tool& tool, Probe& probe) {
    auto info = tool_info(tool, probe);
    if (!info) return;
    auto schema = JsonSchema::compile(info->input_schema_json, "inputSchema");
    if (!schema.ok()) {
      probe.fail(schema.status().message());
      return;
    }
    const json& document = schema->document();
    if (document.value("type", json()) != "object") {
      probe.fail(
          "inputSchema: the root must say \"type\": \"object\" (tool arguments are a "
          "JSON object), found " +
          document.value("type", json()).dump());
      return;
    }
    probe.note("valid draft-07 object schema with " +
               std::to_string(document.value("properties", json::object()).size()) + " properties");
  });
}

// Inputs the tool must refuse: not JSON, not an object, and objects that break its schema
// (a required property missing, a property of the wrong type).
std::vector<std::pair<std::string, std::string>> invalid_tool_inputs(const json& schema) {
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"text that is not JSON", "{\"unterminated"},
      {"an empty string", ""},
      {"a JSON array", "[1,2,3]"},
      {"JSON null", "null"},
      {"invalid UTF-8", "{\"text\":\"\xff\xfe\"}"},
  };
  const json properties = schema.value("properties", json::object());
  const json required = schema.value("required", json::array());
  if (required.is_array() && !required.empty()) {
    inputs.emplace_back("{} (required " + required.dump() + " missing)", "{}");
  }
  for (const auto& [name, property] : properties.items()) {
    if (!property.is_object() || !property.contains("type") || !property["type"].is_string()) {
      continue;
    }
    const std::string type = property["type"].get<std::string>();
    json wrong = type == "string" ? json(12345) : json("not a " + type);
    json input = json::object();
    // Fill the other required properties so only the wrong type is wrong.
    for (const auto& other : required) {
      if (!other.is_string() || other == name) continue;
      auto p = properties.find(other.get<std::string>());
      std::string t = p != properties.end() && p->is_object() ? p->value("type", "") : "";
      input[other.get<std::string>()] = t == "integer" || t == "number" ? json(1)
                                        : t == "boolean"                ? json(true)
                                        : t == "array"                  ? json::array()
                                        : t == "object"                 ? json::object()
                                                                        : json("x");
    }
    input[name] = wrong;
    inputs.emplace_back("'" + name + "' of the wrong type", input.dump());
  }
  return inputs;
}

CheckResult check_tool_invalid_input(CheckContext& context) {
  return with_object<sdk::Tool>("tool.invalid_input", context, [](sdk::Tool& tool, Probe& probe) {
    auto info = tool_info(tool, probe);
    if (!info) return;
    json schema = json::parse(info->input_schema_json, nullptr, false);
    auto inputs = invalid_tool_inputs(schema.is_object() ? schema : json::object());
    for (const auto& [what, input] : inputs) {
      probe.expect_error(tool.invoke(input).status(), "Tool::invoke(" + what + ")");
    }
    if (!probe.failed()) {
      probe.note(std::to_string(inputs.size()) + " invalid inputs, each refused with an error");
    }
  });
}

CheckResult check_tool_output(CheckContext& context) {
  if (context.sample_inputs.empty()) {
    return skipped("tool.output", "no sample inputs: pass --suite with cases that expect success");
  }
  return with_object<sdk::Tool>("tool.output", context, [&](sdk::Tool& tool, Probe& probe) {
    auto call = [&](const json& input) {
      auto result = tool.invoke(input.dump());
      std::string what = "Tool::invoke(" + input.dump().substr(0, 60) + ")";
      if (!probe.returned(result.status(), what) || !result.ok()) return;
      if (json::parse(result.value(), nullptr, false).is_discarded()) {
        probe.fail(what + " returned text that is not JSON: " + result.value().substr(0, 80));
      }
    };
    for (const json& input : context.sample_inputs)
      call(input);
    // invoke must be thread-safe: the same inputs from four threads at once.
    std::vector<std::thread> threads;
    std::atomic<int> threw{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (const json& input : context.sample_inputs) {
          if (tool.invoke(input.dump()).status().code() == Code::plugin_exception) ++threw;
        }
      });
    }
    for (auto& thread : threads)
      thread.join();
    if (threw > 0) {
      probe.fail(std::to_string(threw.load()) + " calls from 4 threads at once threw");
    }
    probe.note(std::to_string(context.sample_inputs.size()) +
               " sample inputs give JSON, serially and from 4 threads at once");
  });
}

// --- Guard. ---

void exercise_guard(sdk::Guard& guard, Probe& probe) {
  std::int64_t now = 1'700'000'000'000;
  for (double score : {0.5, 0.75, 0.7, 0.9}) {
    probe.returned(
        guard.record({score, "v" + std::to_string(score), "evaluate", now += 1000}).status(),
        "Guard::record(" + std::to_string(score) + ")");
  }
}

CheckResult check_guard_calls(CheckContext& context) {
  return with_object<sdk::Guard>("guard.calls", context, [](sdk::Guard& guard, Probe& probe) {
    exercise_guard(guard, probe);
    for (double bad : {-1.0, 2.0, std::nan("")}) {
      probe.returned(guard.record({bad, "bad", "evaluate", 1}).status(),
                     "Guard::record(" + std::to_string(bad) + ")");
    }
    sdk::GuardTask task{"task-1", "agent", "tool", "{not json", "", "", 1};
    probe.returned(guard.pre_check(task).status(), "Guard::pre_check(invalid input JSON)");
    probe.returned(guard.post_check(task, {false, "{not json", 0.0, 1.0}).status(),
                   "Guard::post_check(invalid output JSON)");
    probe.returned(guard.pre_check({}).status(), "Guard::pre_check(an empty task)");
    auto stats = guard.stats();
    if (probe.returned(stats.status(), "Guard::stats()") && stats.ok() &&
        !is_json_object_text(stats.value())) {
      probe.fail("Guard::stats() is not a JSON object: " + stats.value().substr(0, 80));
    }
    probe.returned(guard.reset({}), "Guard::reset()");
    if (!probe.failed()) probe.note("record, pre_check, post_check, stats and reset return");
  });
}

// Checks that import_state(export_state()) into a fresh object restores it. `exercise` gives
// the first object some state; `observe` describes an object's behaviour for comparison.
template <class I>
CheckResult check_state_round_trip(const std::string& id, const CheckContext& context,
                                   const std::function<void(I&, Probe&)>& exercise,
                                   const std::function<std::string(I&)>& observe) {
  Probe probe(id);
  auto first = make<I>(context);
  auto second = make<I>(context);
  if (!first.ok() || !second.ok()) {
    probe.fail("cannot create the object: " + (first.ok() ? second : first).status().message());
    return probe.result();
  }
  exercise(*first.value(), probe);
  auto exported = first.value()->export_state();
  if (exported.status().code() == Code::unimplemented) {
    return skipped(id, "export_state is not implemented (optional): state is not persisted");
  }
  if (!probe.expect_ok(exported.status(), "export_state()")) return probe.result();
  if (json::parse(exported.value(), nullptr, false).is_discarded()) {
    probe.fail("export_state() is not JSON: " + exported.value().substr(0, 80));
    return probe.result();
  }
  if (!probe.expect_ok(second.value()->import_state(exported.value()), "import_state(exported)")) {
    return probe.result();
  }
  auto again = second.value()->export_state();
  if (probe.expect_ok(again.status(), "export_state() after import") &&
      json::parse(again.value(), nullptr, false) != json::parse(exported.value())) {
    probe.fail("export_state() after import_state differs from the state imported");
  }
  std::string before = observe(*first.value());
  std::string after = observe(*second.value());
  if (before != after) {
    probe.fail("the imported object behaves differently: " + after.substr(0, 120) + " instead of " +
               before.substr(0, 120));
  }
  // A state that is not this plugin's must be refused, not crash it.
  for (const char* bad : {"not json", "[1,2,3]", "\"a string\""}) {
    probe.expect_error(second.value()->import_state(bad), std::string("import_state(") + bad + ")");
  }
  if (!probe.failed()) {
    probe.note(std::to_string(exported.value().size()) +
               " bytes of state round-trip; foreign states are refused");
  }
  return probe.result();
}

CheckResult check_guard_state(CheckContext& context) {
  return check_state_round_trip<sdk::Guard>(
      "guard.state", context, exercise_guard, [](sdk::Guard& guard) {
        auto stats = guard.stats();
        auto verdict = guard.record({0.8, "probe", "evaluate", 1'800'000'000'000});
        std::string seen = stats.ok() ? stats.value() : Probe::code_text(stats.status());
        if (verdict.ok()) {
          seen += " then record(0.8): " + std::string(sdk::guard_state_name(verdict->state)) +
                  (verdict->allowed ? " allowed" : " refused");
        }
        return seen;
      });
}

// --- Planner. ---

std::vector<std::vector<sdk::PlannedCall>> sample_traces() {
  sdk::PlannedCall search{"search", R"({"q":"moss"})"};
  sdk::PlannedCall open{"open", R"({"id":1})"};
  sdk::PlannedCall summarize{"summarize", R"({})"};
  return {{search, open, summarize}, {search, open}, {search, summarize}, {open, summarize}};
}

void exercise_planner(sdk::Planner& planner, Probe& probe) {
  for (const auto& trace : sample_traces())
    probe.expect_ok(planner.learn(trace), "Planner::learn(a trace)");
}

std::string describe_predictions(sdk::Planner& planner) {
  std::string text;
  for (const auto& trace : sample_traces()) {
    auto predictions = planner.predict(trace.front(), 3, 0.0);
    if (!predictions.ok()) return Probe::code_text(predictions.status());
    for (const auto& p : predictions.value())
      text += p.call.tool + p.call.arguments_json + "=" + std::to_string(p.confidence) + " ";
  }
  return text;
}

CheckResult check_planner_calls(CheckContext& context) {
  return with_object<
      sdk::Planner>("planner.calls", context, [](sdk::Planner& planner, Probe& probe) {
    exercise_planner(planner, probe);
    probe.returned(planner.learn({}), "Planner::learn(an empty trace)");
    probe.returned(planner.learn({{"", "{not json"}}), "Planner::learn(a call with invalid JSON)");
    for (std::int32_t max : {2, 0, -1}) {
      auto predictions = planner.predict({"search", R"({"q":"moss"})"}, max, 0.0);
      const std::string call = "Planner::predict(max " + std::to_string(max) + ")";
      if (!probe.returned(predictions.status(), call) || !predictions.ok()) continue;
      const auto& list = predictions.value();
      // max <= 0 asks for the planner's own default count.
      if (max > 0 && static_cast<std::int64_t>(list.size()) > max) {
        probe.fail(call + " returned " + std::to_string(list.size()) + " predictions");
      }
      for (std::size_t i = 0; i < list.size(); ++i) {
        double c = list[i].confidence;
        if (!(c >= 0.0 && c <= 1.0)) {
          probe.fail(call + ": confidence " + std::to_string(c) + " is outside [0, 1]");
        }
        if (i > 0 && c > list[i - 1].confidence) {
          probe.fail(call + ": predictions are not ordered most likely first");
        }
      }
    }
    auto unseen = planner.predict({"never-seen", "{}"}, 3, 0.5);
    probe.returned(unseen.status(), "Planner::predict(an unseen call)");
    auto stats = planner.stats();
    if (probe.returned(stats.status(), "Planner::stats()") && stats.ok() &&
        !is_json_object_text(stats.value())) {
      probe.fail("Planner::stats() is not a JSON object: " + stats.value().substr(0, 80));
    }
    if (!probe.failed()) probe.note("learn, predict and stats keep the contract");
  });
}

CheckResult check_planner_state(CheckContext& context) {
  return check_state_round_trip<sdk::Planner>("planner.state", context, exercise_planner,
                                              describe_predictions);
}

// --- Compiler. ---

CheckResult check_compiler_calls(CheckContext& context) {
  return with_object<sdk::Compiler>(
      "compiler.calls", context, [](sdk::Compiler& compiler, Probe& probe) {
        sdk::ExecutionTrace good;
        good.workflow_id = "wf";
        good.input = "summarise the report";
        good.context_json = R"({"lang":"en"})";
        good.steps = {{"draft", "writer", good.input, "a summary", 0.01, 100.0, true}};
        good.final_output = "a summary";
        good.quality = 0.95;
        sdk::ExecutionTrace poor = good;
        poor.quality = 0.2;
        auto pairs = compiler.extract_pairs({good, poor}, 0.9);
        if (probe.expect_ok(pairs.status(), "Compiler::extract_pairs") &&
            pairs.value().size() != 1) {
          probe.fail("extract_pairs kept " + std::to_string(pairs.value().size()) +
                     " of a 0.95 and a 0.2 trace at threshold 0.9; expected 1");
        }
        probe.expect_error(compiler.compile({}, {}).status(), "Compiler::compile(no pairs)");
        auto model = compiler.compile(pairs.ok() ? pairs.value() : std::vector<sdk::TrainingPair>{},
                                      {"base-model", 0.9, 0});
        if (probe.expect_ok(model.status(), "Compiler::compile(one pair)")) {
          auto request = compiler.render(model.value(), "another report", "{}");
          if (probe.expect_ok(request.status(), "Compiler::render") &&
              request.value().messages.empty()) {
            probe.fail("Compiler::render returned a request without messages");
          }
          probe.returned(compiler.render(model.value(), "x", "{not json").status(),
                         "Compiler::render(invalid context JSON)");
        }
        probe.returned(compiler.extract_pairs({sdk::ExecutionTrace{}}, 0.0).status(),
                       "Compiler::extract_pairs(an empty trace)");
        for (const char* context_json : {"{}", "{not json"}) {
          auto c = compiler.estimate_complexity("a message", context_json);
          if (probe.returned(c.status(), "Compiler::estimate_complexity") && c.ok() &&
              !(c.value() >= 0.0 && c.value() <= 1.0)) {
            probe.fail("estimate_complexity returned " + std::to_string(c.value()) +
                       ", outside [0, 1]");
          }
        }
        if (!probe.failed()) probe.note("extract_pairs, compile, render and estimate_complexity");
      });
}

// --- Evolver. ---

CheckResult check_evolver_calls(CheckContext& context) {
  return with_object<sdk::Evolver>(
      "evolver.calls", context, [](sdk::Evolver& evolver, Probe& probe) {
        // The worker's host has no LLM backend: chat() is unavailable, as when a provider is
        // down. The evolver must say so with an error.
        sdk::FailureReport report;
        report.task_id = "task-1";
        report.error = "expected 3, got 4";
        report.trace = {{"plugin", "invoke", "{\"a\":1}", false}};
        probe.returned(evolver.analyze(report).status(), "Evolver::analyze(a failure)");
        probe.returned(evolver.analyze({}).status(), "Evolver::analyze(an empty report)");
        probe.returned(evolver.propose({}, {}, "").status(),
                       "Evolver::propose(an empty pattern, no sources)");
        probe.returned(
            evolver.propose({"p", "d", "c", "m", 1, 0}, {{"src/x.cpp", "int x;"}}, "context")
                .status(),
            "Evolver::propose(a pattern)");
        if (!probe.failed()) probe.note("analyze and propose return, with no LLM reachable");
      });
}

// --- LLMBackend. ---

CheckResult check_llm_calls(CheckContext& context) {
  return with_object<sdk::LLMBackend>(
      "llm_backend.calls", context, [](sdk::LLMBackend& backend, Probe& probe) {
        auto info = backend.info();
        if (probe.expect_ok(info.status(), "LLMBackend::info()") && info->name.empty()) {
          probe.fail("LLMBackend::info() has an empty name");
        }
        probe.expect_error(backend.chat({}, nullptr).status(),
                           "LLMBackend::chat(a request without messages)");
        probe.returned(backend.submit_fine_tune("not jsonl", "").status(),
                       "LLMBackend::submit_fine_tune(invalid data)");
        if (!probe.failed() && info.ok()) {
          probe.note("'" + info->name + "', model '" + info->model + "'");
        }
      });
}

}  // namespace

std::vector<ConformanceCheck> conformance_checks(const PluginManifest& manifest) {
  std::vector<ConformanceCheck> checks = {
      {"descriptor", "loads; the descriptor matches the manifest; semantic version",
       check_descriptor},
      {"config_schema", "the config schema is a valid draft-07 object schema", check_config_schema},
      {"init", "every kind initialises with the given settings and the schema's defaults",
       check_init},
  };
  if (manifest.implements(sdk::Kind::tool)) {
    checks.push_back(
        {"tool.info", "info() succeeds, is stable, has a description", check_tool_info});
    checks.push_back(
        {"tool.name", "the name is 1-64 characters of [A-Za-z0-9_.-]", check_tool_name});
    checks.push_back({"tool.input_schema", "inputSchema is a valid draft-07 object schema",
                      check_tool_input_schema});
    checks.push_back({"tool.invalid_input", "invalid input gets an error, not a crash",
                      check_tool_invalid_input});
    checks.push_back(
        {"tool.output", "valid input gives JSON, also from 4 threads at once", check_tool_output});
  }
  if (manifest.implements(sdk::Kind::llm_backend)) {
    checks.push_back({"llm_backend.calls", "info, chat and submit_fine_tune keep the contract",
                      check_llm_calls});
  }
  if (manifest.implements(sdk::Kind::evolver)) {
    checks.push_back(
        {"evolver.calls", "analyze and propose return errors, never throw", check_evolver_calls});
  }
  if (manifest.implements(sdk::Kind::guard)) {
    checks.push_back(
        {"guard.calls", "every method returns, also on invalid input", check_guard_calls});
    checks.push_back(
        {"guard.state", "export_state and import_state round-trip", check_guard_state});
  }
  if (manifest.implements(sdk::Kind::compiler)) {
    checks.push_back({"compiler.calls", "every method keeps the contract, also on invalid input",
                      check_compiler_calls});
  }
  if (manifest.implements(sdk::Kind::planner)) {
    checks.push_back({"planner.calls", "learn and predict keep the contract", check_planner_calls});
    checks.push_back(
        {"planner.state", "export_state and import_state round-trip", check_planner_state});
  }
  return checks;
}

}  // namespace moss
