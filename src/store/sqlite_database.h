// SqliteDatabase: one SQLite file holding Glassbox's state — the watchlist, and the alerts of
// the live service — with its schema versioned by PRAGMA user_version and brought up to date by
// append-only migrations (docs/database-schema.md). Read-only handles never migrate: they
// refuse a file of another version, and cannot write.
// It is the SQLite side of the Database interface (store/database.h); its own migrations and the
// evaluation's template cache use handle() and SqliteStatement directly.
// Thread-safety: one instance per thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "store/database.h"

struct sqlite3;

namespace glassbox {

enum class OpenMode { kReadWriteCreate, kReadOnly };

// A failed sync (fsync) of the database or its WAL leaves the commit under way neither surely on
// the disk nor surely not: its frames are written, so a restart's recovery may find them in the
// page cache, or the kernel may have dropped them. Such an action must not be answered "refused"
// (the fault sweep in tests/fault_test.cc shows it reappear after a kill), and the process must
// not go on over a disk that lost writes. So the process stops, as PostgreSQL does on a failed
// fsync (data_sync_retry = off), and recovery at the next start decides from what the disk holds:
// the request gets no answer, which is the truth — its outcome was unknown.
// The default handler writes the error to standard error and exits with kStorageFaultExit
// (74, EX_IOERR) at once, running no destructors (a clean close would checkpoint over the fault).
// Tests install their own; when it returns, the error is returned as any other.
inline constexpr int kStorageFaultExit = 74;
using FailedSyncHandler = void (*)(const std::string& message);
void set_failed_sync_handler(FailedSyncHandler handler);

class SqliteDatabase final : public Database {
 public:
  static constexpr int kSchemaVersion = 17;

  static Result<std::unique_ptr<SqliteDatabase>> open(const std::string& path, OpenMode mode);
  // A read-write handle on a file brought up to `version` (1..kSchemaVersion) and no further,
  // with the same migrations: how the schema-history fixtures (tests/fixtures/schema/) are made
  // as the binaries of each earlier version made them. A newer file is refused as by open().
  static Result<std::unique_ptr<SqliteDatabase>> open_at_version(const std::string& path, int version);
  ~SqliteDatabase() override;
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  sqlite3* handle() const { return db_; }
  // How long a statement waits for another connection's write lock (5 s unless set).
  void set_busy_timeout(std::chrono::milliseconds timeout);
  const std::string& path() const { return path_; }
  Status exec(const char* sql);
  // Best effort: a failed ROLLBACK leaves SQLite to roll back when the connection closes.
  void rollback();
  // Runs `body` between BEGIN IMMEDIATE and COMMIT; rolls back when it or the commit fails.
  Status transaction(const std::function<Status()>& body) override;
  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string describe() const override { return path_; }
  const std::string& key_base() const override { return path_; }
  std::unique_ptr<Statement> prepare(std::string_view sql) override;
  Status execute(std::string_view sql) override { return exec(std::string(sql).c_str()); }
  // An error naming the file, what was being done and SQLite's reason. After a failed sync it
  // calls the failed-sync handler first (above).
  Error error(const std::string& what) const;

 private:
  SqliteDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  static Result<std::unique_ptr<SqliteDatabase>> open(const std::string& path, OpenMode mode, int target_version);
  Status migrate(int target_version);

  sqlite3* db_;
  std::string path_;
};

}  // namespace glassbox
