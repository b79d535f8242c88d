#include "store/sqlite_store.h"

#include <array>

#include "store/sqlite_statement.h"

namespace glassbox {
namespace {


// Migration N (1-based) moves the schema from version N-1 to N. Append only; never edit one
// that has shipped.
constexpr std::array<const char*, 1> kMigrations = {
    R"sql(
CREATE TABLE watchlist_entries (
  id            INTEGER PRIMARY KEY,
  subject       TEXT    NOT NULL,
  legal_basis   TEXT    NOT NULL,
  photo_source  TEXT    NOT NULL,
  submitted_by  TEXT    NOT NULL,
  submitted_at  INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
  approved_by   TEXT,
  approved_at   INTEGER,
  CHECK (approved_by IS NULL OR approved_by <> submitted_by),
  CHECK (status <> 'active' OR (approved_by IS NOT NULL AND approved_at IS NOT NULL))
);
CREATE TABLE entry_templates (
  id            INTEGER PRIMARY KEY,
  entry_id      INTEGER NOT NULL REFERENCES watchlist_entries(id) ON DELETE CASCADE,
  profile       TEXT    NOT NULL,
  dimension     INTEGER NOT NULL CHECK (dimension > 0),
  vector        BLOB    NOT NULL CHECK (length(vector) = 4 * dimension),
  photo_name    TEXT    NOT NULL,
  photo_sha256  TEXT    NOT NULL
);
CREATE INDEX entry_templates_by_profile ON entry_templates(profile, entry_id);
)sql",
};

using Statement = SqliteStatement;

EntryStatus parse_status(const std::string& s) {
  if (s == "active") return EntryStatus::kActive;
  if (s == "revoked") return EntryStatus::kRevoked;
  return EntryStatus::kPending;
}

constexpr const char* kEntryColumns =
    "SELECT e.id, e.subject, e.legal_basis, e.photo_source, e.submitted_by, e.submitted_at, e.expires_at, e.status, "
    "e.approved_by, e.approved_at, (SELECT count(*) FROM entry_templates t WHERE t.entry_id = e.id) "
    "FROM watchlist_entries e ";

EntryRecord read_entry(const Statement& s) {
  EntryRecord r;
  r.id = s.int64(0);
  r.subject = s.text(1);
  r.legal_basis = s.text(2);
  r.photo_source = s.text(3);
  r.submitted_by = s.text(4);
  r.submitted_at = s.int64(5);
  r.expires_at = s.int64(6);
  r.status = parse_status(s.text(7));
  if (!s.is_null(8)) r.approved_by = s.text(8);
  if (!s.is_null(9)) r.approved_at = s.int64(9);
  r.template_count = static_cast<int>(s.int64(10));
  return r;
}

}  // namespace

const char* entry_status_name(EntryStatus status) {
  switch (status) {
    case EntryStatus::kActive: return "active";
    case EntryStatus::kRevoked: return "revoked";
    case EntryStatus::kPending: break;
  }
  return "pending";
}

Result<std::unique_ptr<SqliteWatchlistStore>> SqliteWatchlistStore::open(const std::string& path, OpenMode mode) {
  if (path.empty()) return Error{"no database file given"};
  const int flags = mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    if (mode == OpenMode::kReadOnly) return Error{path + ": cannot open the watchlist database (" + message + "); enrol entries first"};
    return Error{path + ": cannot open or create the watchlist database (" + message + ")"};
  }
  std::unique_ptr<SqliteWatchlistStore> store(new SqliteWatchlistStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  if (auto s = store->exec("PRAGMA foreign_keys = ON"); !s) return s.error();
  if (mode == OpenMode::kReadWriteCreate) {
    if (auto s = store->migrate(); !s) return s.error();
  } else {
    Statement version(db, "PRAGMA user_version");
    if (!version.prepared() || version.step() != SQLITE_ROW) return store->sqlite_error("not a Glassbox database");
    const auto v = version.int64(0);
    if (v == 0) return Error{path + ": not a Glassbox watchlist database (no schema); enrol entries first"};
    if (v > kSchemaVersion)
      return Error{path + ": database schema version " + std::to_string(v) + " is newer than this binary (" +
                   std::to_string(kSchemaVersion) + ")"};
    if (v < kSchemaVersion)
      return Error{path + ": database schema version " + std::to_string(v) + " is older; run `glassbox enroll` or `approve` once to migrate it"};
  }
  return store;
}

SqliteWatchlistStore::~SqliteWatchlistStore() { sqlite3_close(db_); }

Error SqliteWatchlistStore::sqlite_error(const std::string& what) const {
  return Error{path_ + ": " + what + " (" + sqlite3_errmsg(db_) + ")"};
}

Status SqliteWatchlistStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return Error{path_ + ": " + text};
  }
  return ok_status();
}

// Best effort: a failed ROLLBACK leaves SQLite to roll back when the connection closes.
void SqliteWatchlistStore::rollback() { (void)exec("ROLLBACK"); }

Status SqliteWatchlistStore::migrate() {
  if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
  Statement version(db_, "PRAGMA user_version");
  if (!version.prepared() || version.step() != SQLITE_ROW) {
    rollback();
    return sqlite_error("cannot read the schema version (is this an SQLite file?)");
  }
  const auto current = version.int64(0);
  if (current > kSchemaVersion) {
    rollback();
    return Error{path_ + ": database schema version " + std::to_string(current) + " is newer than this binary (" +
                 std::to_string(kSchemaVersion) + ")"};
  }
  for (auto v = current; v < kSchemaVersion; ++v) {
    if (auto s = exec(kMigrations[static_cast<std::size_t>(v)]); !s) {
      rollback();
      return s.error().within("migration to schema version " + std::to_string(v + 1));
    }
  }
  const std::string set_version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  if (auto s = exec(set_version.c_str()); !s) {
    rollback();
    return s;
  }
  return exec("COMMIT");
}

Result<std::int64_t> SqliteWatchlistStore::add_pending_entry(const NewEntry& entry,
                                                             const std::vector<EntryTemplate>& templates,
                                                             UnixSeconds now) {
  if (templates.empty()) return Error{"an entry needs at least one template"};
  if (auto s = exec("BEGIN IMMEDIATE"); !s) return s.error();
  auto abort_with = [&](Error e) {
    rollback();
    return e;
  };
  Statement insert(db_,
                   "INSERT INTO watchlist_entries (subject, legal_basis, photo_source, submitted_by, submitted_at, "
                   "expires_at, status) VALUES (?, ?, ?, ?, ?, ?, 'pending')");
  if (!insert.prepared()) return abort_with(sqlite_error("cannot prepare entry insert"));
  insert.bind(1, entry.subject);
  insert.bind(2, entry.legal_basis);
  insert.bind(3, entry.photo_source);
  insert.bind(4, entry.submitted_by);
  insert.bind(5, now);
  insert.bind(6, entry.expires_at);
  if (insert.step() != SQLITE_DONE) return abort_with(sqlite_error("cannot store the entry"));
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  for (const EntryTemplate& t : templates) {
    Statement ins(db_,
                  "INSERT INTO entry_templates (entry_id, profile, dimension, vector, photo_name, photo_sha256) "
                  "VALUES (?, ?, ?, ?, ?, ?)");
    if (!ins.prepared()) return abort_with(sqlite_error("cannot prepare template insert"));
    ins.bind(1, id);
    ins.bind(2, t.profile);
    ins.bind(3, static_cast<std::int64_t>(t.vector.size()));
    ins.bind_floats(4, t.vector);
    ins.bind(5, t.photo_name);
    ins.bind(6, t.photo_sha256);
    if (ins.step() != SQLITE_DONE) return abort_with(sqlite_error("cannot store a template"));
  }
  if (auto s = exec("COMMIT"); !s) return abort_with(s.error());
  return id;
}

Status SqliteWatchlistStore::approve_entry(std::int64_t entry_id, const std::string& approver, UnixSeconds now) {
  if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
  auto refuse = [&](Error e) {
    rollback();
    return Status(std::move(e));
  };
  Statement find(db_, "SELECT status, submitted_by, expires_at FROM watchlist_entries WHERE id = ?");
  if (!find.prepared()) return refuse(sqlite_error("cannot prepare entry lookup"));
  find.bind(1, entry_id);
  if (find.step() != SQLITE_ROW) return refuse(Error{"entry " + std::to_string(entry_id) + " does not exist"});
  const std::string status = find.text(0);
  const std::string submitter = find.text(1);
  const UnixSeconds expires_at = find.int64(2);
  if (status != "pending")
    return refuse(Error{"entry " + std::to_string(entry_id) + " is " + status + ", only a pending entry can be approved"});
  if (approver == submitter)
    return refuse(Error{"entry " + std::to_string(entry_id) + " was submitted by '" + submitter +
                        "': an entry must be approved by someone other than its submitter"});
  if (now >= expires_at)
    return refuse(Error{"entry " + std::to_string(entry_id) + " expired on " + format_date_utc(expires_at) +
                        " and can no longer be approved"});
  Statement update(db_, "UPDATE watchlist_entries SET status = 'active', approved_by = ?, approved_at = ? WHERE id = ? AND status = 'pending'");
  if (!update.prepared()) return refuse(sqlite_error("cannot prepare approval"));
  update.bind(1, approver);
  update.bind(2, now);
  update.bind(3, entry_id);
  if (update.step() != SQLITE_DONE) return refuse(sqlite_error("cannot approve the entry"));
  return exec("COMMIT");
}

Result<std::optional<EntryRecord>> SqliteWatchlistStore::get_entry(std::int64_t entry_id) {
  const std::string sql = std::string(kEntryColumns) + "WHERE e.id = ?";
  Statement s(db_, sql.c_str());
  if (!s.prepared()) return sqlite_error("cannot prepare entry lookup");
  s.bind(1, entry_id);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<EntryRecord>{};
  if (rc != SQLITE_ROW) return sqlite_error("cannot read entry");
  return std::optional<EntryRecord>{read_entry(s)};
}

Result<std::vector<EntryRecord>> SqliteWatchlistStore::list_entries() {
  const std::string sql = std::string(kEntryColumns) + "ORDER BY e.id";
  Statement s(db_, sql.c_str());
  if (!s.prepared()) return sqlite_error("cannot prepare entry listing");
  std::vector<EntryRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_entry(s));
  if (rc != SQLITE_DONE) return sqlite_error("cannot list entries");
  return out;
}

Result<std::vector<WatchlistTemplate>> SqliteWatchlistStore::active_templates(const std::string& profile, UnixSeconds now) {
  Statement s(db_,
              "SELECT e.id, e.subject, t.vector FROM entry_templates t JOIN watchlist_entries e ON e.id = t.entry_id "
              "WHERE e.status = 'active' AND e.expires_at > ? AND t.profile = ? ORDER BY e.id, t.id");
  if (!s.prepared()) return sqlite_error("cannot prepare watchlist query");
  s.bind(1, now);
  s.bind(2, profile);
  std::vector<WatchlistTemplate> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(WatchlistTemplate{s.int64(0), s.text(1), s.floats(2)});
  if (rc != SQLITE_DONE) return sqlite_error("cannot load the watchlist");
  return out;
}

Result<std::vector<std::int64_t>> SqliteWatchlistStore::active_entries_without(const std::string& profile, UnixSeconds now) {
  Statement s(db_,
              "SELECT e.id FROM watchlist_entries e WHERE e.status = 'active' AND e.expires_at > ? AND NOT EXISTS "
              "(SELECT 1 FROM entry_templates t WHERE t.entry_id = e.id AND t.profile = ?) ORDER BY e.id");
  if (!s.prepared()) return sqlite_error("cannot prepare watchlist query");
  s.bind(1, now);
  s.bind(2, profile);
  std::vector<std::int64_t> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.int64(0));
  if (rc != SQLITE_DONE) return sqlite_error("cannot load the watchlist");
  return out;
}

}  // namespace glassbox
