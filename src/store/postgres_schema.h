// The PostgreSQL schema (docs/cluster.md, docs/database-schema.md): versioned, append-only
// migrations of its own (a PostgreSQL database starts at version 1; there are no older ones to
// carry forward), applied by whichever node starts first under a transaction-scoped advisory
// lock, so nodes starting together do not both migrate. The invariants SQLite's schema enforces
// are enforced here too, with CHECK constraints and PL/pgSQL triggers.
// It grows store by store as the stores move onto store/database.h; today: the audit log and
// the cameras.
// Thread-safety: a function on a connection the caller owns.
#pragma once

#include "core/result.h"
#include "store/postgres_database.h"

namespace glassbox {

inline constexpr int kPostgresSchemaVersion = 12;

// Brings the database up to kPostgresSchemaVersion; refuses one that is newer (written by a
// later Glassbox) rather than touching it.
Status migrate_postgres(PostgresDatabase& db);
// Up to `version` (1..kPostgresSchemaVersion) and no further: how the schema-history fixtures
// (tests/fixtures/postgres-schema/) are made as each earlier version left its database.
Status migrate_postgres(PostgresDatabase& db, int version);

// Connects and migrates: the PostgreSQL counterpart of SqliteDatabase::open.
Result<std::unique_ptr<PostgresDatabase>> open_postgres(const std::string& conninfo, std::string key_base = "");

}  // namespace glassbox
