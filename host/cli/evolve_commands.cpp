// moss evolve, lineage, diff and failures: the MOSS loop and what it leaves behind.
#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/version_session.hpp"
#include "evolution/evolution.hpp"
#include "evolution/workspace.hpp"
#include "runtime/plugin_manager.hpp"
#include "runtime/worker_evaluator.hpp"

namespace moss::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

// The compiler command line the Builder ran: the build log's first line.
std::string build_command(const AttemptRow& a) {
  if (a.build_log.rfind("$ ", 0) != 0) return {};
  return a.build_log.substr(2, a.build_log.find('\n') - 2);
}

json attempt_json(const AttemptRow& a) {
  return {{"id", a.id},
          {"outcome", a.outcome},
          {"reason", a.reason},
          {"stage", a.stage},
          {"failure_id", a.failure_id},
          {"pattern_id", a.pattern_id},
          {"parent_version", a.parent_version_id},
          {"version", a.version_id},
          {"commit", a.commit},
          {"patch_format", a.patch_format},
          {"patch_path", a.patch_path},
          {"patch_id", a.patch_id},
          {"build_ms", a.build_ms},
          {"build_command", build_command(a)},
          {"prompt_tokens", a.prompt_tokens},
          {"completion_tokens", a.completion_tokens},
          {"cost_usd", a.cost_usd},
          {"elapsed_ms", a.finished_at_ms - a.started_at_ms}};
}

// Calls a tool over and over on a thread of its own while the cycle runs, to show that a
// hot swap loses no call.
class Traffic {
 public:
  Traffic(PluginManager& plugins, std::string instance, std::string args)
      : thread_([this, &plugins, instance = std::move(instance), args = std::move(args)] {
          while (!stop_.load(std::memory_order_relaxed)) {
            auto result = plugins.invoke_tool(instance, args);
            (result.ok() ? ok_ : failed_).fetch_add(1, std::memory_order_relaxed);
          }
        }) {}
  ~Traffic() { stop(); }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::int64_t ok() const { return ok_.load(); }
  std::int64_t failed() const { return failed_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> ok_{0};
  std::atomic<std::int64_t> failed_{0};
  std::thread thread_;
};

int evolve(Context& context) {
  VersionSession session;
  session.actor = actors::evolution;
  if (int code = open_session(context, session); code != kExitOk) return code;
  const std::string plugin = context.positional("plugin");
  if (int code = require_plugin(context, *session.registry, plugin); code != kExitOk) return code;
  const auto cycles = context.options["cycles"].as<std::int64_t>();
  const std::string traffic_args =
      context.options.count("traffic") ? context.options["traffic"].as<std::string>() : "";
  if (!traffic_args.empty()) {
    json args = json::parse(traffic_args, nullptr, false);
    if (args.is_discarded() || !args.is_object()) {
      return fail(context, Status(Code::invalid_argument, "--traffic must be a JSON object"),
                  kExitUsage);
    }
  }

  const auto started = Clock::now();
  auto progress = [&](std::string_view stage, std::string_view detail) {
    if (context.json) {
      context.out << json({{"event", "stage"},
                           {"plugin", plugin},
                           {"stage", stage},
                           {"detail", detail},
                           {"elapsed_s", seconds_since(started)}})
                         .dump(-1, ' ', false, json::error_handler_t::replace)
                  << std::endl;
    } else {
      context.out << "[" << fixed(seconds_since(started), 1) << " s] " << stage << ": " << detail
                  << std::endl;
    }
  };
  Evolution evolution(*session.plugins, *session.registry, session.config, *session.versions,
                      make_worker_evaluator(session.config, *session.plugins), actors::evolution,
                      progress);

  int exit_code = kExitOk;
  for (std::int64_t cycle = 1; cycles == 0 || cycle <= cycles; ++cycle) {
    std::optional<Traffic> traffic;
    if (!traffic_args.empty()) traffic.emplace(*session.plugins, plugin, traffic_args);
    auto report = evolution.run_cycle(plugin);
    if (traffic) traffic->stop();
    if (!report.ok()) {
      // A back-off ends by itself: a multi-cycle run waits for it.
      if (evolution.backoff_until_ms() > 0 && (cycles == 0 || cycle < cycles)) {
        progress("backoff", report.status().message());
        const auto wait =
            evolution.backoff_until_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count();
        std::this_thread::sleep_for(std::chrono::milliseconds(std::max<std::int64_t>(wait, 0)));
        continue;
      }
      return fail(context, report.status(), exit_code_for_change(report.status()));
    }
    const CycleReport& r = report.value();
    if (context.json) {
      json out = {{"event", "cycle"}, {"plugin", plugin}, {"cycle", cycle}, {"summary", r.summary}};
      if (r.attempt) out["attempt"] = attempt_json(*r.attempt);
      if (r.baseline_score) out["baseline_score"] = *r.baseline_score;
      if (r.decision) {
        if (r.decision->run.score) out["score"] = *r.decision->run.score;
        out["verdict"] = sdk::guard_state_name(r.decision->verdict.state);
        out["verdict_to_serving_ms"] = r.decision->verdict_to_serving_ms;
        // The worker's own wall time for the candidate's suite, for overhead measurements.
        json run = json::parse(r.decision->run.report_json, nullptr, false);
        if (run.is_object()) out["eval_wall_ms"] = run.value("wall_ms", 0.0);
      }
      if (traffic) out["traffic"] = {{"ok", traffic->ok()}, {"failed", traffic->failed()}};
      context.out << out.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    } else {
      if (r.baseline_score) {
        context.out << "baseline:  score " << fixed(*r.baseline_score, 3) << ", " << r.open_failures
                    << " failure(s) recorded\n";
      }
      if (r.decision) {
        const GateDecision& d = *r.decision;
        context.out << "candidate: " << describe(d.candidate) << ": " << d.run.outcome
                    << (d.run.detail.empty() ? "" : " (" + d.run.detail + ")");
        if (d.run.score) {
          context.out << ", score " << fixed(*d.run.score, 3) << " (" << d.run.passed << "/"
                      << d.run.total << ")";
        }
        if (d.baseline_score) context.out << " vs baseline " << fixed(*d.baseline_score, 3);
        context.out << "\nratchet:   " << sdk::guard_state_name(d.verdict.state) << " (ratio "
                    << fixed(d.verdict.ratio, 3) << ", point " << fixed(d.verdict.ratchet_point, 3)
                    << ")\n";
        if (d.action == "promoted" || d.action == "probation") {
          context.out << "hot swap:  " << describe(d.candidate) << " serves now, "
                      << fixed(d.verdict_to_serving_ms, 3) << " ms from verdict to serving\n";
        }
      }
      if (traffic) {
        context.out << "traffic:   " << traffic->ok() << " calls served during the cycle, "
                    << traffic->failed() << " failed\n";
      }
      context.out << "result:    " << r.summary << "\n";
    }
    if (!r.attempt) break;  // nothing left to fix
    exit_code = r.attempt->outcome == attempt_outcomes::promoted ? kExitOk : kExitFailure;
  }
  return exit_code;
}

// The newest evaluation with a score of each version.
std::map<std::int64_t, EvaluationRow> scores_by_version(Registry& registry,
                                                        const std::string& plugin) {
  std::map<std::int64_t, EvaluationRow> scores;
  auto evaluations = registry.evaluations(plugin, 100000);
  if (!evaluations.ok()) return scores;
  for (const EvaluationRow& e : evaluations.value()) {  // newest first
    auto& slot = scores[e.version_id];
    if (slot.id == 0 || (!slot.score && e.score)) slot = e;
  }
  return scores;
}

int lineage(Context& context) {
  Session session;
  if (int code = open_session(context, Needs{}, session); code != kExitOk) return code;
  const std::string plugin = context.positional("plugin");
  if (int code = require_plugin(context, *session.registry, plugin); code != kExitOk) return code;
  auto versions = session.registry->versions(plugin);
  if (!versions.ok()) return fail(context, versions.status(), kExitStorage);
  auto attempts = session.registry->attempts(plugin, 100000);
  if (!attempts.ok()) return fail(context, attempts.status(), kExitStorage);
  auto scores = scores_by_version(*session.registry, plugin);
  std::map<std::int64_t, const AttemptRow*> attempt_of;
  for (const AttemptRow& a : attempts.value()) {
    if (a.version_id != 0) attempt_of[a.version_id] = &a;
  }

  // Nodes: every version, and every attempt that produced none; oldest first.
  struct Node {
    const VersionRow* version = nullptr;
    const AttemptRow* attempt = nullptr;
    std::int64_t parent = 0;
    std::int64_t at_ms = 0;
  };
  std::vector<Node> nodes;
  for (const VersionRow& v : versions.value()) {
    auto it = attempt_of.find(v.id);
    nodes.push_back(
        {&v, it == attempt_of.end() ? nullptr : it->second, v.parent_id, v.created_at_ms});
  }
  for (const AttemptRow& a : attempts.value()) {
    if (a.version_id == 0) nodes.push_back({nullptr, &a, a.parent_version_id, a.started_at_ms});
  }
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const Node& a, const Node& b) { return a.at_ms < b.at_ms; });

  if (context.json) {
    json out = json::array();
    for (const Node& n : nodes) {
      json item = {{"parent", n.parent}};
      if (n.version) {
        item["version"] = version_brief(*n.version);
        if (auto s = scores.find(n.version->id); s != scores.end()) {
          item["score"] = s->second.score ? json(*s->second.score) : json();
          item["outcome"] = s->second.outcome;
          item["verdict"] = s->second.verdict;
        }
      }
      if (n.attempt) item["attempt"] = attempt_json(*n.attempt);
      out.push_back(item);
    }
    print_json(context, {{"plugin", plugin}, {"lineage", out}});
    return kExitOk;
  }
  auto& out = context.out;
  out << "version  parent  state        score    verdict   attempt  outcome        reason\n";
  for (const Node& n : nodes) {
    std::string score = "-", verdict = "-", state = "-", id = "-";
    if (n.version) {
      id = std::to_string(n.version->id);
      state = std::string(to_string(n.version->state));
      if (auto s = scores.find(n.version->id); s != scores.end()) {
        score = s->second.score ? fixed(*s->second.score, 3) : s->second.outcome;
        verdict = s->second.verdict.empty() ? s->second.purpose : s->second.verdict;
      }
    }
    std::string reason = n.attempt ? n.attempt->reason : "";
    if (reason.size() > 90) reason = reason.substr(0, 87) + "...";
    char line[512];
    std::snprintf(line, sizeof line, "%-8s %-7s %-12s %-8s %-9s %-8s %-14s %s\n", id.c_str(),
                  n.parent == 0 ? "-" : std::to_string(n.parent).c_str(), state.c_str(),
                  score.c_str(), verdict.c_str(),
                  n.attempt ? ("#" + std::to_string(n.attempt->id)).c_str() : "-",
                  n.attempt ? n.attempt->outcome.c_str() : "-", reason.c_str());
    out << line;
  }
  return kExitOk;
}

int diff(Context& context) {
  Session session;
  if (int code = open_session(context, Needs{}, session); code != kExitOk) return code;
  std::int64_t ids[2] = {context.options["from"].as<std::int64_t>(),
                         context.options["to"].as<std::int64_t>()};
  std::string commits[2];
  std::string plugin;
  for (int i = 0; i < 2; ++i) {
    auto version = session.registry->version(ids[i]);
    if (!version.ok()) return fail(context, version.status(), kExitNotFound);
    if (!plugin.empty() && version->plugin != plugin) {
      return fail(context,
                  Status(Code::invalid_argument, "versions " + std::to_string(ids[0]) + " and " +
                                                     std::to_string(ids[1]) +
                                                     " belong to different plugins"),
                  kExitUsage);
    }
    plugin = version->plugin;
    auto commit = session.registry->version_commit(ids[i]);
    if (!commit.ok()) return fail(context, commit.status(), kExitStorage);
    if (commit->empty()) {
      return fail(context,
                  Status(Code::not_found, "version " + std::to_string(ids[i]) + " of '" + plugin +
                                              "' has no recorded source (it was not built by "
                                              "evolution, nor evolved from)"),
                  kExitNotFound);
    }
    commits[i] = commit.value();
  }
  auto workspace = Workspace::open(evolution_workspace_dir(session.config, plugin));
  if (!workspace.ok()) return fail(context, workspace.status(), kExitStorage);
  auto text = workspace->diff(commits[0], commits[1]);
  if (!text.ok()) return fail(context, text.status(), kExitFailure);
  if (context.json) {
    print_json(context, {{"plugin", plugin},
                         {"from", {{"version", ids[0]}, {"commit", commits[0]}}},
                         {"to", {{"version", ids[1]}, {"commit", commits[1]}}},
                         {"diff", text.value()}});
  } else {
    context.out << text.value();
  }
  return kExitOk;
}

int failures(Context& context) {
  Session session;
  if (int code = open_session(context, Needs{}, session); code != kExitOk) return code;
  const std::string plugin = context.positional("plugin");
  if (int code = require_plugin(context, *session.registry, plugin); code != kExitOk) return code;
  auto rows = session.registry->failures(plugin, context.options["limit"].as<int>());
  if (!rows.ok()) return fail(context, rows.status(), kExitStorage);
  auto patterns = session.registry->patterns(plugin);
  if (!patterns.ok()) return fail(context, patterns.status(), kExitStorage);
  if (context.json) {
    json out = json::array();
    for (const FailureRow& f : rows.value()) {
      out.push_back({{"id", f.id},
                     {"version", f.version_id},
                     {"source", f.source},
                     {"task_id", f.task_id},
                     {"error", f.error},
                     {"trace", json::parse(f.trace_json, nullptr, false)},
                     {"occurrences", f.occurrences},
                     {"pattern_id", f.pattern_id}});
    }
    json pattern_list = json::array();
    for (const PatternRow& p : patterns.value()) {
      pattern_list.push_back({{"pattern_id", p.pattern_id},
                              {"description", p.description},
                              {"root_cause", p.root_cause},
                              {"affected_module", p.affected_module},
                              {"occurrence_count", p.occurrence_count},
                              {"last_occurrence_ms", p.last_occurrence_ms}});
    }
    print_json(context, {{"plugin", plugin}, {"failures", out}, {"patterns", pattern_list}});
    return kExitOk;
  }
  for (const FailureRow& f : rows.value()) {
    context.out << "#" << f.id << " version " << f.version_id << " " << f.source << " " << f.task_id
                << " (x" << f.occurrences << "): " << f.error << "\n";
  }
  for (const PatternRow& p : patterns.value()) {
    context.out << "pattern " << p.pattern_id << " (x" << p.occurrence_count << ", "
                << p.affected_module << "): " << p.root_cause << "\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> evolve_commands() {
  std::vector<Command> commands;
  commands.push_back(
      {{"evolve"},
       "PLUGIN",
       "Run the MOSS evolution loop on a plugin: failures -> patch -> build -> gate",
       "One cycle: take a recorded failure of the serving version (running its eval suite\n"
       "first if none is recorded), ask the Evolver for its root cause and a patch, apply it\n"
       "in the plugin's git workspace, build the candidate, evaluate it in isolation and let\n"
       "the Ratchet promote (hot swap) or reject it. Every attempt is recorded.\n"
       "Refused, with the reason, when a budget is spent or the Ratchet is locked.\n"
       "Exit code 0 if the last attempt was promoted or there was nothing to fix, 1 if it\n"
       "was rejected or failed.",
       [](po::options_description& o, po::positional_options_description& p) {
         o.add_options()("plugin", po::value<std::string>()->required(), "plugin instance")(
             "cycles", po::value<std::int64_t>()->default_value(1),
             "cycles to run; 0: until nothing is left to fix or a budget stops it")(
             "traffic", po::value<std::string>(),
             "keep calling the tool with these JSON arguments during each cycle and report "
             "how many calls were served and failed");
         p.add("plugin", 1);
       },
       evolve});
  commands.push_back(
      {{"lineage"},
       "PLUGIN",
       "Show a plugin's versions and evolution attempts: parent, score, verdict, reason",
       "Every version (with its newest score and verdict) and every evolution attempt that\n"
       "produced no version (a refused patch, a failed build), oldest first.",
       [](po::options_description& o, po::positional_options_description& p) {
         o.add_options()("plugin", po::value<std::string>()->required(), "plugin instance");
         p.add("plugin", 1);
       },
       lineage});
  commands.push_back(
      {{"diff"},
       "V1 V2",
       "Show the source change between two versions of an evolved plugin",
       "A unified diff between the source commits of two versions (ids from `moss versions`).",
       [](po::options_description& o, po::positional_options_description& p) {
         o.add_options()("from", po::value<std::int64_t>()->required(), "version id")(
             "to", po::value<std::int64_t>()->required(), "version id");
         p.add("from", 1).add("to", 1);
       },
       diff});
  commands.push_back(
      {{"failures"},
       "PLUGIN",
       "Show a plugin's recorded failures and failure patterns",
       "Failures (eval cases, tool calls, guard blocks) newest first, with the version that\n"
       "ran, and the failure patterns the Evolver found.",
       [](po::options_description& o, po::positional_options_description& p) {
         o.add_options()("plugin", po::value<std::string>()->required(), "plugin instance")(
             "limit", po::value<int>()->default_value(50), "at most this many failures");
         p.add("plugin", 1);
       },
       failures});
  return commands;
}

}  // namespace moss::cli
