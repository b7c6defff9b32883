// The registry: moss's durable record of plugins, their immutable versions and every state
// change, in one SQLite file. Each change is one transaction together with its event row.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.hpp"

namespace moss {

class Database;

// The lifecycle of a plugin version. Stored as text; the numbers start at 1 so that a
// zero-initialised value is never a state.
//
// Allowed transitions (the table lives in registry.cpp, next to this list):
//   candidate   -> evaluating | rejected | active (*)
//   evaluating  -> rejected | probation | active   (probation is optional)
//   probation   -> active | retired | rolled_back
//   active      -> retired | rolled_back
//   retired     -> active                          (manual re-promote)
//   rolled_back -> active                          (manual re-promote)
//   rejected    -> (final)
// (*) only while no version of the plugin serves: the first version of a plugin, at startup.
// probation and active are the serving states: at most one version per plugin is in one.
enum class VersionState : std::int32_t {
  candidate = 1,
  evaluating = 2,
  rejected = 3,
  probation = 4,
  active = 5,
  retired = 6,
  rolled_back = 7,
};

// "candidate", "rolled_back", ...; "unknown" for a value that is not a state.
std::string_view to_string(VersionState state);
Result<VersionState> parse_version_state(std::string_view name);
// True for the states whose version takes calls: probation and active.
bool serves_calls(VersionState state);

// The actors the host writes into events; other text is allowed.
namespace actors {
inline constexpr char cli[] = "cli";
inline constexpr char evolution[] = "evolution";
inline constexpr char ratchet[] = "ratchet";
inline constexpr char startup[] = "startup";
inline constexpr char watch[] = "watch";
}  // namespace actors

// The event types the registry writes itself; record_event() adds others (e.g. load_failed).
namespace event_types {
inline constexpr char plugin_registered[] = "plugin_registered";
inline constexpr char plugin_enabled[] = "plugin_enabled";
inline constexpr char plugin_disabled[] = "plugin_disabled";
inline constexpr char version_registered[] = "version_registered";
inline constexpr char version_state_changed[] = "version_state_changed";
}  // namespace event_types

// A plugin instance, keyed by its instance name from the config.
struct PluginRow {
  std::string name;
  std::uint32_t kinds = 0;  // bitwise OR of sdk::Kind
  std::string source_path;
  bool enabled = true;
  std::int64_t active_version_id = 0;  // 0: no version serves
  std::string disabled_reason;         // "" while enabled
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// What the caller knows about a new version file.
struct NewVersion {
  std::string sha256;  // of the file; unique per plugin
  std::string path;    // the immutable, content-addressed file
  std::string plugin_version;
  int abi_major = 0;
  int abi_minor = 0;
  std::string toolchain;
  std::int64_t parent_id = 0;  // the version it was evolved from; 0: none
};

struct VersionRow {
  std::int64_t id = 0;
  std::string plugin;
  std::string sha256;
  std::string path;
  std::string plugin_version;
  int abi_major = 0;
  int abi_minor = 0;
  std::string toolchain;
  VersionState state{};        // deliberately not a state until read from the database
  std::int64_t parent_id = 0;  // 0: none
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// An event that changes no state, e.g. a load failure.
struct NewEvent {
  std::string plugin;           // "": not about one plugin
  std::int64_t version_id = 0;  // 0: not about one version
  std::string type;             // required
  std::string actor;            // required
  std::string reason;
  std::string from_state;        // "": none
  std::string to_state;          // "": none
  std::string data_json = "{}";  // a JSON object
};

struct EventRow {
  std::int64_t id = 0;  // increases with time; the order of events
  std::int64_t at_ms = 0;
  std::string plugin;           // "": none
  std::int64_t version_id = 0;  // 0: none
  std::string type;
  std::string actor;
  std::string reason;
  std::string from_state;  // "": none
  std::string to_state;    // "": none
  std::string data_json;
};

// One evaluation of a version's suite (or of a probation window of live calls).
struct NewEvaluation {
  std::string plugin;
  std::int64_t version_id = 0;
  std::string actor;
  std::string purpose;          // candidate | baseline | sample | probation
  std::string outcome;          // ok, or why the run did not complete: crashed, timeout, ...
  std::string detail;           // the exact reason (signal name, limit hit, loader error)
  std::optional<double> score;  // in [0,1]; empty when the run did not complete
  std::int64_t passed = 0;
  std::int64_t total = 0;
  std::string verdict;             // the gate's verdict: NOMINAL, WARNING, CRITICAL, LOCKED, ...
  std::string report_json = "{}";  // per-case results and anything else worth keeping
};

struct EvaluationRow : NewEvaluation {
  std::int64_t id = 0;
  std::int64_t at_ms = 0;
};

// Facts written in the same transaction as a state change, so that a crash can never leave
// a verdict without its consequence (or the other way round).
struct Attachments {
  std::optional<std::string> ratchet_state_json;  // the plugin's Ratchet state after the verdict
  std::optional<NewEvaluation> evaluation;        // the evaluation behind the change
};

// Where a failure was seen.
namespace failure_sources {
inline constexpr char eval_case[] = "eval_case";  // a case of the plugin's eval suite
inline constexpr char tool_call[] = "tool_call";  // a live call that returned an error
inline constexpr char guard[] = "guard";          // a guard blocked the task
}  // namespace failure_sources

// A failed task, with the plugin and version that ran it.
struct NewFailure {
  std::string plugin;
  std::int64_t version_id = 0;  // the version that ran; 0 if unknown
  std::string source;           // failure_sources
  std::string task_id;          // eval case id, call id, ...; the same task seen again on the
                                // same version counts an occurrence instead of a new row
  std::string error;
  std::string trace_json = "[]";  // a JSON array of {module, action, detail, ok}
  std::optional<double> score;
};

struct FailureRow : NewFailure {
  std::int64_t id = 0;
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t occurrences = 0;
  std::string pattern_id;  // set once an Evolver analysed it
};

// A FailurePattern as the registry keeps it: one per (plugin, pattern id), merged.
struct PatternRow {
  std::string plugin;
  std::string pattern_id;
  std::string description;
  std::string root_cause;
  std::string affected_module;
  std::int64_t occurrence_count = 0;
  std::int64_t last_occurrence_ms = 0;
};

// The stages of one evolution attempt, in order; `finished` ends every attempt.
namespace attempt_stages {
inline constexpr char analyze[] = "analyze";
inline constexpr char propose[] = "propose";
inline constexpr char apply[] = "apply";
inline constexpr char build[] = "build";
inline constexpr char evaluate[] = "evaluate";
inline constexpr char finished[] = "finished";
}  // namespace attempt_stages

// How an attempt ended.
namespace attempt_outcomes {
inline constexpr char promoted[] = "promoted";      // the candidate serves now
inline constexpr char rejected[] = "rejected";      // the Ratchet or the evaluation refused it
inline constexpr char llm_failed[] = "llm_failed";  // analyze or propose failed
inline constexpr char patch_refused[] = "patch_refused";  // the patch broke a rule or did not apply
inline constexpr char build_failed[] = "build_failed";    // the compiler failed or timed out
inline constexpr char failed[] = "failed";                // the host could not finish the attempt
inline constexpr char abandoned[] = "abandoned";          // the host stopped mid-attempt
}  // namespace attempt_outcomes

// One evolution attempt (a "patch" in the MOSS paper): from failure to verdict.
struct AttemptRow {
  std::int64_t id = 0;
  std::string plugin;
  std::string actor;
  std::int64_t started_at_ms = 0;
  std::int64_t finished_at_ms = 0;  // 0 while running
  std::string stage;                // attempt_stages
  std::string outcome;              // attempt_outcomes; "" while running
  std::string reason;
  std::int64_t failure_id = 0;  // the failure it set out to fix
  std::string pattern_id;
  std::int64_t parent_version_id = 0;  // the version it was evolved from
  std::int64_t version_id = 0;         // the candidate, once built and staged
  std::string parent_commit;
  std::string commit;    // the candidate's source commit in the workspace
  std::string patch_id;  // sha256 of the patch body
  std::string patch_format;
  std::string patch_path;
  std::string patch_body;
  std::string patch_description;
  std::string build_log;
  double build_ms = 0.0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0.0;
};

// What the evolution budgets count since a point in time.
struct EvolutionSpend {
  std::int64_t attempts = 0;  // attempts that produced a patch
  std::int64_t tokens = 0;    // prompt + completion
  double cost_usd = 0.0;
};

// One step of the schema: `sql` takes the schema from version N to N+1, where N is the
// step's index in the list. Steps are only ever appended.
struct Migration {
  std::string_view description;
  std::string_view sql;
};

// The schema steps of this build; its schema version is their count.
std::span<const Migration> schema_migrations();

struct OpenOptions {
  // Opens without writing anything: no migration (an older schema is an error), and every
  // write fails as read-only.
  bool read_only = false;
  // How long a write waits for another process's lock before failing as locked.
  int busy_timeout_ms = 5000;
  // Caps the file at this many database pages; 0 keeps SQLite's limit.
  std::int64_t max_page_count = 0;
  // Unix time in milliseconds for the timestamps; empty uses the system clock.
  std::function<std::int64_t()> now_ms;
};

// Thread-safe: every method takes an internal mutex (the registry is never on a hot path).
// Several processes may open the same file; SQLite's locks serialise their writes.
// Every method that changes something does it in one transaction that also writes its
// event rows; on error nothing is written.
class Registry {
 public:
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Opens `file`, creating it and its directory if needed, and migrates it to this build's
  // schema. Refuses a file from a newer build, a SQLite database of another application and
  // a file that is not a database.
  static Result<std::unique_ptr<Registry>> open(const std::filesystem::path& file,
                                                OpenOptions options = {});
  // open() with a migration list other than schema_migrations(), so tests can add steps.
  static Result<std::unique_ptr<Registry>> open_with_migrations_for_testing(
      const std::filesystem::path& file, OpenOptions options,
      std::span<const Migration> migrations);

  const std::filesystem::path& file() const;

  // Inserts the plugin, or updates its kinds and source path. Writes `plugin_registered`
  // only when the plugin is new or one of them changed.
  Status upsert_plugin(const std::string& name, std::uint32_t kinds, const std::string& source_path,
                       const std::string& actor);

  // Registers a version of a registered plugin in `initial` state (candidate, evaluating or
  // rejected: serving goes through transition/activate). Idempotent on (plugin, sha256):
  // returns the existing row unchanged and writes no event.
  Result<VersionRow> register_version(const std::string& plugin, const NewVersion& version,
                                      VersionState initial, const std::string& actor,
                                      const std::string& reason);

  // Moves a version to `to` if the lifecycle allows it (see VersionState), writing
  // `version_state_changed` with actor, reason and `data_json` (a JSON object: scores,
  // verdicts). With `expected_from`, refuses unless the version is in that state (so two
  // actors cannot both act on one evaluation). Entering a serving state makes the version
  // the plugin's active one and retires the version that served before; leaving one clears
  // the plugin's active version.
  Result<VersionRow> transition(std::int64_t version_id, VersionState to, const std::string& actor,
                                const std::string& reason, const std::string& data_json = "{}",
                                std::optional<VersionState> expected_from = {},
                                const Attachments& attachments = {});

  // Makes a version active, demoting the version that served before to `demote_previous_to`
  // (retired for a promotion, rolled_back for a rollback). One event per changed version.
  Result<VersionRow> activate(std::int64_t version_id, const std::string& actor,
                              const std::string& reason, const std::string& data_json = "{}",
                              VersionState demote_previous_to = VersionState::retired,
                              const Attachments& attachments = {});

  // Enables or disables a plugin; disabling keeps `reason`. No event if nothing changes.
  Status set_enabled(const std::string& plugin, bool enabled, const std::string& actor,
                     const std::string& reason);

  Status record_event(const NewEvent& event);

  // Records an evaluation (and the Ratchet state it produced, if any) that changes no
  // version's state, e.g. a baseline measurement. Returns its id.
  Result<std::int64_t> record_evaluation(const NewEvaluation& evaluation,
                                         const std::optional<std::string>& ratchet_state_json = {});
  // Replaces the plugin's Ratchet state (e.g. a reset), with an event.
  Status save_ratchet_state(const std::string& plugin, const std::string& state_json,
                            const std::string& actor, const std::string& reason);
  // The plugin's Ratchet state; empty before the first verdict.
  Result<std::optional<std::string>> ratchet_state(const std::string& plugin);
  // Newest first: at most `limit` evaluations of `plugin`, or of one version if given.
  Result<std::vector<EvaluationRow>> evaluations(const std::string& plugin, int limit,
                                                 std::int64_t version_id = 0);

  // Queries. A plugin or version that does not exist is not_found.
  Result<std::vector<PluginRow>> plugins();  // by name
  Result<PluginRow> plugin(const std::string& name);
  Result<std::vector<VersionRow>> versions(const std::string& plugin);  // newest first
  Result<VersionRow> version(std::int64_t id);
  // Empty if the plugin has no version with that hash.
  Result<std::optional<VersionRow>> version_by_sha(const std::string& plugin,
                                                   const std::string& sha256);
  // The version that serves calls (active or probation); empty if none does.
  Result<std::optional<VersionRow>> active_version(const std::string& plugin);
  // The version retired most recently (by the order of events, not the clock) that is still
  // retired: the one a rollback returns to. Empty if there is none.
  Result<std::optional<VersionRow>> last_retired(const std::string& plugin);
  // Newest first: at most `limit` events, of `plugin` if given, older than `before_id` if
  // it is not 0 (pass the last id of a page to get the next one).
  Result<std::vector<EventRow>> events(std::optional<std::string> plugin, int limit,
                                       std::int64_t before_id = 0);

  // Failures and patterns (evolution input).
  // Records a failure, or counts one more occurrence of the same (plugin, version, source,
  // task) with the newest error and trace. Returns the row's id.
  Result<std::int64_t> record_failure(const NewFailure& failure);
  // Newest first: at most `limit` failures of `plugin`, of one version if `version_id` != 0.
  Result<std::vector<FailureRow>> failures(const std::string& plugin, int limit,
                                           std::int64_t version_id = 0);
  // Merges `pattern` into the plugin's patterns (occurrence counts add up) and marks failure
  // `failure_id` (if not 0) as analysed into it. Returns the merged row.
  Result<PatternRow> record_pattern(const PatternRow& pattern, std::int64_t failure_id);
  Result<std::vector<PatternRow>> patterns(const std::string& plugin);

  // Evolution attempts. Every start and end writes an event; stages in between do not.
  Result<AttemptRow> start_attempt(const std::string& plugin, std::int64_t parent_version_id,
                                   const std::string& actor);
  // Saves the attempt's progress (every column but id, plugin, actor and started_at).
  Status update_attempt(const AttemptRow& attempt);
  // Saves and ends it with `outcome` and `reason`.
  Result<AttemptRow> finish_attempt(AttemptRow attempt, const std::string& outcome,
                                    const std::string& reason);
  // Ends every attempt a stopped host left running as abandoned, and rejects their staged
  // candidates that were never evaluated. Returns them.
  Result<std::vector<AttemptRow>> abandon_unfinished_attempts(const std::string& actor);
  // Newest first.
  Result<std::vector<AttemptRow>> attempts(const std::string& plugin, int limit);
  Result<AttemptRow> attempt(std::int64_t id);
  // Attempts, tokens and cost of `plugin`'s attempts started at or after `since_ms`.
  Result<EvolutionSpend> evolution_spend(const std::string& plugin, std::int64_t since_ms);

  // The workspace commit holding a version's source; "" if none is known.
  Status set_version_commit(std::int64_t version_id, const std::string& commit);
  Result<std::string> version_commit(std::int64_t version_id);

  // Checks the file (PRAGMA quick_check) and the invariants the methods above keep: a
  // plugin's active version is one of its own and serves; a serving version is its plugin's
  // active one (so at most one serves); every version's plugin exists. Reports the first
  // violation.
  Status check_consistency();

 private:
  struct Change;
  Registry(std::unique_ptr<Database> database, std::function<std::int64_t()> now_ms);
  static Result<std::unique_ptr<Registry>> open_with(const std::filesystem::path& file,
                                                     OpenOptions options,
                                                     std::span<const Migration> migrations);

  Result<VersionRow> change_state(std::int64_t version_id, VersionState to, const Change& change,
                                  std::optional<VersionState> expected_from,
                                  VersionState demote_previous_to);
  Status insert_event(const NewEvent& event, std::int64_t at_ms);
  Status write_attachments(const std::string& plugin, const Attachments& attachments,
                           std::int64_t at_ms);
  Result<PluginRow> find_plugin(const std::string& name);
  Result<VersionRow> find_version(std::int64_t id);

  std::mutex mutex_;
  std::unique_ptr<Database> database_;
  std::function<std::int64_t()> now_ms_;
};

}  // namespace moss
