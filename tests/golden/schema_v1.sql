-- user_version 1
CREATE TABLE entry_templates (
  id            INTEGER PRIMARY KEY,
  entry_id      INTEGER NOT NULL REFERENCES watchlist_entries(id) ON DELETE CASCADE,
  profile       TEXT    NOT NULL,
  dimension     INTEGER NOT NULL CHECK (dimension > 0),
  vector        BLOB    NOT NULL CHECK (length(vector) = 4 * dimension),
  photo_name    TEXT    NOT NULL,
  photo_sha256  TEXT    NOT NULL
);
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
CREATE INDEX entry_templates_by_profile ON entry_templates(profile, entry_id);
