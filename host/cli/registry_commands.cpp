// moss versions, moss history and moss status: what the registry knows.
#include "cli/common.hpp"
#include "loader/loader.hpp"
#include "registry/registry.hpp"

namespace moss::cli {
namespace {

nlohmann::json version_json(const VersionRow& v) {
  return {{"id", v.id},
          {"plugin", v.plugin},
          {"state", std::string(to_string(v.state))},
          {"sha256", v.sha256},
          {"plugin_version", v.plugin_version},
          {"abi", std::to_string(v.abi_major) + "." + std::to_string(v.abi_minor)},
          {"path", v.path},
          {"parent_id", v.parent_id},
          {"created_at_ms", v.created_at_ms},
          {"updated_at_ms", v.updated_at_ms}};
}

nlohmann::json event_json(const EventRow& e) {
  nlohmann::json data = nlohmann::json::parse(e.data_json, nullptr, false);
  return {{"id", e.id},
          {"at_ms", e.at_ms},
          {"plugin", e.plugin},
          {"version_id", e.version_id},
          {"type", e.type},
          {"actor", e.actor},
          {"reason", e.reason},
          {"from_state", e.from_state},
          {"to_state", e.to_state},
          {"data", data.is_discarded() ? nlohmann::json(e.data_json) : data}};
}

int versions(Context& context) {
  Session session;
  if (int code = open_session(context, {}, session); code != kExitOk) return code;
  std::string plugin = context.positional("plugin");
  if (int code = require_plugin(context, *session.registry, plugin); code != kExitOk) return code;
  auto rows = session.registry->versions(plugin);
  if (!rows.ok()) return fail(context, rows.status(), kExitStorage);

  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const VersionRow& v : rows.value())
      out.push_back(version_json(v));
    print_json(context, out);
    return kExitOk;
  }
  Table table({"ID", "STATE", "VERSION", "SHA256", "ABI", "CREATED (UTC)", "PARENT"});
  for (const VersionRow& v : rows.value()) {
    table.add({std::to_string(v.id), std::string(to_string(v.state)), v.plugin_version,
               v.sha256.substr(0, 12),
               std::to_string(v.abi_major) + "." + std::to_string(v.abi_minor),
               format_time(v.created_at_ms), v.parent_id ? std::to_string(v.parent_id) : "-"});
  }
  if (table.empty()) {
    context.out << "plugin '" << plugin << "' has no versions\n";
  } else {
    table.print(context.out);
  }
  return kExitOk;
}

int history(Context& context) {
  Session session;
  if (int code = open_session(context, {}, session); code != kExitOk) return code;
  std::optional<std::string> plugin;
  if (context.options.count("plugin")) {
    plugin = context.positional("plugin");
    if (int code = require_plugin(context, *session.registry, *plugin); code != kExitOk) {
      return code;
    }
  }
  int limit = context.options["limit"].as<int>();
  auto events = session.registry->events(plugin, limit);
  if (!events.ok()) return fail(context, events.status(), kExitStorage);

  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const EventRow& e : events.value())
      out.push_back(event_json(e));
    print_json(context, out);
    return kExitOk;
  }
  Table table({"ID", "TIME (UTC)", "PLUGIN", "VERSION", "EVENT", "ACTOR", "CHANGE", "REASON"});
  for (const EventRow& e : events.value()) {
    std::string change = e.from_state.empty() && e.to_state.empty()
                             ? "-"
                             : (e.from_state.empty() ? "new" : e.from_state) + " -> " + e.to_state;
    table.add({std::to_string(e.id), format_time(e.at_ms), e.plugin.empty() ? "-" : e.plugin,
               e.version_id ? std::to_string(e.version_id) : "-", e.type, e.actor, change,
               e.reason});
  }
  if (table.empty()) {
    context.out << "no events recorded\n";
  } else {
    table.print(context.out);
  }
  return kExitOk;
}

int status(Context& context) {
  Session session;
  if (int code = open_session(context, {}, session); code != kExitOk) return code;
  const Config& config = session.config;
  Registry* registry = session.registry.get();
  auto plugins = registry->plugins();
  if (!plugins.ok()) return fail(context, plugins.status(), kExitStorage);
  Status consistent = registry->check_consistency();

  struct Row {
    PluginRow plugin;
    std::optional<VersionRow> active;
    std::size_t version_count = 0;
  };
  std::vector<Row> rows;
  for (const PluginRow& p : plugins.value()) {
    Row row{p, std::nullopt, 0};
    if (auto active = registry->active_version(p.name); active.ok()) row.active = *active;
    if (auto all = registry->versions(p.name); all.ok()) row.version_count = all->size();
    rows.push_back(std::move(row));
  }

  if (context.json) {
    nlohmann::json out = {{"config", config.file.string()},
                          {"state_dir", config.state_dir.string()},
                          {"registry", config.registry_file().string()},
                          {"consistent", consistent.ok()},
                          {"configured_plugins", config.plugins.size()}};
    if (!consistent.ok()) out["inconsistency"] = consistent.message();
    nlohmann::json list = nlohmann::json::array();
    for (const Row& r : rows) {
      nlohmann::json item = {{"name", r.plugin.name},
                             {"enabled", r.plugin.enabled},
                             {"kinds", kinds_to_string(static_cast<std::uint32_t>(r.plugin.kinds))},
                             {"versions", r.version_count}};
      if (r.active) item["active"] = version_json(*r.active);
      if (!r.plugin.disabled_reason.empty()) item["disabled_reason"] = r.plugin.disabled_reason;
      list.push_back(item);
    }
    out["plugins"] = list;
    print_json(context, out);
    return kExitOk;
  }
  auto& out = context.out;
  out << "config:     " << (config.file.empty() ? "(none, defaults)" : config.file.string()) << "\n"
      << "state dir:  " << config.state_dir.string() << "\n"
      << "registry:   " << config.registry_file().string()
      << (consistent.ok() ? " (consistent)" : " (INCONSISTENT: " + consistent.message() + ")")
      << "\n\n";
  Table table({"PLUGIN", "ENABLED", "KINDS", "ACTIVE", "VERSION", "SHA256", "VERSIONS"});
  for (const Row& r : rows) {
    table.add({r.plugin.name, r.plugin.enabled ? "yes" : "no",
               kinds_to_string(static_cast<std::uint32_t>(r.plugin.kinds)),
               r.active ? "#" + std::to_string(r.active->id) : "-",
               r.active ? r.active->plugin_version : "-",
               r.active ? r.active->sha256.substr(0, 12) : "-", std::to_string(r.version_count)});
  }
  if (table.empty()) {
    out << "no plugins registered yet (run `moss plugin list` to load the configured ones)\n";
  } else {
    table.print(out);
  }
  return consistent.ok() ? kExitOk : kExitStorage;
}

}  // namespace

std::vector<Command> registry_commands() {
  std::vector<Command> commands;
  commands.push_back({{"versions"},
                      "PLUGIN",
                      "List a plugin instance's versions with their states",
                      "",
                      [](po::options_description& o, po::positional_options_description& p) {
                        o.add_options()("plugin", po::value<std::string>()->required(),
                                        "plugin instance");
                        p.add("plugin", 1);
                      },
                      versions});
  commands.push_back({{"history"},
                      "[PLUGIN]",
                      "Show recorded events (loads, state changes, verdicts), newest first",
                      "",
                      [](po::options_description& o, po::positional_options_description& p) {
                        o.add_options()("plugin", po::value<std::string>(), "plugin instance")(
                            "limit,n", po::value<int>()->default_value(50), "number of events");
                        p.add("plugin", 1);
                      },
                      history});
  commands.push_back({{"status"},
                      "",
                      "Show the config, state directory, registry health and active versions",
                      "Exit code 6 if the registry is unavailable or inconsistent.",
                      nullptr,
                      status});
  return commands;
}

}  // namespace moss::cli
