// Alerts and their review, on both backends (store conformance, docs/cluster.md): stored with
// evidence, decided once by a named person (a dismissal needs a reason) — also when two
// reviewers on two connections (two nodes) decide at once — listed by filter, their evidence
// purged after its retention, and the schema itself keeping a decision final.
#include <atomic>
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

INSTANTIATE_TEST_SUITE_P(Backends, AlertStoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres), test::backend_name);

}  // namespace
}  // namespace glassbox
