// The watchlist store on both backends (store conformance, docs/cluster.md): pending until
// approved by someone else, nothing after expiry, revocation final and reasoned, templates and
// reference photos sealed with a key that is never in the database and bound to their entry,
// biometrics deleted after an entry ends — and the schema itself refusing what the store would
// (self-approval, an active entry without an approver, a revoked entry changed), on SQLite and
// on PostgreSQL alike. Then what only a cluster has: a node with another key or none is told,
// and every change is announced to LISTENing nodes.
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "store/postgres_schema.h"
#include "store/sql_watchlist_store.h"
#include "support/backends.h"

namespace glassbox {
namespace {

using test::Backend;

const UnixSeconds kNow = *parse_date_utc("2026-11-29") + 12 * 3600;
const UnixSeconds kExpiry = *parse_date_utc("2027-01-01");

NewEntry entry(const std::string& submitter = "alice") { return {"Person A", "Warrant 1", "case photo", submitter, kExpiry}; }
std::vector<EntryTemplate> one_template(const std::string& profile = "p") { return {{profile, {1.0f, 2.0f, 3.0f}, "a.jpg", "ab12"}}; }

class WatchlistStoreTest : public test::BackendTest {
 protected:
  // A store on a connection of its own, a node's with its keys at `node_key_base` (PostgreSQL;
  // this test's key base by default).
  std::unique_ptr<SqlWatchlistStore> store(const std::string& node_key_base = "") {
    auto db = open_with_schema(node_key_base);
    if (db == nullptr) return nullptr;
    return std::make_unique<SqlWatchlistStore>(std::move(db));
  }
  // SQL as someone with the database's credentials but not the store's code would run it.
  Status by_hand(const std::string& sql) { return open()->execute(sql); }
  std::string key_file() const { return key_base() + ".template-key"; }
};

TEST_P(WatchlistStoreTest, PendingEntriesDoNotMatchUntilApprovedBySomeoneElse) {
  auto store = this->store();
  auto id = store->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_TRUE(store->active_templates("p", kNow)->empty());

  auto self = store->approve_entry(*id, "alice", kNow);
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().message.find("someone other than its submitter"), std::string::npos);
  EXPECT_TRUE(store->active_templates("p", kNow)->empty());

  ASSERT_TRUE(store->approve_entry(*id, "bob", kNow));
  auto active = store->active_templates("p", kNow);
  ASSERT_TRUE(active) << active.error().message;
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().entry_id, *id);
  EXPECT_EQ(active->front().vector, (std::vector<float>{1.0f, 2.0f, 3.0f}));
  auto record = store->get_entry(*id);
  ASSERT_TRUE(record && record->has_value());
  EXPECT_EQ((*record)->approved_by.value_or(""), "bob");
  EXPECT_EQ((*record)->status, EntryStatus::kActive);
  EXPECT_EQ((*record)->template_count, 1);

  EXPECT_FALSE(store->approve_entry(*id, "carol", kNow)) << "an active entry cannot be approved twice";
  EXPECT_FALSE(store->approve_entry(*id + 100, "bob", kNow)) << "unknown entry";
  EXPECT_FALSE(store->get_entry(*id + 100)->has_value());
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM audit_records"), 2) << "enrolment and approval audited; the refusals wrote nothing";
}

TEST_P(WatchlistStoreTest, ExpiredEntriesMatchNothingAndCannotBeApproved) {
  auto store = this->store();
  auto id = store->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_TRUE(id);
  EXPECT_FALSE(store->approve_entry(*id, "bob", kExpiry)) << "approval at the expiry instant";
  ASSERT_TRUE(store->approve_entry(*id, "bob", kExpiry - 1));
  EXPECT_EQ(store->active_templates("p", kExpiry - 1)->size(), 1u);
  EXPECT_TRUE(store->active_templates("p", kExpiry)->empty()) << "expired at 00:00 UTC of the expiry date";
}

TEST_P(WatchlistStoreTest, TemplatesAreSeparatedByProfileAndScopeKept) {
  auto store = this->store();
  NewEntry scoped = entry();
  scoped.scope = {"gate", "lobby"};
  auto id = store->add_pending_entry(scoped, one_template("dlib_resnet"), kNow);
  ASSERT_TRUE(id) << id.error().message;
  ASSERT_TRUE(store->approve_entry(*id, "bob", kNow));
  auto active = store->active_templates("dlib_resnet", kNow);
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().scope, (std::vector<std::string>{"gate", "lobby"}));
  EXPECT_TRUE(store->active_templates("mobilefacenet", kNow)->empty());
  EXPECT_EQ(*store->active_entries_without("mobilefacenet", kNow), std::vector<std::int64_t>{*id});
  EXPECT_TRUE(store->active_entries_without("dlib_resnet", kNow)->empty());
  EXPECT_EQ((*store->list_entries())[0].scope, scoped.scope);
}

TEST_P(WatchlistStoreTest, TheSchemaItselfRefusesSelfApprovalAndActiveWithoutApproval) {
  // Defence in depth: even SQL written by hand cannot activate an entry approved by its submitter.
  auto id = store()->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_TRUE(id);
  EXPECT_FALSE(by_hand("UPDATE watchlist_entries SET status='active', approved_by='alice', approved_at=1 WHERE id=" + std::to_string(*id)));
  EXPECT_FALSE(by_hand("UPDATE watchlist_entries SET status='active'")) << "active without an approver";
  EXPECT_FALSE(by_hand("UPDATE watchlist_entries SET scope='{\"not\": \"a list\"}'")) << "scope is a JSON array";
  EXPECT_TRUE(by_hand("UPDATE watchlist_entries SET status='active', approved_by='bob', approved_at=1")) << "what the store does is allowed";
}

TEST_P(WatchlistStoreTest, RevocationNeedsAReasonIsFinalAndStopsMatching) {
  auto store = this->store();
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

  // The schema refuses an incomplete revocation and any change to a revoked entry.
  auto other = store->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_TRUE(other);
  EXPECT_FALSE(by_hand("UPDATE watchlist_entries SET status = 'revoked', revoked_by = 'x', revoked_at = 1 WHERE id = " + std::to_string(*other)));
  auto revive = by_hand("UPDATE watchlist_entries SET status = 'active', approved_by = 'bob', approved_at = 1 WHERE id = " + std::to_string(*active));
  ASSERT_FALSE(revive);
  EXPECT_NE(revive.error().message.find("a revoked entry cannot change"), std::string::npos) << revive.error().message;
}

// Templates at rest: sealed with a key kept outside the database, bound to their entry.
TEST_P(WatchlistStoreTest, TemplatesAreEncryptedAtRestBoundToTheirEntryAndRotated) {
  // Distinctive values, so their bytes can be looked for.
  const std::vector<float> a = {0.123456f, -7.654321f, 3.14159f, 2.71828f, -1.41421f, 0.577215f};
  const std::vector<float> b = {9.87654f, -0.246813f, 1.61803f, -4.66920f, 0.693147f, 1.20206f};
  auto store = this->store();
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
  ASSERT_TRUE(std::filesystem::exists(key_file()));
  // The plaintext is in no stored byte: the file's (SQLite), the rows' (both).
  auto sealed = db_->prepare("SELECT sealed FROM entry_templates");
  for (auto step = sealed->step(); step && *step == Step::kRow; step = sealed->step()) {
    const auto bytes = sealed->bytes(0);
    const std::string stored(bytes.begin(), bytes.end());
    for (const auto* v : {&a, &b}) EXPECT_EQ(stored.find(std::string(reinterpret_cast<const char*>(v->data()), 12)), std::string::npos);
  }
  if (!postgres()) {
    for (const std::string& file : {key_base(), key_base() + "-wal"}) {
      const std::string bytes = test::read_file(file);
      for (const auto* v : {&a, &b})
        EXPECT_EQ(bytes.find(std::string(reinterpret_cast<const char*>(v->data()), 12)), std::string::npos) << "a plaintext template is in " << file;
    }
  }

  // Moved onto the other entry, a sealed template does not open.
  ASSERT_TRUE(by_hand("UPDATE entry_templates SET sealed = (SELECT sealed FROM entry_templates WHERE entry_id = " + std::to_string(*ida) +
                      ") WHERE entry_id = " + std::to_string(*idb)));
  auto moved = store->active_templates("p", kNow);
  ASSERT_FALSE(moved);
  EXPECT_NE(moved.error().message.find("does not open"), std::string::npos) << moved.error().message;
  ASSERT_TRUE(by_hand("DELETE FROM entry_templates WHERE entry_id = " + std::to_string(*idb)));

  // Rotation: everything re-encrypted under a new key; the old key opens nothing.
  const std::string old_key = test::read_file(key_file());
  auto rotated = store->rotate_template_key("admin", kNow);
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(*rotated, 1);
  EXPECT_NE(test::read_file(key_file()), old_key);
  ASSERT_EQ(store->active_templates("p", kNow)->front().vector, a);
  std::ofstream(key_file() + ".next", std::ios::trunc) << test::read_file(key_file());
  std::ofstream(key_file(), std::ios::trunc) << old_key;  // as if the rename had not happened
  auto recovered = store->active_templates("p", kNow);
  ASSERT_TRUE(recovered) << "an interrupted rotation is finished from the .next key: " << recovered.error().message;
  EXPECT_EQ(recovered->front().vector, a);
  std::ofstream(key_file(), std::ios::trunc) << old_key;
  EXPECT_FALSE(store->active_templates("p", kNow)) << "the old key opens nothing";
  std::filesystem::remove(key_file());
  auto missing = store->active_templates("p", kNow);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("template key is missing"), std::string::npos) << missing.error().message;
}

// Reference photos: kept sealed for review, bound to their entry, re-sealed by a rotation, and
// deleted with the templates once the entry has ended and its retention is over (audited).
TEST_P(WatchlistStoreTest, ReferencePhotosAreSealedBoundToTheirEntryAndDeletedAfterTheEntryEnds) {
  const std::string marker = "GLASSBOX-REFERENCE-PHOTO-BYTES-0123456789";
  const std::vector<unsigned char> jpeg_a(marker.begin(), marker.end());
  const std::vector<unsigned char> jpeg_b = {0xFF, 0xD8, 0xFF, 0xE0, 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 0xFF, 0xD9};
  auto store = this->store();
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
  EXPECT_EQ((*store->list_entries())[1].photos.size(), 1u) << "each entry's own photos in the listing";
  EXPECT_EQ(**store->reference_photo(*ida, 1), jpeg_a);
  EXPECT_EQ(**store->reference_photo(*ida, 2), jpeg_b);
  EXPECT_FALSE(store->reference_photo(*ida, 3)->has_value());
  if (!postgres()) {
    for (const std::string& file : {key_base(), key_base() + "-wal"})
      EXPECT_EQ(test::read_file(file).find(marker), std::string::npos) << "a reference photo in plain in " << file;
  }

  // Moved onto another entry, a sealed photo does not open.
  ASSERT_TRUE(by_hand("UPDATE entry_photos SET sealed = (SELECT sealed FROM entry_photos WHERE entry_id = " + std::to_string(*ida) +
                      " AND position = 2) WHERE entry_id = " + std::to_string(*idb)));
  auto moved = store->reference_photo(*idb, 1);
  ASSERT_FALSE(moved);
  EXPECT_NE(moved.error().message.find("does not open"), std::string::npos) << moved.error().message;
  ASSERT_TRUE(by_hand("DELETE FROM entry_photos WHERE entry_id = " + std::to_string(*idb)));

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
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM audit_records WHERE record LIKE '%\"action\":\"entry.biometrics.delete\"%'"), 2);
  auto audited = db_->prepare("SELECT record FROM audit_records WHERE record LIKE '%\"entry.biometrics.delete\"%' ORDER BY seq");
  ASSERT_EQ(*audited->step(), Step::kRow);
  EXPECT_NE(audited->text(0).find("\"photos\":2"), std::string::npos) << audited->text(0);
  EXPECT_NE(audited->text(0).find("\"templates\":3"), std::string::npos) << audited->text(0);
}

TEST_P(WatchlistStoreTest, AFailedTemplateWriteLeavesNoEntry) {
  auto store = this->store();
  std::vector<EntryTemplate> bad = {{"p", {1.0f}, "a.jpg", "x"}, {"p", {}, "b.jpg", "y"}};  // empty vector violates the CHECK
  EXPECT_FALSE(store->add_pending_entry(entry(), bad, kNow));
  EXPECT_TRUE(store->list_entries()->empty());
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM audit_records"), 0);
}

// A cluster's nodes share one watchlist and must share its key: a node with another key, or
// none, is told so and seals nothing; given the key, it reads and enrols. On SQLite the "other
// node" is the same machine after its key file went missing.
TEST_P(WatchlistStoreTest, ANodeWithoutTheWatchlistsKeyIsToldAndSealsNothing) {
  auto first = store();
  ASSERT_TRUE(first->add_pending_entry(entry(), one_template(), kNow));
  const std::string the_key = (dir_ / "the-watchlist-key").string();
  std::filesystem::copy_file(key_file(), the_key);
  std::string other_node = key_base();
  if (postgres()) {
    // Another node: the audit log's keys given to it (distributed the same way), not the template key.
    other_node = (dir_ / "other-node").string();
    for (const char* suffix : {".audit-key", ".audit-pub"}) std::filesystem::copy_file(key_base() + suffix, other_node + suffix);
  } else {
    std::filesystem::remove(key_file());
  }
  auto second = store(other_node);
  auto refused = second->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("give this node that key"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(std::filesystem::exists(other_node + ".template-key")) << "no second key was made";

  ASSERT_TRUE(TemplateKey::generate().write(other_node + ".template-key"));
  refused = second->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("give this node the watchlist's key"), std::string::npos) << refused.error().message;
  EXPECT_EQ(second->list_entries()->size(), 1u);

  std::filesystem::copy_file(the_key, other_node + ".template-key", std::filesystem::copy_options::overwrite_existing);
  auto id = second->add_pending_entry(entry(), one_template(), kNow);
  ASSERT_TRUE(id) << id.error().message;
  ASSERT_TRUE(first->approve_entry(*id, "bob", kNow));
  EXPECT_EQ(second->active_templates("p", kNow)->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, WatchlistStoreTest, test::kAllBackends, test::backend_name);

// On PostgreSQL every committed change to the watchlist is announced on glassbox_watchlist, so
// the other nodes reload without polling (docs/cluster.md, "One watchlist"); nothing is
// announced for a change rolled back.
TEST(WatchlistAnnouncements, EveryCommittedChangeIsAnnouncedToListeningNodes) {
  std::string why;
  test::PostgresServer* server = test::shared_postgres(why);
  ASSERT_NE(server, nullptr) << why;
  ASSERT_TRUE(server->create_database("announce", why)) << why;
  test::TempDir dir;
  auto db = open_postgres(server->conninfo("announce"), (dir / "node").string());
  ASSERT_TRUE(db) << db.error().message;
  SqlWatchlistStore store(std::move(*db));

  PGconn* listener = PQconnectdb(server->conninfo("announce").c_str());
  ASSERT_EQ(PQstatus(listener), CONNECTION_OK) << PQerrorMessage(listener);
  PQclear(PQexec(listener, "LISTEN glassbox_watchlist"));
  // Notifications arrive after the commit, on the listener's socket: wait up to 2 s for the
  // first, then a little for any more.
  auto notifications = [&] {
    int n = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    auto settle = std::chrono::steady_clock::time_point::max();
    while (std::chrono::steady_clock::now() < std::min(deadline, settle)) {
      PQconsumeInput(listener);
      while (PGnotify* note = PQnotifies(listener)) {
        EXPECT_STREQ(note->relname, "glassbox_watchlist");
        PQfreemem(note);
        if (n++ == 0) settle = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return n;
  };
  auto id = store.add_pending_entry(entry(), one_template(), kNow);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(notifications(), 1) << "one notification per transaction, however many rows";
  EXPECT_FALSE(store.approve_entry(*id, "alice", kNow)) << "refused: announces nothing";
  ASSERT_TRUE(store.approve_entry(*id, "bob", kNow));
  EXPECT_EQ(notifications(), 1) << "the approval's alone";
  ASSERT_TRUE(store.revoke_entry(*id, "bob", "withdrawn", kNow));
  EXPECT_EQ(notifications(), 1);
  PQfinish(listener);
}

}  // namespace
}  // namespace glassbox
