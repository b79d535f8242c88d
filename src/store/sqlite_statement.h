// SqliteStatement: a prepared SQLite statement that finalises itself, with typed binds and
// column reads (templates as little-endian float32 BLOBs). Shared by every SQLite user here.
// Thread-safety: as the connection it was prepared on (one thread at a time).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <sqlite3.h>

namespace glassbox {

// Templates are stored as the host's float32 bytes; the documented format is little-endian.
static_assert(std::endian::native == std::endian::little, "template BLOBs are little-endian float32");

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  SqliteStatement(sqlite3* db, const std::string& sql) : SqliteStatement(db, sql.c_str()) {}
  ~SqliteStatement() { sqlite3_finalize(stmt_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  void bind(int i, const std::string& v) { sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind_real(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void bind_bytes(int i, const std::vector<unsigned char>& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind_floats(int i, const std::vector<float>& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size() * sizeof(float)), SQLITE_TRANSIENT);
  }
  int step() { return sqlite3_step(stmt_); }
  // Ready to run again with new bindings (the old ones are replaced as they are bound).
  void reset() { sqlite3_reset(stmt_); }
  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::vector<unsigned char> bytes(int col) const {
    const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::vector<unsigned char>(p, p + sqlite3_column_bytes(stmt_, col)) : std::vector<unsigned char>();
  }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  std::vector<float> floats(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int bytes = sqlite3_column_bytes(stmt_, col);
    std::vector<float> v(static_cast<std::size_t>(bytes) / sizeof(float));
    if (p != nullptr && !v.empty()) std::memcpy(v.data(), p, v.size() * sizeof(float));
    return v;
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

}  // namespace glassbox
