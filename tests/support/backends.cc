#include "support/backends.h"

#include "store/postgres_database.h"
#include "store/postgres_schema.h"
#include "store/sqlite_database.h"

namespace glassbox::test {

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kSqlite: return "Sqlite";
    case Backend::kPostgres: return "Postgres";
    case Backend::kPgbouncer: return "Pgbouncer";
  }
  return "?";
}

PostgresServer* shared_postgres(std::string& why) {
  // Started once, on first use; its destructor (at exit) stops it and deletes its folder.
  static std::string start_error;
  static const std::unique_ptr<PostgresServer> server = PostgresServer::start(start_error);
  why = start_error;
  return server.get();
}

void BackendTest::SetUp() {
  if (postgres()) {
    std::string why;
    PostgresServer* server = shared_postgres(why);
    ASSERT_NE(server, nullptr) << why;
    static int databases = 0;
    database_ = "t" + std::to_string(++databases);
    ASSERT_TRUE(server->create_database(database_, why)) << why;
    if (GetParam() == Backend::kPgbouncer) {
      ASSERT_TRUE(server->start_pgbouncer(why)) << why;
    }
  }
  db_ = open();
  ASSERT_NE(db_, nullptr);
}

std::unique_ptr<Database> BackendTest::open(const std::string& node_key_base) {
  if (!postgres()) {
    auto db = SqliteDatabase::open((dir_ / "store.db").string(), OpenMode::kReadWriteCreate);
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::unique_ptr<Database>(std::move(*db)) : nullptr;
  }
  std::string why;
  auto db = PostgresDatabase::connect(conninfo(), node_key_base.empty() ? key_base() : node_key_base);
  EXPECT_TRUE(db) << db.error().message;
  return db ? std::unique_ptr<Database>(std::move(*db)) : nullptr;
}

std::unique_ptr<Database> BackendTest::open_with_schema(const std::string& node_key_base) {
  auto db = open(node_key_base);
  if (db == nullptr) return nullptr;
  auto migrated = migrate(*db);
  EXPECT_TRUE(migrated) << migrated.error().message;
  return migrated ? std::move(db) : nullptr;
}

Status BackendTest::migrate(Database& db) {
  if (db.dialect() == Dialect::kPostgres) return migrate_postgres(static_cast<PostgresDatabase&>(db));
  return ok_status();
}

std::string BackendTest::conninfo() const {
  std::string why;
  PostgresServer* server = shared_postgres(why);
  if (server == nullptr) return {};
  return GetParam() == Backend::kPgbouncer ? server->pooled_conninfo(database_) : server->conninfo(database_);
}

std::string BackendTest::direct_conninfo() const {
  std::string why;
  PostgresServer* server = shared_postgres(why);
  return server == nullptr ? std::string() : server->conninfo(database_);
}

std::string BackendTest::key_base() const { return (dir_ / (postgres() ? "node" : "store.db")).string(); }

std::int64_t BackendTest::count(Database& db, const std::string& sql) {
  auto s = db.prepare(sql);
  auto step = s->step();
  EXPECT_TRUE(step) << step.error().message;
  return step && *step == Step::kRow ? s->int64(0) : -1;
}


std::string postgres_catalogue(Database& db) {
  std::string out;
  auto dump = [&](const std::string& title, const std::string& sql) {
    out += "-- " + title + "\n";
    auto s = db.prepare(sql);
    for (auto step = s->step(); step && *step == Step::kRow; step = s->step()) {
      std::string line;
      for (int c = 0; c < 4; ++c) {
        if (s->is_null(c)) break;
        line += (c ? " | " : "") + s->text(c);
      }
      out += line + "\n";
    }
  };
  dump("columns", "SELECT table_name, column_name, data_type || CASE is_nullable WHEN 'NO' THEN ' NOT NULL' ELSE '' END, "
                  "coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = 'public' "
                  "ORDER BY table_name, ordinal_position");
  dump("constraints", "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                      "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2");
  dump("indexes", "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2");
  dump("triggers", "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2");
  dump("functions", "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1");
  dump("version", "SELECT version::text FROM schema_version ORDER BY version");
  return out;
}

}  // namespace glassbox::test
