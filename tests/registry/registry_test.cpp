// The registry on real SQLite files: schema migration, the version lifecycle and its events,
// and the failures an operator meets (newer, foreign or corrupt file, read-only, locked by
// another process, full), each of which must leave the file as it was.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "raw_sqlite.hpp"
#include "registry/registry.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::Code;
using moss::EventRow;
using moss::Migration;
using moss::NewEvent;
using moss::NewVersion;
using moss::OpenOptions;
using moss::Registry;
using moss::VersionRow;
using moss::VersionState;
using moss::test::dump_registry;
using moss::test::RawDb;

namespace {

const auto kLatest = static_cast<std::int64_t>(moss::schema_migrations().size());

// A registry file in a fresh directory, with a clock the test sets.
class RegistryTest {
 protected:
  moss::test::TempDir dir;
  std::filesystem::path file = dir / "state/registry.db";
  std::int64_t now_ms = 1'700'000'000'000;

  OpenOptions options() {
    OpenOptions o;
    o.now_ms = [this] { return now_ms; };
    return o;
  }

  std::unique_ptr<Registry> open(OpenOptions o) {
    auto registry = Registry::open(file, std::move(o));
    INFO(registry.status().to_string());
    REQUIRE(registry.ok());
    return std::move(registry.value());
  }
  std::unique_ptr<Registry> open() { return open(options()); }
};

NewVersion new_version(const std::string& sha256) {
  NewVersion v;
  v.sha256 = sha256;
  v.path = "/state/versions/" + sha256 + ".so";
  v.plugin_version = "1.0.0";
  v.abi_major = 1;
  v.abi_minor = 2;
  v.toolchain = "gcc-12/libstdc++11";
  return v;
}

// Registers `plugin` (if needed) and a candidate version of it; returns the version's id.
std::int64_t add_candidate(Registry& registry, const std::string& plugin, const std::string& sha) {
  REQUIRE(registry.upsert_plugin(plugin, 1, "/src/" + plugin + ".so", "startup").ok());
  auto row = registry.register_version(plugin, new_version(sha), VersionState::candidate, "startup",
                                       "test");
  REQUIRE(row.ok());
  return row->id;
}

// A candidate that went through evaluation and is ready to be promoted.
std::int64_t add_evaluated(Registry& registry, const std::string& plugin, const std::string& sha) {
  std::int64_t id = add_candidate(registry, plugin, sha);
  REQUIRE(registry.transition(id, VersionState::evaluating, "evolution", "test").ok());
  return id;
}

std::int64_t add_active(Registry& registry, const std::string& plugin, const std::string& sha) {
  std::int64_t id = add_candidate(registry, plugin, sha);
  REQUIRE(registry.activate(id, "startup", "first version").ok());
  return id;
}

std::vector<EventRow> all_events(Registry& registry) {
  auto events = registry.events(std::nullopt, 1'000'000);
  REQUIRE(events.ok());
  return events.value();
}

VersionState state_of(Registry& registry, std::int64_t id) {
  auto row = registry.version(id);
  REQUIRE(row.ok());
  return row->state;
}

std::int64_t active_id_of(Registry& registry, const std::string& plugin) {
  auto row = registry.plugin(plugin);
  REQUIRE(row.ok());
  return row->active_version_id;
}

// The real schema steps followed by `extra` ones.
std::vector<Migration> migrations_plus(std::initializer_list<Migration> extra) {
  std::vector<Migration> steps(moss::schema_migrations().begin(), moss::schema_migrations().end());
  steps.insert(steps.end(), extra);
  return steps;
}

bool table_exists(const std::filesystem::path& file, const std::string& table) {
  RawDb db(file, SQLITE_OPEN_READONLY);
  return db.integer("SELECT count(*) FROM sqlite_schema WHERE name = '" + table + "'") == 1;
}

// Reports a Status from a child process through a pipe: "<code number> <message>".
class ChildReport {
 public:
  ChildReport() { REQUIRE(::pipe(fds_) == 0); }
  ~ChildReport() {
    for (int fd : fds_)
      ::close(fd);
  }
  [[noreturn]] void send_and_exit(const moss::Status& status) {
    std::string text = std::to_string(static_cast<int>(status.code())) + " " + status.message();
    ssize_t written = ::write(fds_[1], text.data(), text.size());
    ::_exit(written == static_cast<ssize_t>(text.size()) ? 0 : 1);
  }
  moss::Status receive(pid_t child) {
    ::close(fds_[1]);
    fds_[1] = -1;
    std::string text;
    char buffer[512];
    ssize_t n = 0;
    while ((n = ::read(fds_[0], buffer, sizeof buffer)) > 0)
      text.append(buffer, std::size_t(n));
    int wait_status = 0;
    REQUIRE(::waitpid(child, &wait_status, 0) == child);
    REQUIRE(WIFEXITED(wait_status));
    REQUIRE(WEXITSTATUS(wait_status) == 0);
    std::size_t space = text.find(' ');
    REQUIRE(space != std::string::npos);
    return moss::Status(static_cast<Code>(std::stoi(text.substr(0, space))),
                        text.substr(space + 1));
  }

 private:
  int fds_[2] = {-1, -1};
};

// Another process that holds the registry's write lock (BEGIN EXCLUSIVE through the raw
// SQLite API) until release() or destruction.
class LockHolder {
 public:
  explicit LockHolder(const std::filesystem::path& file) {
    REQUIRE(::pipe(locked_) == 0);
    REQUIRE(::pipe(release_) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) hold(file);
    ::close(locked_[1]);
    ::close(release_[0]);
    char answer = 0;
    REQUIRE(::read(locked_[0], &answer, 1) == 1);
    REQUIRE(answer == 'L');
  }
  ~LockHolder() { release(); }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

  void release() {
    if (pid_ <= 0) return;
    ::close(release_[1]);  // the child's read returns 0: its cue to roll back and exit
    ::close(locked_[0]);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  // The child: no Catch2, no registry; it only takes the lock and waits.
  [[noreturn]] void hold(const std::filesystem::path& file) {
    ::close(locked_[0]);
    ::close(release_[1]);
    sqlite3* db = nullptr;
    bool locked = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK &&
                  sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK;
    char answer = locked ? 'L' : 'F';
    if (::write(locked_[1], &answer, 1) == 1 && locked) {
      char ignored = 0;
      while (::read(release_[0], &ignored, 1) > 0) {
      }
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    sqlite3_close(db);
    ::_exit(0);
  }

  pid_t pid_ = -1;
  int locked_[2] = {-1, -1};
  int release_[2] = {-1, -1};
};

}  // namespace

// --- opening and migrating ------------------------------------------------------------------

TEST_CASE_METHOD(RegistryTest,
                 "a new registry file is created with its directory at the latest "
                 "schema version",
                 "[registry][open]") {
  open();
  REQUIRE(std::filesystem::is_regular_file(file));
  RawDb db(file);
  CHECK(db.integer("PRAGMA user_version") == kLatest);
  CHECK(kLatest >= 1);
}

TEST_CASE_METHOD(RegistryTest, "a registry file is in WAL journal mode", "[registry][open]") {
  open();
  RawDb db(file);
  CHECK(db.text("PRAGMA journal_mode") == "wal");
}

TEST_CASE_METHOD(RegistryTest, "reopening a registry keeps its plugins, versions and events",
                 "[registry][open]") {
  std::int64_t id = 0;
  {
    auto registry = open();
    id = add_active(*registry, "echo", "aaa");
  }
  std::string before = dump_registry(file);
  auto registry = open();
  auto active = registry->active_version("echo");
  REQUIRE(active.ok());
  REQUIRE(active->has_value());
  CHECK(active->value().id == id);
  CHECK(all_events(*registry).size() == 3);  // plugin, version, activation
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest,
                 "a registry from a newer build is refused naming both schema "
                 "versions",
                 "[registry][open]") {
  open();
  RawDb(file).exec("PRAGMA user_version = " + std::to_string(kLatest + 7));
  std::string before = dump_registry(file);
  auto registry = Registry::open(file, options());
  REQUIRE_FALSE(registry.ok());
  CHECK(registry.status().code() == Code::failed_precondition);
  CHECK_THAT(registry.status().message(), Contains("version " + std::to_string(kLatest + 7)));
  CHECK_THAT(registry.status().message(), Contains("(" + std::to_string(kLatest) + ")"));
  CHECK_THAT(registry.status().message(), Contains(file.string()));
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest,
                 "a file of random bytes is refused as not a moss registry or "
                 "corrupt and left as it was",
                 "[registry][open]") {
  std::mt19937 random(42);
  std::string bytes(16384, '\0');
  for (char& c : bytes)
    c = static_cast<char>(random());
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << bytes;

  auto registry = Registry::open(file, options());
  REQUIRE_FALSE(registry.ok());
  CHECK(registry.status().code() == Code::failed_precondition);
  CHECK_THAT(registry.status().message(), Contains("not a moss registry or corrupt"));
  CHECK_THAT(registry.status().message(), Contains(file.string()));
  std::ifstream in(file, std::ios::binary);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == bytes);
}

TEST_CASE_METHOD(RegistryTest,
                 "a SQLite database of another application is refused and not "
                 "migrated",
                 "[registry][open]") {
  std::filesystem::create_directories(file.parent_path());
  RawDb(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE).exec("CREATE TABLE notes (text TEXT)");
  auto registry = Registry::open(file, options());
  REQUIRE_FALSE(registry.ok());
  CHECK(registry.status().code() == Code::failed_precondition);
  CHECK_THAT(registry.status().message(), Contains("not a moss registry or corrupt"));
  CHECK_FALSE(table_exists(file, "plugins"));
  CHECK(RawDb(file).integer("PRAGMA user_version") == 0);
}

TEST_CASE_METHOD(RegistryTest, "a failing migration step is rolled back entirely",
                 "[registry][open]") {
  open();
  auto steps = migrations_plus(
      {{"half done", "CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);"}});
  auto registry = Registry::open_with_migrations_for_testing(file, options(), steps);
  REQUIRE_FALSE(registry.ok());
  CHECK_THAT(registry.status().message(),
             Contains("schema version " + std::to_string(kLatest + 1) + " (half done)"));
  CHECK_THAT(registry.status().message(), Contains("no such table: no_such_table"));
  CHECK_FALSE(table_exists(file, "half_done"));
  CHECK(RawDb(file).integer("PRAGMA user_version") == kLatest);
}

TEST_CASE_METHOD(RegistryTest, "migration steps before a failing one stay committed",
                 "[registry][open]") {
  auto steps = migrations_plus({{"add a", "CREATE TABLE a (x)"},
                                {"fails", "CREATE TABLE b (x); SELECT * FROM no_such_table"}});
  auto registry = Registry::open_with_migrations_for_testing(file, options(), steps);
  REQUIRE_FALSE(registry.ok());
  CHECK(table_exists(file, "a"));
  CHECK_FALSE(table_exists(file, "b"));
  CHECK(RawDb(file).integer("PRAGMA user_version") == kLatest + 1);
}

TEST_CASE_METHOD(RegistryTest,
                 "a registry opened read-only is not migrated and refuses an "
                 "older schema",
                 "[registry][open]") {
  open();
  std::string before = dump_registry(file);
  OpenOptions read_only = options();
  read_only.read_only = true;
  auto steps = migrations_plus({{"add a", "CREATE TABLE a (x)"}});
  auto registry = Registry::open_with_migrations_for_testing(file, read_only, steps);
  REQUIRE_FALSE(registry.ok());
  CHECK(registry.status().code() == Code::failed_precondition);
  CHECK_THAT(registry.status().message(),
             Contains("schema version " + std::to_string(kLatest) + ", older than this build's " +
                      std::to_string(kLatest + 1)));
  CHECK_FALSE(table_exists(file, "a"));
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest,
                 "opening a missing registry read-only is not_found and creates "
                 "nothing",
                 "[registry][open]") {
  OpenOptions read_only = options();
  read_only.read_only = true;
  auto registry = Registry::open(file, read_only);
  REQUIRE_FALSE(registry.ok());
  CHECK(registry.status().code() == Code::not_found);
  CHECK_FALSE(std::filesystem::exists(file.parent_path()));
}

// --- plugins and versions -------------------------------------------------------------------

TEST_CASE_METHOD(RegistryTest,
                 "upsert_plugin writes plugin_registered only when the plugin is "
                 "new or changed",
                 "[registry]") {
  auto registry = open();
  REQUIRE(registry->upsert_plugin("echo", 1, "/src/echo.so", "startup").ok());
  REQUIRE(registry->upsert_plugin("echo", 1, "/src/echo.so", "startup").ok());
  CHECK(all_events(*registry).size() == 1);
  REQUIRE(registry->upsert_plugin("echo", 3, "/src/echo.so", "startup").ok());
  auto events = all_events(*registry);
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == "plugin_registered");
  CHECK(nlohmann::json::parse(events[0].data_json)["kinds"] == 3);
  CHECK(registry->plugin("echo")->kinds == 3);
}

TEST_CASE_METHOD(RegistryTest,
                 "register_version returns the existing row for a known sha256 and "
                 "writes no event",
                 "[registry]") {
  auto registry = open();
  std::int64_t id = add_candidate(*registry, "echo", "aaa");
  std::string before = dump_registry(file);
  NewVersion same = new_version("aaa");
  same.path = "/elsewhere.so";
  auto again = registry->register_version("echo", same, VersionState::candidate, "watch", "seen");
  REQUIRE(again.ok());
  CHECK(again->id == id);
  CHECK(again->path == "/state/versions/aaa.so");
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest,
                 "register_version stores every field and a version_registered "
                 "event",
                 "[registry]") {
  auto registry = open();
  std::int64_t parent = add_candidate(*registry, "echo", "aaa");
  NewVersion child = new_version("bbb");
  child.parent_id = parent;
  auto row =
      registry->register_version("echo", child, VersionState::evaluating, "evolution", "patch 12");
  REQUIRE(row.ok());
  CHECK(row->plugin == "echo");
  CHECK(row->sha256 == "bbb");
  CHECK(row->path == "/state/versions/bbb.so");
  CHECK(row->plugin_version == "1.0.0");
  CHECK(row->abi_major == 1);
  CHECK(row->abi_minor == 2);
  CHECK(row->toolchain == "gcc-12/libstdc++11");
  CHECK(row->state == VersionState::evaluating);
  CHECK(row->parent_id == parent);
  auto event = all_events(*registry).front();
  CHECK(event.type == "version_registered");
  CHECK(event.version_id == row->id);
  CHECK(event.actor == "evolution");
  CHECK(event.reason == "patch 12");
  CHECK(event.from_state.empty());
  CHECK(event.to_state == "evaluating");
  CHECK(nlohmann::json::parse(event.data_json)["sha256"] == "bbb");
}

TEST_CASE_METHOD(RegistryTest, "register_version of an unregistered plugin is not_found",
                 "[registry]") {
  auto registry = open();
  auto row = registry->register_version("ghost", new_version("aaa"), VersionState::candidate,
                                        "startup", "test");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::not_found);
  CHECK_THAT(row.status().message(), Contains("ghost"));
  CHECK(all_events(*registry).empty());
}

TEST_CASE_METHOD(RegistryTest, "register_version refuses to start a version in a serving state",
                 "[registry]") {
  auto registry = open();
  REQUIRE(registry->upsert_plugin("echo", 1, "/src/echo.so", "startup").ok());
  auto row = registry->register_version("echo", new_version("aaa"), VersionState::active, "startup",
                                        "test");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::invalid_argument);
  CHECK(registry->versions("echo")->empty());
}

TEST_CASE_METHOD(RegistryTest, "register_version refuses a parent that belongs to another plugin",
                 "[registry]") {
  auto registry = open();
  std::int64_t other = add_candidate(*registry, "other", "aaa");
  REQUIRE(registry->upsert_plugin("echo", 1, "/src/echo.so", "startup").ok());
  NewVersion child = new_version("bbb");
  child.parent_id = other;
  auto row = registry->register_version("echo", child, VersionState::candidate, "evolution", "");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::invalid_argument);
  CHECK(registry->versions("echo")->empty());
}

TEST_CASE_METHOD(RegistryTest,
                 "an allowed transition writes one event with actor, reason, both "
                 "states and data",
                 "[registry][lifecycle]") {
  auto registry = open();
  std::int64_t id = add_evaluated(*registry, "echo", "aaa");
  std::size_t events_before = all_events(*registry).size();
  auto row = registry->transition(id, VersionState::rejected, "ratchet", "score 0.81 < 0.95",
                                  R"({"score":0.81,"baseline":0.9})");
  REQUIRE(row.ok());
  CHECK(row->state == VersionState::rejected);
  auto events = all_events(*registry);
  REQUIRE(events.size() == events_before + 1);
  const EventRow& event = events.front();
  CHECK(event.type == "version_state_changed");
  CHECK(event.plugin == "echo");
  CHECK(event.version_id == id);
  CHECK(event.actor == "ratchet");
  CHECK(event.reason == "score 0.81 < 0.95");
  CHECK(event.from_state == "evaluating");
  CHECK(event.to_state == "rejected");
  CHECK(nlohmann::json::parse(event.data_json)["score"] == 0.81);
}

TEST_CASE_METHOD(RegistryTest, "a refused transition names both states and changes nothing",
                 "[registry][lifecycle]") {
  auto registry = open();
  std::int64_t id = add_evaluated(*registry, "echo", "aaa");
  REQUIRE(registry->transition(id, VersionState::rejected, "ratchet", "bad").ok());
  std::string before = dump_registry(file);
  auto row = registry->transition(id, VersionState::active, "cli", "force");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::failed_precondition);
  CHECK_THAT(row.status().message(), Contains("from rejected to active"));
  CHECK_THAT(row.status().message(), Contains("rejected is final"));
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest, "a refused transition lists the states that are allowed",
                 "[registry][lifecycle]") {
  auto registry = open();
  std::int64_t id = add_candidate(*registry, "echo", "aaa");
  auto row = registry->transition(id, VersionState::retired, "cli", "tidy");
  REQUIRE_FALSE(row.ok());
  CHECK_THAT(row.status().message(),
             Contains("from candidate it can only move to evaluating, rejected, active"));
}

TEST_CASE_METHOD(RegistryTest,
                 "a transition from an unexpected state is refused and changes "
                 "nothing",
                 "[registry][lifecycle]") {
  auto registry = open();
  std::int64_t id = add_evaluated(*registry, "echo", "aaa");
  std::string before = dump_registry(file);
  auto row = registry->transition(id, VersionState::rejected, "ratchet", "late verdict", "{}",
                                  VersionState::candidate);
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::failed_precondition);
  CHECK_THAT(row.status().message(), Contains("is evaluating, not candidate as expected"));
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest, "a transition of an unknown version is not_found",
                 "[registry][lifecycle]") {
  auto registry = open();
  auto row = registry->transition(99, VersionState::evaluating, "evolution", "");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::not_found);
  CHECK_THAT(row.status().message(), Contains("99"));
}

TEST_CASE_METHOD(RegistryTest,
                 "event data that is not a JSON object is refused and nothing is "
                 "written",
                 "[registry][lifecycle]") {
  auto registry = open();
  std::int64_t id = add_candidate(*registry, "echo", "aaa");
  std::string before = dump_registry(file);
  for (const char* data : {"{not json", "[1, 2]"}) {
    auto row = registry->transition(id, VersionState::evaluating, "evolution", "", data);
    REQUIRE_FALSE(row.ok());
    CHECK(row.status().code() == Code::invalid_argument);
  }
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest,
                 "activate demotes the previously active version to retired in the "
                 "same transaction",
                 "[registry][lifecycle]") {
  auto registry = open();
  std::int64_t old_id = add_active(*registry, "echo", "aaa");
  std::int64_t new_id = add_evaluated(*registry, "echo", "bbb");
  std::int64_t last_event = all_events(*registry).front().id;

  auto row = registry->activate(new_id, "ratchet", "score 0.99 >= 0.95", R"({"score":0.99})");
  REQUIRE(row.ok());
  CHECK(row->state == VersionState::active);
  CHECK(state_of(*registry, old_id) == VersionState::retired);
  CHECK(active_id_of(*registry, "echo") == new_id);
  auto events = registry->events(std::string("echo"), 10);
  REQUIRE(events.ok());
  REQUIRE(events->size() >= 2);
  const EventRow& promoted = (*events)[0];
  const EventRow& demoted = (*events)[1];
  CHECK(demoted.id == last_event + 1);
  CHECK(demoted.version_id == old_id);
  CHECK(demoted.from_state == "active");
  CHECK(demoted.to_state == "retired");
  CHECK_THAT(demoted.reason, Contains("replaced by version " + std::to_string(new_id)));
  CHECK(nlohmann::json::parse(demoted.data_json)["replaced_by"] == new_id);
  CHECK(promoted.id == last_event + 2);
  CHECK(promoted.version_id == new_id);
  CHECK(promoted.from_state == "evaluating");
  CHECK(promoted.to_state == "active");
  CHECK(registry->check_consistency().ok());
}

TEST_CASE_METHOD(RegistryTest,
                 "a rollback re-activates the old version and marks the replaced "
                 "one rolled_back",
                 "[registry][lifecycle]") {
  auto registry = open();
  std::int64_t old_id = add_active(*registry, "echo", "aaa");
  std::int64_t new_id = add_evaluated(*registry, "echo", "bbb");
  REQUIRE(registry->activate(new_id, "ratchet", "promoted").ok());

  auto row = registry->activate(old_id, "cli", "rollback: errors in production", "{}",
                                VersionState::rolled_back);
  REQUIRE(row.ok());
  CHECK(row->state == VersionState::active);
  CHECK(state_of(*registry, new_id) == VersionState::rolled_back);
  CHECK(active_id_of(*registry, "echo") == old_id);
  CHECK(all_events(*registry).front().from_state == "retired");
  CHECK(registry->check_consistency().ok());
}

TEST_CASE_METHOD(RegistryTest,
                 "activate refuses to demote the previous version to a state other "
                 "than retired or rolled_back",
                 "[registry][lifecycle]") {
  auto registry = open();
  add_active(*registry, "echo", "aaa");
  std::int64_t new_id = add_evaluated(*registry, "echo", "bbb");
  std::string before = dump_registry(file);
  auto row = registry->activate(new_id, "cli", "", "{}", VersionState::rejected);
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::invalid_argument);
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest,
                 "entering probation makes the version serve and retires its "
                 "predecessor",
                 "[registry][lifecycle]") {
  auto registry = open();
  std::int64_t old_id = add_active(*registry, "echo", "aaa");
  std::int64_t new_id = add_evaluated(*registry, "echo", "bbb");
  REQUIRE(registry->transition(new_id, VersionState::probation, "ratchet", "accepted").ok());
  CHECK(active_id_of(*registry, "echo") == new_id);
  CHECK(state_of(*registry, old_id) == VersionState::retired);

  REQUIRE(registry->transition(new_id, VersionState::active, "ratchet", "probation passed").ok());
  CHECK(active_id_of(*registry, "echo") == new_id);
  CHECK(state_of(*registry, old_id) == VersionState::retired);
  CHECK(registry->check_consistency().ok());
}

TEST_CASE_METHOD(RegistryTest,
                 "a candidate becomes active directly only while no version of the "
                 "plugin serves",
                 "[registry][lifecycle]") {
  auto registry = open();
  add_active(*registry, "echo", "aaa");
  std::int64_t second = add_candidate(*registry, "echo", "bbb");
  std::string before = dump_registry(file);
  auto row = registry->activate(second, "startup", "configured file changed");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::failed_precondition);
  CHECK_THAT(row.status().message(), Contains("from candidate to active"));
  CHECK_THAT(row.status().message(), Contains("another version serves"));
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest,
                 "moving the serving version out of service leaves the plugin "
                 "with no active version",
                 "[registry][lifecycle]") {
  auto registry = open();
  std::int64_t id = add_active(*registry, "echo", "aaa");
  REQUIRE(registry->transition(id, VersionState::rolled_back, "ratchet", "critical").ok());
  CHECK(active_id_of(*registry, "echo") == 0);
  auto active = registry->active_version("echo");
  REQUIRE(active.ok());
  CHECK_FALSE(active->has_value());
  CHECK(registry->check_consistency().ok());
}

TEST_CASE_METHOD(RegistryTest, "set_enabled records the reason and writes one event per change",
                 "[registry]") {
  auto registry = open();
  REQUIRE(registry->upsert_plugin("echo", 1, "/src/echo.so", "startup").ok());
  REQUIRE(registry->set_enabled("echo", false, "cli", "misbehaves").ok());
  REQUIRE(registry->set_enabled("echo", false, "cli", "still misbehaves").ok());
  auto row = registry->plugin("echo");
  REQUIRE(row.ok());
  CHECK_FALSE(row->enabled);
  CHECK(row->disabled_reason == "misbehaves");
  REQUIRE(registry->set_enabled("echo", true, "cli", "fixed").ok());
  CHECK(registry->plugin("echo")->disabled_reason.empty());
  auto events = all_events(*registry);
  REQUIRE(events.size() == 3);
  CHECK(events[0].type == "plugin_enabled");
  CHECK(events[1].type == "plugin_disabled");
  CHECK(events[1].reason == "misbehaves");
}

TEST_CASE_METHOD(RegistryTest, "record_event stores an event that changes no state", "[registry]") {
  auto registry = open();
  std::string before = dump_registry(file);
  NewEvent event;
  event.plugin = "echo";
  event.type = "load_failed";
  event.actor = "startup";
  event.reason = "echo.so: wrong ABI";
  event.data_json = R"({"abi_major":2})";
  REQUIRE(registry->record_event(event).ok());
  auto events = all_events(*registry);
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "load_failed");
  CHECK(events[0].plugin == "echo");
  CHECK(events[0].version_id == 0);
  CHECK(events[0].reason == "echo.so: wrong ABI");
  CHECK(events[0].data_json == R"({"abi_major":2})");
  CHECK(events[0].at_ms == now_ms);
}

TEST_CASE_METHOD(RegistryTest, "an event without an actor is refused", "[registry]") {
  auto registry = open();
  NewEvent event;
  event.type = "load_failed";
  moss::Status status = registry->record_event(event);
  CHECK(status.code() == Code::invalid_argument);
  CHECK(all_events(*registry).empty());
}

TEST_CASE_METHOD(RegistryTest, "events are listed newest first, by plugin and page by page",
                 "[registry][queries]") {
  auto registry = open();
  for (const char* plugin : {"a", "b", "a", "b", "a"}) {
    NewEvent event;
    event.plugin = plugin;
    event.type = "note";
    event.actor = "cli";
    REQUIRE(registry->record_event(event).ok());
  }
  auto of_a = registry->events(std::string("a"), 2);
  REQUIRE(of_a.ok());
  REQUIRE(of_a->size() == 2);
  CHECK((*of_a)[0].id == 5);
  CHECK((*of_a)[1].id == 3);
  auto next_page = registry->events(std::string("a"), 2, (*of_a)[1].id);
  REQUIRE(next_page.ok());
  REQUIRE(next_page->size() == 1);
  CHECK((*next_page)[0].id == 1);
  auto all = registry->events(std::nullopt, 10, 3);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == 2);
  CHECK(registry->events(std::nullopt, 0).status().code() == Code::invalid_argument);
}

TEST_CASE_METHOD(RegistryTest, "versions are listed newest first and found by id and sha256",
                 "[registry][queries]") {
  auto registry = open();
  std::int64_t first = add_candidate(*registry, "echo", "aaa");
  std::int64_t second = add_candidate(*registry, "echo", "bbb");
  add_candidate(*registry, "other", "ccc");
  auto versions = registry->versions("echo");
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 2);
  CHECK((*versions)[0].id == second);
  CHECK((*versions)[1].id == first);
  auto by_sha = registry->version_by_sha("echo", "aaa");
  REQUIRE(by_sha.ok());
  REQUIRE(by_sha->has_value());
  CHECK(by_sha->value().id == first);
  CHECK_FALSE(registry->version_by_sha("echo", "ccc")->has_value());
  CHECK(registry->version(12345).status().code() == Code::not_found);
  CHECK(registry->versions("ghost").status().code() == Code::not_found);
}

TEST_CASE_METHOD(RegistryTest, "plugins are listed by name and an unknown one is not_found",
                 "[registry][queries]") {
  auto registry = open();
  REQUIRE(registry->upsert_plugin("zeta", 1, "/z.so", "startup").ok());
  REQUIRE(registry->upsert_plugin("alpha", 2, "/a.so", "startup").ok());
  auto plugins = registry->plugins();
  REQUIRE(plugins.ok());
  REQUIRE(plugins->size() == 2);
  CHECK((*plugins)[0].name == "alpha");
  CHECK((*plugins)[1].name == "zeta");
  CHECK(registry->plugin("ghost").status().code() == Code::not_found);
  CHECK(registry->active_version("ghost").status().code() == Code::not_found);
}

TEST_CASE_METHOD(RegistryTest, "timestamps come from the clock in OpenOptions", "[registry]") {
  auto registry = open();
  std::int64_t id = add_candidate(*registry, "echo", "aaa");
  now_ms += 60'000;
  REQUIRE(registry->transition(id, VersionState::evaluating, "evolution", "").ok());
  auto row = registry->version(id);
  REQUIRE(row.ok());
  CHECK(row->created_at_ms == 1'700'000'000'000);
  CHECK(row->updated_at_ms == 1'700'000'060'000);
  CHECK(all_events(*registry).front().at_ms == 1'700'000'060'000);
  CHECK(registry->plugin("echo")->created_at_ms == 1'700'000'000'000);
}

TEST_CASE("version states convert to and from their names", "[registry]") {
  for (VersionState state : {VersionState::candidate, VersionState::evaluating,
                             VersionState::rejected, VersionState::probation, VersionState::active,
                             VersionState::retired, VersionState::rolled_back}) {
    auto parsed = moss::parse_version_state(moss::to_string(state));
    REQUIRE(parsed.ok());
    CHECK(parsed.value() == state);
  }
  CHECK(moss::to_string(VersionState{}) == "unknown");
}

TEST_CASE("an unknown version state name is refused with the known names", "[registry]") {
  auto parsed = moss::parse_version_state("live");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == Code::invalid_argument);
  CHECK_THAT(parsed.status().message(), Contains("'live'"));
  CHECK_THAT(parsed.status().message(), Contains("rolled_back"));
}

TEST_CASE_METHOD(RegistryTest, "writers on several threads share one registry",
                 "[registry][threads]") {
  auto registry = open();
  REQUIRE(registry->upsert_plugin("echo", 1, "/src/echo.so", "startup").ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string sha = std::to_string(t) + "-" + std::to_string(i);
        auto row = registry->register_version("echo", new_version(sha), VersionState::candidate,
                                              "evolution", "");
        if (!row.ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  CHECK(failures == 0);
  CHECK(registry->versions("echo")->size() == 40);
  CHECK(all_events(*registry).size() == 41);
}

// --- failures of the file and its environment -------------------------------------------------

TEST_CASE_METHOD(RegistryTest,
                 "a registry opened read-only refuses writes as read-only and "
                 "changes nothing",
                 "[registry][failures]") {
  std::int64_t id = 0;
  {
    auto registry = open();
    id = add_candidate(*registry, "echo", "aaa");
  }
  std::string before = dump_registry(file);
  OpenOptions read_only = options();
  read_only.read_only = true;
  auto registry = open(read_only);
  CHECK(registry->versions("echo")->size() == 1);  // reads work
  auto row = registry->transition(id, VersionState::evaluating, "evolution", "");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::failed_precondition);
  CHECK_THAT(row.status().message(), Contains("read-only"));
  CHECK_THAT(row.status().message(), Contains(file.string()));
  CHECK(dump_registry(file) == before);
}

// File permissions do not stop root, and tests may run as root. Then a child process drops to
// the "nobody" user (uid/gid 65534) so that the permission check is real either way.
TEST_CASE_METHOD(RegistryTest,
                 "a registry file without write permission is refused as "
                 "read-only and left as it was",
                 "[registry][failures]") {
  {
    auto registry = open();
    add_candidate(*registry, "echo", "aaa");
  }
  std::string before = dump_registry(file);
  namespace fs = std::filesystem;
  fs::permissions(dir.path(),
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(file.parent_path(), fs::perms::owner_all | fs::perms::group_read |
                                          fs::perms::group_exec | fs::perms::others_read |
                                          fs::perms::others_exec);
  fs::permissions(file, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);

  ChildReport report;
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(2);
    if (::access(file.c_str(), W_OK) == 0) ::_exit(3);  // the permission would not hold
    auto registry = Registry::open(file);
    report.send_and_exit(registry.ok() ? moss::Status() : registry.status());
  }
  moss::Status status = report.receive(child);
  CHECK(status.code() == Code::failed_precondition);
  CHECK_THAT(status.message(), Contains("read-only"));
  CHECK_THAT(status.message(), Contains(file.string()));
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest,
                 "a write while another process holds the lock fails as locked and "
                 "changes nothing",
                 "[registry][failures]") {
  std::int64_t id = 0;
  {
    auto registry = open();
    id = add_candidate(*registry, "echo", "aaa");
  }
  std::string before = dump_registry(file);
  LockHolder other_process(file);
  OpenOptions impatient = options();
  impatient.busy_timeout_ms = 50;
  auto registry = open(impatient);
  auto row = registry->transition(id, VersionState::evaluating, "evolution", "");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::unavailable);
  CHECK_THAT(row.status().message(),
             Contains("database is locked by another process (waited 50 ms)"));
  CHECK_THAT(row.status().message(), Contains(file.string()));
  CHECK(dump_registry(file) == before);
}

TEST_CASE_METHOD(RegistryTest, "a write succeeds once the other process releases its lock",
                 "[registry][failures]") {
  std::int64_t id = 0;
  {
    auto registry = open();
    id = add_candidate(*registry, "echo", "aaa");
  }
  LockHolder other_process(file);
  OpenOptions impatient = options();
  impatient.busy_timeout_ms = 50;
  auto registry = open(impatient);
  REQUIRE(registry->transition(id, VersionState::evaluating, "evolution", "").status().code() ==
          Code::unavailable);
  other_process.release();
  auto row = registry->transition(id, VersionState::evaluating, "evolution", "");
  REQUIRE(row.ok());
  CHECK(row->state == VersionState::evaluating);
}

TEST_CASE_METHOD(RegistryTest, "a full database fails as resource_exhausted and writes nothing",
                 "[registry][failures]") {
  {
    auto registry = open();
    REQUIRE(registry->upsert_plugin("echo", 1, "/src/echo.so", "startup").ok());
  }
  std::string before = dump_registry(file);
  OpenOptions capped = options();
  // SQLite raises a cap below the current size to the current size: no page can be added.
  capped.max_page_count = 1;
  auto registry = open(capped);
  NewVersion huge = new_version("aaa");
  huge.path = std::string(256 * 1024, 'p');  // needs overflow pages
  auto row = registry->register_version("echo", huge, VersionState::candidate, "watch", "");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == Code::resource_exhausted);
  CHECK_THAT(row.status().message(), Contains("disk or database full"));
  CHECK_THAT(row.status().message(), Contains(file.string()));
  CHECK(dump_registry(file) == before);
  // The registry is still usable for what fits.
  CHECK(registry->plugin("echo").ok());
}

TEST_CASE_METHOD(RegistryTest, "check_consistency accepts a registry written through its methods",
                 "[registry][consistency]") {
  auto registry = open();
  add_active(*registry, "echo", "aaa");
  std::int64_t second = add_evaluated(*registry, "echo", "bbb");
  REQUIRE(registry->transition(second, VersionState::probation, "ratchet", "").ok());
  add_candidate(*registry, "other", "ccc");
  CHECK(registry->check_consistency().ok());
}

TEST_CASE_METHOD(RegistryTest, "check_consistency reports an active version of another plugin",
                 "[registry][consistency]") {
  auto registry = open();
  add_active(*registry, "echo", "aaa");
  std::int64_t foreign = add_active(*registry, "other", "bbb");
  RawDb(file).exec("UPDATE plugins SET active_version_id = " + std::to_string(foreign) +
                   " WHERE name = 'echo'");
  moss::Status status = registry->check_consistency();
  CHECK(status.code() == Code::failed_precondition);
  CHECK_THAT(status.message(),
             Contains("plugin 'echo' has active version " + std::to_string(foreign) +
                      ", which is a version of "
                      "'other'"));
}

TEST_CASE_METHOD(RegistryTest, "check_consistency reports an active version that does not serve",
                 "[registry][consistency]") {
  auto registry = open();
  std::int64_t id = add_active(*registry, "echo", "aaa");
  RawDb(file).exec("UPDATE versions SET state = 'retired' WHERE id = " + std::to_string(id));
  moss::Status status = registry->check_consistency();
  CHECK(status.code() == Code::failed_precondition);
  CHECK_THAT(status.message(), Contains("which is retired (not active or probation)"));
}

TEST_CASE_METHOD(RegistryTest, "check_consistency reports two serving versions of one plugin",
                 "[registry][consistency]") {
  auto registry = open();
  add_active(*registry, "echo", "aaa");
  std::int64_t second = add_candidate(*registry, "echo", "bbb");
  RawDb(file).exec("UPDATE versions SET state = 'probation' WHERE id = " + std::to_string(second));
  moss::Status status = registry->check_consistency();
  CHECK(status.code() == Code::failed_precondition);
  CHECK_THAT(status.message(), Contains("plugin 'echo' has 2 versions in active or probation"));
}

TEST_CASE_METHOD(RegistryTest,
                 "check_consistency reports a serving version its plugin does not "
                 "point at",
                 "[registry][consistency]") {
  auto registry = open();
  std::int64_t id = add_active(*registry, "echo", "aaa");
  RawDb(file).exec("UPDATE plugins SET active_version_id = NULL");
  moss::Status status = registry->check_consistency();
  CHECK(status.code() == Code::failed_precondition);
  CHECK_THAT(status.message(), Contains("version " + std::to_string(id) +
                                        " of 'echo' is active, but the plugin's active version "
                                        "is none"));
}

TEST_CASE_METHOD(RegistryTest, "check_consistency reports a version of an unregistered plugin",
                 "[registry][consistency]") {
  auto registry = open();
  // The raw connection has foreign keys off, as a careless manual edit would.
  RawDb(file).exec(
      "INSERT INTO versions (plugin, sha256, path, plugin_version, abi_major, abi_minor, "
      "toolchain, state, created_at_ms, updated_at_ms) "
      "VALUES ('ghost', 'aaa', '/g.so', '1', 1, 0, 'gcc', 'candidate', 0, 0)");
  moss::Status status = registry->check_consistency();
  CHECK(status.code() == Code::failed_precondition);
  CHECK_THAT(status.message(), Contains("belongs to plugin 'ghost', which is not registered"));
}

namespace {

moss::NewEvaluation evaluation_of(std::int64_t version_id, double score) {
  moss::NewEvaluation e;
  e.plugin = "text";
  e.version_id = version_id;
  e.actor = "evolution";
  e.purpose = "candidate";
  e.outcome = "ok";
  e.score = score;
  e.passed = 9;
  e.total = 10;
  e.verdict = "NOMINAL";
  e.report_json = R"({"cases":[]})";
  return e;
}

}  // namespace

TEST_CASE_METHOD(RegistryTest,
                 "a promotion writes its evaluation and ratchet state in the same transaction",
                 "[registry][ratchet]") {
  auto registry = open();
  std::int64_t id = add_evaluated(*registry, "text", "aaaa");
  moss::Attachments attachments;
  attachments.ratchet_state_json = R"({"ratchet_point":0.9})";
  attachments.evaluation = evaluation_of(id, 0.9);
  REQUIRE(
      registry->activate(id, "ratchet", "NOMINAL", "{}", VersionState::retired, attachments).ok());

  auto state = registry->ratchet_state("text");
  REQUIRE(state.ok());
  CHECK(state.value() == R"({"ratchet_point":0.9})");
  auto evaluations = registry->evaluations("text", 10);
  REQUIRE(evaluations.ok());
  REQUIRE(evaluations->size() == 1);
  CHECK(evaluations->front().score == 0.9);
  CHECK(evaluations->front().verdict == "NOMINAL");
  CHECK(evaluations->front().version_id == id);
}

TEST_CASE_METHOD(RegistryTest, "a refused state change writes none of its attachments",
                 "[registry][ratchet]") {
  auto registry = open();
  std::int64_t id = add_candidate(*registry, "text", "aaaa");
  moss::Attachments attachments;
  attachments.ratchet_state_json = R"({"ratchet_point":0.9})";
  attachments.evaluation = evaluation_of(id, 0.9);
  // candidate -> probation skips evaluating: refused by the lifecycle.
  auto refused =
      registry->transition(id, VersionState::probation, "ratchet", "skip", "{}", {}, attachments);
  REQUIRE_FALSE(refused.ok());
  CHECK(registry->ratchet_state("text").value() == std::nullopt);
  CHECK(registry->evaluations("text", 10)->empty());
}

TEST_CASE_METHOD(RegistryTest, "an evaluation that changes no state is recorded on its own",
                 "[registry][ratchet]") {
  auto registry = open();
  std::int64_t id = add_candidate(*registry, "text", "aaaa");
  auto recorded = registry->record_evaluation(evaluation_of(id, 0.5), R"({"point":0.5})");
  REQUIRE(recorded.ok());
  CHECK(recorded.value() > 0);
  CHECK(registry->evaluations("text", 10, id)->size() == 1);
  CHECK(registry->evaluations("text", 10, id + 1)->empty());
  CHECK(registry->ratchet_state("text").value() == R"({"point":0.5})");
}

TEST_CASE_METHOD(RegistryTest, "an evaluation with a score outside [0,1] is refused",
                 "[registry][ratchet]") {
  auto registry = open();
  std::int64_t id = add_candidate(*registry, "text", "aaaa");
  auto recorded = registry->record_evaluation(evaluation_of(id, 1.5));
  REQUIRE_FALSE(recorded.ok());
  CHECK(recorded.status().code() == Code::invalid_argument);
}

TEST_CASE_METHOD(RegistryTest, "saving a ratchet state records an event", "[registry][ratchet]") {
  auto registry = open();
  add_candidate(*registry, "text", "aaaa");
  REQUIRE(registry->save_ratchet_state("text", R"({"state":"NOMINAL"})", "cli", "reset").ok());
  auto events = registry->events(std::string("text"), 1);
  REQUIRE(events.ok());
  CHECK(events->front().type == "ratchet_state_changed");
  CHECK(events->front().reason == "reset");
  CHECK_FALSE(registry->save_ratchet_state("text", "not json", "cli", "reset").ok());
}

TEST_CASE_METHOD(RegistryTest, "every state change event names the version's sha256 and ABI",
                 "[registry]") {
  auto registry = open();
  std::int64_t id = add_candidate(*registry, "text", "abcd");
  REQUIRE(registry->transition(id, VersionState::evaluating, "evolution", "go", R"({"score":1})")
              .ok());
  auto event = registry->events(std::string("text"), 1).value().front();
  auto data = nlohmann::json::parse(event.data_json);
  CHECK(data["sha256"] == "abcd");
  CHECK(data["abi"] == "1.2");
  CHECK(data["score"] == 1);
}

TEST_CASE_METHOD(RegistryTest,
                 "last_retired is the version retired last, even within one millisecond",
                 "[registry]") {
  auto registry = open();  // the clock stands still: every change has the same time
  std::int64_t first = add_active(*registry, "text", "a1");
  std::int64_t second = add_evaluated(*registry, "text", "b2");
  REQUIRE(registry->activate(second, "cli", "promote").ok());
  std::int64_t third = add_evaluated(*registry, "text", "c3");
  REQUIRE(registry->activate(third, "cli", "promote").ok());
  auto last = registry->last_retired("text");
  REQUIRE(last.ok());
  REQUIRE(last.value().has_value());
  CHECK(last.value()->id == second);  // retired after `first`, at the same millisecond
  REQUIRE(registry->activate(second, "cli", "rollback", "{}", VersionState::rolled_back).ok());
  CHECK(registry->last_retired("text").value()->id == first);
}
