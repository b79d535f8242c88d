#include "store/postgres_schema.h"

#include <iterator>
#include <string>

namespace glassbox {
namespace {

// Migration N takes the schema from version N - 1 to N. Never edit one that has shipped: add
// the next.
const char* const kMigrations[] = {
    // 1: the audit log (docs/audit-log.md): records appended in their action's transaction, the
    // sequence number as the primary key, so two nodes appending at once cannot both write the
    // same position (one of the two transactions fails and runs again on the new head: the log
    // cannot fork). Append-only: no UPDATE, no DELETE, no TRUNCATE.
    R"sql(
CREATE TABLE audit_records (
  seq        BIGINT PRIMARY KEY CHECK (seq >= 0),
  record     TEXT   NOT NULL,
  leaf_hash  BYTEA  NOT NULL CHECK (length(leaf_hash) = 32),
  root       BYTEA  NOT NULL CHECK (length(root) = 32),
  signature  BYTEA  NOT NULL CHECK (length(signature) = 64),
  frontier   BYTEA  NOT NULL
);
CREATE TABLE audit_checkpoints (
  size       BIGINT PRIMARY KEY,
  root       BYTEA  NOT NULL,
  time       TEXT   NOT NULL,
  signature  BYTEA  NOT NULL
);
CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
  FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
  FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();
)sql",
    // 2: cameras created through the API (SQLite's versions 3 and 9). Flags are 0 or 1, as in
    // SQLite, so the same store code binds and reads them.
    R"sql(
CREATE TABLE cameras (
  name                  TEXT             PRIMARY KEY,
  url                   TEXT             NOT NULL,
  rate_fps              DOUBLE PRECISION NOT NULL CHECK (rate_fps > 0),
  min_face_px           INTEGER          NOT NULL CHECK (min_face_px > 0),
  enabled               SMALLINT         NOT NULL CHECK (enabled IN (0, 1)),
  loop                  SMALLINT         NOT NULL CHECK (loop IN (0, 1)),
  stall_timeout_s       DOUBLE PRECISION NOT NULL CHECK (stall_timeout_s > 0),
  created_at            BIGINT           NOT NULL,
  updated_at            BIGINT           NOT NULL,
  record                SMALLINT         NOT NULL DEFAULT 0 CHECK (record IN (0, 1)),
  record_retention_days DOUBLE PRECISION NOT NULL DEFAULT 7 CHECK (record_retention_days > 0)
);
)sql",
};

Result<int> current_version(PostgresDatabase& db) {
  if (auto s = db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL)"); !s) return s.error();
  auto read = db.prepare("SELECT coalesce(max(version), 0) FROM schema_version");
  auto step = read->step();
  if (!step) return step.error();
  return static_cast<int>(read->int64(0));
}

}  // namespace

Status migrate_postgres(PostgresDatabase& db) {
  static_assert(std::size(kMigrations) == kPostgresSchemaVersion, "one migration per schema version");
  return db.transaction([&]() -> Status {
    // One node migrates; the others wait here, then find the work done.
    if (auto s = db.execute("SELECT pg_advisory_xact_lock(hashtext('glassbox schema'))"); !s) return s;
    auto version = current_version(db);
    if (!version) return version.error();
    if (*version > kPostgresSchemaVersion)
      return Error{db.describe() + ": the database has schema version " + std::to_string(*version) + ", newer than this Glassbox knows (" +
                   std::to_string(kPostgresSchemaVersion) + "); refusing to use it"};
    for (int next = *version + 1; next <= kPostgresSchemaVersion; ++next) {
      if (auto s = db.execute(kMigrations[next - 1]); !s) return s.error().within("schema migration " + std::to_string(next));
      auto mark = db.prepare("INSERT INTO schema_version (version) VALUES (?)");
      mark->bind(1, next);
      if (auto s = run(*mark); !s) return s;
    }
    return ok_status();
  });
}

Result<std::unique_ptr<PostgresDatabase>> open_postgres(const std::string& conninfo) {
  auto db = PostgresDatabase::connect(conninfo);
  if (!db) return db.error();
  if (auto s = migrate_postgres(**db); !s) return s.error();
  return std::move(*db);
}

}  // namespace glassbox
