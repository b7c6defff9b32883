// Direct SQLite access for tests that must go around the code under test: reading pragmas,
// editing rows by hand, and comparing whole tables before and after a failed write.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace moss::test {

class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& file, int flags = SQLITE_OPEN_READWRITE) {
    if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) fail("open");
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
  }

  // The first column of the first row, as text ("" if there is no row).
  std::string text(const std::string& sql) {
    std::string result;
    for_each_row(sql, [&](sqlite3_stmt* row) {
      if (result.empty()) result = column(row, 0);
    });
    return result;
  }

  std::int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }

  // Every row of `table` in rowid order: one line per row, columns separated by '|'.
  std::string dump(const std::string& table) {
    std::string out;
    for_each_row("SELECT * FROM " + table + " ORDER BY rowid", [&](sqlite3_stmt* row) {
      for (int i = 0; i < sqlite3_column_count(row); ++i)
        out += column(row, i) + "|";
      out += "\n";
    });
    return out;
  }

 private:
  template <class F>
  void for_each_row(const std::string& sql, F&& on_row) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) fail(sql);
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW)
      on_row(statement);
    sqlite3_finalize(statement);
    if (rc != SQLITE_DONE) fail(sql);
  }

  static std::string column(sqlite3_stmt* row, int i) {
    const unsigned char* text = sqlite3_column_text(row, i);
    return text == nullptr ? "NULL" : reinterpret_cast<const char*>(text);
  }

  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + sqlite3_errmsg(db_));
  }

  sqlite3* db_ = nullptr;
};

// Every row the registry holds, for "nothing changed" checks. Read-only, so it cannot
// disturb the state it looks at.
inline std::string dump_registry(const std::filesystem::path& file) {
  RawDb db(file, SQLITE_OPEN_READONLY);
  return db.dump("plugins") + db.dump("versions") + db.dump("events") +
         "user_version=" + db.text("PRAGMA user_version");
}

}  // namespace moss::test
