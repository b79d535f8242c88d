// What only the SQLite file has: its migrations from older versions, schema versioning, and
// read-only handles that cannot write. The watchlist's behaviour on both backends is in
// watchlist_store_test.cc.
#include <fstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/camera_store.h"
#include "store/sqlite_database.h"
#include "store/sqlite_statement.h"
#include "store/sql_watchlist_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

const UnixSeconds kNow = *parse_date_utc("2026-11-29") + 12 * 3600;
const UnixSeconds kExpiry = *parse_date_utc("2027-01-01");

NewEntry entry(const std::string& submitter = "alice") { return {"Person A", "Warrant 1", "case photo", submitter, kExpiry}; }
std::vector<EntryTemplate> one_template(const std::string& profile = "p") { return {{profile, {1.0f, 2.0f, 3.0f}, "a.jpg", "ab12"}}; }

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqlWatchlistStore> open_rw() {
    auto s = SqlWatchlistStore::open((dir_ / "w.db").string(), OpenMode::kReadWriteCreate);
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  }
  test::TempDir dir_;
};

// A database of schema version 4 (plaintext templates) is migrated: its templates are sealed
// and the plaintext is gone from the file.
TEST_F(StoreTest, PlaintextTemplatesOfAnOlderDatabaseAreEncryptedByTheMigration) {
  const std::string db = (dir_ / "old.db").string();
  const std::vector<float> v = {0.31415f, -2.7182f, 1.4142f, 0.5772f};
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  const std::string ddl =
      "PRAGMA journal_mode = WAL;"
      "CREATE TABLE watchlist_entries (id INTEGER PRIMARY KEY, subject TEXT NOT NULL, legal_basis TEXT NOT NULL, photo_source TEXT NOT NULL, "
      "submitted_by TEXT NOT NULL, submitted_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, status TEXT NOT NULL, approved_by TEXT, "
      "approved_at INTEGER, revoked_by TEXT, revoked_at INTEGER, revoke_reason TEXT);"
      "CREATE TABLE entry_templates (id INTEGER PRIMARY KEY, entry_id INTEGER NOT NULL REFERENCES watchlist_entries(id) ON DELETE CASCADE, "
      "profile TEXT NOT NULL, dimension INTEGER NOT NULL, vector BLOB NOT NULL, photo_name TEXT NOT NULL, photo_sha256 TEXT NOT NULL);"
      "INSERT INTO watchlist_entries VALUES (1, 'P', 'W', 'S', 'alice', 1, " + std::to_string(kExpiry) + ", 'active', 'bob', 1, NULL, NULL, NULL);"
      // Of the other tables of version 4, those later migrations change (cameras: version 9;
      // alerts, rebuilt by version 10, with an alert and its evidence that must survive it).
      "CREATE TABLE cameras (name TEXT PRIMARY KEY, url TEXT NOT NULL, rate_fps REAL NOT NULL, min_face_px INTEGER NOT NULL, "
      "enabled INTEGER NOT NULL, loop INTEGER NOT NULL, stall_timeout_s REAL NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
      "CREATE TABLE alerts (id INTEGER PRIMARY KEY, entry_id INTEGER NOT NULL REFERENCES watchlist_entries(id), camera TEXT NOT NULL, "
      "profile TEXT NOT NULL, score REAL NOT NULL, threshold REAL NOT NULL, stream_time_s REAL NOT NULL, frame_index INTEGER NOT NULL, "
      "track INTEGER NOT NULL, box_x INTEGER NOT NULL, box_y INTEGER NOT NULL, box_w INTEGER NOT NULL, box_h INTEGER NOT NULL, "
      "raised_at INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'open', decided_by TEXT, decided_at INTEGER, dismiss_reason TEXT);"
      "CREATE TABLE alert_evidence (alert_id INTEGER PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE, face_jpeg BLOB NOT NULL, "
      "purge_after INTEGER NOT NULL);"
      "INSERT INTO alerts VALUES (7, 1, 'gate', 'p', 0.3, 0.4, 1.5, 15, 1, 10, 10, 50, 50, 100, 'open', NULL, NULL, NULL);"
      "INSERT INTO alert_evidence VALUES (7, x'ffd8ffd9', 9999999999);"
      "PRAGMA user_version = 4;";
  ASSERT_EQ(sqlite3_exec(raw, ddl.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "INSERT INTO entry_templates VALUES (1, 1, 'p', 4, ?, 'a.jpg', 'aa')", -1, &insert, nullptr), SQLITE_OK);
  sqlite3_bind_blob(insert, 1, v.data(), 16, SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
  sqlite3_finalize(insert);
  sqlite3_close(raw);
  const std::string pattern(reinterpret_cast<const char*>(v.data()), 16);
  ASSERT_NE(test::read_file(db).find(pattern), std::string::npos) << "the old file holds the plaintext";

  auto store = SqlWatchlistStore::open(db, OpenMode::kReadWriteCreate);
  ASSERT_TRUE(store) << store.error().message;
  auto loaded = (*store)->active_templates("p", kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().vector, v);
  for (const std::string& file : {db, db + "-wal"})
    EXPECT_EQ(test::read_file(file).find(pattern), std::string::npos) << "plaintext left in " << file;
  // The alert and its evidence came through the rebuild of version 10; ids are never reused.
  sqlite3* after = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &after), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(after, "SELECT a.camera, length(e.face_jpeg), (SELECT sql FROM sqlite_master WHERE name = 'alerts') "
                                      "FROM alerts a JOIN alert_evidence e ON e.alert_id = a.id WHERE a.id = 7", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), "gate");
  EXPECT_EQ(sqlite3_column_int(q, 1), 4);
  EXPECT_NE(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 2))).find("AUTOINCREMENT"), std::string::npos);
  sqlite3_finalize(q);
  sqlite3_close(after);
}

TEST_F(StoreTest, ReadOnlyHandlesRefuseWritesAndMissingFiles) {
  EXPECT_FALSE(SqlWatchlistStore::open((dir_ / "missing.db").string(), OpenMode::kReadOnly));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "missing.db")) << "a read-only open must not create the file";
  { auto store = open_rw(); ASSERT_TRUE(store->add_pending_entry(entry(), one_template(), kNow)); }
  auto ro = SqlWatchlistStore::open((dir_ / "w.db").string(), OpenMode::kReadOnly);
  ASSERT_TRUE(ro);
  EXPECT_EQ((*ro)->list_entries()->size(), 1u);
  EXPECT_FALSE((*ro)->add_pending_entry(entry(), one_template(), kNow));
  EXPECT_FALSE((*ro)->approve_entry(1, "bob", kNow));
}

TEST_F(StoreTest, SchemaVersionIsCheckedAndNotAGlassboxFileIsRefused) {
  { auto store = open_rw(); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "w.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto newer = SqlWatchlistStore::open((dir_ / "w.db").string(), OpenMode::kReadWriteCreate);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("newer"), std::string::npos);

  const auto text_file = dir_ / "notes.txt";
  { std::ofstream(text_file) << "this is not a database, just some text that is long enough\n"; }
  EXPECT_FALSE(SqlWatchlistStore::open(text_file.string(), OpenMode::kReadWriteCreate));
  EXPECT_FALSE(SqlWatchlistStore::open(text_file.string(), OpenMode::kReadOnly));
}

}  // namespace
}  // namespace glassbox

namespace glassbox {
namespace {

// A transaction whose body throws is rolled back before the exception goes on: a long-lived
// connection left inside BEGIN IMMEDIATE would keep every other writer waiting for good (C-25).
TEST(SqliteDatabaseTest, ATransactionWhoseBodyThrowsIsRolledBack) {
  test::TempDir dir;
  const std::string path = (dir / "t.db").string();
  auto first = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  auto second = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  ASSERT_TRUE(first && second);
  ASSERT_TRUE((*first)->exec("CREATE TABLE t (x INTEGER)"));
  EXPECT_THROW((void)(*first)->transaction([&]() -> Status {
                 (void)(*first)->exec("INSERT INTO t VALUES (1)");
                 throw std::runtime_error("a body that throws");
               }),
               std::runtime_error);
  (*second)->set_busy_timeout(std::chrono::milliseconds(200));
  EXPECT_TRUE((*second)->transaction([&] { return (*second)->exec("INSERT INTO t VALUES (2)"); })) << "the other writer is not kept waiting";
  EXPECT_TRUE((*first)->transaction([&] { return (*first)->exec("INSERT INTO t VALUES (3)"); }));
  SqliteStatement rows((*first)->handle(), "SELECT group_concat(x) FROM t");
  ASSERT_EQ(rows.step(), SQLITE_ROW);
  EXPECT_EQ(rows.text(0), "2,3") << "the thrown transaction's row is gone";
}

}  // namespace
}  // namespace glassbox
