// moss plugin inspect | list, and moss call.
#include <iostream>

#include <moss/sdk/sdk.hpp>

#include "cli/common.hpp"
#include "config/plugin_settings.hpp"
#include "loader/loader.hpp"
#include "registry/registry.hpp"
#include "runtime/plugin_manager.hpp"
#include "util/json_schema.hpp"

namespace moss::cli {
namespace {

nlohmann::json manifest_json(const PluginManifest& m) {
  nlohmann::json kinds = nlohmann::json::array();
  for (sdk::Kind kind : sdk::kAllKinds) {
    if (m.implements(kind)) kinds.push_back(sdk::kind_name(kind));
  }
  return {{"name", m.name},
          {"version", m.version},
          {"kinds", kinds},
          {"abi", std::to_string(m.abi_major) + "." + std::to_string(m.abi_minor)},
          {"toolchain", m.toolchain},
          {"config_schema", nlohmann::json::parse(m.config_schema_json)}};
}

int inspect(Context& context) {
  std::string file = context.positional("file");
  auto inspection = inspect_plugin_file(file);
  if (!inspection.ok()) return fail(context, inspection.status(), kExitPluginRefused);
  const FileInspection& i = inspection.value();
  Status compatible = check_compatibility(i.manifest, file);

  if (context.json) {
    nlohmann::json out = manifest_json(i.manifest);
    out["file"] = i.path.string();
    out["size_bytes"] = i.size_bytes;
    out["sha256"] = i.sha256;
    out["compatible"] = compatible.ok();
    if (!compatible.ok()) out["incompatibility"] = compatible.message();
    out["can_unload"] = i.unique_symbols.empty();
    print_json(context, out);
  } else {
    auto& out = context.out;
    out << "file:       " << i.path.string() << " (" << i.size_bytes << " bytes)\n"
        << "sha256:     " << i.sha256 << "\n"
        << "name:       " << i.manifest.name << "\n"
        << "version:    " << i.manifest.version << "\n"
        << "kinds:      " << kinds_to_string(i.manifest.kinds) << "\n"
        << "abi:        " << i.manifest.abi_major << "." << i.manifest.abi_minor
        << (compatible.ok() ? " (compatible with this host)" : " (INCOMPATIBLE)") << "\n"
        << "toolchain:  " << i.manifest.toolchain << "\n"
        << "config schema:\n"
        << nlohmann::json::parse(i.manifest.config_schema_json).dump(2) << "\n";
    if (!i.unique_symbols.empty()) {
      out << "note: " << i.unique_symbols.size()
          << " STB_GNU_UNIQUE symbols: this library cannot be unloaded (build with "
             "-fno-gnu-unique)\n";
    }
    if (!compatible.ok()) out << "refused: " << compatible.message() << "\n";
  }
  return compatible.ok() ? kExitOk : kExitPluginRefused;
}

const char* state_name(InstanceState state) {
  return state == InstanceState::active ? "active" : "disabled";
}

int list(Context& context) {
  Session session;
  if (int code = open_session(context, {.load_plugins = true}, session); code != kExitOk) {
    return code;
  }
  std::vector<InstanceStatus> all = session.plugins->status();
  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const InstanceStatus& s : all) {
      nlohmann::json row = {{"instance", s.instance},      {"state", state_name(s.state)},
                            {"source", s.source.string()}, {"version_id", s.version_id},
                            {"sha256", s.sha256},          {"file", s.version_file.string()}};
      if (s.manifest) row["plugin"] = manifest_json(*s.manifest);
      if (!s.error.empty()) row["error"] = s.error;
      out.push_back(row);
    }
    print_json(context, out);
    return kExitOk;
  }
  Table table({"INSTANCE", "STATE", "PLUGIN", "VERSION", "KINDS", "SHA256"});
  for (const InstanceStatus& s : all) {
    table.add({s.instance, state_name(s.state), s.manifest ? s.manifest->name : "-",
               s.manifest ? s.manifest->version : "-",
               s.manifest ? kinds_to_string(s.manifest->kinds) : "-",
               s.sha256.empty() ? "-" : s.sha256.substr(0, 12)});
  }
  if (table.empty()) {
    context.out << "no plugins configured\n";
  } else {
    table.print(context.out);
  }
  for (const InstanceStatus& s : all) {
    if (!s.error.empty()) context.out << "\n" << s.instance << ": " << s.error << "\n";
  }
  return kExitOk;
}

int call(Context& context) {
  Session session;
  if (int code = open_session(context, {.load_plugins = true}, session); code != kExitOk) {
    return code;
  }
  PluginManager& plugins = *session.plugins;

  std::string instance = context.positional("instance");
  std::string args = context.options.count("args") ? context.positional("args") : "{}";
  auto slot = plugins.slot(instance);
  if (!slot.ok()) return fail(context, slot.status(), exit_code_for(slot.status()));
  nlohmann::json parsed = nlohmann::json::parse(args, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return fail(context, Status(Code::invalid_argument, "arguments must be a JSON object"),
                kExitUsage);
  }
  sdk::Result<sdk::ToolInfo> info = [&]() -> sdk::Result<sdk::ToolInfo> {
    Lease lease = slot.value()->lease("Tool::info");
    if (!lease.ok()) return lease.status();
    auto* tool = lease->get<sdk::Tool>();
    if (tool == nullptr) {
      return Status(Code::invalid_argument, "plugin '" + instance + "' is not a tool");
    }
    return tool->info();
  }();
  if (!info.ok()) {
    return fail(context, info.status(),
                info.status().code() == Code::invalid_argument ? kExitUsage : kExitFailure);
  }
  auto schema = JsonSchema::compile(info->input_schema_json, "tool '" + info->name + "' input");
  if (!schema.ok()) return fail(context, schema.status(), kExitFailure);
  std::vector<SchemaViolation> violations = schema->validate(parsed);
  if (!violations.empty()) {
    std::string message = "arguments do not match the input schema of '" + info->name + "':";
    for (const auto& v : violations)
      message += "\n  " + (v.path.empty() ? "(arguments)" : v.path) + ": " + v.message;
    return fail(context, Status(Code::invalid_argument, message), kExitUsage);
  }

  auto result = plugins.invoke_tool(instance, parsed.dump());
  if (!result.ok()) return fail(context, result.status(), kExitFailure);
  nlohmann::json value = nlohmann::json::parse(result.value(), nullptr, false);
  if (value.is_discarded()) {
    context.out << result.value() << "\n";
  } else {
    print_json(context, value);
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> plugin_commands() {
  std::vector<Command> commands;
  commands.push_back(
      {{"plugin", "inspect"},
       "FILE",
       "Print a plugin file's name, version, kinds, ABI and config schema without running it",
       "Reads the ELF file's moss_manifest section; no code from the file is executed.\n"
       "Exit code 4 if the file is not a moss plugin or is incompatible with this host.",
       [](po::options_description& o, po::positional_options_description& p) {
         o.add_options()("file", po::value<std::string>()->required(), "plugin .so file");
         p.add("file", 1);
       },
       inspect});
  commands.push_back(
      {{"plugin", "list"},
       "",
       "Load the configured plugins and show each instance's state and version",
       "A plugin that is refused or fails to load is shown as disabled with the reason; the\n"
       "others load regardless.",
       nullptr,
       list});
  commands.push_back(
      {{"call"},
       "INSTANCE [ARGS_JSON]",
       "Invoke a tool plugin instance with JSON arguments (validated against its schema)",
       "Prints the tool's JSON result. Exit code 1 if the tool returns an error.",
       [](po::options_description& o, po::positional_options_description& p) {
         o.add_options()("instance", po::value<std::string>()->required(), "plugin instance")(
             "args", po::value<std::string>(), "arguments as a JSON object (default {})");
         p.add("instance", 1).add("args", 1);
       },
       call});
  return commands;
}

}  // namespace moss::cli
