// The registry's evolution records: failures, failure patterns, evolution attempts and the
// source commit of each version.
#include <nlohmann/json.hpp>

#include "registry/query.hpp"
#include "registry/registry.hpp"
#include "registry/sqlite.hpp"

namespace moss {
namespace {

using namespace registry_detail;

const std::string kFailureColumns =
    "id, plugin, ifnull(version_id, 0), source, task_id, error, trace_json, score, "
    "first_seen_ms, last_seen_ms, occurrences, pattern_id";
const std::string kPatternColumns =
    "plugin, pattern_id, description, root_cause, affected_module, occurrence_count, "
    "last_occurrence_ms";
const std::string kAttemptColumns =
    "id, plugin, actor, started_at_ms, ifnull(finished_at_ms, 0), stage, outcome, reason, "
    "ifnull(failure_id, 0), pattern_id, ifnull(parent_version_id, 0), ifnull(version_id, 0), "
    "parent_commit, commit_id, patch_id, patch_format, patch_path, patch_body, "
    "patch_description, build_log, build_ms, prompt_tokens, completion_tokens, cost_usd";

Result<FailureRow> read_failure(const Statement& row) {
  FailureRow f;
  f.id = row.column_int64(0);
  f.plugin = row.column_text(1);
  f.version_id = row.column_int64(2);
  f.source = row.column_text(3);
  f.task_id = row.column_text(4);
  f.error = row.column_text(5);
  f.trace_json = row.column_text(6);
  if (!row.column_is_null(7)) f.score = row.column_double(7);
  f.first_seen_ms = row.column_int64(8);
  f.last_seen_ms = row.column_int64(9);
  f.occurrences = row.column_int64(10);
  f.pattern_id = row.column_text(11);
  return f;
}

Result<PatternRow> read_pattern(const Statement& row) {
  PatternRow p;
  p.plugin = row.column_text(0);
  p.pattern_id = row.column_text(1);
  p.description = row.column_text(2);
  p.root_cause = row.column_text(3);
  p.affected_module = row.column_text(4);
  p.occurrence_count = row.column_int64(5);
  p.last_occurrence_ms = row.column_int64(6);
  return p;
}

Result<AttemptRow> read_attempt(const Statement& row) {
  AttemptRow a;
  int c = 0;
  a.id = row.column_int64(c++);
  a.plugin = row.column_text(c++);
  a.actor = row.column_text(c++);
  a.started_at_ms = row.column_int64(c++);
  a.finished_at_ms = row.column_int64(c++);
  a.stage = row.column_text(c++);
  a.outcome = row.column_text(c++);
  a.reason = row.column_text(c++);
  a.failure_id = row.column_int64(c++);
  a.pattern_id = row.column_text(c++);
  a.parent_version_id = row.column_int64(c++);
  a.version_id = row.column_int64(c++);
  a.parent_commit = row.column_text(c++);
  a.commit = row.column_text(c++);
  a.patch_id = row.column_text(c++);
  a.patch_format = row.column_text(c++);
  a.patch_path = row.column_text(c++);
  a.patch_body = row.column_text(c++);
  a.patch_description = row.column_text(c++);
  a.build_log = row.column_text(c++);
  a.build_ms = row.column_double(c++);
  a.prompt_tokens = row.column_int64(c++);
  a.completion_tokens = row.column_int64(c++);
  a.cost_usd = row.column_double(c++);
  return a;
}

Status check_trace(const std::string& trace_json) {
  nlohmann::json trace = nlohmann::json::parse(trace_json, nullptr, false);
  if (!trace.is_discarded() && trace.is_array()) return Status();
  return Status(Code::invalid_argument, "a failure's trace must be a JSON array");
}

std::string attempt_event_data(const AttemptRow& a) {
  return json_text({{"attempt", a.id},
                    {"stage", a.stage},
                    {"outcome", a.outcome},
                    {"pattern_id", a.pattern_id},
                    {"parent_version", a.parent_version_id},
                    {"version", a.version_id},
                    {"commit", a.commit},
                    {"patch_id", a.patch_id},
                    {"tokens", a.prompt_tokens + a.completion_tokens},
                    {"cost_usd", a.cost_usd}});
}

}  // namespace

Result<std::int64_t> Registry::record_failure(const NewFailure& failure) {
  if (failure.plugin.empty() || failure.source.empty() || failure.task_id.empty()) {
    return Status(Code::invalid_argument, "a failure needs a plugin, a source and a task id");
  }
  Status valid = check_trace(failure.trace_json);
  if (!valid.ok()) return valid;
  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  auto owner = find_plugin(failure.plugin);
  if (!owner.ok()) return owner.status();
  const std::int64_t now = now_ms_();
  Status written = database_->execute(
      "INSERT INTO failures (plugin, version_id, source, task_id, error, trace_json, score, "
      "first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) "
      "ON CONFLICT (plugin, ifnull(version_id, 0), source, task_id) DO UPDATE SET "
      "error = excluded.error, trace_json = excluded.trace_json, score = excluded.score, "
      "last_seen_ms = excluded.last_seen_ms, occurrences = occurrences + 1",
      failure.plugin, id_or_null(failure.version_id), failure.source, failure.task_id,
      failure.error, failure.trace_json, failure.score, now);
  if (!written.ok()) return written;
  auto id = select_one<std::int64_t>(
      *database_,
      "SELECT id FROM failures WHERE plugin = ?1 AND ifnull(version_id, 0) = ?2 AND "
      "source = ?3 AND task_id = ?4",
      [](const Statement& row) { return Result<std::int64_t>(row.column_int64(0)); },
      failure.plugin, failure.version_id, failure.source, failure.task_id);
  if (!id.ok()) return id.status();
  Status committed = transaction->commit();
  if (!committed.ok()) return committed;
  return id->value_or(0);
}

Result<std::vector<FailureRow>> Registry::failures(const std::string& plugin, int limit,
                                                   std::int64_t version_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return select_rows<FailureRow>(*database_,
                                 "SELECT " + kFailureColumns +
                                     " FROM failures WHERE plugin = ?1 AND (?2 = 0 OR "
                                     "version_id = ?2) ORDER BY id DESC LIMIT ?3",
                                 read_failure, plugin, version_id, limit);
}

Result<PatternRow> Registry::record_pattern(const PatternRow& pattern, std::int64_t failure_id) {
  if (pattern.plugin.empty() || pattern.pattern_id.empty()) {
    return Status(Code::invalid_argument, "a failure pattern needs a plugin and an id");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  Status written = database_->execute(
      "INSERT INTO failure_patterns (plugin, pattern_id, description, root_cause, "
      "affected_module, occurrence_count, last_occurrence_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
      "?7) ON CONFLICT (plugin, pattern_id) DO UPDATE SET description = excluded.description, "
      "root_cause = excluded.root_cause, affected_module = excluded.affected_module, "
      "occurrence_count = occurrence_count + excluded.occurrence_count, "
      "last_occurrence_ms = max(last_occurrence_ms, excluded.last_occurrence_ms)",
      pattern.plugin, pattern.pattern_id, pattern.description, pattern.root_cause,
      pattern.affected_module, std::max<std::int64_t>(pattern.occurrence_count, 1),
      pattern.last_occurrence_ms);
  if (written.ok() && failure_id != 0) {
    written = database_->execute("UPDATE failures SET pattern_id = ?2 WHERE id = ?1", failure_id,
                                 pattern.pattern_id);
  }
  if (!written.ok()) return written;
  auto merged = select_one<PatternRow>(
      *database_,
      "SELECT " + kPatternColumns + " FROM failure_patterns WHERE plugin = ?1 AND pattern_id = ?2",
      read_pattern, pattern.plugin, pattern.pattern_id);
  if (!merged.ok()) return merged.status();
  Status committed = transaction->commit();
  if (!committed.ok()) return committed;
  return merged->value();
}

Result<std::vector<PatternRow>> Registry::patterns(const std::string& plugin) {
  std::lock_guard<std::mutex> lock(mutex_);
  return select_rows<PatternRow>(
      *database_,
      "SELECT " + kPatternColumns +
          " FROM failure_patterns WHERE plugin = ?1 ORDER BY last_occurrence_ms DESC",
      read_pattern, plugin);
}

Result<AttemptRow> Registry::start_attempt(const std::string& plugin,
                                           std::int64_t parent_version_id,
                                           const std::string& actor) {
  Status valid = check_actor(actor);
  if (!valid.ok()) return valid;
  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  auto owner = find_plugin(plugin);
  if (!owner.ok()) return owner.status();
  const std::int64_t now = now_ms_();
  Status written = database_->execute(
      "INSERT INTO evolution_attempts (plugin, actor, started_at_ms, stage, parent_version_id) "
      "VALUES (?1, ?2, ?3, ?4, ?5)",
      plugin, actor, now, std::string_view(attempt_stages::analyze), id_or_null(parent_version_id));
  if (!written.ok()) return written;
  AttemptRow attempt;
  attempt.id = database_->last_insert_rowid();
  attempt.plugin = plugin;
  attempt.actor = actor;
  attempt.started_at_ms = now;
  attempt.stage = attempt_stages::analyze;
  attempt.parent_version_id = parent_version_id;
  NewEvent event;
  event.plugin = plugin;
  event.version_id = parent_version_id;
  event.type = "evolution_started";
  event.actor = actor;
  event.reason = "attempt " + std::to_string(attempt.id);
  event.data_json = attempt_event_data(attempt);
  Status recorded = insert_event(event, now);
  if (!recorded.ok()) return recorded;
  Status committed = transaction->commit();
  if (!committed.ok()) return committed;
  return attempt;
}

namespace {

Status write_attempt(Database& database, const AttemptRow& a) {
  return database.execute(
      "UPDATE evolution_attempts SET finished_at_ms = ?2, stage = ?3, outcome = ?4, "
      "reason = ?5, failure_id = ?6, pattern_id = ?7, version_id = ?8, parent_commit = ?9, "
      "commit_id = ?10, patch_id = ?11, patch_format = ?12, patch_path = ?13, patch_body = ?14, "
      "patch_description = ?15, build_log = ?16, build_ms = ?17, prompt_tokens = ?18, "
      "completion_tokens = ?19, cost_usd = ?20 WHERE id = ?1",
      a.id, id_or_null(a.finished_at_ms), a.stage, a.outcome, a.reason, id_or_null(a.failure_id),
      a.pattern_id, id_or_null(a.version_id), a.parent_commit, a.commit, a.patch_id, a.patch_format,
      a.patch_path, a.patch_body, a.patch_description, a.build_log, a.build_ms, a.prompt_tokens,
      a.completion_tokens, a.cost_usd);
}

}  // namespace

Status Registry::update_attempt(const AttemptRow& attempt) {
  std::lock_guard<std::mutex> lock(mutex_);
  return write_attempt(*database_, attempt);
}

Result<AttemptRow> Registry::finish_attempt(AttemptRow attempt, const std::string& outcome,
                                            const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto transaction = Transaction::begin(*database_);
  if (!transaction.ok()) return transaction.status();
  const std::int64_t now = now_ms_();
  attempt.finished_at_ms = now;
  attempt.stage = attempt_stages::finished;
  attempt.outcome = outcome;
  attempt.reason = reason;
  Status written = write_attempt(*database_, attempt);
  if (!written.ok()) return written;
  NewEvent event;
  event.plugin = attempt.plugin;
  event.version_id = attempt.version_id != 0 ? attempt.version_id : attempt.parent_version_id;
  event.type = "evolution_finished";
  event.actor = attempt.actor;
  event.reason = outcome + ": " + reason;
  event.data_json = attempt_event_data(attempt);
  Status recorded = insert_event(event, now);
  if (!recorded.ok()) return recorded;
  Status committed = transaction->commit();
  if (!committed.ok()) return committed;
  return attempt;
}

Result<std::vector<AttemptRow>> Registry::abandon_unfinished_attempts(const std::string& actor) {
  std::vector<AttemptRow> abandoned;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto running = select_rows<AttemptRow>(
        *database_,
        "SELECT " + kAttemptColumns + " FROM evolution_attempts WHERE finished_at_ms IS NULL",
        read_attempt);
    if (!running.ok()) return running.status();
    abandoned = std::move(running.value());
  }
  for (AttemptRow& attempt : abandoned) {
    std::string reason = "the host stopped during stage '" + attempt.stage + "'";
    attempt.actor = actor;
    auto finished = finish_attempt(attempt, attempt_outcomes::abandoned, reason);
    if (!finished.ok()) return finished.status();
    if (attempt.version_id == 0) continue;
    auto staged = version(attempt.version_id);
    if (staged.ok() && staged->state == VersionState::candidate) {
      auto rejected = transition(attempt.version_id, VersionState::rejected, actor,
                                 "abandoned: " + reason, "{}", VersionState::candidate);
      if (!rejected.ok()) return rejected.status();
    }
  }
  return abandoned;
}

Result<std::vector<AttemptRow>> Registry::attempts(const std::string& plugin, int limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  return select_rows<AttemptRow>(*database_,
                                 "SELECT " + kAttemptColumns +
                                     " FROM evolution_attempts WHERE plugin = ?1 ORDER BY id "
                                     "DESC LIMIT ?2",
                                 read_attempt, plugin, limit);
}

Result<AttemptRow> Registry::attempt(std::int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto row = select_one<AttemptRow>(
      *database_, "SELECT " + kAttemptColumns + " FROM evolution_attempts WHERE id = ?1",
      read_attempt, id);
  if (!row.ok()) return row.status();
  if (!row.value()) {
    return Status(Code::not_found, "no evolution attempt " + std::to_string(id));
  }
  return std::move(*row.value());
}

Result<EvolutionSpend> Registry::evolution_spend(const std::string& plugin, std::int64_t since_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto spend = select_one<EvolutionSpend>(
      *database_,
      "SELECT count(nullif(patch_id, '')), ifnull(sum(prompt_tokens + completion_tokens), 0), "
      "ifnull(sum(cost_usd), 0) FROM evolution_attempts WHERE plugin = ?1 AND "
      "started_at_ms >= ?2",
      [](const Statement& row) {
        EvolutionSpend s;
        s.attempts = row.column_int64(0);
        s.tokens = row.column_int64(1);
        s.cost_usd = row.column_double(2);
        return Result<EvolutionSpend>(s);
      },
      plugin, since_ms);
  if (!spend.ok()) return spend.status();
  return spend->value_or(EvolutionSpend{});
}

Status Registry::set_version_commit(std::int64_t version_id, const std::string& commit) {
  std::lock_guard<std::mutex> lock(mutex_);
  return database_->execute(
      "INSERT INTO version_sources (version_id, commit_id) VALUES (?1, ?2) "
      "ON CONFLICT (version_id) DO UPDATE SET commit_id = excluded.commit_id",
      version_id, commit);
}

Result<std::string> Registry::version_commit(std::int64_t version_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto commit = select_one<std::string>(
      *database_, "SELECT commit_id FROM version_sources WHERE version_id = ?1",
      [](const Statement& row) { return Result<std::string>(row.column_text(0)); }, version_id);
  if (!commit.ok()) return commit.status();
  return commit->value_or(std::string());
}

}  // namespace moss
