#include "eval/template_cache.h"

#include <cstring>

#include <sqlite3.h>

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
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT choice, vector FROM templates WHERE photo_sha256 = ? AND profile = ? AND method = ?", -1, &s, nullptr) != SQLITE_OK)
    return std::nullopt;
  sqlite3_bind_text(s, 1, photo_sha256.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, profile.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, kMethod, -1, SQLITE_STATIC);
  std::optional<CachedTemplate> out;
  if (sqlite3_step(s) == SQLITE_ROW) {
    CachedTemplate t;
    t.choice = static_cast<FaceChoice>(sqlite3_column_int(s, 0));
    const int bytes = sqlite3_column_bytes(s, 1);
    t.vector.resize(static_cast<std::size_t>(bytes) / sizeof(float));
    if (!t.vector.empty()) std::memcpy(t.vector.data(), sqlite3_column_blob(s, 1), t.vector.size() * sizeof(float));
    out = std::move(t);
  }
  sqlite3_finalize(s);
  return out;
}

Status TemplateCache::put(const std::string& photo_sha256, const std::string& profile, const CachedTemplate& value) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO templates VALUES (?, ?, ?, ?, ?)", -1, &s, nullptr) != SQLITE_OK)
    return Error{std::string("template cache: ") + sqlite3_errmsg(db_)};
  sqlite3_bind_text(s, 1, photo_sha256.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, profile.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, kMethod, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 4, static_cast<int>(value.choice));
  sqlite3_bind_blob(s, 5, value.vector.data(), static_cast<int>(value.vector.size() * sizeof(float)), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return Error{std::string("template cache: ") + sqlite3_errmsg(db_)};
  return ok_status();
}

}  // namespace glassbox::eval
