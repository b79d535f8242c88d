#include "store/sqlite_database.h"

#include <sys/stat.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "audit/audit_log.h"
#include "store/sqlite_statement.h"
#include "store/template_key.h"

namespace glassbox {
namespace {

// Migration N (1-based) moves the schema from version N-1 to N. Append only; never edit one
// that has shipped.
constexpr std::array<const char*, 17> kMigrations = {
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
    // 2: alerts raised by the live service, their review, and the face crop kept as evidence.
    R"sql(
CREATE TABLE alerts (
  id              INTEGER PRIMARY KEY,
  entry_id        INTEGER NOT NULL REFERENCES watchlist_entries(id),
  camera          TEXT    NOT NULL,
  profile         TEXT    NOT NULL,
  score           REAL    NOT NULL,
  threshold       REAL    NOT NULL,
  stream_time_s   REAL    NOT NULL,
  frame_index     INTEGER NOT NULL,
  track           INTEGER NOT NULL,
  box_x           INTEGER NOT NULL,
  box_y           INTEGER NOT NULL,
  box_w           INTEGER NOT NULL,
  box_h           INTEGER NOT NULL,
  raised_at       INTEGER NOT NULL,
  status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
  decided_by      TEXT,
  decided_at      INTEGER,
  dismiss_reason  TEXT,
  CHECK (status = 'open' OR (decided_by IS NOT NULL AND decided_at IS NOT NULL)),
  CHECK (status <> 'dismissed' OR length(trim(coalesce(dismiss_reason, ''))) > 0)
);
CREATE INDEX alerts_by_status ON alerts(status, raised_at);
CREATE TABLE alert_evidence (
  alert_id        INTEGER PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,
  face_jpeg       BLOB    NOT NULL,
  purge_after     INTEGER NOT NULL
);
CREATE INDEX alert_evidence_by_purge ON alert_evidence(purge_after);
)sql",
    // 3: revocation of entries (who, when, why), and cameras managed through the API.
    R"sql(
ALTER TABLE watchlist_entries ADD COLUMN revoked_by TEXT;
ALTER TABLE watchlist_entries ADD COLUMN revoked_at INTEGER;
ALTER TABLE watchlist_entries ADD COLUMN revoke_reason TEXT;
CREATE TRIGGER watchlist_entries_revocation_complete
BEFORE UPDATE OF status ON watchlist_entries
WHEN NEW.status = 'revoked' AND (NEW.revoked_by IS NULL OR NEW.revoked_at IS NULL
                                 OR length(trim(coalesce(NEW.revoke_reason, ''))) = 0)
BEGIN
  SELECT RAISE(ABORT, 'a revocation names who revoked the entry, when, and why');
END;
CREATE TRIGGER watchlist_entries_revocation_final
BEFORE UPDATE ON watchlist_entries
WHEN OLD.status = 'revoked'
BEGIN
  SELECT RAISE(ABORT, 'a revoked entry cannot change');
END;
CREATE TABLE cameras (
  name            TEXT    PRIMARY KEY,
  url             TEXT    NOT NULL,
  rate_fps        REAL    NOT NULL CHECK (rate_fps > 0),
  min_face_px     INTEGER NOT NULL CHECK (min_face_px > 0),
  enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  loop            INTEGER NOT NULL CHECK (loop IN (0, 1)),
  stall_timeout_s REAL    NOT NULL CHECK (stall_timeout_s > 0),
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
)sql",
    // 4: the audit log (docs/audit-log.md): append-only records with their signed tree heads.
    R"sql(
CREATE TABLE audit_records (
  seq        INTEGER PRIMARY KEY CHECK (seq >= 0),
  record     TEXT    NOT NULL,
  leaf_hash  BLOB    NOT NULL CHECK (length(leaf_hash) = 32),
  root       BLOB    NOT NULL CHECK (length(root) = 32),
  signature  BLOB    NOT NULL CHECK (length(signature) = 64),
  frontier   BLOB    NOT NULL
);
CREATE TABLE audit_checkpoints (
  size       INTEGER PRIMARY KEY,
  root       BLOB    NOT NULL,
  time       TEXT    NOT NULL,
  signature  BLOB    NOT NULL
);
CREATE TRIGGER audit_records_append_only_u BEFORE UPDATE ON audit_records BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_records_append_only_d BEFORE DELETE ON audit_records BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
    // 5: templates encrypted at rest. The new table is filled from the old one by
    // seal_plaintext_templates() (code: it needs the key, which is not in the database), then
    // kMigration5Finish replaces the old table.
    R"sql(
CREATE TABLE entry_templates_sealed (
  id            INTEGER PRIMARY KEY,
  entry_id      INTEGER NOT NULL REFERENCES watchlist_entries(id) ON DELETE CASCADE,
  profile       TEXT    NOT NULL,
  dimension     INTEGER NOT NULL CHECK (dimension > 0),
  key_id        TEXT    NOT NULL,
  sealed        BLOB    NOT NULL CHECK (length(sealed) = 40 + 4 * dimension),
  photo_name    TEXT    NOT NULL,
  photo_sha256  TEXT    NOT NULL
);
)sql",
    // 6: what the live service analysed, per UTC day and camera, for transparency statistics
    // (counts only: nothing about any face).
    R"sql(
CREATE TABLE analysis_stats (
  day             TEXT    NOT NULL,             -- YYYY-MM-DD, UTC
  camera          TEXT    NOT NULL,
  frames_analysed INTEGER NOT NULL DEFAULT 0 CHECK (frames_analysed >= 0),
  faces_detected  INTEGER NOT NULL DEFAULT 0 CHECK (faces_detected >= 0),
  faces_embedded  INTEGER NOT NULL DEFAULT 0 CHECK (faces_embedded >= 0),
  PRIMARY KEY (day, camera)
);
)sql",
    // 7: accounts, browser sessions and API tokens (docs/accounts.md).
    R"sql(
CREATE TABLE users (
  name           TEXT    PRIMARY KEY,
  password_hash  TEXT    NOT NULL,
  roles          TEXT    NOT NULL CHECK (length(roles) > 0),
  created_at     INTEGER NOT NULL,
  created_by     TEXT    NOT NULL,
  failed_logins  INTEGER NOT NULL DEFAULT 0,
  locked_until   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
  token_hash     BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
  user           TEXT    NOT NULL REFERENCES users(name),
  csrf_token     TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  last_seen      INTEGER NOT NULL
);
CREATE TABLE api_tokens (
  id             INTEGER PRIMARY KEY,
  token_hash     BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  user           TEXT    NOT NULL REFERENCES users(name),
  label          TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  revoked_at     INTEGER
);
)sql",
    // 8: an entry's scope: the cameras it may match on (a JSON array of names; [] = all).
    R"sql(
ALTER TABLE watchlist_entries ADD COLUMN scope TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scope) AND json_type(scope) = 'array');
)sql",
    // 9: recorded segments of cameras, and case-scoped searches of recordings (docs/search.md).
    R"sql(
CREATE TABLE recording_segments (
  id        INTEGER PRIMARY KEY,
  camera    TEXT    NOT NULL,
  path      TEXT    NOT NULL UNIQUE,
  start_ms  INTEGER NOT NULL,
  end_ms    INTEGER,
  bytes     INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  CHECK (end_ms IS NULL OR end_ms >= start_ms)
);
CREATE INDEX recording_segments_by_camera ON recording_segments(camera, start_ms);
CREATE TABLE searches (
  id            INTEGER PRIMARY KEY,
  case_id       TEXT    NOT NULL CHECK (length(case_id) > 0),
  legal_basis   TEXT    NOT NULL CHECK (length(legal_basis) > 0),
  requested_by  TEXT    NOT NULL,
  requested_at  INTEGER NOT NULL,
  approved_by   TEXT,
  approved_at   INTEGER,
  cameras       TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(cameras) AND json_type(cameras) = 'array'),
  files         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(files) AND json_type(files) = 'array'),
  window_from   INTEGER,
  window_to     INTEGER,
  mode          TEXT    NOT NULL,
  profile       TEXT    NOT NULL,
  threshold     REAL    NOT NULL,
  expires_at    INTEGER NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'running', 'done', 'cancelled', 'failed')),
  finished_at   INTEGER,
  expired       INTEGER NOT NULL DEFAULT 0 CHECK (expired IN (0, 1)),
  stats         TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(stats)),
  errors        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(errors)),
  CHECK (approved_by IS NULL OR approved_by <> requested_by),
  CHECK (status IN ('pending', 'cancelled') OR (approved_by IS NOT NULL AND approved_at IS NOT NULL))
);
CREATE TRIGGER searches_approval_is_final BEFORE UPDATE OF approved_by ON searches
  WHEN OLD.approved_by IS NOT NULL AND NEW.approved_by IS NOT OLD.approved_by
  BEGIN SELECT RAISE(ABORT, 'a search approval cannot be changed'); END;
CREATE TABLE search_probes (
  search_id     INTEGER NOT NULL REFERENCES searches(id) ON DELETE CASCADE,
  key_id        TEXT    NOT NULL,
  sealed        BLOB    NOT NULL,
  photo_name    TEXT    NOT NULL,
  photo_sha256  TEXT    NOT NULL
);
CREATE TABLE search_visits (
  search_id     INTEGER NOT NULL REFERENCES searches(id) ON DELETE CASCADE,
  ordinal       INTEGER NOT NULL CHECK (ordinal > 0),
  source        TEXT    NOT NULL,
  camera        TEXT,
  start_s       REAL    NOT NULL,
  end_s         REAL    NOT NULL CHECK (end_s >= start_s),
  start_ms      INTEGER,
  end_ms        INTEGER,
  best_score    REAL    NOT NULL,
  best_at_s     REAL    NOT NULL,
  hits          INTEGER NOT NULL CHECK (hits > 0),
  crop          BLOB,
  PRIMARY KEY (search_id, ordinal)
);
CREATE TABLE uploads (
  id            INTEGER PRIMARY KEY,
  name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  path          TEXT    NOT NULL UNIQUE,
  bytes         INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  sha256        TEXT,
  uploaded_by   TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  expires_at    INTEGER NOT NULL,
  CHECK ((sha256 IS NULL) = (finished_at IS NULL))
);
ALTER TABLE cameras ADD COLUMN record INTEGER NOT NULL DEFAULT 0 CHECK (record IN (0, 1));
ALTER TABLE cameras ADD COLUMN record_retention_days REAL NOT NULL DEFAULT 7 CHECK (record_retention_days > 0);
)sql",
    // 10: credentials with a life cycle and accounts opened by two admins (docs/accounts.md);
    // ids of uploads and alerts never handed out twice. Runs with foreign keys off (see
    // migrate()): alerts and uploads are rebuilt as SQLite's guide to altering tables says.
    R"sql(
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('pending', 'approved', 'active', 'disabled'));
ALTER TABLE users ADD COLUMN approved_by TEXT;
ALTER TABLE users ADD COLUMN approved_at INTEGER;
ALTER TABLE users ADD COLUMN activation_maker_hash BLOB;
ALTER TABLE users ADD COLUMN activation_checker_hash BLOB;
ALTER TABLE users ADD COLUMN activation_expires_at INTEGER;
ALTER TABLE users ADD COLUMN disabled_by TEXT;
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
ALTER TABLE users ADD COLUMN disable_reason TEXT;
ALTER TABLE users ADD COLUMN password_changed_at INTEGER;
ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN locked_until;
CREATE UNIQUE INDEX users_by_folded_name ON users(lower(name));
CREATE TRIGGER users_approved_by_another_admin
BEFORE UPDATE OF status ON users
WHEN OLD.status = 'pending' AND NEW.status <> 'disabled'
     AND (NEW.approved_by IS NULL OR NEW.approved_at IS NULL OR NEW.approved_by = OLD.created_by OR NEW.approved_by = OLD.name)
BEGIN SELECT RAISE(ABORT, 'an account is approved by an admin other than the one who asked for it'); END;
CREATE TRIGGER users_disabled_for_good
BEFORE UPDATE ON users
WHEN OLD.status = 'disabled'
BEGIN SELECT RAISE(ABORT, 'a disabled account cannot change'); END;
CREATE TRIGGER users_never_deleted
BEFORE DELETE ON users
BEGIN SELECT RAISE(ABORT, 'accounts are disabled, never deleted'); END;
ALTER TABLE sessions ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN revoked_by TEXT;
UPDATE api_tokens SET expires_at = created_at + 90 * 86400;
CREATE TABLE alerts_v10 (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  entry_id        INTEGER NOT NULL REFERENCES watchlist_entries(id),
  camera          TEXT    NOT NULL,
  profile         TEXT    NOT NULL,
  score           REAL    NOT NULL,
  threshold       REAL    NOT NULL,
  stream_time_s   REAL    NOT NULL,
  frame_index     INTEGER NOT NULL,
  track           INTEGER NOT NULL,
  box_x           INTEGER NOT NULL,
  box_y           INTEGER NOT NULL,
  box_w           INTEGER NOT NULL,
  box_h           INTEGER NOT NULL,
  raised_at       INTEGER NOT NULL,
  status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
  decided_by      TEXT,
  decided_at      INTEGER,
  dismiss_reason  TEXT,
  CHECK (status = 'open' OR (decided_by IS NOT NULL AND decided_at IS NOT NULL)),
  CHECK (status <> 'dismissed' OR length(trim(coalesce(dismiss_reason, ''))) > 0)
);
INSERT INTO alerts_v10 SELECT id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h,
                              raised_at, status, decided_by, decided_at, dismiss_reason FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_v10 RENAME TO alerts;
CREATE INDEX alerts_by_status ON alerts(status, raised_at);
CREATE TABLE uploads_v10 (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  path          TEXT    NOT NULL UNIQUE,
  bytes         INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  sha256        TEXT,
  uploaded_by   TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  expires_at    INTEGER NOT NULL,
  CHECK ((sha256 IS NULL) = (finished_at IS NULL))
);
INSERT INTO uploads_v10 SELECT id, name, path, bytes, sha256, uploaded_by, created_at, finished_at, expires_at FROM uploads;
DROP TABLE uploads;
ALTER TABLE uploads_v10 RENAME TO uploads;
)sql",
    // 11: entries' reference photos, sealed, for the people who review alerts and approve entries;
    // when an entry's templates and photos were deleted after it ended (docs/database-schema.md).
    R"sql(
CREATE TABLE entry_photos (
  id            INTEGER PRIMARY KEY,
  entry_id      INTEGER NOT NULL REFERENCES watchlist_entries(id) ON DELETE CASCADE,
  position      INTEGER NOT NULL CHECK (position >= 1),
  photo_name    TEXT    NOT NULL,
  photo_sha256  TEXT    NOT NULL,
  key_id        TEXT    NOT NULL,
  sealed        BLOB    NOT NULL,
  UNIQUE (entry_id, position),
  UNIQUE (entry_id, photo_sha256)
);
-- A table of its own: a revoked entry's row never changes (watchlist_entries_revocation_final).
CREATE TABLE entry_biometrics_deleted (
  entry_id      INTEGER PRIMARY KEY REFERENCES watchlist_entries(id),
  deleted_at    INTEGER NOT NULL
);
)sql",
    // 12: a decided alert is final in the schema, not only in the store's UPDATE … WHERE status =
    // 'open' (PostgreSQL's version 4 has the same trigger; docs/database-schema.md).
    R"sql(
CREATE TRIGGER alerts_decision_final
BEFORE UPDATE ON alerts
WHEN OLD.status <> 'open'
BEGIN SELECT RAISE(ABORT, 'a decided alert cannot change'); END;
)sql",
    // 13: the alert feed — a gap-free position in commit order for resuming live streams, and the
    // deployment's name for delivery keys; sightings (one alert while a listed person stays in
    // view); the delivery outbox of webhooks and MQTT (PostgreSQL's version 8 is the same;
    // docs/database-schema.md). The decided-alert trigger is set aside while existing alerts
    // take their ids as positions.
    R"sql(
ALTER TABLE alerts ADD COLUMN feed_position INTEGER;
ALTER TABLE alerts ADD COLUMN captured_at_ms INTEGER;
DROP TRIGGER alerts_decision_final;
UPDATE alerts SET feed_position = id;
CREATE TRIGGER alerts_decision_final
BEFORE UPDATE ON alerts
WHEN OLD.status <> 'open'
BEGIN SELECT RAISE(ABORT, 'a decided alert cannot change'); END;
CREATE UNIQUE INDEX alerts_by_feed_position ON alerts(feed_position);
CREATE TABLE alert_feed (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  position    INTEGER NOT NULL CHECK (position >= 0),
  deployment  TEXT    NOT NULL CHECK (length(deployment) BETWEEN 1 AND 64)
);
INSERT INTO alert_feed (id, position, deployment) SELECT 1, coalesce(max(id), 0), lower(hex(randomblob(8))) FROM alerts;
CREATE TABLE alert_sightings (
  camera        TEXT    NOT NULL,
  entry_id      INTEGER NOT NULL REFERENCES watchlist_entries(id),
  alert_id      INTEGER NOT NULL,
  first_seen_at INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL CHECK (last_seen_at >= first_seen_at),
  repeats       INTEGER NOT NULL DEFAULT 0 CHECK (repeats >= 0),
  PRIMARY KEY (camera, entry_id)
);
CREATE TABLE alert_deliveries (
  alert_id       INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
  endpoint       TEXT    NOT NULL CHECK (length(endpoint) BETWEEN 1 AND 200),
  state          TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'given_up')),
  attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_at_ms     INTEGER NOT NULL,
  claimed_by     TEXT,
  claimed_until_ms INTEGER,
  finished_at    INTEGER,
  last_error     TEXT,
  PRIMARY KEY (alert_id, endpoint),
  CHECK ((state = 'pending') = (finished_at IS NULL))
);
CREATE INDEX alert_deliveries_due ON alert_deliveries(endpoint, state, next_at_ms);
)sql",
    // 14: a running search is claimed by the node that runs it, for a time it renews; another
    // node retakes it when the claim runs out (its runner died). A cancellation asked of a node
    // that does not run the search waits here for the runner (PostgreSQL's version 9).
    R"sql(
ALTER TABLE searches ADD COLUMN runner TEXT;
ALTER TABLE searches ADD COLUMN runner_until_ms INTEGER;
ALTER TABLE searches ADD COLUMN runs INTEGER NOT NULL DEFAULT 0 CHECK (runs >= 0);
ALTER TABLE searches ADD COLUMN cancel_requested_by TEXT;
)sql",
    // 15: a search's recordings as parts that a cluster's nodes claim one by one, each part's
    // hits kept until the search is finished; the node that recorded a segment (PostgreSQL's
    // version 10; docs/cluster.md, "Searches across nodes").
    R"sql(
ALTER TABLE recording_segments ADD COLUMN node TEXT;
CREATE TABLE search_parts (
  search_id       INTEGER NOT NULL REFERENCES searches(id),
  part            INTEGER NOT NULL CHECK (part >= 0),
  work            TEXT    NOT NULL CHECK (json_valid(work)),
  recorded_by     TEXT,
  state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done')),
  runner          TEXT,
  runner_until_ms INTEGER,
  runs            INTEGER NOT NULL DEFAULT 0 CHECK (runs >= 0),
  created_ms      INTEGER NOT NULL,
  error           TEXT,
  stats           TEXT,
  PRIMARY KEY (search_id, part),
  CHECK ((state = 'pending') = (runner IS NULL))
);
CREATE TABLE search_part_hits (
  search_id  INTEGER NOT NULL,
  part       INTEGER NOT NULL,
  seq        INTEGER NOT NULL CHECK (seq >= 0),
  t          REAL    NOT NULL,
  score      REAL,
  crop       BLOB,
  PRIMARY KEY (search_id, part, seq),
  FOREIGN KEY (search_id, part) REFERENCES search_parts(search_id, part) ON DELETE CASCADE
);
)sql",
    // 16: what an alert's score meant when it was raised: the FPIR the profile's calibration
    // predicted at that score, for a list of that many templates (PostgreSQL's version 11;
    // docs/calibration.md). Null for alerts of a profile without calibration, and older alerts.
    R"sql(
ALTER TABLE alerts ADD COLUMN estimated_fpir REAL CHECK (estimated_fpir IS NULL OR (estimated_fpir >= 0 AND estimated_fpir <= 1));
ALTER TABLE alerts ADD COLUMN list_templates INTEGER CHECK (list_templates IS NULL OR list_templates >= 0);
)sql",
    // 17: the quality of the view that matched (quality/face_quality.h; PostgreSQL's version 12).
    // Null for older alerts.
    R"sql(
ALTER TABLE alerts ADD COLUMN face_quality REAL CHECK (face_quality IS NULL OR (face_quality >= 0 AND face_quality <= 1));
ALTER TABLE alerts ADD COLUMN face_yaw_deg REAL;
ALTER TABLE alerts ADD COLUMN face_pitch_deg REAL;
ALTER TABLE alerts ADD COLUMN face_sharpness REAL CHECK (face_sharpness IS NULL OR face_sharpness >= 0);
ALTER TABLE alerts ADD COLUMN face_confidence REAL;
)sql",
};

constexpr const char* kMigration5Finish = R"sql(
DROP TABLE entry_templates;
ALTER TABLE entry_templates_sealed RENAME TO entry_templates;
CREATE INDEX entry_templates_by_profile ON entry_templates(profile, entry_id);
)sql";

// Migration 5's data step: every plaintext template sealed into the new table under the
// template key (created beside the database if there is none).
Status seal_plaintext_templates(SqliteDatabase& db) {
  SqliteStatement count(db.handle(), "SELECT count(*) FROM entry_templates");
  if (!count.prepared() || count.step() != SQLITE_ROW) return db.error("cannot count the templates to encrypt");
  if (count.int64(0) == 0) return ok_status();
  auto key = TemplateKey::load(db.path(), /*create_if_missing=*/true);
  if (!key) return key.error();
  SqliteStatement rows(db.handle(), "SELECT id, entry_id, profile, dimension, vector, photo_name, photo_sha256 FROM entry_templates");
  if (!rows.prepared()) return db.error("cannot read the templates to encrypt");
  while (rows.step() == SQLITE_ROW) {
    SqliteStatement insert(db.handle(),
                           "INSERT INTO entry_templates_sealed (id, entry_id, profile, dimension, key_id, sealed, photo_name, photo_sha256) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!insert.prepared()) return db.error("cannot prepare the sealed template insert");
    insert.bind(1, rows.int64(0));
    insert.bind(2, rows.int64(1));
    insert.bind(3, rows.text(2));
    insert.bind(4, rows.int64(3));
    insert.bind(5, key->id());
    insert.bind_bytes(6, key->seal(rows.floats(4), rows.int64(1), rows.text(2)));
    insert.bind(7, rows.text(5));
    insert.bind(8, rows.text(6));
    if (insert.step() != SQLITE_DONE) return db.error("cannot store a sealed template");
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::open(const std::string& path, OpenMode mode) {
  return open(path, mode, kSchemaVersion);
}

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::open_at_version(const std::string& path, int version) {
  if (version < 1 || version > kSchemaVersion)
    return Error{"schema version " + std::to_string(version) + " is not one of 1.." + std::to_string(kSchemaVersion)};
  return open(path, OpenMode::kReadWriteCreate, version);
}

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::open(const std::string& path, OpenMode mode, int target_version) {
  if (path.empty()) return Error{"no database file given"};
  const int flags = mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  std::error_code exists_ec;
  const bool new_file = mode != OpenMode::kReadOnly && !std::filesystem::exists(path, exists_ec);
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    if (mode == OpenMode::kReadOnly) return Error{path + ": cannot open the watchlist database (" + message + "); enrol entries first"};
    return Error{path + ": cannot open or create the watchlist database (" + message + ")"};
  }
  // Evidence crops, password hashes and camera credentials: owner-only whatever the umask
  // (SQLite gives its -wal and -shm files the database file's permissions).
  if (new_file) ::chmod(path.c_str(), 0600);
  std::unique_ptr<SqliteDatabase> store(new SqliteDatabase(db, path));
  sqlite3_busy_timeout(db, 5000);
  if (auto s = store->exec("PRAGMA foreign_keys = ON"); !s) return s.error();
  if (mode == OpenMode::kReadWriteCreate) {
    // WAL: readers (the API, `watch`) never wait for the writer, and a commit is one append.
    // The mode is stored in the file, so every later connection uses it too.
    if (auto s = store->exec("PRAGMA journal_mode = WAL"); !s) return s.error();
    // FULL: a commit's WAL frames are synced before it is acknowledged, so a power loss never
    // takes an acknowledged action (NORMAL would: tests/fault_test.cc shows it). Per connection;
    // set here rather than trusting the library's compiled-in default.
    if (auto s = store->exec("PRAGMA synchronous = FULL"); !s) return s.error();
    // Deleted content (purged evidence, replaced templates) is overwritten, not left in free pages.
    if (auto s = store->exec("PRAGMA secure_delete = ON"); !s) return s.error();
    if (auto s = store->migrate(target_version); !s) return s.error();
  } else {
    SqliteStatement version(db, "PRAGMA user_version");
    if (!version.prepared() || version.step() != SQLITE_ROW) return store->error("not a Glassbox database");
    const auto v = version.int64(0);
    if (v == 0) return Error{path + ": not a Glassbox watchlist database (no schema); enrol entries first"};
    if (v > kSchemaVersion)
      return Error{path + ": database schema version " + std::to_string(v) + " is newer than this binary (" +
                   std::to_string(kSchemaVersion) + ")"};
    if (v < kSchemaVersion)
      return Error{path + ": database schema version " + std::to_string(v) + " is older; run `glassbox enroll` or `approve` once to migrate it"};
  }
  // This process acts at no time before the deployment's newest audit record (a damaged one is
  // the verifier's to report, not the opener's).
  (void)audit::raise_clock_floor(*store);
  return store;
}

SqliteDatabase::~SqliteDatabase() { sqlite3_close(db_); }

namespace {

void stop_the_process(const std::string& message) {
  std::fprintf(stderr, "glassbox: stopping: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(kStorageFaultExit);
}

std::atomic<FailedSyncHandler> g_failed_sync_handler{stop_the_process};

// The error as it is returned; after a failed sync, the handler has seen it first.
Error checked(sqlite3* db, std::string message) {
  if (sqlite3_extended_errcode(db) == SQLITE_IOERR_FSYNC) {
    message += " — a sync to disk failed, so whether the last commit is on the disk is unknown; "
               "the service stops and recovers the database from the disk when it starts again";
    g_failed_sync_handler.load()(message);
  }
  return Error{std::move(message)};
}

}  // namespace

void set_failed_sync_handler(FailedSyncHandler handler) { g_failed_sync_handler = handler ? handler : stop_the_process; }

Error SqliteDatabase::error(const std::string& what) const {
  return checked(db_, path_ + ": " + what + " (" + sqlite3_errmsg(db_) + ")");
}

Status SqliteDatabase::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return checked(db_, path_ + ": " + text);
  }
  return ok_status();
}

void SqliteDatabase::rollback() { (void)exec("ROLLBACK"); }

void SqliteDatabase::set_busy_timeout(std::chrono::milliseconds timeout) { sqlite3_busy_timeout(db_, static_cast<int>(timeout.count())); }

Status SqliteDatabase::transaction(const std::function<Status()>& body) {
  if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
  Status outcome = ok_status();
  try {
    outcome = body();
  } catch (...) {
    // A long-lived connection left inside BEGIN IMMEDIATE would make every other writer wait
    // for good: roll back before the exception goes on.
    rollback();
    throw;
  }
  if (!outcome) {
    rollback();
    return outcome;
  }
  if (auto s = exec("COMMIT"); !s) {
    rollback();
    return s;
  }
  return ok_status();
}

Status SqliteDatabase::migrate(int target_version) {
  // Rebuilding a table (migration 10) drops the old one, which with foreign keys on would delete
  // the rows that refer to it (alert evidence). SQLite's procedure: keys off outside the
  // transaction, foreign_key_check before the commit, keys on again.
  if (auto s = exec("PRAGMA foreign_keys = OFF"); !s) return s;
  struct KeysBackOn {
    SqliteDatabase& db;
    ~KeysBackOn() { (void)db.exec("PRAGMA foreign_keys = ON"); }
  } keys_back_on{*this};
  if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
  std::int64_t current = 0;
  {
    // Finalised before the migrations run: an open statement would keep DROP TABLE from working.
    SqliteStatement version(db_, "PRAGMA user_version");
    if (!version.prepared() || version.step() != SQLITE_ROW) {
      rollback();
      return error("cannot read the schema version (is this an SQLite file?)");
    }
    current = version.int64(0);
  }
  if (current > target_version) {
    rollback();
    return Error{path_ + ": database schema version " + std::to_string(current) + " is newer than this binary (" +
                 std::to_string(target_version) + ")"};
  }
  for (auto v = current; v < target_version; ++v) {
    Status s = exec(kMigrations[static_cast<std::size_t>(v)]);
    if (s && v + 1 == 5) s = seal_plaintext_templates(*this);
    if (s && v + 1 == 5) s = exec(kMigration5Finish);
    if (!s) {
      rollback();
      return s.error().within("migration to schema version " + std::to_string(v + 1));
    }
  }
  if (current < target_version) {
    std::string broken_table;
    {
      SqliteStatement broken(db_, "PRAGMA foreign_key_check");
      if (!broken.prepared()) broken_table = "?";
      else if (broken.step() == SQLITE_ROW) broken_table = broken.text(0);
    }
    if (!broken_table.empty()) {
      rollback();
      return Error{path_ + ": the migration left rows of " + broken_table + " that refer to nothing; nothing was changed"};
    }
  }
  const std::string set_version = "PRAGMA user_version = " + std::to_string(target_version);
  if (auto s = exec(set_version.c_str()); !s) {
    rollback();
    return s;
  }
  if (auto s = exec("COMMIT"); !s) return s;
  // After templates were encrypted, copy the overwritten pages into the main file now, so no
  // plaintext template stays in it (best effort: a busy reader only delays this to SQLite's
  // next checkpoint).
  if (current < 5 && current > 0 && target_version >= 5) (void)exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return ok_status();
}

namespace {

// The SQLite side of store/database.h's Statement: sqlite3_stmt, with a failed prepare kept to be
// reported by step().
class SqlitePrepared final : public Statement {
 public:
  SqlitePrepared(const SqliteDatabase& db, std::string_view sql) : db_(db), sql_(sql) {
    if (sqlite3_prepare_v2(db.handle(), sql_.c_str(), static_cast<int>(sql_.size()), &stmt_, nullptr) != SQLITE_OK)
      prepare_error_ = db.error("cannot prepare: " + sql_);
  }
  ~SqlitePrepared() override { sqlite3_finalize(stmt_); }
  SqlitePrepared(const SqlitePrepared&) = delete;
  SqlitePrepared& operator=(const SqlitePrepared&) = delete;

  // A new binding means a new run, as on PostgreSQL: SQLite binds only to a reset statement.
  void bind(int index, std::string_view text) override {
    restart();
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int index, std::int64_t value) override {
    restart();
    sqlite3_bind_int64(stmt_, index, value);
  }
  void bind_real(int index, double value) override {
    restart();
    sqlite3_bind_double(stmt_, index, value);
  }
  void bind_bytes(int index, const std::vector<unsigned char>& bytes) override {
    // A zero-length blob, not NULL: sqlite3_bind_blob with a null pointer would bind NULL.
    static const unsigned char kNothing = 0;
    restart();
    sqlite3_bind_blob(stmt_, index, bytes.empty() ? &kNothing : bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  }
  void bind_null(int index) override {
    restart();
    sqlite3_bind_null(stmt_, index);
  }
  Result<Step> step() override {
    if (prepare_error_) return *prepare_error_;
    // Done stays done until reset or a new binding (SQLite would run the statement again).
    if (done_) return Step::kDone;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return Step::kRow;
    if (rc == SQLITE_DONE) {
      done_ = true;
      return Step::kDone;
    }
    return db_.error(sql_);
  }
  void reset() override { restart(); }
  bool is_null(int column) const override { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::int64_t int64(int column) const override { return sqlite3_column_int64(stmt_, column); }
  double real(int column) const override { return sqlite3_column_double(stmt_, column); }
  std::string text(int column) const override {
    const auto* p = sqlite3_column_text(stmt_, column);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
  }
  std::vector<unsigned char> bytes(int column) const override {
    const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_, column));
    return p ? std::vector<unsigned char>(p, p + sqlite3_column_bytes(stmt_, column)) : std::vector<unsigned char>();
  }

 private:
  void restart() {
    sqlite3_reset(stmt_);
    done_ = false;
  }

  const SqliteDatabase& db_;
  std::string sql_;
  sqlite3_stmt* stmt_ = nullptr;
  std::optional<Error> prepare_error_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Statement> SqliteDatabase::prepare(std::string_view sql) { return std::make_unique<SqlitePrepared>(*this, sql); }

}  // namespace glassbox
