// The SQLite watchlist: pending until approved by someone else, nothing after expiry, atomic
// writes, schema versioning, read-only handles that cannot write.
#include <fstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/camera_store.h"
#include "store/sqlite_database.h"
#include "store/sqlite_statement.h"
#include "store/sqlite_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

const UnixSeconds kNow = *parse_date_utc("2026-11-29") + 12 * 3600;
const UnixSeconds kExpiry = *parse_date_utc("2027-01-01");

NewEntry entry(const std::string& submitter = "alice") { return {"Person A", "Warrant 1", "case photo", submitter, kExpiry}; }
std::vector<EntryTemplate> one_template(const std::string& profile = "p") { return {{profile, {1.0f, 2.0f, 3.0f}, "a.jpg", "ab12"}}; }

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteWatchlistStore> open_rw() {
    auto s = SqliteWatchlistStore::open((dir_ / "w.db").string(), OpenMode::kReadWriteCreate);
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  }
  test::TempDir dir_;
};

TEST_F(StoreTest, PendingEntriesDoNotMatchUntilApprovedBySomeoneElse) {
  auto store = open_rw();
  auto id = store->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_TRUE(store->active_templates("p", kNow)->empty());

  auto self = store->approve_entry(*id, "alice", kNow);
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().message.find("someone other than its submitter"), std::string::npos);
  EXPECT_TRUE(store->active_templates("p", kNow)->empty());

  ASSERT_TRUE(store->approve_entry(*id, "bob", kNow));
  auto active = store->active_templates("p", kNow);
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().entry_id, *id);
  EXPECT_EQ(active->front().vector, (std::vector<float>{1.0f, 2.0f, 3.0f}));
  auto record = store->get_entry(*id);
  ASSERT_TRUE(record && record->has_value());
  EXPECT_EQ((*record)->approved_by.value_or(""), "bob");
  EXPECT_EQ((*record)->status, EntryStatus::kActive);

  EXPECT_FALSE(store->approve_entry(*id, "carol", kNow)) << "an active entry cannot be approved twice";
  EXPECT_FALSE(store->approve_entry(*id + 100, "bob", kNow)) << "unknown entry";
}

TEST_F(StoreTest, ExpiredEntriesMatchNothingAndCannotBeApproved) {
  auto store = open_rw();
  auto id = store->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_TRUE(id);
  EXPECT_FALSE(store->approve_entry(*id, "bob", kExpiry)) << "approval at the expiry instant";
  ASSERT_TRUE(store->approve_entry(*id, "bob", kExpiry - 1));
  EXPECT_EQ(store->active_templates("p", kExpiry - 1)->size(), 1u);
  EXPECT_TRUE(store->active_templates("p", kExpiry)->empty()) << "expired at 00:00 UTC of the expiry date";
}

TEST_F(StoreTest, TemplatesAreSeparatedByProfile) {
  auto store = open_rw();
  auto id = store->add_pending_entry(entry(), one_template("dlib_resnet"), kNow);
  ASSERT_TRUE(store->approve_entry(*id, "bob", kNow));
  EXPECT_EQ(store->active_templates("dlib_resnet", kNow)->size(), 1u);
  EXPECT_TRUE(store->active_templates("mobilefacenet", kNow)->empty());
  EXPECT_EQ(*store->active_entries_without("mobilefacenet", kNow), std::vector<std::int64_t>{*id});
  EXPECT_TRUE(store->active_entries_without("dlib_resnet", kNow)->empty());
}

TEST_F(StoreTest, TheDatabaseItselfRefusesSelfApproval) {
  // Defence in depth: even SQL written by hand cannot activate an entry approved by its submitter.
  auto store = open_rw();
  auto id = store->add_pending_entry(entry(), one_template(), kNow);
  store.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "w.db").c_str(), &db), SQLITE_OK);
  const std::string sql = "UPDATE watchlist_entries SET status='active', approved_by='alice', approved_at=1 WHERE id=" + std::to_string(*id);
  EXPECT_NE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE watchlist_entries SET status='active'", nullptr, nullptr, nullptr), SQLITE_OK)
      << "active without an approver";
  sqlite3_close(db);
}

TEST_F(StoreTest, RevocationNeedsAReasonIsFinalAndStopsMatching) {
  auto store = open_rw();
  auto active = store->add_pending_entry(entry(), one_template(), kNow);
  auto pending = store->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_TRUE(active && pending);
  ASSERT_TRUE(store->approve_entry(*active, "bob", kNow));
  ASSERT_EQ(store->active_templates("p", kNow)->size(), 1u);
  EXPECT_FALSE(store->revoke_entry(*active, "carol", "  ", kNow)) << "no reason";
  ASSERT_TRUE(store->revoke_entry(*active, "carol", "warrant withdrawn", kNow + 5));
  EXPECT_TRUE(store->active_templates("p", kNow + 10)->empty());
  auto record = **store->get_entry(*active);
  EXPECT_EQ(record.status, EntryStatus::kRevoked);
  EXPECT_EQ(record.revoked_by.value_or(""), "carol");
  EXPECT_EQ(record.revoked_at.value_or(0), kNow + 5);
  EXPECT_EQ(record.revoke_reason.value_or(""), "warrant withdrawn");
  EXPECT_FALSE(store->revoke_entry(*active, "carol", "again", kNow)) << "already revoked";
  ASSERT_TRUE(store->revoke_entry(*pending, "carol", "duplicate", kNow)) << "a pending entry can be revoked";
  EXPECT_FALSE(store->approve_entry(*pending, "bob", kNow)) << "a revoked entry cannot be approved";
  EXPECT_FALSE(store->revoke_entry(*pending + 100, "carol", "x", kNow)) << "unknown entry";

  // The database refuses an incomplete revocation and any change to a revoked entry.
  store.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "w.db").string().c_str(), &db), SQLITE_OK);
  auto other = open_rw()->add_pending_entry(entry(), one_template(), kNow);
  const std::string no_reason = "UPDATE watchlist_entries SET status = 'revoked', revoked_by = 'x', revoked_at = 1 WHERE id = " + std::to_string(*other);
  EXPECT_NE(sqlite3_exec(db, no_reason.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  const std::string revive = "UPDATE watchlist_entries SET status = 'active', approved_by = 'bob', approved_at = 1 WHERE id = " + std::to_string(*active);
  EXPECT_NE(sqlite3_exec(db, revive.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

// Templates at rest: sealed with a key kept beside the database, bound to their entry.
TEST_F(StoreTest, TemplatesAreEncryptedAtRestAndBoundToTheirEntry) {
  // Distinctive values, so their bytes can be looked for in the files.
  const std::vector<float> a = {0.123456f, -7.654321f, 3.14159f, 2.71828f, -1.41421f, 0.577215f};
  const std::vector<float> b = {9.87654f, -0.246813f, 1.61803f, -4.66920f, 0.693147f, 1.20206f};
  auto store = open_rw();
  auto ida = store->add_pending_entry(entry(), {{"p", a, "a.jpg", "aa"}}, kNow);
  auto idb = store->add_pending_entry(entry(), {{"p", b, "b.jpg", "bb"}}, kNow);
  ASSERT_TRUE(ida && idb);
  ASSERT_TRUE(store->approve_entry(*ida, "bob", kNow));
  ASSERT_TRUE(store->approve_entry(*idb, "bob", kNow));
  auto loaded = store->active_templates("p", kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].vector, a);
  EXPECT_EQ((*loaded)[1].vector, b);
  const std::string db = (dir_ / "w.db").string();
  ASSERT_TRUE(std::filesystem::exists(db + ".template-key"));
  auto no_plaintext = [&](const std::string& when) {
    for (const std::string& file : {db, db + "-wal"}) {
      const std::string bytes = test::read_file(file);
      for (const auto* v : {&a, &b}) {
        const std::string pattern(reinterpret_cast<const char*>(v->data()), 12);
        EXPECT_EQ(bytes.find(pattern), std::string::npos) << when << ": a plaintext template is in " << file;
      }
    }
  };
  no_plaintext("after enrolment");

  // Moved onto the other entry, a sealed template does not open.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, ("UPDATE entry_templates SET sealed = (SELECT sealed FROM entry_templates WHERE entry_id = " + std::to_string(*ida) +
                               ") WHERE entry_id = " + std::to_string(*idb)).c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  auto moved = store->active_templates("p", kNow);
  ASSERT_FALSE(moved);
  EXPECT_NE(moved.error().message.find("does not open"), std::string::npos) << moved.error().message;
  ASSERT_EQ(sqlite3_exec(raw, ("DELETE FROM entry_templates WHERE entry_id = " + std::to_string(*idb)).c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);

  // Rotation: everything re-encrypted under a new key; the old key opens nothing.
  const std::string old_key = test::read_file(db + ".template-key");
  auto rotated = store->rotate_template_key("admin", kNow);
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(*rotated, 1);
  EXPECT_NE(test::read_file(db + ".template-key"), old_key);
  ASSERT_EQ(store->active_templates("p", kNow)->front().vector, a);
  std::ofstream(db + ".template-key.next", std::ios::trunc) << test::read_file(db + ".template-key");
  std::ofstream(db + ".template-key", std::ios::trunc) << old_key;  // as if the rename had not happened
  auto recovered = store->active_templates("p", kNow);
  ASSERT_TRUE(recovered) << "an interrupted rotation is finished from the .next key: " << recovered.error().message;
  EXPECT_EQ(recovered->front().vector, a);
  std::ofstream(db + ".template-key", std::ios::trunc) << old_key;
  EXPECT_FALSE(store->active_templates("p", kNow)) << "the old key opens nothing";
  std::filesystem::remove(db + ".template-key");
  auto missing = store->active_templates("p", kNow);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("template key is missing"), std::string::npos) << missing.error().message;
}

// Reference photos: kept sealed for review, bound to their entry, re-sealed by a rotation, and
// deleted with the templates once the entry has ended and its retention is over (audited).
TEST_F(StoreTest, ReferencePhotosAreSealedBoundToTheirEntryAndDeletedAfterTheEntryEnds) {
  const std::string marker = "GLASSBOX-REFERENCE-PHOTO-BYTES-0123456789";
  const std::vector<unsigned char> jpeg_a(marker.begin(), marker.end());
  const std::vector<unsigned char> jpeg_b = {0xFF, 0xD8, 0xFF, 0xE0, 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 0xFF, 0xD9};
  auto store = open_rw();
  // Two photos, one of them with templates for two profiles: kept once each, in order.
  auto ida = store->add_pending_entry(entry(), {{"p", {1, 2}, "front.jpg", "aa", jpeg_a}, {"q", {3, 4}, "front.jpg", "aa", jpeg_a},
                                                 {"p", {5, 6}, "side.jpg", "bb", jpeg_b}}, kNow);
  auto idb = store->add_pending_entry(entry(), {{"p", {7, 8}, "c.jpg", "cc", jpeg_b}}, kNow);
  ASSERT_TRUE(ida && idb);
  auto record = store->get_entry(*ida);
  ASSERT_TRUE(record && record->has_value());
  ASSERT_EQ((*record)->photos.size(), 2u);
  EXPECT_EQ((*record)->photos[0].position, 1);
  EXPECT_EQ((*record)->photos[0].name, "front.jpg");
  EXPECT_EQ((*record)->photos[1].sha256, "bb");
  EXPECT_EQ(**store->reference_photo(*ida, 1), jpeg_a);
  EXPECT_EQ(**store->reference_photo(*ida, 2), jpeg_b);
  EXPECT_FALSE(store->reference_photo(*ida, 3)->has_value());
  const std::string db = (dir_ / "w.db").string();
  for (const std::string& file : {db, db + "-wal"})
    EXPECT_EQ(test::read_file(file).find(marker), std::string::npos) << "a reference photo in plain in " << file;

  // Moved onto another entry, a sealed photo does not open.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, ("UPDATE entry_photos SET sealed = (SELECT sealed FROM entry_photos WHERE entry_id = " + std::to_string(*ida) +
                               " AND position = 2) WHERE entry_id = " + std::to_string(*idb)).c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  auto moved = store->reference_photo(*idb, 1);
  ASSERT_FALSE(moved);
  EXPECT_NE(moved.error().message.find("does not open"), std::string::npos) << moved.error().message;
  ASSERT_EQ(sqlite3_exec(raw, ("DELETE FROM entry_photos WHERE entry_id = " + std::to_string(*idb)).c_str(), nullptr, nullptr, nullptr), SQLITE_OK);

  // A rotation re-seals photos with the templates.
  auto rotated = store->rotate_template_key("admin", kNow);
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(**store->reference_photo(*ida, 1), jpeg_a);

  // Revoked on day 0; with 30 days' retention nothing goes on day 29, everything on day 31.
  ASSERT_TRUE(store->approve_entry(*idb, "bob", kNow));
  ASSERT_TRUE(store->revoke_entry(*ida, "bob", "warrant withdrawn", kNow));
  constexpr UnixSeconds kDay = 86400;
  auto none = store->delete_ended_biometrics(kNow + 29 * kDay - 30 * kDay, "glassbox", kNow + 29 * kDay);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(*none, 0);
  EXPECT_TRUE(store->reference_photo(*ida, 1)->has_value());
  auto some = store->delete_ended_biometrics(kNow + 31 * kDay - 30 * kDay, "glassbox", kNow + 31 * kDay);
  ASSERT_TRUE(some) << some.error().message;
  EXPECT_EQ(*some, 1) << "the revoked entry only; the active one keeps its template";
  EXPECT_FALSE(store->reference_photo(*ida, 1)->has_value());
  record = store->get_entry(*ida);
  EXPECT_EQ((*record)->template_count, 0);
  EXPECT_TRUE((*record)->photos.empty());
  EXPECT_EQ((*record)->biometrics_deleted_at.value_or(0), kNow + 31 * kDay);
  EXPECT_EQ((*store->get_entry(*idb))->template_count, 1);
  EXPECT_EQ(*store->delete_ended_biometrics(kNow + 32 * kDay, "glassbox", kNow + 32 * kDay), 0) << "done once";
  // Expiry ends an entry too: past 2027-01-01 plus the retention, the other one goes.
  EXPECT_EQ(*store->delete_ended_biometrics(kExpiry + kDay, "glassbox", kExpiry + 31 * kDay), 1);
  EXPECT_EQ((*store->get_entry(*idb))->template_count, 0);
  sqlite3_stmt* audit = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT count(*) FROM audit_records WHERE json_extract(record, '$.action') = 'entry.biometrics.delete'", -1, &audit, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(audit), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(audit, 0), 2);
  sqlite3_finalize(audit);
  sqlite3_close(raw);
}

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

  auto store = SqliteWatchlistStore::open(db, OpenMode::kReadWriteCreate);
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

TEST_F(StoreTest, AFailedTemplateWriteLeavesNoEntry) {
  auto store = open_rw();
  std::vector<EntryTemplate> bad = {{"p", {1.0f}, "a.jpg", "x"}, {"p", {}, "b.jpg", "y"}};  // empty vector violates the CHECK
  EXPECT_FALSE(store->add_pending_entry(entry(), bad, kNow));
  EXPECT_TRUE(store->list_entries()->empty());
}

TEST_F(StoreTest, ReadOnlyHandlesRefuseWritesAndMissingFiles) {
  EXPECT_FALSE(SqliteWatchlistStore::open((dir_ / "missing.db").string(), OpenMode::kReadOnly));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "missing.db")) << "a read-only open must not create the file";
  { auto store = open_rw(); ASSERT_TRUE(store->add_pending_entry(entry(), one_template(), kNow)); }
  auto ro = SqliteWatchlistStore::open((dir_ / "w.db").string(), OpenMode::kReadOnly);
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
  auto newer = SqliteWatchlistStore::open((dir_ / "w.db").string(), OpenMode::kReadWriteCreate);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("newer"), std::string::npos);

  const auto text_file = dir_ / "notes.txt";
  { std::ofstream(text_file) << "this is not a database, just some text that is long enough\n"; }
  EXPECT_FALSE(SqliteWatchlistStore::open(text_file.string(), OpenMode::kReadWriteCreate));
  EXPECT_FALSE(SqliteWatchlistStore::open(text_file.string(), OpenMode::kReadOnly));
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
