#include "store/sqlite_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/owner_file.h"
#include "store/sqlite_statement.h"

namespace glassbox {
namespace {

// Closes a connection when the scope ends.
struct Connection {
  sqlite3* db = nullptr;
  ~Connection() { sqlite3_close(db); }
  std::string error() const { return db ? sqlite3_errmsg(db) : "out of memory"; }
};

std::int64_t count_rows(sqlite3* db, const char* sql) {
  SqliteStatement s(db, sql);
  return s.prepared() && s.step() == SQLITE_ROW ? s.int64(0) : -1;
}

}  // namespace

Result<BackupSummary> backup_sqlite_database(const std::string& source, const std::string& destination) {
  namespace fs = std::filesystem;
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) return Error{source + ": no database to back up"};
  if (fs::exists(destination, ec)) return Error{destination + ": already exists; a backup never overwrites a file"};
  const std::string partial = destination + ".partial";
  fs::remove(partial, ec);  // a partial copy of an earlier, interrupted backup
  {
    const int fd = ::open(partial.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return Error{partial + ": cannot create the backup file"};
    ::close(fd);
  }
  auto fail = [&](const std::string& message) -> Error {
    std::error_code ignored;
    fs::remove(partial, ignored);
    fs::remove(partial + "-journal", ignored);
    return Error{message};
  };

  BackupSummary summary;
  {
    Connection from, to;
    if (sqlite3_open_v2(source.c_str(), &from.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
      return fail(source + ": cannot open (" + from.error() + ")");
    sqlite3_busy_timeout(from.db, 5000);
    summary.schema_version = count_rows(from.db, "PRAGMA user_version");
    if (summary.schema_version <= 0) return fail(source + ": not a Glassbox database (no schema version)");
    if (sqlite3_open_v2(partial.c_str(), &to.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
      return fail(partial + ": cannot open (" + to.error() + ")");
    sqlite3_backup* backup = sqlite3_backup_init(to.db, "main", from.db, "main");
    if (backup == nullptr) return fail(partial + ": cannot start the backup (" + to.error() + ")");
    // Every page in one step: one read transaction on the source, so the copy is the database
    // as of one commit. A writer holding the lock at that instant makes the step busy: try again.
    int rc = SQLITE_OK;
    for (int attempt = 0; attempt < 100; ++attempt) {
      rc = sqlite3_backup_step(backup, -1);
      if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) return fail(source + ": the backup did not complete (" + std::string(sqlite3_errstr(rc)) + ")");
    // One self-contained file: the copy leaves WAL mode, so nothing it holds is in a -wal beside it.
    if (sqlite3_exec(to.db, "PRAGMA journal_mode = DELETE", nullptr, nullptr, nullptr) != SQLITE_OK)
      return fail(partial + ": cannot finish the copy (" + to.error() + ")");
    SqliteStatement check(to.db, "PRAGMA integrity_check");
    const std::string verdict = check.prepared() && check.step() == SQLITE_ROW ? check.text(0) : std::string("cannot be checked");
    if (verdict != "ok") return fail(partial + ": the copy fails SQLite's integrity check (" + verdict + "); nothing was kept");
    summary.entries = count_rows(to.db, "SELECT count(*) FROM watchlist_entries");
    summary.alerts = count_rows(to.db, "SELECT count(*) FROM alerts");
    summary.audit_records = count_rows(to.db, "SELECT count(*) FROM audit_records");
  }
  if (auto s = sync_to_disk(partial); !s) return fail(s.error().message);
  fs::rename(partial, destination, ec);
  if (ec) return fail(destination + ": cannot put the backup in place (" + ec.message() + ")");
  const fs::path folder = fs::absolute(destination).parent_path();
  if (auto s = sync_to_disk(folder, true); !s) return s.error();
  summary.bytes = static_cast<std::int64_t>(fs::file_size(destination, ec));
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace glassbox
