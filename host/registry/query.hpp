// Helpers the registry's translation units share: row queries over a Database, and the
// conversions its columns need. Internal to host/registry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/sqlite.hpp"
#include "util/status.hpp"

namespace moss::registry_detail {

inline Status check_actor(const std::string& actor) {
  if (!actor.empty()) return Status();
  return Status(Code::invalid_argument,
                "an event needs an actor (cli, evolution, ratchet, startup, watch, ...)");
}

// Paths may hold bytes that are not UTF-8; they are replaced rather than thrown about.
inline std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::optional<std::int64_t> id_or_null(std::int64_t id) {
  return id == 0 ? std::nullopt : std::optional<std::int64_t>(id);
}

inline std::optional<std::string_view> text_or_null(std::string_view text) {
  return text.empty() ? std::nullopt : std::optional<std::string_view>(text);
}

// Runs a query with `args` bound and converts each row with `read` (a Result<Row>(Statement)).
template <class Row, class Read, class... Args>
Result<std::vector<Row>> select_rows(Database& database, std::string_view sql, Read read,
                                     const Args&... args) {
  auto statement = database.prepare(sql);
  if (!statement.ok()) return statement.status();
  Status bound = statement->bind_all(args...);
  if (!bound.ok()) return bound;
  std::vector<Row> rows;
  for (;;) {
    auto has_row = statement->step();
    if (!has_row.ok()) return has_row.status();
    if (!has_row.value()) return rows;
    auto row = read(statement.value());
    if (!row.ok()) return row.status();
    rows.push_back(std::move(row.value()));
  }
}

template <class Row, class Read, class... Args>
Result<std::optional<Row>> select_one(Database& database, std::string_view sql, Read read,
                                      const Args&... args) {
  auto rows = select_rows<Row>(database, sql, read, args...);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows->front()));
}

inline Result<std::int64_t> select_int(Database& database, std::string_view sql) {
  auto value = select_one<std::int64_t>(database, sql, [](const Statement& row) {
    return Result<std::int64_t>(row.column_int64(0));
  });
  if (!value.ok()) return value.status();
  return value->value_or(0);
}

}  // namespace moss::registry_detail
