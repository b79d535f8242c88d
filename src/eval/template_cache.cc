#include "eval/template_cache.h"

#include "store/sqlite_statement.h"

namespace glassbox::eval {

Result<std::unique_ptr<TemplateCache>> TemplateCache::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Error{path + ": cannot open the template cache (" + message + ")"};
  }
  sqlite3_busy_timeout(db, 30000);
  const char* schema =
      "PRAGMA journal_mode = WAL;"
      "CREATE TABLE IF NOT EXISTS templates (photo_sha256 TEXT NOT NULL, profile TEXT NOT NULL, method TEXT NOT NULL, "
      "choice INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (photo_sha256, profile, method));";
  char* message = nullptr;
  if (sqlite3_exec(db, schema, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    sqlite3_close(db);
    return Error{path + ": cannot prepare the template cache (" + text + ")"};
  }
  return std::unique_ptr<TemplateCache>(new TemplateCache(db));
}

TemplateCache::~TemplateCache() { sqlite3_close(db_); }

std::optional<CachedTemplate> TemplateCache::get(const std::string& photo_sha256, const std::string& profile) {
  SqliteStatement s(db_, "SELECT choice, vector FROM templates WHERE photo_sha256 = ? AND profile = ? AND method = ?");
  if (!s.prepared()) return std::nullopt;
  s.bind(1, photo_sha256);
  s.bind(2, profile);
  s.bind(3, std::string(kMethod));
  if (s.step() != SQLITE_ROW) return std::nullopt;
  return CachedTemplate{static_cast<FaceChoice>(s.int64(0)), s.floats(1)};
}

Status TemplateCache::put(const std::string& photo_sha256, const std::string& profile, const CachedTemplate& value) {
  SqliteStatement s(db_, "INSERT OR REPLACE INTO templates VALUES (?, ?, ?, ?, ?)");
  if (!s.prepared()) return Error{std::string("template cache: ") + sqlite3_errmsg(db_)};
  s.bind(1, photo_sha256);
  s.bind(2, profile);
  s.bind(3, std::string(kMethod));
  s.bind(4, static_cast<std::int64_t>(value.choice));
  s.bind_floats(5, value.vector);
  if (s.step() != SQLITE_DONE) return Error{std::string("template cache: ") + sqlite3_errmsg(db_)};
  return ok_status();
}

}  // namespace glassbox::eval
