// The SQLite RAII layer: opening and configuring connections, and turning SQLite result codes
// into Status values an operator can act on.
#include "registry/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

namespace moss {

Database::Database(std::filesystem::path file, sqlite3* handle, int busy_timeout_ms)
    : file_(std::move(file)), handle_(handle), busy_timeout_ms_(busy_timeout_ms) {}

Database::~Database() {
  sqlite3_close_v2(handle_);
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& file,
                                                 const DatabaseOptions& options) {
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &handle, flags, nullptr);
  // SQLite allocates a handle even when opening fails; the Database owns it either way so the
  // error can quote it and it is closed.
  std::unique_ptr<Database> database(new Database(file, handle, options.busy_timeout_ms));
  if (rc != SQLITE_OK) return database->error(rc);
  Status configured = database->configure(options);
  if (!configured.ok()) return configured;
  return database;
}

Status Database::configure(const DatabaseOptions& options) {
  // A write-protected file opens read-only without an error; say so now rather than at the
  // first write.
  if (!options.read_only && sqlite3_db_readonly(handle_, "main") == 1) {
    return Status(Code::failed_precondition,
                  file_.string() + ": read-only: the file cannot be opened for writing");
  }
  sqlite3_busy_timeout(handle_, busy_timeout_ms_);
  Status status = execute_script("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
  if (status.ok() && options.max_page_count > 0) {
    status = execute_script("PRAGMA max_page_count = " + std::to_string(options.max_page_count));
  }
  if (!status.ok() || options.read_only) return status;

  // The first statement that reads the file: a file that is not a database fails here.
  auto journal = prepare("PRAGMA journal_mode = WAL");
  if (!journal.ok()) return journal.status();
  auto row = journal->step();
  if (!row.ok()) return row.status();
  std::string mode = journal->column_text(0);
  if (mode != "wal") {
    return Status(Code::failed_precondition,
                  file_.string() + ": cannot switch to WAL journal mode (still '" + mode + "')");
  }
  return Status();
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* handle = nullptr;
  int rc = sqlite3_prepare_v2(handle_, sql.data(), static_cast<int>(sql.size()), &handle, nullptr);
  if (rc != SQLITE_OK) return error(rc, sql);
  return Statement(this, handle);
}

Status Database::execute_script(const std::string& sql) {
  int rc = sqlite3_exec(handle_, sql.c_str(), nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status() : error(rc, sql);
}

std::int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(handle_);
}

bool Database::in_transaction() const {
  return sqlite3_get_autocommit(handle_) == 0;
}

Status Database::error(int rc, std::string_view sql) const {
  std::string sqlite_message = handle_ != nullptr ? sqlite3_errmsg(handle_) : sqlite3_errstr(rc);
  auto translated = [&](Code code, const std::string& text) {
    return Status(code, file_.string() + ": " + text + " (SQLite: " + sqlite_message + ")");
  };
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return translated(Code::unavailable, "database is locked by another process (waited " +
                                               std::to_string(busy_timeout_ms_) + " ms)");
    case SQLITE_READONLY: return translated(Code::failed_precondition, "read-only");
    case SQLITE_FULL: return translated(Code::resource_exhausted, "disk or database full");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return translated(Code::failed_precondition, "not a moss registry or corrupt");
    case SQLITE_CANTOPEN:
    case SQLITE_PERM: return translated(Code::failed_precondition, "cannot open the database file");
    default: break;
  }
  std::string message = file_.string() + ": SQLite: " + sqlite_message;
  if (!sql.empty()) message += " (in: " + std::string(sql) + ")";
  return Status(Code::internal, message);
}

Statement::~Statement() {
  sqlite3_finalize(handle_);
}

Statement::Statement(Statement&& other) noexcept
    : database_(std::exchange(other.database_, nullptr)),
      handle_(std::exchange(other.handle_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(handle_);
    database_ = std::exchange(other.database_, nullptr);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

Status Statement::check_bind(int rc) {
  return rc == SQLITE_OK ? Status() : database_->error(rc, sqlite3_sql(handle_));
}

Status Statement::bind_int64(int index, std::int64_t value) {
  return check_bind(sqlite3_bind_int64(handle_, index, value));
}

Status Statement::bind_double(int index, double value) {
  return check_bind(sqlite3_bind_double(handle_, index, value));
}

Status Statement::bind_text(int index, std::string_view value) {
  return check_bind(sqlite3_bind_text64(handle_, index, value.data(), value.size(),
                                        SQLITE_TRANSIENT, SQLITE_UTF8));
}

Status Statement::bind_null(int index) {
  return check_bind(sqlite3_bind_null(handle_, index));
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(handle_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return database_->error(rc, sqlite3_sql(handle_));
}

Status Statement::execute() {
  for (;;) {
    auto row = step();
    if (!row.ok()) return row.status();
    if (!row.value()) return Status();
  }
}

void Statement::reset() {
  sqlite3_reset(handle_);
  sqlite3_clear_bindings(handle_);
}

std::int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(handle_, column);
}

double Statement::column_double(int column) const {
  return sqlite3_column_double(handle_, column);
}

std::string Statement::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(handle_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(handle_, column)));
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(handle_, column) == SQLITE_NULL;
}

Transaction::~Transaction() {
  rollback();
}

Transaction::Transaction(Transaction&& other) noexcept
    : database_(std::exchange(other.database_, nullptr)) {}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    rollback();
    database_ = std::exchange(other.database_, nullptr);
  }
  return *this;
}

Result<Transaction> Transaction::begin(Database& database) {
  Status begun = database.execute_script("BEGIN IMMEDIATE");
  if (!begun.ok()) return begun;
  return Transaction(&database);
}

Status Transaction::commit() {
  if (database_ == nullptr) {
    return Status(Code::failed_precondition, "commit of a transaction that is not open");
  }
  // A failed COMMIT leaves the transaction open; the destructor rolls it back.
  Status committed = database_->execute_script("COMMIT");
  if (committed.ok()) database_ = nullptr;
  return committed;
}

void Transaction::rollback() {
  if (database_ == nullptr) return;
  // Some errors (SQLITE_FULL among them) may already have rolled the transaction back.
  if (database_->in_transaction()) database_->execute_script("ROLLBACK");
  database_ = nullptr;
}

}  // namespace moss
