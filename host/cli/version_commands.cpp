// moss candidate add, evaluate, promote, rollback and ratchet: changing what a plugin serves.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/version_session.hpp"
#include "evolution/evolution.hpp"
#include "logging/logging.hpp"
#include "registry/registry.hpp"
#include "runtime/plugin_manager.hpp"
#include "runtime/ratchet_gate.hpp"
#include "runtime/version_control.hpp"
#include "runtime/watcher.hpp"
#include "runtime/worker_evaluator.hpp"

namespace moss::cli {

int open_session(Context& context, VersionSession& session) {
  Needs needs{.lock_versions = true, .load_plugins = true};
  if (int code = open_session(context, needs, session); code != kExitOk) return code;
  session.versions = std::make_unique<VersionControl>(
      *session.plugins, *session.registry, session.config, session.actor,
      make_worker_evaluator(session.config, *session.plugins));
  auto abandoned = session.versions->abandon_interrupted();
  if (!abandoned.ok()) return fail(context, abandoned.status(), kExitStorage);
  auto attempts = session.registry->abandon_unfinished_attempts(session.actor);
  if (!attempts.ok()) return fail(context, attempts.status(), kExitStorage);
  return kExitOk;
}

int exit_code_for_change(const Status& status) {
  switch (status.code()) {
    case Code::not_found: return kExitNotFound;
    case Code::unavailable:
    case Code::resource_exhausted: return kExitStorage;
    default: return kExitFailure;
  }
}

nlohmann::json version_brief(const VersionRow& v) {
  return {{"id", v.id},
          {"state", std::string(to_string(v.state))},
          {"sha256", v.sha256},
          {"plugin_version", v.plugin_version}};
}

std::string describe(const VersionRow& v) {
  return "version " + std::to_string(v.id) + " (" + v.plugin_version + ", sha256 " +
         v.sha256.substr(0, 12) + ")";
}

namespace {

std::optional<std::int64_t> version_option(const Context& context, const char* name) {
  if (!context.options.count(name)) return std::nullopt;
  return context.options[name].as<std::int64_t>();
}

int candidate_add(Context& context) {
  VersionSession session;
  if (int code = open_session(context, session); code != kExitOk) return code;
  std::string plugin = context.positional("plugin");
  auto row = session.versions->stage_candidate(plugin, context.positional("file"));
  if (!row.ok()) {
    int code = row.status().code() == Code::invalid_argument ? kExitPluginRefused
                                                             : exit_code_for_change(row.status());
    return fail(context, row.status(), code);
  }
  if (context.json) {
    print_json(context, {{"action", "staged"}, {"version", version_brief(row.value())}});
  } else {
    context.out << "staged " << describe(row.value()) << " as a candidate of '" << plugin
                << "'; `moss evaluate " << plugin << "` evaluates and gates it\n";
  }
  return kExitOk;
}

int evaluate(Context& context) {
  VersionSession session;
  if (int code = open_session(context, session); code != kExitOk) return code;
  std::string plugin = context.positional("plugin");
  auto decision = session.versions->evaluate(plugin);
  if (!decision.ok())
    return fail(context, decision.status(), exit_code_for_change(decision.status()));
  const GateDecision& d = decision.value();

  if (context.json) {
    nlohmann::json out = {{"plugin", d.plugin},
                          {"action", d.action},
                          {"reason", d.reason},
                          {"candidate", version_brief(d.candidate)},
                          {"outcome", d.run.outcome},
                          {"detail", d.run.detail},
                          {"passed", d.run.passed},
                          {"total", d.run.total},
                          {"verdict", sdk::guard_state_name(d.verdict.state)},
                          {"ratio", d.verdict.ratio},
                          {"ratchet_point", d.verdict.ratchet_point},
                          {"verdict_to_serving_ms", d.verdict_to_serving_ms}};
    if (d.run.score) out["score"] = *d.run.score;
    if (d.baseline) out["baseline"] = version_brief(*d.baseline);
    if (d.baseline_score) out["baseline_score"] = *d.baseline_score;
    if (d.interval) {
      out["interval"] = {{"mean", d.interval->mean},
                         {"lower", d.interval->lower},
                         {"upper", d.interval->upper},
                         {"verdict", d.interval->verdict}};
    }
    nlohmann::json draining = nlohmann::json::array();
    for (const auto& call : d.still_draining) {
      draining.push_back({{"thread", call.os_thread_id}, {"method", call.method}});
    }
    out["still_draining"] = draining;
    print_json(context, out);
  } else {
    auto& out = context.out;
    out << "candidate:  " << describe(d.candidate) << "\n";
    if (d.baseline) out << "baseline:   " << describe(*d.baseline) << "\n";
    out << "run:        " << d.run.outcome
        << (d.run.detail.empty() ? "" : " (" + d.run.detail + ")") << "\n";
    if (d.run.score) {
      out << "score:      " << *d.run.score << " (" << d.run.passed << "/" << d.run.total
          << " cases)";
      if (d.baseline_score) out << ", baseline " << *d.baseline_score;
      out << "\n";
    }
    if (d.interval) {
      out << "sampled:    ratio " << d.interval->mean << ", interval [" << d.interval->lower << ", "
          << d.interval->upper << "]: " << d.interval->verdict << "\n";
    }
    out << "ratchet:    " << sdk::guard_state_name(d.verdict.state) << " (ratio " << d.verdict.ratio
        << ", point " << d.verdict.ratchet_point << ")\n"
        << "decision:   " << d.action << ": " << d.reason << "\n";
    if (d.action == "promoted" || d.action == "probation") {
      out << "serving:    " << describe(d.candidate) << " (" << d.verdict_to_serving_ms
          << " ms from verdict to serving)\n";
    }
    for (const auto& call : d.still_draining) {
      out << "draining:   the old version is still pinned by thread " << call.os_thread_id << " in "
          << call.method << "\n";
    }
  }
  return d.action == "rejected" ? kExitFailure : kExitOk;
}

int report_change(Context& context, const char* action, const Result<VersionRow>& row,
                  const std::string& plugin) {
  if (!row.ok()) return fail(context, row.status(), exit_code_for_change(row.status()));
  if (context.json) {
    print_json(context, {{"action", action}, {"plugin", plugin}, {"version", version_brief(*row)}});
  } else {
    context.out << action << ": '" << plugin << "' now serves " << describe(row.value()) << "\n";
  }
  return kExitOk;
}

int promote(Context& context) {
  VersionSession session;
  if (int code = open_session(context, session); code != kExitOk) return code;
  std::string plugin = context.positional("plugin");
  auto row = session.versions->promote(plugin, version_option(context, "version"),
                                       context.options["force"].as<bool>());
  return report_change(context, "promoted", row, plugin);
}

int rollback(Context& context) {
  VersionSession session;
  if (int code = open_session(context, session); code != kExitOk) return code;
  std::string plugin = context.positional("plugin");
  auto row = session.versions->rollback(plugin, version_option(context, "to"));
  return report_change(context, "rolled back", row, plugin);
}

int ratchet(Context& context) {
  Session session;
  if (int code = open_session(context, {.load_plugins = true}, session); code != kExitOk) {
    return code;
  }
  Registry* registry = session.registry.get();
  std::string plugin = context.positional("plugin");
  if (int code = require_plugin(context, *registry, plugin); code != kExitOk) return code;
  auto gate = RatchetGate::open(*session.plugins, session.config, *registry, plugin);
  if (!gate.ok()) return fail(context, gate.status(), kExitFailure);
  auto stats = gate.value()->stats();
  if (!stats.ok()) return fail(context, stats.status(), kExitFailure);
  auto evaluations = registry->evaluations(plugin, 10);
  if (!evaluations.ok()) return fail(context, evaluations.status(), kExitStorage);

  nlohmann::json state = nlohmann::json::parse(stats.value(), nullptr, false);
  nlohmann::json recent = nlohmann::json::array();
  for (const EvaluationRow& e : evaluations.value()) {
    nlohmann::json item = {{"at_ms", e.at_ms},     {"version_id", e.version_id},
                           {"purpose", e.purpose}, {"outcome", e.outcome},
                           {"verdict", e.verdict}, {"detail", e.detail}};
    if (e.score) item["score"] = *e.score;
    recent.push_back(item);
  }
  if (context.json) {
    print_json(context, {{"plugin", plugin},
                         {"recorded", !gate.value()->is_new()},
                         {"state", state},
                         {"recent", recent}});
    return kExitOk;
  }
  context.out << "plugin:  " << plugin
              << (gate.value()->is_new() ? " (no score recorded yet: initial state)" : "") << "\n";
  if (state.is_object()) {
    for (auto& [key, value] : state.items())
      context.out << "  " << key << ": " << value.dump() << "\n";
  }
  Table table({"TIME (UTC)", "VERSION", "PURPOSE", "OUTCOME", "SCORE", "VERDICT"});
  for (const EvaluationRow& e : evaluations.value()) {
    table.add({format_time(e.at_ms), std::to_string(e.version_id), e.purpose,
               e.outcome + (e.detail.empty() ? "" : " (" + e.detail + ")"),
               e.score ? std::to_string(*e.score) : "-", e.verdict.empty() ? "-" : e.verdict});
  }
  if (!table.empty()) {
    context.out << "\nrecent scores:\n";
    table.print(context.out);
  }
  return kExitOk;
}

std::atomic<bool> g_stop_watching{false};

// auto_improve: every auto_improve_interval_s, one evolution cycle for each evolvable
// instance (one with `source` and `eval`). Refusals (a budget, the lock, nothing to fix)
// are reported and wait for the next round.
void auto_improve(VersionSession& session,
                  const std::function<void(const nlohmann::json&)>& print) {
  Evolution evolution(*session.plugins, *session.registry, session.config, *session.versions,
                      make_worker_evaluator(session.config, *session.plugins), actors::evolution);
  const auto interval = std::chrono::seconds(session.config.self_evolution.auto_improve_interval_s);
  while (!g_stop_watching.load()) {
    for (const PluginConfig& plugin : session.config.plugins) {
      if (g_stop_watching.load()) return;
      if (plugin.source_dir.empty() || plugin.eval_dir.empty() || !plugin.enabled) continue;
      nlohmann::json line = {{"event", "evolution"}, {"plugin", plugin.instance}};
      auto report = evolution.run_cycle(plugin.instance);
      if (report.ok()) {
        line["summary"] = report->summary;
        if (report->attempt) line["outcome"] = report->attempt->outcome;
      } else {
        line["refused"] = report.status().message();
      }
      print(line);
    }
    for (auto waited = std::chrono::milliseconds(0); waited < interval && !g_stop_watching.load();
         waited += std::chrono::milliseconds(100)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

// `moss watch`, and `moss serve` (serve = true): the long-running host. Serve is what the
// systemd unit runs, so it keeps running with nothing to watch and logs what it decides.
int run_host(Context& context, bool serve) {
  struct sigaction action {};
  action.sa_handler = [](int) { g_stop_watching.store(true); };
  ::sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  VersionSession session;
  if (int code = open_session(context, session); code != kExitOk) return code;
  Watcher watcher(*session.plugins, *session.versions);
  auto print = [&](const nlohmann::json& line) {
    if (context.json) context.out << line.dump() << std::endl;
  };
  WatchCallbacks callbacks;
  callbacks.watching = [&](const std::vector<std::filesystem::path>& files) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& file : files)
      names.push_back(file.string());
    print({{"event", "watching"}, {"files", names}});
  };
  callbacks.decided = [&](const std::string& instance, const Result<GateDecision>& decision) {
    nlohmann::json line = {{"event", "decision"}, {"plugin", instance}, {"ok", decision.ok()}};
    if (decision.ok()) {
      line["action"] = decision->action;
      line["reason"] = decision->reason;
      line["version"] = version_brief(decision->candidate);
    } else {
      line["error"] = decision.status().message();
    }
    print(line);
    if (!serve) return;
    if (decision.ok()) {
      log().info("{}: {}: {}", instance, decision->action, decision->reason);
    } else {
      log().error("{}: {}", instance, decision.status().message());
    }
  };
  std::mutex print_mutex;  // the improver prints from its own thread
  auto print_locked = [&](const nlohmann::json& line) {
    std::lock_guard lock(print_mutex);
    print(line);
  };
  callbacks.watching = [&, announce = callbacks.watching](const auto& files) {
    std::lock_guard lock(print_mutex);
    announce(files);
  };
  callbacks.decided = [&, report = callbacks.decided](const auto& instance, const auto& decision) {
    std::lock_guard lock(print_mutex);
    report(instance, decision);
  };
  std::thread improver;
  const SelfEvolutionConfig& se = session.config.self_evolution;
  if (se.enabled && se.auto_improve) {
    improver = std::thread([&] { auto_improve(session, print_locked); });
  }
  Status watched = watcher.run(g_stop_watching, callbacks);
  const auto statuses = session.plugins->status();
  const bool nothing_to_watch = std::none_of(statuses.begin(), statuses.end(),
                                             [](const auto& s) { return !s.source.empty(); });
  if (serve && nothing_to_watch) {
    log().info("serving with no plugin files to watch; waiting for SIGTERM");
    while (!g_stop_watching.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    watched = Status();
  }
  g_stop_watching = true;
  if (improver.joinable()) improver.join();
  if (!watched.ok()) return fail(context, watched, kExitFailure);
  return kExitOk;
}

void plugin_argument(po::options_description& o, po::positional_options_description& p) {
  o.add_options()("plugin", po::value<std::string>()->required(), "plugin instance");
  p.add("plugin", 1);
}

}  // namespace

std::vector<Command> version_commands() {
  std::vector<Command> commands;
  commands.push_back({{"candidate", "add"},
                      "PLUGIN FILE",
                      "Stage a plugin file as a candidate version of an instance",
                      "The file is inspected (no code runs), copied to the content-addressed "
                      "store and\nregistered as a candidate. A file identical to a known "
                      "version is refused. Exit code 4\nif the file is not a compatible plugin.",
                      [](po::options_description& o, po::positional_options_description& p) {
                        o.add_options()("plugin", po::value<std::string>()->required(),
                                        "plugin instance")(
                            "file", po::value<std::string>()->required(), "plugin .so file");
                        p.add("plugin", 1).add("file", 1);
                      },
                      candidate_add});
  commands.push_back({{"evaluate"},
                      "PLUGIN",
                      "Evaluate the newest candidate in isolation; the Ratchet promotes or rejects",
                      "The candidate runs its eval suite in a child process under limits. A "
                      "NOMINAL or WARNING\nverdict promotes it (hot swap); CRITICAL rejects it; "
                      "LOCKED refuses to evaluate and says\nuntil when. Exit code 1 if the "
                      "candidate is rejected.",
                      plugin_argument,
                      evaluate});
  commands.push_back(
      {{"promote"},
       "PLUGIN [--version N] [--force]",
       "Serve a version that served before, or force a candidate in without evaluation",
       "",
       [](po::options_description& o, po::positional_options_description& p) {
         plugin_argument(o, p);
         o.add_options()("version", po::value<std::int64_t>(),
                         "the version (default: the newest candidate)")(
             "force", po::bool_switch(), "promote a candidate without evaluating it");
       },
       promote});
  commands.push_back({{"rollback"},
                      "PLUGIN [--to N]",
                      "Return to the previous version (or version N); the active one becomes "
                      "rolled_back",
                      "",
                      [](po::options_description& o, po::positional_options_description& p) {
                        plugin_argument(o, p);
                        o.add_options()("to", po::value<std::int64_t>(),
                                        "a retired or rolled-back version");
                      },
                      rollback});
  commands.push_back(
      {{"watch"},
       "",
       "Watch the configured plugin files; evaluate and gate each rebuilt one",
       "Runs until SIGINT or SIGTERM. A changed file is staged once it has "
       "settled (never half-written),\nevaluated in isolation and promoted or "
       "rejected by the Ratchet, with no restart.\nWith [self_evolution] auto_improve, "
       "every auto_improve_interval_s it also runs one\nevolution cycle for each evolvable "
       "plugin (one with source and eval).\nWith --json, JSON lines on stdout: "
       "{\"event\":\"watching\"} once ready, then one per decision\nand one per "
       "evolution cycle.",
       nullptr,
       [](Context& context) { return run_host(context, /*serve=*/false); }});
  commands.push_back(
      {{"serve"},
       "",
       "Run the host as a service (what moss.service runs): watch, gate, auto_improve",
       "Does what `moss watch` does, and logs every decision (to stderr, so to the\n"
       "journal under systemd). With no plugin configured it idles until SIGTERM. Exit\n"
       "code 0 after SIGINT or SIGTERM.",
       nullptr,
       [](Context& context) { return run_host(context, /*serve=*/true); }});
  commands.push_back({{"ratchet"},
                      "PLUGIN",
                      "Show the Ratchet: state, ratchet point, peak, count, lock, recent scores",
                      "",
                      plugin_argument,
                      ratchet});
  return commands;
}

}  // namespace moss::cli
