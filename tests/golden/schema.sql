-- user_version 17
CREATE TRIGGER alerts_decision_final
BEFORE UPDATE ON alerts
WHEN OLD.status <> 'open'
BEGIN SELECT RAISE(ABORT, 'a decided alert cannot change'); END;
CREATE TRIGGER audit_records_append_only_d BEFORE DELETE ON audit_records BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_records_append_only_u BEFORE UPDATE ON audit_records BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER searches_approval_is_final BEFORE UPDATE OF approved_by ON searches
  WHEN OLD.approved_by IS NOT NULL AND NEW.approved_by IS NOT OLD.approved_by
  BEGIN SELECT RAISE(ABORT, 'a search approval cannot be changed'); END;
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
CREATE TABLE alert_evidence (
  alert_id        INTEGER PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,
  face_jpeg       BLOB    NOT NULL,
  purge_after     INTEGER NOT NULL
);
CREATE TABLE alert_feed (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  position    INTEGER NOT NULL CHECK (position >= 0),
  deployment  TEXT    NOT NULL CHECK (length(deployment) BETWEEN 1 AND 64)
);
CREATE TABLE alert_sightings (
  camera        TEXT    NOT NULL,
  entry_id      INTEGER NOT NULL REFERENCES watchlist_entries(id),
  alert_id      INTEGER NOT NULL,
  first_seen_at INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL CHECK (last_seen_at >= first_seen_at),
  repeats       INTEGER NOT NULL DEFAULT 0 CHECK (repeats >= 0),
  PRIMARY KEY (camera, entry_id)
);
CREATE TABLE "alerts" (
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
  dismiss_reason  TEXT, feed_position INTEGER, captured_at_ms INTEGER, estimated_fpir REAL CHECK (estimated_fpir IS NULL OR (estimated_fpir >= 0 AND estimated_fpir <= 1)), list_templates INTEGER CHECK (list_templates IS NULL OR list_templates >= 0), face_quality REAL CHECK (face_quality IS NULL OR (face_quality >= 0 AND face_quality <= 1)), face_yaw_deg REAL, face_pitch_deg REAL, face_sharpness REAL CHECK (face_sharpness IS NULL OR face_sharpness >= 0), face_confidence REAL,
  CHECK (status = 'open' OR (decided_by IS NOT NULL AND decided_at IS NOT NULL)),
  CHECK (status <> 'dismissed' OR length(trim(coalesce(dismiss_reason, ''))) > 0)
);
CREATE TABLE analysis_stats (
  day             TEXT    NOT NULL,             -- YYYY-MM-DD, UTC
  camera          TEXT    NOT NULL,
  frames_analysed INTEGER NOT NULL DEFAULT 0 CHECK (frames_analysed >= 0),
  faces_detected  INTEGER NOT NULL DEFAULT 0 CHECK (faces_detected >= 0),
  faces_embedded  INTEGER NOT NULL DEFAULT 0 CHECK (faces_embedded >= 0),
  PRIMARY KEY (day, camera)
);
CREATE TABLE api_tokens (
  id             INTEGER PRIMARY KEY,
  token_hash     BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  user           TEXT    NOT NULL REFERENCES users(name),
  label          TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  revoked_at     INTEGER
, expires_at INTEGER NOT NULL DEFAULT 0, revoked_by TEXT);
CREATE TABLE audit_checkpoints (
  size       INTEGER PRIMARY KEY,
  root       BLOB    NOT NULL,
  time       TEXT    NOT NULL,
  signature  BLOB    NOT NULL
);
CREATE TABLE audit_records (
  seq        INTEGER PRIMARY KEY CHECK (seq >= 0),
  record     TEXT    NOT NULL,
  leaf_hash  BLOB    NOT NULL CHECK (length(leaf_hash) = 32),
  root       BLOB    NOT NULL CHECK (length(root) = 32),
  signature  BLOB    NOT NULL CHECK (length(signature) = 64),
  frontier   BLOB    NOT NULL
);
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
, record INTEGER NOT NULL DEFAULT 0 CHECK (record IN (0, 1)), record_retention_days REAL NOT NULL DEFAULT 7 CHECK (record_retention_days > 0));
CREATE TABLE entry_biometrics_deleted (
  entry_id      INTEGER PRIMARY KEY REFERENCES watchlist_entries(id),
  deleted_at    INTEGER NOT NULL
);
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
CREATE TABLE "entry_templates" (
  id            INTEGER PRIMARY KEY,
  entry_id      INTEGER NOT NULL REFERENCES watchlist_entries(id) ON DELETE CASCADE,
  profile       TEXT    NOT NULL,
  dimension     INTEGER NOT NULL CHECK (dimension > 0),
  key_id        TEXT    NOT NULL,
  sealed        BLOB    NOT NULL CHECK (length(sealed) = 40 + 4 * dimension),
  photo_name    TEXT    NOT NULL,
  photo_sha256  TEXT    NOT NULL
);
CREATE TABLE recording_segments (
  id        INTEGER PRIMARY KEY,
  camera    TEXT    NOT NULL,
  path      TEXT    NOT NULL UNIQUE,
  start_ms  INTEGER NOT NULL,
  end_ms    INTEGER,
  bytes     INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0), node TEXT,
  CHECK (end_ms IS NULL OR end_ms >= start_ms)
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
  errors        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(errors)), runner TEXT, runner_until_ms INTEGER, runs INTEGER NOT NULL DEFAULT 0 CHECK (runs >= 0), cancel_requested_by TEXT,
  CHECK (approved_by IS NULL OR approved_by <> requested_by),
  CHECK (status IN ('pending', 'cancelled') OR (approved_by IS NOT NULL AND approved_at IS NOT NULL))
);
CREATE TABLE sessions (
  token_hash     BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
  user           TEXT    NOT NULL REFERENCES users(name),
  csrf_token     TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  last_seen      INTEGER NOT NULL
, expires_at INTEGER NOT NULL DEFAULT 0);
CREATE TABLE sqlite_sequence(name,seq);
CREATE TABLE "uploads" (
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
CREATE TABLE users (
  name           TEXT    PRIMARY KEY,
  password_hash  TEXT    NOT NULL,
  roles          TEXT    NOT NULL CHECK (length(roles) > 0),
  created_at     INTEGER NOT NULL,
  created_by     TEXT    NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('pending', 'approved', 'active', 'disabled')), approved_by TEXT, approved_at INTEGER, activation_maker_hash BLOB, activation_checker_hash BLOB, activation_expires_at INTEGER, disabled_by TEXT, disabled_at INTEGER, disable_reason TEXT, password_changed_at INTEGER);
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
  approved_at   INTEGER, revoked_by TEXT, revoked_at INTEGER, revoke_reason TEXT, scope TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scope) AND json_type(scope) = 'array'),
  CHECK (approved_by IS NULL OR approved_by <> submitted_by),
  CHECK (status <> 'active' OR (approved_by IS NOT NULL AND approved_at IS NOT NULL))
);
CREATE INDEX alert_deliveries_due ON alert_deliveries(endpoint, state, next_at_ms);
CREATE INDEX alert_evidence_by_purge ON alert_evidence(purge_after);
CREATE UNIQUE INDEX alerts_by_feed_position ON alerts(feed_position);
CREATE INDEX alerts_by_status ON alerts(status, raised_at);
CREATE INDEX entry_templates_by_profile ON entry_templates(profile, entry_id);
CREATE INDEX recording_segments_by_camera ON recording_segments(camera, start_ms);
CREATE UNIQUE INDEX users_by_folded_name ON users(lower(name));
