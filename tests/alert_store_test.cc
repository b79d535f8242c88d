// Alerts and their review, on both backends (store conformance, docs/cluster.md): stored with
// evidence, decided once by a named person (a dismissal needs a reason) — also when two
// reviewers on two connections (two nodes) decide at once — listed by filter, their evidence
// purged after its retention, and the schema itself keeping a decision final. The feed that
// live streams resume from is gap-free in commit order while two nodes write and one reads; a
// person still in view is one sighting, on whichever node; the delivery outbox gives each
// delivery to one node at a time, and to another once a claim runs out.
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "alert/storing_alert_sink.h"
#include "audit/audit_log.h"
#include "store/alert_store.h"
#include "store/sql_watchlist_store.h"
#include "support/backends.h"

namespace glassbox {
namespace {

constexpr UnixSeconds kNow = 1795950000;

using test::Backend;

class AlertStoreTest : public test::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    SqlWatchlistStore watchlist(open_with_schema());
    auto id = watchlist.add_pending_entry({"Person A", "warrant", "photo", "alice", kNow + 86400 * 30}, {{"p", {1.0f}, "a.jpg", "x"}}, kNow);
    ASSERT_TRUE(id) << id.error().message;
    entry_ = *id;
    store_ = store();
  }
  // A store on a connection of its own (another reviewer, another node).
  std::unique_ptr<AlertStore> store() { return std::make_unique<AlertStore>(open_with_schema()); }
  Alert alert(const std::string& camera, double t = 1.5) const {
    Alert a;
    a.entry_id = entry_;
    a.subject = "Person A";
    a.source = camera;
    a.profile = "dlib_resnet";
    a.score = 0.31;
    a.threshold = 0.42;
    a.timestamp_s = t;
    a.frame_index = 37;
    a.track_id = 4;
    a.box = cv::Rect(10, 20, 30, 40);
    return a;
  }

  std::int64_t entry_ = 0;
  std::unique_ptr<AlertStore> store_;
};

TEST_P(AlertStoreTest, AnAlertIsStoredWithItsEvidenceAndStaysOpenUntilDecided) {
  const std::vector<unsigned char> jpeg = {0xff, 0xd8, 0xff, 0xd9};
  auto id = store_->record(alert("cam-1"), jpeg, kNow, kNow + 86400);
  ASSERT_TRUE(id) << id.error().message;
  auto got = store_->get(*id);
  ASSERT_TRUE(got && got->has_value());
  const AlertRecord& r = **got;
  EXPECT_EQ(r.subject, "Person A");
  EXPECT_EQ(r.camera, "cam-1");
  EXPECT_DOUBLE_EQ(r.score, 0.31);
  EXPECT_EQ(r.box, cv::Rect(10, 20, 30, 40));
  EXPECT_EQ(r.status, AlertStatus::kOpen);
  EXPECT_TRUE(r.has_evidence);
  EXPECT_EQ(store_->evidence(*id)->value(), jpeg);
}

TEST_P(AlertStoreTest, ADecisionIsMadeOnceByANamedPersonAndADismissalNeedsAReason) {
  auto a = *store_->record(alert("cam-1"), {}, kNow, kNow);
  auto b = *store_->record(alert("cam-1"), {}, kNow, kNow);
  EXPECT_FALSE(store_->confirm(a, "", kNow)) << "anonymous decisions are refused";
  auto no_reason = store_->dismiss(b, "olga", "  ", kNow);
  ASSERT_FALSE(no_reason);
  EXPECT_NE(no_reason.error().message.find("reason"), std::string::npos);

  ASSERT_TRUE(store_->confirm(a, "olga", kNow + 5));
  ASSERT_TRUE(store_->dismiss(b, "olga", "a different person: glasses, older", kNow + 6));
  auto again = store_->dismiss(a, "piet", "changed my mind", kNow + 7);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("already confirmed by olga"), std::string::npos) << again.error().message;
  EXPECT_FALSE(store_->confirm(9999, "olga", kNow)) << "unknown alert";

  const AlertRecord ra = **store_->get(a), rb = **store_->get(b);
  EXPECT_EQ(ra.status, AlertStatus::kConfirmed);
  EXPECT_EQ(ra.decided_by.value_or(""), "olga");
  EXPECT_EQ(ra.decided_at.value_or(0), kNow + 5);
  EXPECT_EQ(rb.status, AlertStatus::kDismissed);
  EXPECT_EQ(rb.dismiss_reason.value_or(""), "a different person: glasses, older");
}

TEST_P(AlertStoreTest, ListingFiltersByStatusCameraEntryAndTime) {
  auto a = *store_->record(alert("cam-1"), {}, kNow, kNow);
  *store_->record(alert("cam-2"), {}, kNow + 100, kNow);
  *store_->record(alert("cam-2"), {}, kNow + 200, kNow);
  ASSERT_TRUE(store_->confirm(a, "olga", kNow));
  auto all = store_->list({});
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ(store_->list({AlertStatus::kOpen, {}, {}, {}, 100})->size(), 2u);
  EXPECT_EQ(store_->list({{}, std::string("cam-2"), {}, {}, 100})->size(), 2u);
  EXPECT_EQ(store_->list({{}, {}, entry_, kNow + 150, 100})->size(), 1u);
  EXPECT_EQ(store_->list({{}, {}, entry_ + 1, {}, 100})->size(), 0u);
  EXPECT_EQ(store_->list({{}, {}, {}, {}, 1})->front().raised_at, kNow + 200) << "newest first";
}

TEST_P(AlertStoreTest, EvidenceIsPurgedAfterItsRetentionAndTheAlertStays) {
  auto old_one = *store_->record(alert("cam-1"), {1, 2, 3}, kNow, kNow + 10);
  auto new_one = *store_->record(alert("cam-1"), {4, 5, 6}, kNow, kNow + 1000);
  EXPECT_EQ(*store_->purge_evidence(kNow + 9), 0);
  EXPECT_EQ(*store_->purge_evidence(kNow + 10), 1);
  EXPECT_FALSE(store_->evidence(old_one)->has_value());
  EXPECT_TRUE(store_->evidence(new_one)->has_value());
  EXPECT_FALSE((*store_->get(old_one))->has_evidence);
  EXPECT_TRUE(store_->get(old_one)->has_value()) << "the alert and its decision history stay";
}

TEST_P(AlertStoreTest, DecidedAlertsArePurgedAfterTheirRetentionAndThePurgeIsAudited) {
  auto old_decided = *store_->record(alert("cam-1"), {1, 2, 3}, kNow - 400 * 86400, kNow);
  auto old_open = *store_->record(alert("cam-1"), {}, kNow - 400 * 86400, kNow);
  auto recent = *store_->record(alert("cam-1"), {}, kNow - 10 * 86400, kNow);
  ASSERT_TRUE(store_->dismiss(old_decided, "olga", "not the person", kNow - 399 * 86400));
  ASSERT_TRUE(store_->confirm(recent, "olga", kNow - 9 * 86400));
  EXPECT_EQ(*store_->purge_alerts(kNow - 365 * 86400, kNow), 1);
  EXPECT_FALSE(store_->get(old_decided)->has_value());
  EXPECT_FALSE(store_->evidence(old_decided)->has_value()) << "its evidence went with it";
  EXPECT_TRUE(store_->get(old_open)->has_value()) << "an open alert waits for a decision";
  EXPECT_TRUE(store_->get(recent)->has_value());
  EXPECT_EQ(*store_->purge_alerts(kNow - 365 * 86400, kNow), 0);
  auto records = audit::read_records(*db_);
  ASSERT_TRUE(records);
  EXPECT_NE(records->back().find("\"action\":\"alerts.purge\""), std::string::npos) << records->back();
  EXPECT_NE(records->back().find("\"alerts_deleted\":1"), std::string::npos) << records->back();
}

TEST_P(AlertStoreTest, TheStoringSinkKeepsTheFaceCropAsJpeg) {
  std::mutex store_mutex;
  StoringAlertSink sink(*store_, store_mutex, 7);
  Alert a = alert("cam-9");
  a.face = cv::Mat(48, 40, CV_8UC3, cv::Scalar(30, 90, 200));
  sink.publish(a);
  EXPECT_EQ(sink.failures(), 0u) << sink.last_error();
  const auto records = *store_->list({});
  ASSERT_EQ(records.size(), 1u);
  const auto jpeg = store_->evidence(records[0].id)->value();
  const cv::Mat decoded = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  EXPECT_EQ(decoded.size(), cv::Size(40, 48));
  // Retention: 7 days from now.
  EXPECT_EQ(*store_->purge_evidence(now_utc() + 6 * 86400), 0);
  EXPECT_EQ(*store_->purge_evidence(now_utc() + 8 * 86400), 1);
}

TEST_P(AlertStoreTest, AnAlertForAnUnknownEntryIsRefused) {
  Alert a = alert("cam-1");
  a.entry_id = entry_ + 42;
  EXPECT_FALSE(store_->record(a, {}, kNow, kNow)) << "foreign key to the watchlist";
  EXPECT_TRUE(store_->list({})->empty());
}

// A decision is final in the schema too: no SQL, not only the store's, reopens or changes it.
TEST_P(AlertStoreTest, TheSchemaKeepsADecisionFinal) {
  auto a = *store_->record(alert("cam-1"), {}, kNow, kNow);
  ASSERT_TRUE(store_->dismiss(a, "olga", "not the person", kNow + 5));
  const std::string id = std::to_string(a);
  auto reopen = open()->execute("UPDATE alerts SET status = 'open', decided_by = NULL, decided_at = NULL WHERE id = " + id);
  ASSERT_FALSE(reopen);
  EXPECT_NE(reopen.error().message.find("a decided alert cannot change"), std::string::npos) << reopen.error().message;
  EXPECT_FALSE(open()->execute("UPDATE alerts SET status = 'confirmed', decided_by = 'piet' WHERE id = " + id));
  EXPECT_FALSE(open()->execute("UPDATE alerts SET dismiss_reason = 'something else' WHERE id = " + id));
  EXPECT_FALSE(open()->execute("INSERT INTO alerts (entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, "
                               "box_y, box_w, box_h, raised_at, status) VALUES (" + std::to_string(entry_) +
                               ", 'c', 'p', 0.1, 0.4, 1, 1, 1, 0, 0, 1, 1, 1, 'confirmed')"))
      << "decided without a person";
  EXPECT_EQ((*store_->get(a))->status, AlertStatus::kDismissed);
  EXPECT_TRUE(open()->execute("DELETE FROM alerts WHERE id = " + id)) << "the retention purge may delete a decided alert";
}

// Two reviewers, on two connections (two nodes of a cluster), decide the same alerts at the
// same moment: for every alert exactly one decision stands, the other reviewer is told who
// decided first, and the audit log holds one decision record per alert.
TEST_P(AlertStoreTest, TwoReviewersDecidingAtOnceOneWinsTheOtherIsTold) {
  constexpr int kAlerts = 20;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kAlerts; ++i) ids.push_back(*store_->record(alert("cam-1"), {}, kNow, kNow));
  std::atomic<int> wins[2] = {0, 0}, told[2] = {0, 0}, other[2] = {0, 0};
  auto reviewer = [&](int who) {
    auto own = store();
    for (std::int64_t id : ids) {
      auto decided = who == 0 ? own->confirm(id, "olga", kNow + 1) : own->dismiss(id, "piet", "not the person", kNow + 1);
      if (decided) {
        ++wins[who];
      } else if (decided.error().message.find(who == 0 ? "already dismissed by piet" : "already confirmed by olga") != std::string::npos) {
        ++told[who];
      } else {
        ++other[who];
        ADD_FAILURE() << decided.error().message;
      }
    }
  };
  std::thread first(reviewer, 0), second(reviewer, 1);
  first.join();
  second.join();
  EXPECT_EQ(wins[0] + wins[1], kAlerts);
  EXPECT_EQ(told[0] + told[1], kAlerts);
  EXPECT_EQ(other[0] + other[1], 0);
  int confirmed = 0;
  for (std::int64_t id : ids) confirmed += (*store_->get(id))->status == AlertStatus::kConfirmed;
  EXPECT_EQ(confirmed, wins[0].load());
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM audit_records"), 1 + kAlerts) << "the enrolment and one decision per alert";
}

// Two writers (two nodes) store alerts while a reader tails the feed from its last position, as
// a node's live stream does: the reader gets every alert exactly once, in position order, and
// the positions are 1..N without a gap. A refused (fenced) or failed write takes no position.
TEST_P(AlertStoreTest, TheFeedIsGapFreeInCommitOrderWhileTwoNodesWrite) {
  constexpr int kPerWriter = 40;
  std::atomic<int> writers_done{0};
  auto writer = [&](const std::string& camera) {
    auto own = store();
    for (int i = 0; i < kPerWriter; ++i) {
      auto id = own->record(alert(camera), {}, kNow, kNow);
      EXPECT_TRUE(id) << id.error().message;
    }
    ++writers_done;
  };
  std::vector<std::int64_t> seen;
  std::thread reader([&] {
    auto own = store();
    std::int64_t last = 0;
    while (true) {
      const bool finished = writers_done == 2;  // read once more after both finished
      auto next = own->feed(last, 7);
      ASSERT_TRUE(next) << next.error().message;
      for (const AlertRecord& r : *next) {
        seen.push_back(r.feed_position);
        last = r.feed_position;
      }
      if (finished && next->empty()) break;
    }
  });
  std::thread a(writer, "cam-a"), b(writer, "cam-b");
  a.join();
  b.join();
  reader.join();
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(2 * kPerWriter));
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<std::int64_t>(i + 1)) << "position " << i;
  EXPECT_EQ(*store_->feed_head(), 2 * kPerWriter);
  // A write that fails (no such entry) gives its position back.
  Alert orphan = alert("cam-a");
  orphan.entry_id = 999999;
  EXPECT_FALSE(store_->record(orphan, {}, kNow, kNow));
  auto after = store_->record(alert("cam-a"), {}, kNow, kNow);
  ASSERT_TRUE(after);
  EXPECT_EQ((*store_->get(*after))->feed_position, 2 * kPerWriter + 1);
  EXPECT_FALSE(store_->deployment()->empty());
}

// realert_s: the same entry on the same camera is one sighting while it is seen again within
// the window — from another connection (the node that took the camera over) too — and seen()
// extends it; a new alert comes only once it has lapsed, or on another camera.
TEST_P(AlertStoreTest, APersonStillInViewIsOneSightingOnWhicheverNode) {
  AlertWrite sighting;
  sighting.realert_s = 60;
  auto first = store_->record(alert("cam-1"), {}, kNow, kNow, sighting);
  ASSERT_TRUE(first) << first.error().message;
  auto other_node = store();
  auto repeat = other_node->record(alert("cam-1"), {}, kNow + 30, kNow, sighting);
  ASSERT_FALSE(repeat);
  EXPECT_TRUE(AlertStore::suppressed(repeat.error())) << repeat.error().message;
  EXPECT_NE(repeat.error().message.find("alert " + std::to_string(*first)), std::string::npos) << repeat.error().message;
  EXPECT_TRUE(other_node->record(alert("cam-2"), {}, kNow + 30, kNow, sighting)) << "another camera is another sighting";
  // Seen until kNow + 100: a match at kNow + 150 is still the same sighting.
  ASSERT_TRUE(other_node->seen("cam-1", entry_, kNow + 100));
  EXPECT_FALSE(store_->record(alert("cam-1"), {}, kNow + 150, kNow, sighting));
  // Nothing for more than 60 s: a new alert.
  auto again = store_->record(alert("cam-1"), {}, kNow + 211, kNow, sighting);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM alerts WHERE camera = 'cam-1'"), 2);
  EXPECT_EQ(count(*db_, "SELECT repeats FROM alert_sightings WHERE camera = 'cam-1'"), 0) << "a new sighting starts its count";
  // Without realert_s every match is an alert, as on one machine before.
  EXPECT_TRUE(store_->record(alert("cam-1"), {}, kNow + 212, kNow));
}

// The outbox: an alert's deliveries are written with it; of two nodes claiming at once each
// delivery goes to one; a claim that runs out is taken by the other node, and the first node's
// late outcome no longer counts; a failure waits for its retry time; a done delivery is never
// claimed again.
TEST_P(AlertStoreTest, EachDeliveryIsClaimedByOneNodeAndRetakenWhenItsClaimRunsOut) {
  constexpr int kAlerts = 12;
  AlertWrite write;
  write.deliver_to = {"webhook:1", "mqtt:2"};
  for (int i = 0; i < kAlerts; ++i) ASSERT_TRUE(store_->record(alert("cam-1"), {}, kNow, kNow, write));
  EXPECT_EQ(*store_->pending_deliveries("webhook:1"), kAlerts);
  const std::int64_t now_ms = kNow * 1000 + 1;
  std::vector<std::int64_t> claimed[2];
  auto node = [&](int who) {
    auto own = store();
    while (true) {
      auto d = own->claim_delivery("webhook:1", who == 0 ? "a" : "b", now_ms, 30000);
      ASSERT_TRUE(d) << d.error().message;
      if (!d->has_value()) break;
      claimed[who].push_back((*d)->alert.id);
    }
  };
  std::thread a(node, 0), b(node, 1);
  a.join();
  b.join();
  std::set<std::int64_t> all(claimed[0].begin(), claimed[0].end());
  all.insert(claimed[1].begin(), claimed[1].end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kAlerts));
  EXPECT_EQ(claimed[0].size() + claimed[1].size(), static_cast<std::size_t>(kAlerts)) << "no delivery claimed twice";
  // Node a dies holding its claims: after 30 s node b takes one; a's late outcome is refused.
  auto b_store = store();
  auto retaken = b_store->claim_delivery("webhook:1", "b", now_ms + 31000, 30000);
  ASSERT_TRUE(retaken && retaken->has_value());
  EXPECT_EQ((*retaken)->alert.entry_id, entry_) << "the claim carries the alert";
  AlertDelivery stale = **retaken;
  EXPECT_FALSE(*store_->finish_delivery(stale, "a", now_ms + 32000, true, std::nullopt, "")) << "a's claim ran out";
  EXPECT_TRUE(*b_store->finish_delivery(stale, "b", now_ms + 32000, false, now_ms + 40000, "HTTP 503"));
  // Failed: not due before its retry time, then claimed with its attempt counted.
  std::int64_t due_id = stale.alert.id;
  for (int i = 0; i < kAlerts; ++i) {  // everything else due at +31 s is claimed first
    auto d = b_store->claim_delivery("webhook:1", "b", now_ms + 33000, 30000);
    ASSERT_TRUE(d);
    if (!d->has_value()) break;
    EXPECT_NE((*d)->alert.id, due_id) << "claimed before its retry time";
    ASSERT_TRUE(*b_store->finish_delivery(**d, "b", now_ms + 33000, true, std::nullopt, ""));
  }
  auto retry = b_store->claim_delivery("webhook:1", "b", now_ms + 40000, 30000);
  ASSERT_TRUE(retry && retry->has_value());
  EXPECT_EQ((*retry)->alert.id, due_id);
  EXPECT_EQ((*retry)->attempts, 1);
  ASSERT_TRUE(*b_store->finish_delivery(**retry, "b", now_ms + 40001, false, std::nullopt, "HTTP 400"));  // given up
  EXPECT_EQ(*store_->pending_deliveries("webhook:1"), 0);
  EXPECT_FALSE(b_store->claim_delivery("webhook:1", "b", now_ms + 999000, 30000)->has_value()) << "done stays done";
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM alert_deliveries WHERE endpoint = 'webhook:1' AND state = 'given_up'"), 1);
  EXPECT_EQ(*store_->pending_deliveries("mqtt:2"), kAlerts) << "each endpoint has its own";
}

INSTANTIATE_TEST_SUITE_P(Backends, AlertStoreTest, test::kAllBackends, test::backend_name);

}  // namespace
}  // namespace glassbox
