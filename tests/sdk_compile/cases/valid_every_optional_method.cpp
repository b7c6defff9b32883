// A control: a plugin with all six kinds and every optional method must compile.
#include <moss/sdk/sdk.hpp>

using namespace moss::sdk;

struct T {
  void init(const InitContext&) {}
  ToolInfo info() const { return {"t", "", R"({"type":"object"})", false}; }
  Result<std::string> invoke(std::string_view) { return "{}"; }
};
struct B {
  Status init(const InitContext&) { return {}; }
  BackendInfo info() const { return {}; }
  Result<ChatResponse> chat(const ChatRequest&, ChatStreamSink*) { return ChatResponse{}; }
  Result<std::string> submit_fine_tune(std::string_view, std::string_view) { return "job"; }
};
struct E {
  Result<FailurePattern> analyze(const FailureReport&) { return FailurePattern{}; }
  Result<Patch> propose(const FailurePattern&, const std::vector<SourceFile>&, std::string_view) {
    return Patch{};
  }
};
struct G {
  Result<Verdict> record(const ScoreSample&) { return Verdict{}; }
  Result<Verdict> pre_check(const GuardTask&) { return Verdict{}; }
  Result<Verdict> post_check(const GuardTask&, const GuardOutcome&) { return Verdict{}; }
  std::string stats() const { return "{}"; }
  void reset(const GuardReset&) {}
  std::string export_state() const { return "{}"; }
  Status import_state(std::string_view) { return {}; }
};
struct C {
  std::vector<TrainingPair> extract_pairs(const std::vector<ExecutionTrace>&, double) { return {}; }
  Result<CompiledModel> compile(const std::vector<TrainingPair>&, const CompileOptions&) {
    return CompiledModel{};
  }
  Result<ChatRequest> render(const CompiledModel&, std::string_view, std::string_view) {
    return ChatRequest{};
  }
  double estimate_complexity(std::string_view, std::string_view) { return 0.5; }
};
struct P {
  void learn(const std::vector<PlannedCall>&) {}
  std::vector<Prediction> predict(const PlannedCall&, std::int32_t, double) { return {}; }
  std::string stats() const { return "{}"; }
  std::string export_state() const { return "{}"; }
  void import_state(std::string_view) {}
};

MOSS_PLUGIN("all-kinds", "1.0.0", kNoConfig, as_tool<T>, as_llm_backend<B>, as_evolver<E>,
            as_guard<G>, as_compiler<C>, as_planner<P>)
