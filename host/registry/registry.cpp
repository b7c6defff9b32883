// The registry over SQLite: the schema and its migrations, the version lifecycle, and the
// invariants between plugins and their versions.
#include "registry/registry.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "registry/query.hpp"
#include "registry/sqlite.hpp"

namespace moss {
namespace {

using namespace registry_detail;

// Append only: a file records how many of these steps it has run in PRAGMA user_version.
// A step's SQL is history; it never changes once released (it names states literally for
// that reason).
constexpr Migration kMigrations[] = {
    {"plugins, versions and events", R"sql(
CREATE TABLE plugins (
  name TEXT PRIMARY KEY,
  kinds INTEGER NOT NULL,
  source_path TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  active_version_id INTEGER REFERENCES versions(id),
  disabled_reason TEXT,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE versions (
  id INTEGER PRIMARY KEY,
  plugin TEXT NOT NULL REFERENCES plugins(name),
  sha256 TEXT NOT NULL,
  path TEXT NOT NULL,
  plugin_version TEXT NOT NULL,
  abi_major INTEGER NOT NULL,
  abi_minor INTEGER NOT NULL,
  toolchain TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('candidate', 'evaluating', 'rejected', 'probation',
                                       'active', 'retired', 'rolled_back')),
  parent_id INTEGER REFERENCES versions(id),
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  UNIQUE (plugin, sha256)
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  plugin TEXT,
  version_id INTEGER,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  from_state TEXT,
  to_state TEXT,
  data_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_plugin ON events (plugin, id);
)sql"},
    {"ratchet state and evaluations", R"sql(
CREATE TABLE ratchet_state (
  plugin TEXT PRIMARY KEY REFERENCES plugins(name),
  state_json TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE evaluations (
  id INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  plugin TEXT NOT NULL REFERENCES plugins(name),
  version_id INTEGER NOT NULL REFERENCES versions(id),
  actor TEXT NOT NULL,
  purpose TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  score REAL,
  passed INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  verdict TEXT NOT NULL DEFAULT '',
  report_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX evaluations_by_version ON evaluations (version_id, id);
CREATE INDEX evaluations_by_plugin ON evaluations (plugin, id);
)sql"},
    {"failures, failure patterns, evolution attempts and version sources", R"sql(
CREATE TABLE failures (
  id INTEGER PRIMARY KEY,
  plugin TEXT NOT NULL REFERENCES plugins(name),
  version_id INTEGER REFERENCES versions(id),
  source TEXT NOT NULL,
  task_id TEXT NOT NULL,
  error TEXT NOT NULL,
  trace_json TEXT NOT NULL DEFAULT '[]',
  score REAL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  occurrences INTEGER NOT NULL DEFAULT 1,
  pattern_id TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX failures_by_task ON failures (plugin, ifnull(version_id, 0), source, task_id);
CREATE INDEX failures_by_plugin ON failures (plugin, id);
CREATE TABLE failure_patterns (
  plugin TEXT NOT NULL REFERENCES plugins(name),
  pattern_id TEXT NOT NULL,
  description TEXT NOT NULL,
  root_cause TEXT NOT NULL,
  affected_module TEXT NOT NULL,
  occurrence_count INTEGER NOT NULL,
  last_occurrence_ms INTEGER NOT NULL,
  PRIMARY KEY (plugin, pattern_id)
);
CREATE TABLE evolution_attempts (
  id INTEGER PRIMARY KEY,
  plugin TEXT NOT NULL REFERENCES plugins(name),
  actor TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  finished_at_ms INTEGER,
  stage TEXT NOT NULL,
  outcome TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  failure_id INTEGER REFERENCES failures(id),
  pattern_id TEXT NOT NULL DEFAULT '',
  parent_version_id INTEGER REFERENCES versions(id),
  version_id INTEGER REFERENCES versions(id),
  parent_commit TEXT NOT NULL DEFAULT '',
  commit_id TEXT NOT NULL DEFAULT '',
  patch_id TEXT NOT NULL DEFAULT '',
  patch_format TEXT NOT NULL DEFAULT '',
  patch_path TEXT NOT NULL DEFAULT '',
  patch_body TEXT NOT NULL DEFAULT '',
  patch_description TEXT NOT NULL DEFAULT '',
  build_log TEXT NOT NULL DEFAULT '',
  build_ms REAL NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL NOT NULL DEFAULT 0
);
CREATE INDEX evolution_attempts_by_plugin ON evolution_attempts (plugin, id);
CREATE TABLE version_sources (
  version_id INTEGER PRIMARY KEY REFERENCES versions(id),
  commit_id TEXT NOT NULL
);
)sql"},
};

// "moss" in ASCII. Stamped into the file header so that a SQLite database of another
// application is refused instead of being migrated.
constexpr std::int64_t kApplicationId = 0x6D6F7373;

constexpr std::array<std::pair<VersionState, std::string_view>, 7> kStateNames = {{
    {VersionState::candidate, "candidate"},
    {VersionState::evaluating, "evaluating"},
    {VersionState::rejected, "rejected"},
    {VersionState::probation, "probation"},
    {VersionState::active, "active"},
    {VersionState::retired, "retired"},
    {VersionState::rolled_back, "rolled_back"},
}};

// The version lifecycle, documented beside VersionState in registry.hpp. Every state change
// is checked against this table and nothing else.
struct Edge {
  VersionState from;
  VersionState to;
};
constexpr Edge kAllowedTransitions[] = {
    {VersionState::candidate, VersionState::evaluating},
    {VersionState::candidate, VersionState::rejected},  // refused before evaluation
    {VersionState::candidate, VersionState::active},    // only with no serving version
    {VersionState::evaluating, VersionState::rejected},
    {VersionState::evaluating, VersionState::probation},
    {VersionState::evaluating, VersionState::active},  // probation is optional
    {VersionState::probation, VersionState::active},
    {VersionState::probation, VersionState::retired},
    {VersionState::probation, VersionState::rolled_back},
    {VersionState::active, VersionState::retired},
    {VersionState::active, VersionState::rolled_back},
    {VersionState::retired, VersionState::active},
    {VersionState::rolled_back, VersionState::active},
};

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string version_label(const VersionRow& version) {
  return "version " + std::to_string(version.id) + " of '" + version.plugin + "'";
}

Status check_transition(const VersionRow& version, VersionState to, bool plugin_has_serving) {
  auto allowed = [&](VersionState target) {
    return std::any_of(std::begin(kAllowedTransitions), std::end(kAllowedTransitions),
                       [&](const Edge& e) { return e.from == version.state && e.to == target; });
  };
  std::string refusal = "cannot move " + version_label(version) + " from " +
                        std::string(to_string(version.state)) + " to " + std::string(to_string(to));
  if (!allowed(to)) {
    std::string next;
    for (const auto& [state, name] : kStateNames) {
      if (allowed(state)) next += (next.empty() ? "" : ", ") + std::string(name);
    }
    refusal += next.empty() ? ": " + std::string(to_string(version.state)) + " is final"
                            : ": from " + std::string(to_string(version.state)) +
                                  " it can only move to " + next;
    return Status(Code::failed_precondition, refusal);
  }
  if (version.state == VersionState::candidate && to == VersionState::active &&
      plugin_has_serving) {
    return Status(Code::failed_precondition,
                  refusal + ": another version serves; a candidate must be evaluated first");
  }
  return Status();
}

Status check_data_json(const std::string& data_json) {
  nlohmann::json data = nlohmann::json::parse(data_json, nullptr, /*allow_exceptions=*/false);
  if (!data.is_discarded() && data.is_object()) return Status();
  constexpr std::size_t kQuotedChars = 200;
  std::string quoted = data_json.substr(0, kQuotedChars);
  if (data_json.size() > kQuotedChars) quoted += "...";
  return Status(Code::invalid_argument, "event data must be a JSON object, got: " + quoted);
}

Status check_attachments(const Attachments& attachments) {
  if (attachments.ratchet_state_json) {
    nlohmann::json state = nlohmann::json::parse(*attachments.ratchet_state_json, nullptr, false);
    if (state.is_discarded() || !state.is_object()) {
      return Status(Code::invalid_argument, "a ratchet state must be a JSON object");
    }
  }
  if (const auto& e = attachments.evaluation) {
    if (e->purpose.empty() || e->outcome.empty()) {
      return Status(Code::invalid_argument, "an evaluation needs a purpose and an outcome");
    }
    Status actor = check_actor(e->actor);
    if (!actor.ok()) return actor;
    nlohmann::json report = nlohmann::json::parse(e->report_json, nullptr, false);
    if (report.is_discarded() || !report.is_object()) {
      return Status(Code::invalid_argument, "an evaluation report must be a JSON object");
    }
    if (e->score && !(*e->score >= 0.0 && *e->score <= 1.0)) {
      return Status(Code::invalid_argument, "an evaluation score must be in [0,1]");
    }
  }
  return Status();
}

const std::string kPluginColumns =
    "name, kinds, source_path, enabled, active_version_id, disabled_reason, created_at_ms, "
    "updated_at_ms";
const std::string kVersionColumns =
    "id, plugin, sha256, path, plugin_version, abi_major, abi_minor, toolchain, state, "
    "parent_id, created_at_ms, updated_at_ms";
const std::string kEventColumns =
    "id, at_ms, plugin, version_id, type, actor, reason, from_state, to_state, data_json";

Result<PluginRow> read_plugin(const Statement& row) {
  PluginRow plugin;
  plugin.name = row.column_text(0);
  plugin.kinds = static_cast<std::uint32_t>(row.column_int64(1));
  plugin.source_path = row.column_text(2);
  plugin.enabled = row.column_int64(3) != 0;
  plugin.active_version_id = row.column_int64(4);
  plugin.disabled_reason = row.column_text(5);
  plugin.created_at_ms = row.column_int64(6);
  plugin.updated_at_ms = row.column_int64(7);
  return plugin;
}

Result<VersionRow> read_version(const Statement& row) {
  VersionRow version;
  version.id = row.column_int64(0);
  version.plugin = row.column_text(1);
  version.sha256 = row.column_text(2);
  version.path = row.column_text(3);
  version.plugin_version = row.column_text(4);
  version.abi_major = static_cast<int>(row.column_int64(5));
  version.abi_minor = static_cast<int>(row.column_int64(6));
  version.toolchain = row.column_text(7);
  auto state = parse_version_state(row.column_text(8));
  if (!state.ok()) {
    return Status(Code::failed_precondition,
                  version_label(version) + " has a corrupt state: " + state.status().message());
  }
  version.state = state.value();
  version.parent_id = row.column_int64(9);
  version.created_at_ms = row.column_int64(10);
  version.updated_at_ms = row.column_int64(11);
  return version;
}

Result<EvaluationRow> read_evaluation(const Statement& row) {
  EvaluationRow e;
  e.id = row.column_int64(0);
  e.at_ms = row.column_int64(1);
  e.plugin = row.column_text(2);
  e.version_id = row.column_int64(3);
  e.actor = row.column_text(4);
  e.purpose = row.column_text(5);
  e.outcome = row.column_text(6);
  e.detail = row.column_text(7);
  if (!row.column_is_null(8)) e.score = row.column_double(8);
  e.passed = row.column_int64(9);
  e.total = row.column_int64(10);
  e.verdict = row.column_text(11);
  e.report_json = row.column_text(12);
  return e;
}

Result<EventRow> read_event(const Statement& row) {
  EventRow event;
  event.id = row.column_int64(0);
  event.at_ms = row.column_int64(1);
  event.plugin = row.column_text(2);
  event.version_id = row.column_int64(3);
  event.type = row.column_text(4);
  event.actor = row.column_text(5);
  event.reason = row.column_text(6);
  event.from_state = row.column_text(7);
  event.to_state = row.column_text(8);
  event.data_json = row.column_text(9);
  return event;
}

// The file's schema version, once it is known to be a moss registry this build can use.
Result<std::int64_t> schema_version(Database& database, std::int64_t latest) {
  auto version = select_int(database, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  auto application_id = select_int(database, "PRAGMA application_id");
  if (!application_id.ok()) return application_id.status();
  auto objects = select_int(database, "SELECT count(*) FROM sqlite_schema");
  if (!objects.ok()) return objects.status();
  const std::string file = database.file().string();
  bool empty = version.value() == 0 && objects.value() == 0;
  if (!empty && application_id.value() != kApplicationId) {
    return Status(Code::failed_precondition,
                  file +
                      ": not a moss registry or corrupt: a SQLite database with application_id " +
                      std::to_string(application_id.value()) + " and schema version " +
                      std::to_string(version.value()));
  }
  if (version.value() > latest) {
    return Status(Code::failed_precondition,
                  file + ": the registry has schema version " + std::to_string(version.value()) +
                      ", newer than this build of moss knows (" + std::to_string(latest) +
                      "); use the moss that wrote it or a newer one");
  }
  return version.value();
}

// Runs the steps the file has not run yet, each in its own transaction together with its
// user_version bump, so a failed step leaves the file at the previous version.
Status migrate(Database& database, std::span<const Migration> migrations, bool read_only) {
  const auto latest = static_cast<std::int64_t>(migrations.size());
  auto current = schema_version(database, latest);
  if (!current.ok()) return current.status();
  if (current.value() == latest) return Status();
  if (read_only) {
    return Status(Code::failed_precondition,
                  database.file().string() + ": the registry has schema version " +
                      std::to_string(current.value()) + ", older than this build's " +
                      std::to_string(latest) + "; open it read-write once to migrate it");
  }
  for (;;) {
    auto transaction = Transaction::begin(database);
    if (!transaction.ok()) return transaction.status();
    // Read again under the write lock: another process may have migrated meanwhile.
    auto version = schema_version(database, latest);
    if (!version.ok()) return version.status();
    if (version.value() == latest) return Status();
    const Migration& step = migrations[static_cast<std::size_t>(version.value())];
    const std::int64_t next = version.value() + 1;
    Status applied = database.execute_script(std::string(step.sql));
    if (applied.ok()) {
      applied =
          database.execute_script("PRAGMA application_id = " + std::to_string(kApplicationId) +
                                  "; PRAGMA user_version = " + std::to_string(next));
    }
    if (applied.ok()) applied = transaction->commit();
    if (!applied.ok()) {
      return Status(applied.code(),
                    "migrating the registry to schema version " + std::to_string(next) + " (" +
                        std::string(step.description) + ") failed; it stays at version " +
                        std::to_string(version.value()) + ": " + applied.message());
    }
  }
}

// Each check selects the first row that breaks one invariant and describes it.
struct Invariant {
  std::string_view sql;
  std::string (*describe)(const Statement& row);
};
constexpr Invariant kInvariants[] = {
    {"SELECT p.name, p.active_version_id, v.plugin, v.state FROM plugins p "
     "LEFT JOIN versions v ON v.id = p.active_version_id WHERE p.active_version_id IS NOT NULL "
     "AND (v.id IS NULL OR v.plugin <> p.name OR v.state NOT IN ('active', 'probation')) LIMIT 1",
     [](const Statement& row) {
       std::string plugin = "plugin '" + row.column_text(0) + "' has active version " +
                            std::to_string(row.column_int64(1));
       if (row.column_is_null(2)) return plugin + ", which does not exist";
       if (row.column_text(2) != row.column_text(0)) {
         return plugin + ", which is a version of '" + row.column_text(2) + "'";
       }
       return plugin + ", which is " + row.column_text(3) + " (not active or probation)";
     }},
    {"SELECT plugin, count(*) FROM versions WHERE state IN ('active', 'probation') "
     "GROUP BY plugin HAVING count(*) > 1 LIMIT 1",
     [](const Statement& row) {
       return "plugin '" + row.column_text(0) + "' has " + std::to_string(row.column_int64(1)) +
              " versions in active or probation; at most one may serve";
     }},
    {"SELECT v.id, v.plugin, v.state, p.active_version_id FROM versions v "
     "JOIN plugins p ON p.name = v.plugin "
     "WHERE v.state IN ('active', 'probation') AND p.active_version_id IS NOT v.id LIMIT 1",
     [](const Statement& row) {
       return "version " + std::to_string(row.column_int64(0)) + " of '" + row.column_text(1) +
              "' is " + row.column_text(2) + ", but the plugin's active version is " +
              (row.column_is_null(3) ? std::string("none") : std::to_string(row.column_int64(3)));
     }},
    {"SELECT v.id, v.plugin FROM versions v LEFT JOIN plugins p ON p.name = v.plugin "
     "WHERE p.name IS NULL LIMIT 1",
     [](const Statement& row) {
       return "version " + std::to_string(row.column_int64(0)) + " belongs to plugin '" +
              row.column_text(1) + "', which is not registered";
     }},
};

}  // namespace

std::string_view to_string(VersionState state) {
  for (const auto& [value, name] : kStateNames) {
    if (value == state) return name;
  }
  return "unknown";
}

Result<VersionState> parse_version_state(std::string_view name) {
  std::string known;
  for (const auto& [value, state_name] : kStateNames) {
    if (state_name == name) return value;
    known += (known.empty() ? "" : ", ") + std::string(state_name);
  }
  return Status(Code::invalid_argument,
                "unknown version state '" + std::string(name) + "' (known: " + known + ")");
}

bool serves_calls(VersionState state) {
  return state == VersionState::active || state == VersionState::probation;
}

std::span<const Migration> schema_migrations() {
  return kMigrations;
}

// What a state change is attributed to; it is written into every event the change makes.
struct Registry::Change {
  const std::string& actor;
  const std::string& reason;
  const std::string& data_json;
  const Attachments& attachments;
};

Registry::Registry(std::unique_ptr<Database> database, std::function<std::int64_t()> now_ms)
    : database_(std::move(database)), now_ms_(std::move(now_ms)) {}

Registry::~Registry() = default;

Result<std::unique_ptr<Registry>> Registry::open(const std::filesystem::path& file,
                                                 OpenOptions options) {
  return open_with(file, std::move(options), schema_migrations());
}

Result<std::unique_ptr<Registry>> Registry::open_with_migrations_for_testing(
    const std::filesystem::path& file, OpenOptions options, std::span<const Migration> migrations) {
  return open_with(file, std::move(options), migrations);
}

Result<std::unique_ptr<Registry>> Registry::open_with(const std::filesystem::path& file,
                                                      OpenOptions options,
                                                      std::span<const Migration> migrations) {
  std::error_code ec;
  if (options.read_only) {
    // SQLite would only say "unable to open database file".
    if (!std::filesystem::exists(file, ec)) {
      return Status(Code::not_found, file.string() + ": no registry file at this path");
    }
  } else if (file.has_parent_path()) {
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) {
      return Status(Code::failed_precondition,
                    file.parent_path().string() +
                        ": cannot create the registry's directory: " + ec.message());
    }
  }
  DatabaseOptions database_options;
  database_options.read_only = options.read_only;
  database_options.busy_timeout_ms = options.busy_timeout_ms;
  database_options.max_page_count = options.max_page_count;
  auto database = Database::open(file, database_options);
  if (!database.ok()) return database.status();
  Status migrated = migrate(*database.value(), migrations, options.read_only);
  if (!migrated.ok()) return migrated;
  if (!options.now_ms) options.now_ms = system_now_ms;
  return std::unique_ptr<Registry>(
      new Registry(std::move(database.value()), std::move(options.now_ms)));
}

const std::filesystem::path& Registry::file() const {
  return database_->file();
}

Status Registry::upsert_plugin(const std::string& name, std::uint32_t kinds,
                               const std::string& source_path, const std::string& actor) {
  if (name.empty()) return Status(Code::invalid_argument, "a plugin needs a name");
  Status valid = check_actor(actor);
  if (!valid.ok()) return valid;

  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  auto existing = find_plugin(name);
  if (!existing.ok() && existing.status().code() != Code::not_found) return existing.status();
  const std::int64_t now = now_ms_();
  std::string reason;
  Status written;
  if (!existing.ok()) {
    reason = "new plugin";
    written = database_->execute(
        "INSERT INTO plugins (name, kinds, source_path, created_at_ms, updated_at_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?4)",
        name, kinds, source_path, now);
  } else if (existing->kinds != kinds || existing->source_path != source_path) {
    reason = "kinds or source path changed";
    written = database_->execute(
        "UPDATE plugins SET kinds = ?2, source_path = ?3, updated_at_ms = ?4 WHERE name = ?1", name,
        kinds, source_path, now);
  } else {
    return Status();
  }
  if (!written.ok()) return written;

  NewEvent event;
  event.plugin = name;
  event.type = event_types::plugin_registered;
  event.actor = actor;
  event.reason = reason;
  event.data_json = json_text({{"kinds", kinds}, {"source_path", source_path}});
  Status recorded = insert_event(event, now);
  if (!recorded.ok()) return recorded;
  return transaction->commit();
}

Result<VersionRow> Registry::register_version(const std::string& plugin, const NewVersion& version,
                                              VersionState initial, const std::string& actor,
                                              const std::string& reason) {
  if (version.sha256.empty() || version.path.empty()) {
    return Status(Code::invalid_argument,
                  "a version of '" + plugin + "' needs the sha256 and path of its file");
  }
  if (initial != VersionState::candidate && initial != VersionState::evaluating &&
      initial != VersionState::rejected) {
    return Status(Code::invalid_argument,
                  "a new version of '" + plugin +
                      "' starts as candidate, evaluating or rejected, not " +
                      std::string(to_string(initial)) + "; use activate() to make it serve");
  }
  Status valid = check_actor(actor);
  if (!valid.ok()) return valid;

  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  auto existing = select_one<VersionRow>(
      *database_, "SELECT " + kVersionColumns + " FROM versions WHERE plugin = ?1 AND sha256 = ?2",
      read_version, plugin, version.sha256);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) return std::move(existing->value());

  auto owner = find_plugin(plugin);
  if (!owner.ok()) return owner.status();
  if (version.parent_id != 0) {
    auto parent = find_version(version.parent_id);
    if (!parent.ok()) return parent.status();
    if (parent->plugin != plugin) {
      return Status(Code::invalid_argument, "the parent of a version of '" + plugin + "' is " +
                                                version_label(parent.value()));
    }
  }
  const std::int64_t now = now_ms_();
  Status inserted = database_->execute(
      "INSERT INTO versions (plugin, sha256, path, plugin_version, abi_major, abi_minor, "
      "toolchain, state, parent_id, created_at_ms, updated_at_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
      plugin, version.sha256, version.path, version.plugin_version, version.abi_major,
      version.abi_minor, version.toolchain, to_string(initial), id_or_null(version.parent_id), now);
  if (!inserted.ok()) return inserted;
  const std::int64_t id = database_->last_insert_rowid();

  NewEvent event;
  event.plugin = plugin;
  event.version_id = id;
  event.type = event_types::version_registered;
  event.actor = actor;
  event.reason = reason;
  event.to_state = to_string(initial);
  event.data_json = json_text({{"sha256", version.sha256},
                               {"path", version.path},
                               {"plugin_version", version.plugin_version},
                               {"abi_major", version.abi_major},
                               {"abi_minor", version.abi_minor},
                               {"toolchain", version.toolchain},
                               {"parent_id", version.parent_id}});
  Status recorded = insert_event(event, now);
  if (!recorded.ok()) return recorded;
  auto row = find_version(id);
  if (!row.ok()) return row.status();
  Status committed = transaction->commit();
  if (!committed.ok()) return committed;
  return row;
}

Result<VersionRow> Registry::transition(std::int64_t version_id, VersionState to,
                                        const std::string& actor, const std::string& reason,
                                        const std::string& data_json,
                                        std::optional<VersionState> expected_from,
                                        const Attachments& attachments) {
  return change_state(version_id, to, Change{actor, reason, data_json, attachments}, expected_from,
                      VersionState::retired);
}

Result<VersionRow> Registry::activate(std::int64_t version_id, const std::string& actor,
                                      const std::string& reason, const std::string& data_json,
                                      VersionState demote_previous_to,
                                      const Attachments& attachments) {
  if (demote_previous_to != VersionState::retired &&
      demote_previous_to != VersionState::rolled_back) {
    return Status(Code::invalid_argument,
                  "the version an activation replaces becomes retired or rolled_back, not " +
                      std::string(to_string(demote_previous_to)));
  }
  return change_state(version_id, VersionState::active,
                      Change{actor, reason, data_json, attachments}, {}, demote_previous_to);
}

Result<VersionRow> Registry::change_state(std::int64_t version_id, VersionState to,
                                          const Change& change,
                                          std::optional<VersionState> expected_from,
                                          VersionState demote_previous_to) {
  Status valid = check_actor(change.actor);
  if (valid.ok()) valid = check_data_json(change.data_json);
  if (valid.ok()) valid = check_attachments(change.attachments);
  if (!valid.ok()) return valid;

  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  auto version = find_version(version_id);
  if (!version.ok()) return version.status();
  if (expected_from && version->state != *expected_from) {
    return Status(Code::failed_precondition, version_label(version.value()) + " is " +
                                                 std::string(to_string(version->state)) + ", not " +
                                                 std::string(to_string(*expected_from)) +
                                                 " as expected; it changed meanwhile");
  }
  auto plugin = find_plugin(version->plugin);
  if (!plugin.ok()) return plugin.status();
  const std::int64_t serving_id = plugin->active_version_id;
  const std::int64_t now = now_ms_();

  // Writes one version's new state and its event; the transaction makes all of them one.
  auto write_state = [&](const VersionRow& row, VersionState target, const std::string& reason,
                         const std::string& data_json) {
    Status allowed = check_transition(row, target, serving_id != 0);
    if (!allowed.ok()) return allowed;
    Status updated =
        database_->execute("UPDATE versions SET state = ?2, updated_at_ms = ?3 WHERE id = ?1",
                           row.id, to_string(target), now);
    if (!updated.ok()) return updated;
    NewEvent event;
    event.plugin = row.plugin;
    event.version_id = row.id;
    event.type = event_types::version_state_changed;
    event.actor = change.actor;
    event.reason = reason;
    event.from_state = to_string(row.state);
    event.to_state = to_string(target);
    // Every state event names the file and ABI of the version it is about.
    nlohmann::json data = nlohmann::json::parse(data_json);
    data.emplace("sha256", row.sha256);
    data.emplace("abi", std::to_string(row.abi_major) + "." + std::to_string(row.abi_minor));
    event.data_json = json_text(data);
    return insert_event(event, now);
  };

  std::optional<std::int64_t> new_serving_id = id_or_null(serving_id);
  if (serves_calls(to)) {
    new_serving_id = version_id;
    if (serving_id != 0 && serving_id != version_id) {
      auto previous = find_version(serving_id);
      if (!previous.ok()) return previous.status();
      Status demoted =
          write_state(previous.value(), demote_previous_to,
                      "replaced by version " + std::to_string(version_id) + ": " + change.reason,
                      json_text({{"replaced_by", version_id}}));
      if (!demoted.ok()) return demoted;
    }
  } else if (serving_id == version_id) {
    new_serving_id.reset();
  }
  Status moved = write_state(version.value(), to, change.reason, change.data_json);
  if (!moved.ok()) return moved;
  if (new_serving_id != id_or_null(serving_id)) {
    Status pointed = database_->execute(
        "UPDATE plugins SET active_version_id = ?2, updated_at_ms = ?3 WHERE name = ?1",
        version->plugin, new_serving_id, now);
    if (!pointed.ok()) return pointed;
  }
  Status attached = write_attachments(version->plugin, change.attachments, now);
  if (!attached.ok()) return attached;
  auto row = find_version(version_id);
  if (!row.ok()) return row.status();
  Status committed = transaction->commit();
  if (!committed.ok()) return committed;
  return row;
}

Status Registry::set_enabled(const std::string& plugin, bool enabled, const std::string& actor,
                             const std::string& reason) {
  Status valid = check_actor(actor);
  if (!valid.ok()) return valid;

  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  auto row = find_plugin(plugin);
  if (!row.ok()) return row.status();
  if (row->enabled == enabled) return Status();
  const std::int64_t now = now_ms_();
  Status updated = database_->execute(
      "UPDATE plugins SET enabled = ?2, disabled_reason = ?3, updated_at_ms = ?4 WHERE name = ?1",
      plugin, enabled, enabled ? std::nullopt : std::optional<std::string>(reason), now);
  if (!updated.ok()) return updated;
  NewEvent event;
  event.plugin = plugin;
  event.type = enabled ? event_types::plugin_enabled : event_types::plugin_disabled;
  event.actor = actor;
  event.reason = reason;
  Status recorded = insert_event(event, now);
  if (!recorded.ok()) return recorded;
  return transaction->commit();
}

Status Registry::record_event(const NewEvent& event) {
  if (event.type.empty()) return Status(Code::invalid_argument, "an event needs a type");
  Status valid = check_actor(event.actor);
  if (valid.ok()) valid = check_data_json(event.data_json);
  if (!valid.ok()) return valid;
  std::lock_guard<std::mutex> lock(mutex_);
  return insert_event(event, now_ms_());
}

Status Registry::write_attachments(const std::string& plugin, const Attachments& attachments,
                                   std::int64_t at_ms) {
  if (attachments.ratchet_state_json) {
    Status saved = database_->execute(
        "INSERT INTO ratchet_state (plugin, state_json, updated_at_ms) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (plugin) DO UPDATE SET state_json = ?2, updated_at_ms = ?3",
        plugin, *attachments.ratchet_state_json, at_ms);
    if (!saved.ok()) return saved;
  }
  if (const auto& e = attachments.evaluation) {
    Status saved = database_->execute(
        "INSERT INTO evaluations (at_ms, plugin, version_id, actor, purpose, outcome, detail, "
        "score, passed, total, verdict, report_json) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        at_ms, plugin, e->version_id, e->actor, e->purpose, e->outcome, e->detail, e->score,
        e->passed, e->total, e->verdict, e->report_json);
    if (!saved.ok()) return saved;
  }
  return Status();
}

Result<std::int64_t> Registry::record_evaluation(
    const NewEvaluation& evaluation, const std::optional<std::string>& ratchet_state_json) {
  Attachments attachments{ratchet_state_json, evaluation};
  Status valid = check_attachments(attachments);
  if (!valid.ok()) return valid;
  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  auto version = find_version(evaluation.version_id);
  if (!version.ok()) return version.status();
  if (version->plugin != evaluation.plugin) {
    return Status(Code::invalid_argument, version_label(version.value()) +
                                              " is not a version of '" + evaluation.plugin + "'");
  }
  Status written = write_attachments(evaluation.plugin, attachments, now_ms_());
  if (!written.ok()) return written;
  std::int64_t id = database_->last_insert_rowid();
  Status committed = transaction->commit();
  if (!committed.ok()) return committed;
  return id;
}

Status Registry::save_ratchet_state(const std::string& plugin, const std::string& state_json,
                                    const std::string& actor, const std::string& reason) {
  Attachments attachments{state_json, std::nullopt};
  Status valid = check_actor(actor);
  if (valid.ok()) valid = check_attachments(attachments);
  if (!valid.ok()) return valid;
  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  auto owner = find_plugin(plugin);
  if (!owner.ok()) return owner.status();
  const std::int64_t now = now_ms_();
  Status written = write_attachments(plugin, attachments, now);
  if (!written.ok()) return written;
  NewEvent event;
  event.plugin = plugin;
  event.type = "ratchet_state_changed";
  event.actor = actor;
  event.reason = reason;
  event.data_json = state_json;
  Status recorded = insert_event(event, now);
  if (!recorded.ok()) return recorded;
  return transaction->commit();
}

Result<std::optional<std::string>> Registry::ratchet_state(const std::string& plugin) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto owner = find_plugin(plugin);
  if (!owner.ok()) return owner.status();
  return select_one<std::string>(
      *database_, "SELECT state_json FROM ratchet_state WHERE plugin = ?1",
      [](const Statement& row) { return Result<std::string>(row.column_text(0)); }, plugin);
}

Result<std::vector<EvaluationRow>> Registry::evaluations(const std::string& plugin, int limit,
                                                         std::int64_t version_id) {
  if (limit <= 0) return Status(Code::invalid_argument, "evaluations: limit must be positive");
  std::lock_guard<std::mutex> lock(mutex_);
  static const std::string kColumns =
      "id, at_ms, plugin, version_id, actor, purpose, outcome, detail, score, passed, total, "
      "verdict, report_json";
  if (version_id != 0) {
    return select_rows<EvaluationRow>(*database_,
                                      "SELECT " + kColumns +
                                          " FROM evaluations WHERE version_id = ?1 AND plugin = ?2 "
                                          "ORDER BY id DESC LIMIT ?3",
                                      read_evaluation, version_id, plugin, limit);
  }
  return select_rows<EvaluationRow>(
      *database_,
      "SELECT " + kColumns + " FROM evaluations WHERE plugin = ?1 ORDER BY id DESC LIMIT ?2",
      read_evaluation, plugin, limit);
}

Status Registry::insert_event(const NewEvent& event, std::int64_t at_ms) {
  return database_->execute(
      "INSERT INTO events (at_ms, plugin, version_id, type, actor, reason, from_state, to_state, "
      "data_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
      at_ms, text_or_null(event.plugin), id_or_null(event.version_id), event.type, event.actor,
      event.reason, text_or_null(event.from_state), text_or_null(event.to_state), event.data_json);
}

Result<std::vector<PluginRow>> Registry::plugins() {
  std::lock_guard<std::mutex> lock(mutex_);
  return select_rows<PluginRow>(
      *database_, "SELECT " + kPluginColumns + " FROM plugins ORDER BY name", read_plugin);
}

Result<PluginRow> Registry::plugin(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return find_plugin(name);
}

Result<std::vector<VersionRow>> Registry::versions(const std::string& plugin) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto owner = find_plugin(plugin);
  if (!owner.ok()) return owner.status();
  return select_rows<VersionRow>(
      *database_, "SELECT " + kVersionColumns + " FROM versions WHERE plugin = ?1 ORDER BY id DESC",
      read_version, plugin);
}

Result<VersionRow> Registry::version(std::int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return find_version(id);
}

Result<std::optional<VersionRow>> Registry::version_by_sha(const std::string& plugin,
                                                           const std::string& sha256) {
  std::lock_guard<std::mutex> lock(mutex_);
  return select_one<VersionRow>(
      *database_, "SELECT " + kVersionColumns + " FROM versions WHERE plugin = ?1 AND sha256 = ?2",
      read_version, plugin, sha256);
}

Result<std::optional<VersionRow>> Registry::active_version(const std::string& plugin) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto owner = find_plugin(plugin);
  if (!owner.ok()) return owner.status();
  if (owner->active_version_id == 0) return std::optional<VersionRow>();
  auto row = find_version(owner->active_version_id);
  if (!row.ok()) return row.status();
  return std::optional<VersionRow>(std::move(row.value()));
}

Result<std::optional<VersionRow>> Registry::last_retired(const std::string& plugin) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto owner = find_plugin(plugin);
  if (!owner.ok()) return owner.status();
  return select_one<VersionRow>(
      *database_,
      "SELECT " + kVersionColumns +
          " FROM versions WHERE id = (SELECT e.version_id FROM events e JOIN versions v ON "
          "v.id = e.version_id WHERE e.plugin = ?1 AND e.type = 'version_state_changed' AND "
          "e.to_state = 'retired' AND v.state = 'retired' ORDER BY e.id DESC LIMIT 1)",
      read_version, plugin);
}

Result<std::vector<EventRow>> Registry::events(std::optional<std::string> plugin, int limit,
                                               std::int64_t before_id) {
  if (limit <= 0 || before_id < 0) {
    return Status(Code::invalid_argument,
                  "events: limit must be positive and before_id not "
                  "negative (got " +
                      std::to_string(limit) + ", " + std::to_string(before_id) + ")");
  }
  const std::int64_t before = before_id == 0 ? std::numeric_limits<std::int64_t>::max() : before_id;
  std::lock_guard<std::mutex> lock(mutex_);
  // Two statements rather than "?1 IS NULL OR plugin = ?1", which would not use the index.
  if (plugin) {
    return select_rows<EventRow>(*database_,
                                 "SELECT " + kEventColumns +
                                     " FROM events WHERE plugin = ?1 AND id < ?2 "
                                     "ORDER BY id DESC LIMIT ?3",
                                 read_event, *plugin, before, limit);
  }
  return select_rows<EventRow>(
      *database_,
      "SELECT " + kEventColumns + " FROM events WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
      read_event, before, limit);
}

Status Registry::check_consistency() {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string file = database_->file().string();
  auto integrity = select_one<std::string>(
      *database_, "PRAGMA quick_check",
      [](const Statement& row) { return Result<std::string>(row.column_text(0)); });
  if (!integrity.ok()) return integrity.status();
  if (integrity->value_or("ok") != "ok") {
    return Status(Code::failed_precondition,
                  file + ": not a moss registry or corrupt: " + integrity->value());
  }
  for (const Invariant& invariant : kInvariants) {
    auto violation = select_one<std::string>(*database_, invariant.sql, [&](const Statement& row) {
      return Result<std::string>(invariant.describe(row));
    });
    if (!violation.ok()) return violation.status();
    if (violation->has_value()) {
      return Status(Code::failed_precondition,
                    file + ": inconsistent registry: " + violation->value());
    }
  }
  return Status();
}

Result<PluginRow> Registry::find_plugin(const std::string& name) {
  auto row = select_one<PluginRow>(
      *database_, "SELECT " + kPluginColumns + " FROM plugins WHERE name = ?1", read_plugin, name);
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return Status(Code::not_found, "no plugin '" + name + "' in the registry");
  }
  return std::move(row->value());
}

Result<VersionRow> Registry::find_version(std::int64_t id) {
  auto row = select_one<VersionRow>(
      *database_, "SELECT " + kVersionColumns + " FROM versions WHERE id = ?1", read_version, id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return Status(Code::not_found, "no version " + std::to_string(id) + " in the registry");
  }
  return std::move(row->value());
}

}  // namespace moss
