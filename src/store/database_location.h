// DatabaseLocation: which database a node works on, and where its own keys are — the SQLite file
// in its data folder (one machine, the default), or a PostgreSQL database that a cluster's nodes
// share (docs/cluster.md), given as a libpq connection string. connect() opens a connection of
// either kind behind store/database.h, so the service and the commands never ask which.
// Thread-safety: a value; connect() makes a new connection for the caller's thread.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "store/database.h"

namespace glassbox {

struct DatabaseLocation {
  std::string sqlite_path;  // DATA_DIR/glassbox.db, when no PostgreSQL is given
  std::string postgres;     // a libpq connection string (postgresql://… or "host=… dbname=…")
  // Where this node's keys are (Database::key_base): beside the SQLite file, or
  // DATA_DIR/cluster-node for PostgreSQL (cluster-node.audit-key, cluster-node.template-key).
  std::string key_base;
  // Where the node LISTENs for changes: straight to the server when `postgres` goes through a
  // transaction pool (pgbouncer), where a LISTEN is lost with its server session; empty: `postgres`.
  std::string postgres_listen = {};

  bool is_postgres() const { return !postgres.empty(); }
  const std::string& listen_connection() const { return postgres_listen.empty() ? postgres : postgres_listen; }
};

// Whether `text` is a PostgreSQL connection string: a postgresql:// or postgres:// URI, or
// libpq's key=value words ("host=/run/postgresql dbname=glassbox").
bool is_postgres_connection(const std::string& text);

// `database`: "" for the SQLite file in `data_dir`, else a PostgreSQL connection string.
// Anything else is refused with the reason.
Result<DatabaseLocation> database_location(const std::string& data_dir, const std::string& database);

enum class ConnectMode {
  kReadWrite,
  // PostgreSQL's schema brought up to date first (under its advisory lock: one node migrates);
  // SQLite's file is migrated whenever it is opened read-write.
  kMigrate,
  // Nothing can be written: SQLite's file opened read-only (and never created); on PostgreSQL
  // every statement in a READ ONLY transaction of its own (PostgresDatabase::set_read_only).
  kReadOnly,
};

// A new connection.
Result<std::unique_ptr<Database>> connect(const DatabaseLocation& location, ConnectMode mode = ConnectMode::kReadWrite);

}  // namespace glassbox
