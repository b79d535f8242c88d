// Alerts and their review: stored with evidence, decided once by a named person (a dismissal
// needs a reason), listed by filter, and their evidence purged after its retention.
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "alert/storing_alert_sink.h"
#include "audit/audit_log.h"
#include "store/alert_store.h"
#include "store/sql_watchlist_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

constexpr UnixSeconds kNow = 1795950000;

class AlertStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto watchlist = SqlWatchlistStore::open(path(), OpenMode::kReadWriteCreate);
    ASSERT_TRUE(watchlist);
    auto id = (*watchlist)->add_pending_entry({"Person A", "warrant", "photo", "alice", kNow + 86400 * 30},
                                              {{"p", {1.0f}, "a.jpg", "x"}}, kNow);
    ASSERT_TRUE(id);
    entry_ = *id;
    auto store = SqliteAlertStore::open(path());
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  std::string path() const { return (dir_ / "glassbox.db").string(); }
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

  test::TempDir dir_;
  std::int64_t entry_ = 0;
  std::unique_ptr<SqliteAlertStore> store_;
};

TEST_F(AlertStoreTest, AnAlertIsStoredWithItsEvidenceAndStaysOpenUntilDecided) {
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

TEST_F(AlertStoreTest, ADecisionIsMadeOnceByANamedPersonAndADismissalNeedsAReason) {
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

TEST_F(AlertStoreTest, ListingFiltersByStatusCameraEntryAndTime) {
  auto a = *store_->record(alert("cam-1"), {}, kNow, kNow);
  *store_->record(alert("cam-2"), {}, kNow + 100, kNow);
  *store_->record(alert("cam-2"), {}, kNow + 200, kNow);
  ASSERT_TRUE(store_->confirm(a, "olga", kNow));
  EXPECT_EQ(store_->list({})->size(), 3u);
  EXPECT_EQ(store_->list({AlertStatus::kOpen, {}, {}, {}, 100})->size(), 2u);
  EXPECT_EQ(store_->list({{}, std::string("cam-2"), {}, {}, 100})->size(), 2u);
  EXPECT_EQ(store_->list({{}, {}, entry_, kNow + 150, 100})->size(), 1u);
  EXPECT_EQ(store_->list({{}, {}, entry_ + 1, {}, 100})->size(), 0u);
  EXPECT_EQ(store_->list({{}, {}, {}, {}, 1})->front().raised_at, kNow + 200) << "newest first";
}

TEST_F(AlertStoreTest, EvidenceIsPurgedAfterItsRetentionAndTheAlertStays) {
  auto old_one = *store_->record(alert("cam-1"), {1, 2, 3}, kNow, kNow + 10);
  auto new_one = *store_->record(alert("cam-1"), {4, 5, 6}, kNow, kNow + 1000);
  EXPECT_EQ(*store_->purge_evidence(kNow + 9), 0);
  EXPECT_EQ(*store_->purge_evidence(kNow + 10), 1);
  EXPECT_FALSE(store_->evidence(old_one)->has_value());
  EXPECT_TRUE(store_->evidence(new_one)->has_value());
  EXPECT_FALSE((*store_->get(old_one))->has_evidence);
  EXPECT_TRUE(store_->get(old_one)->has_value()) << "the alert and its decision history stay";
}

TEST_F(AlertStoreTest, DecidedAlertsArePurgedAfterTheirRetentionAndThePurgeIsAudited) {
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
  auto db = SqliteDatabase::open(path(), OpenMode::kReadOnly);
  ASSERT_TRUE(db);
  auto records = audit::read_records(**db);
  ASSERT_TRUE(records);
  EXPECT_NE(records->back().find("\"action\":\"alerts.purge\""), std::string::npos) << records->back();
  EXPECT_NE(records->back().find("\"alerts_deleted\":1"), std::string::npos) << records->back();
}

TEST_F(AlertStoreTest, TheStoringSinkKeepsTheFaceCropAsJpeg) {
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

TEST_F(AlertStoreTest, AnAlertForAnUnknownEntryIsRefused) {
  Alert a = alert("cam-1");
  a.entry_id = entry_ + 42;
  EXPECT_FALSE(store_->record(a, {}, kNow, kNow)) << "foreign key to the watchlist";
  EXPECT_TRUE(store_->list({})->empty());
}

}  // namespace
}  // namespace glassbox
