#include "store/database_location.h"

#include <cctype>
#include <filesystem>

#include "audit/audit_log.h"
#include "store/postgres_database.h"
#include "store/postgres_schema.h"
#include "store/sqlite_database.h"

namespace glassbox {
namespace {

// libpq's key=value form: it starts with a keyword and '='.
bool keyword_form(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  const std::size_t start = i;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  return i > start && i < text.size() && text[i] == '=';
}

}  // namespace

bool is_postgres_connection(const std::string& text) {
  return text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0 || keyword_form(text);
}

Result<DatabaseLocation> database_location(const std::string& data_dir, const std::string& database) {
  DatabaseLocation location;
  const std::filesystem::path dir(data_dir);
  if (database.empty()) {
    location.sqlite_path = (dir / "glassbox.db").string();
    location.key_base = location.sqlite_path;
    return location;
  }
  if (!is_postgres_connection(database))
    return Error{"database: must be a PostgreSQL connection string (postgresql://… or 'host=… dbname=…'); "
                 "without one the database is the SQLite file in the data folder"};
  location.postgres = database;
  location.key_base = (dir / "cluster-node").string();
  return location;
}

Result<std::unique_ptr<Database>> connect(const DatabaseLocation& location, ConnectMode mode) {
  if (!location.is_postgres()) {
    auto db = SqliteDatabase::open(location.sqlite_path, mode == ConnectMode::kReadOnly ? OpenMode::kReadOnly : OpenMode::kReadWriteCreate);
    if (!db) return db.error();
    return std::unique_ptr<Database>(std::move(*db));
  }
  auto db = mode == ConnectMode::kMigrate ? open_postgres(location.postgres, location.key_base)
                                          : PostgresDatabase::connect(location.postgres, location.key_base);
  if (!db) return db.error();
  // Per statement, not per session: through a transaction pool a session setting would stay on
  // a server connection that other clients get next.
  if (mode == ConnectMode::kReadOnly) (*db)->set_read_only();
  (void)audit::raise_clock_floor(**db);  // as SqliteDatabase::open does
  return std::unique_ptr<Database>(std::move(*db));
}

}  // namespace glassbox
