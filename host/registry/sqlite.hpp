// A small RAII layer over the SQLite C API: connection, prepared statement, write transaction.
// Every error is a Status naming the database file and SQLite's own message.
#pragma once

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace moss {

class Statement;

struct DatabaseOptions {
  // Opens with SQLITE_OPEN_READONLY: every write fails with a read-only error. The file must
  // exist. The journal mode is left as it is.
  bool read_only = false;
  // How long a statement waits for another connection's lock before failing as locked.
  int busy_timeout_ms = 5000;
  // Caps the file at this many pages (PRAGMA max_page_count); 0 keeps SQLite's limit.
  std::int64_t max_page_count = 0;
};

// One connection. Read-write connections run in WAL mode with foreign keys on and
// synchronous=NORMAL (durable at checkpoints, never corrupt on power loss in WAL mode).
// Not thread-safe: the owner serialises calls. Outlives every Statement it prepared.
class Database {
 public:
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Opens (read-write: creates) `file`.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& file,
                                                const DatabaseOptions& options = {});

  Result<Statement> prepare(std::string_view sql);
  // Runs one or more statements that take no parameters; rows they return are ignored.
  Status execute_script(const std::string& sql);
  // Runs one statement with `args` bound to ?1, ?2, ... (see Statement::bind_all).
  template <class... Args>
  Status execute(std::string_view sql, const Args&... args);

  std::int64_t last_insert_rowid() const;
  bool in_transaction() const;
  const std::filesystem::path& file() const { return file_; }
  int busy_timeout_ms() const { return busy_timeout_ms_; }

  // The Status for SQLite result code `rc`, which the last call on this connection returned.
  // Names the file, translates the cases an operator can act on (locked, read-only, full,
  // corrupt) and keeps SQLite's own message; `sql` is appended for the other cases, which
  // are bugs.
  Status error(int rc, std::string_view sql = {}) const;

 private:
  Database(std::filesystem::path file, sqlite3* handle, int busy_timeout_ms);
  Status configure(const DatabaseOptions& options);

  std::filesystem::path file_;
  sqlite3* handle_ = nullptr;
  int busy_timeout_ms_ = 0;
};

// A prepared statement. Parameters are numbered from 1, columns from 0.
class Statement {
 public:
  Statement() = default;  // holds nothing; only for Result<Statement>
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Status bind_int64(int index, std::int64_t value);
  Status bind_double(int index, double value);
  Status bind_text(int index, std::string_view value);  // copied by SQLite
  Status bind_null(int index);
  // Binds `args` to parameters 1..N by type: integers (and bool), double, text, std::nullopt,
  // or std::optional of those (empty binds NULL). Stops at the first error.
  template <class... Args>
  Status bind_all(const Args&... args);

  // Advances to the next row: true if there is one, false when the statement is done.
  Result<bool> step();
  // Steps until the statement is done, ignoring any rows.
  Status execute();
  // Makes the statement runnable again and clears its bindings.
  void reset();

  // A NULL column reads as 0, 0.0 or "".
  std::int64_t column_int64(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;
  bool column_is_null(int column) const;

 private:
  friend class Database;
  Statement(Database* database, sqlite3_stmt* handle) : database_(database), handle_(handle) {}
  Status check_bind(int rc);

  template <std::integral T>
  Status bind_one(int index, T value) {
    return bind_int64(index, static_cast<std::int64_t>(value));
  }
  Status bind_one(int index, double value) { return bind_double(index, value); }
  Status bind_one(int index, std::string_view value) { return bind_text(index, value); }
  Status bind_one(int index, std::nullopt_t) { return bind_null(index); }
  template <class T>
  Status bind_one(int index, const std::optional<T>& value) {
    return value ? bind_one(index, *value) : bind_null(index);
  }

  Database* database_ = nullptr;
  sqlite3_stmt* handle_ = nullptr;
};

// A write transaction (BEGIN IMMEDIATE, so the write lock is taken up front and a busy
// database fails here rather than halfway through). Rolls back on destruction unless
// committed.
class Transaction {
 public:
  Transaction() = default;  // holds nothing; only for Result<Transaction>
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  static Result<Transaction> begin(Database& database);
  Status commit();

 private:
  explicit Transaction(Database* database) : database_(database) {}
  void rollback();

  Database* database_ = nullptr;  // null once committed or rolled back
};

template <class... Args>
Status Statement::bind_all(const Args&... args) {
  Status status;
  int index = 0;
  // Left-to-right fold; later parameters are skipped once one fails.
  ((status = status.ok() ? bind_one(++index, args) : status), ...);
  return status;
}

template <class... Args>
Status Database::execute(std::string_view sql, const Args&... args) {
  auto statement = prepare(sql);
  if (!statement.ok()) return statement.status();
  Status bound = statement->bind_all(args...);
  if (!bound.ok()) return bound;
  return statement->execute();
}

}  // namespace moss
