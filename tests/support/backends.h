// BackendTest: a test fixture run once per storage backend (store/database.h): an SQLite file in
// a fresh folder, and a fresh database on one throwaway PostgreSQL server that the whole test
// binary shares (support/postgres_server.h; started on first use, stopped at exit), reached
// directly or through PgBouncer. The store conformance suites derive from it, so the same
// assertions hold on both engines, and through a transaction pool.
// Thread-safety: as gtest's fixtures; connections are the test's own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "store/database.h"
#include "support/postgres_server.h"
#include "support/test_support.h"

namespace glassbox::test {

// kPgbouncer: PostgreSQL through PgBouncer in transaction pooling mode, where consecutive
// transactions of one connection may run on different server sessions: what passes there
// relies on no session state (docs/cluster.md, "Connection pooling").
enum class Backend { kSqlite, kPostgres, kPgbouncer };
// Every backend, for INSTANTIATE_TEST_SUITE_P.
inline const auto kAllBackends = ::testing::Values(Backend::kSqlite, Backend::kPostgres, Backend::kPgbouncer);

// "Sqlite", "Postgres" or "Pgbouncer", for INSTANTIATE_TEST_SUITE_P's names.
std::string backend_name(const ::testing::TestParamInfo<Backend>& info);

// The server every PostgreSQL case of this binary uses; null (and why) when none could start.
PostgresServer* shared_postgres(std::string& why);

// A PostgreSQL database's schema as its catalogue describes it: every table's columns, every
// constraint, index, trigger and function, and the schema version — one line each, in a fixed order.
std::string postgres_catalogue(Database& db);

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  // Makes this test's own database (PostgreSQL) and sets db_ to a connection to it.
  void SetUp() override;

  // A new connection to this test's database. SQLite's file has Glassbox's schema from the
  // start; PostgreSQL's database is empty until migrated (with_schema or migrate()). A
  // PostgreSQL connection is a node's with its keys at `node_key_base` (key_base() unless
  // given); an SQLite file's keys are always beside it.
  std::unique_ptr<Database> open(const std::string& node_key_base = "");
  // A new connection, with Glassbox's schema in place on either engine.
  std::unique_ptr<Database> open_with_schema(const std::string& node_key_base = "");
  // Brings `db` to Glassbox's schema (a no-op on SQLite, whose open migrates).
  static Status migrate(Database& db);
  // Where the node's own keys live (the audit signing key, the template key): beside the
  // SQLite file; for PostgreSQL, a node-local path in this test's folder.
  std::string key_base() const;
  bool postgres() const { return GetParam() != Backend::kSqlite; }
  // A connection string for this test's database: through PgBouncer for kPgbouncer.
  std::string conninfo() const;
  // Always straight to the server: what must not go through a transaction pool (LISTEN).
  std::string direct_conninfo() const;

  // The first column of the first row of `sql`, as an integer (-1 with a failure when none).
  static std::int64_t count(Database& db, const std::string& sql);

  TempDir dir_;
  std::string database_;  // PostgreSQL: this test's database
  std::unique_ptr<Database> db_;
};

}  // namespace glassbox::test
