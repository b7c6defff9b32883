// The registry's evolution records on real SQLite files: failures and their occurrences,
// failure patterns, evolution attempts from start to outcome (and abandonment after a
// crash), the day's spend, the source commit of each version, and the migration to them.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "registry/registry.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::AttemptRow;
using moss::NewFailure;
using moss::NewVersion;
using moss::PatternRow;
using moss::Registry;
using moss::VersionState;

namespace {

struct Fixture {
  moss::test::TempDir dir;
  std::int64_t now_ms = 1'700'000'000'000;
  std::unique_ptr<Registry> registry;
  std::int64_t active = 0;

  Fixture() {
    moss::OpenOptions options;
    options.now_ms = [this] { return now_ms; };
    auto opened = Registry::open(dir / "registry.db", options);
    REQUIRE(opened.ok());
    registry = std::move(opened.value());
    REQUIRE(registry->upsert_plugin("slug", 1, "/src/slug.so", "startup").ok());
    active = add_version("aa");
    REQUIRE(registry->activate(active, "startup", "first").ok());
  }

  std::int64_t add_version(const std::string& sha, std::int64_t parent = 0) {
    NewVersion v{sha, "/v/" + sha + ".so", "1.0.0", 1, 0, "tc", parent};
    auto row = registry->register_version("slug", v, VersionState::candidate, "evolution", "t");
    REQUIRE(row.ok());
    return row->id;
  }

  NewFailure failure(const std::string& task, const std::string& error) const {
    NewFailure f;
    f.plugin = "slug";
    f.version_id = active;
    f.source = moss::failure_sources::eval_case;
    f.task_id = task;
    f.error = error;
    f.trace_json = R"([{"module":"slug","action":"eval_case","detail":"d","ok":false}])";
    f.score = 0.5;
    return f;
  }

  std::vector<std::string> event_types() {
    std::vector<std::string> types;
    auto events = registry->events("slug", 1000);
    REQUIRE(events.ok());
    for (const auto& e : events.value())
      types.push_back(e.type);
    return types;
  }
};

}  // namespace

TEST_CASE("the same failed task on the same version counts occurrences, not rows",
          "[registry][evolution]") {
  Fixture f;
  auto first = f.registry->record_failure(f.failure("eval:a", "old error"));
  REQUIRE(first.ok());
  f.now_ms += 1000;
  auto again = f.registry->record_failure(f.failure("eval:a", "new error"));
  REQUIRE(again.ok());
  CHECK(again.value() == first.value());
  REQUIRE(f.registry->record_failure(f.failure("eval:b", "other")).ok());

  auto rows = f.registry->failures("slug", 10, f.active);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  const auto& a = rows->at(1);  // newest first
  CHECK(a.task_id == "eval:a");
  CHECK(a.occurrences == 2);
  CHECK(a.error == "new error");
  CHECK(a.last_seen_ms - a.first_seen_ms == 1000);
  // Another version's failures are its own.
  CHECK(f.registry->failures("slug", 10, f.active + 100)->empty());
}

TEST_CASE("a failure is refused without a plugin, a source, a task or a JSON array trace",
          "[registry][evolution]") {
  Fixture f;
  auto no_task = f.failure("", "e");
  CHECK(f.registry->record_failure(no_task).status().code() == moss::Code::invalid_argument);
  auto bad_trace = f.failure("eval:a", "e");
  bad_trace.trace_json = "{}";
  CHECK_THAT(f.registry->record_failure(bad_trace).status().message(), Contains("JSON array"));
  auto unknown = f.failure("eval:a", "e");
  unknown.plugin = "nope";
  CHECK(f.registry->record_failure(unknown).status().code() == moss::Code::not_found);
  CHECK(f.registry->failures("slug", 10)->empty());
}

TEST_CASE(
    "patterns with the same id merge: occurrence counts add up and the failure is "
    "marked analysed",
    "[registry][evolution]") {
  Fixture f;
  auto id = f.registry->record_failure(f.failure("eval:a", "e"));
  REQUIRE(id.ok());
  PatternRow p{"slug", "p1", "desc", "cause", "slug", 1, f.now_ms};
  REQUIRE(f.registry->record_pattern(p, id.value()).ok());
  p.root_cause = "better cause";
  p.last_occurrence_ms = f.now_ms + 5;
  auto merged = f.registry->record_pattern(p, 0);
  REQUIRE(merged.ok());
  CHECK(merged->occurrence_count == 2);
  CHECK(merged->root_cause == "better cause");
  CHECK(merged->last_occurrence_ms == f.now_ms + 5);
  CHECK(f.registry->failures("slug", 1)->front().pattern_id == "p1");
  CHECK(f.registry->patterns("slug")->size() == 1);
}

TEST_CASE("an attempt is recorded from its start, its stages saved, and its end is an event",
          "[registry][evolution]") {
  Fixture f;
  auto started = f.registry->start_attempt("slug", f.active, "evolution");
  REQUIRE(started.ok());
  AttemptRow a = started.value();
  CHECK(a.stage == "analyze");
  a.stage = "build";
  a.patch_id = "abc";
  a.commit = "0123";
  a.prompt_tokens = 100;
  a.completion_tokens = 20;
  a.cost_usd = 0.25;
  REQUIRE(f.registry->update_attempt(a).ok());
  CHECK(f.registry->attempt(a.id)->stage == "build");
  f.now_ms += 2000;
  auto finished = f.registry->finish_attempt(a, "build_failed", "exit code 1");
  REQUIRE(finished.ok());
  auto row = f.registry->attempt(a.id);
  REQUIRE(row.ok());
  CHECK(row->outcome == "build_failed");
  CHECK(row->stage == "finished");
  CHECK(row->finished_at_ms - row->started_at_ms == 2000);
  CHECK(f.event_types().front() == "evolution_finished");

  auto spend = f.registry->evolution_spend("slug", f.now_ms - 10'000);
  REQUIRE(spend.ok());
  CHECK(spend->attempts == 1);
  CHECK(spend->tokens == 120);
  CHECK(spend->cost_usd == Approx(0.25));
  CHECK(f.registry->evolution_spend("slug", f.now_ms + 1)->attempts == 0);
  CHECK(f.registry->attempt(999).status().code() == moss::Code::not_found);
}

TEST_CASE(
    "attempts a stopped host left running are abandoned, and their unevaluated "
    "candidates rejected",
    "[registry][evolution]") {
  Fixture f;
  AttemptRow a = f.registry->start_attempt("slug", f.active, "evolution").value();
  a.stage = "evaluate";
  a.version_id = f.add_version("bb", f.active);
  REQUIRE(f.registry->update_attempt(a).ok());
  AttemptRow done = f.registry->start_attempt("slug", f.active, "evolution").value();
  REQUIRE(f.registry->finish_attempt(done, "llm_failed", "x").ok());

  auto abandoned = f.registry->abandon_unfinished_attempts("startup");
  REQUIRE(abandoned.ok());
  REQUIRE(abandoned->size() == 1);
  auto row = f.registry->attempt(a.id);
  CHECK(row->outcome == "abandoned");
  CHECK_THAT(row->reason, Contains("stage 'evaluate'"));
  CHECK(f.registry->version(a.version_id)->state == VersionState::rejected);
  CHECK(f.registry->attempt(done.id)->outcome == "llm_failed");  // untouched
  CHECK(f.registry->abandon_unfinished_attempts("startup")->empty());
  CHECK(f.registry->check_consistency().ok());
}

TEST_CASE("a version's source commit is kept", "[registry][evolution]") {
  Fixture f;
  CHECK(f.registry->version_commit(f.active).value().empty());
  REQUIRE(f.registry->set_version_commit(f.active, "c0ffee").ok());
  CHECK(f.registry->version_commit(f.active).value() == "c0ffee");
}

TEST_CASE("a registry from before the evolution records migrates and keeps its rows",
          "[registry][evolution][migration]") {
  moss::test::TempDir dir;
  const auto file = dir / "registry.db";
  auto all = moss::schema_migrations();
  REQUIRE(all.size() >= 3);
  {
    auto old = Registry::open_with_migrations_for_testing(file, {}, all.first(2));
    REQUIRE(old.ok());
    REQUIRE(old.value()->upsert_plugin("slug", 1, "/s.so", "startup").ok());
  }
  auto opened = Registry::open(file);
  REQUIRE(opened.ok());
  CHECK(opened.value()->plugin("slug").ok());
  CHECK(opened.value()->failures("slug", 10)->empty());
  CHECK(opened.value()->start_attempt("slug", 0, "evolution").ok());
}
