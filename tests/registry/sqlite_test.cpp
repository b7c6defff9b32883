// The SQLite RAII layer on real files: binding and reading values, transactions that roll
// back unless committed, and errors that name the file.
#include <catch2/catch.hpp>

#include <fstream>

#include "raw_sqlite.hpp"
#include "registry/sqlite.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::Code;
using moss::Database;
using moss::Transaction;

namespace {

std::unique_ptr<Database> open_with_table(const std::filesystem::path& file) {
  auto database = Database::open(file);
  REQUIRE(database.ok());
  REQUIRE(database.value()->execute_script("CREATE TABLE t (i INTEGER, d REAL, s TEXT)").ok());
  return std::move(database.value());
}

}  // namespace

TEST_CASE("a statement binds and reads back integers, doubles, text and NULL", "[sqlite]") {
  moss::test::TempDir dir;
  auto database = open_with_table(dir / "t.db");
  REQUIRE(database
              ->execute("INSERT INTO t VALUES (?1, ?2, ?3)", std::int64_t{1} << 40, 2.5,
                        std::string("text with ' quote"))
              .ok());
  REQUIRE(database
              ->execute("INSERT INTO t VALUES (?1, ?2, ?3)", 7, std::nullopt,
                        std::optional<std::string>())
              .ok());

  auto statement = database->prepare("SELECT i, d, s FROM t WHERE i = ?1");
  REQUIRE(statement.ok());
  REQUIRE(statement->bind_int64(1, std::int64_t{1} << 40).ok());
  REQUIRE(statement->step().value());
  CHECK(statement->column_int64(0) == std::int64_t{1} << 40);
  CHECK(statement->column_double(1) == 2.5);
  CHECK(statement->column_text(2) == "text with ' quote");
  CHECK_FALSE(statement->step().value());

  statement->reset();
  REQUIRE(statement->bind_int64(1, 7).ok());
  REQUIRE(statement->step().value());
  CHECK(statement->column_is_null(1));
  CHECK(statement->column_is_null(2));
  CHECK(statement->column_text(2).empty());
}

TEST_CASE("a transaction that is not committed rolls back", "[sqlite]") {
  moss::test::TempDir dir;
  auto database = open_with_table(dir / "t.db");
  {
    auto transaction = Transaction::begin(*database);
    REQUIRE(transaction.ok());
    REQUIRE(database->execute("INSERT INTO t (i) VALUES (1)").ok());
  }
  CHECK_FALSE(database->in_transaction());
  moss::test::RawDb raw(dir / "t.db");
  CHECK(raw.integer("SELECT count(*) FROM t") == 0);
}

TEST_CASE("a committed transaction keeps its writes", "[sqlite]") {
  moss::test::TempDir dir;
  auto database = open_with_table(dir / "t.db");
  auto transaction = Transaction::begin(*database);
  REQUIRE(transaction.ok());
  REQUIRE(database->execute("INSERT INTO t (i) VALUES (1)").ok());
  REQUIRE(transaction->commit().ok());
  moss::test::RawDb raw(dir / "t.db");
  CHECK(raw.integer("SELECT count(*) FROM t") == 1);
}

TEST_CASE("a read-write database runs in WAL mode with foreign keys on", "[sqlite]") {
  moss::test::TempDir dir;
  auto database = open_with_table(dir / "t.db");
  auto pragmas = database->prepare("SELECT * FROM pragma_journal_mode, pragma_foreign_keys");
  REQUIRE(pragmas.ok());
  REQUIRE(pragmas->step().value());
  CHECK(pragmas->column_text(0) == "wal");
  CHECK(pragmas->column_int64(1) == 1);
}

TEST_CASE("an SQL error names the file, SQLite's message and the statement", "[sqlite]") {
  moss::test::TempDir dir;
  auto database = open_with_table(dir / "t.db");
  moss::Status status = database->execute("INSERT INTO missing VALUES (1)");
  CHECK(status.code() == Code::internal);
  CHECK_THAT(status.message(), Contains((dir / "t.db").string()));
  CHECK_THAT(status.message(), Contains("no such table: missing"));
  CHECK_THAT(status.message(), Contains("INSERT INTO missing"));
}

TEST_CASE("a file that is not a database fails to open as not a moss registry or corrupt",
          "[sqlite]") {
  moss::test::TempDir dir;
  std::ofstream(dir / "junk.db") << std::string(8192, 'x');
  auto database = Database::open(dir / "junk.db");
  REQUIRE_FALSE(database.ok());
  CHECK(database.status().code() == Code::failed_precondition);
  CHECK_THAT(database.status().message(), Contains("not a moss registry or corrupt"));
  CHECK_THAT(database.status().message(), Contains("junk.db"));
}
