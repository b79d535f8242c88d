// Camera leases on the cluster's PostgreSQL (docs/cluster.md, "Nodes and camera leases"), without
// any video: nodes renewing, taking their fair share, giving back with hysteresis, losing
// everything when their lease lapses (a new epoch on return), and the fence that refuses a write
// from a node whose lease is gone — decided by the database in the write's own statement.
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "cluster/camera_leases.h"
#include "store/alert_store.h"
#include "store/search_store.h"
#include "store/camera_store.h"
#include "store/postgres_database.h"
#include "store/postgres_schema.h"
#include "store/sql_watchlist_store.h"
#include "support/backends.h"

namespace glassbox {
namespace {

using namespace std::chrono_literals;

const UnixSeconds kNow = *parse_date_utc("2026-12-05") + 9 * 3600;

class CameraLeasesTest : public ::testing::TestWithParam<test::Backend> {
 protected:
  void SetUp() override {
    std::string why;
    server_ = test::shared_postgres(why);
    ASSERT_NE(server_, nullptr) << why;
    static int databases = 0;
    database_ = "leases" + std::to_string(++databases);
    ASSERT_TRUE(server_->create_database(database_, why)) << why;
    if (GetParam() == test::Backend::kPgbouncer) {
      ASSERT_TRUE(server_->start_pgbouncer(why)) << why;
    }
    CameraStore cameras(connect());
    for (int i = 1; i <= 6; ++i) {
      CameraConfig c{"cam" + std::to_string(i), "rtsp://127.0.0.1/" + std::to_string(i), 2.0, 40, true, false, 10.0};
      ASSERT_TRUE(cameras.insert(c, "root", kNow));
    }
  }
  std::unique_ptr<Database> connect() {
    const std::string conninfo = GetParam() == test::Backend::kPgbouncer ? server_->pooled_conninfo(database_) : server_->conninfo(database_);
    auto db = open_postgres(conninfo, (dir_ / "node").string());
    EXPECT_TRUE(db) << db.error().message;
    return std::move(*db);
  }
  std::unique_ptr<CameraLeases> node(const std::string& name, double lease_s = 15.0, int capacity = 8) {
    auto leases = CameraLeases::create(connect(), {name, capacity, "127.0.0.1:0", lease_s});
    EXPECT_TRUE(leases) << leases.error().message;
    return std::move(*leases);
  }

  test::PostgresServer* server_ = nullptr;
  std::string database_;
  test::TempDir dir_;
};

TEST_P(CameraLeasesTest, NodesTakeTheirShareAndGiveBackWithoutFlapping) {
  auto a = node("a");
  auto first = a->renew();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->rejoined) << "a first lease";
  EXPECT_EQ(first->epoch, 1);
  EXPECT_EQ(first->held.size(), 6u) << "alone, it takes every camera";

  auto b = node("b");
  auto joined = b->renew();
  ASSERT_TRUE(joined) << joined.error().message;
  EXPECT_EQ(joined->share, 3);
  EXPECT_TRUE(joined->held.empty()) << "every camera is held under a live lease";

  // Renewals in turn: a gives back one camera per two renewals while it holds more than
  // share + 1; b takes them. Each camera moves at most once.
  std::map<std::string, int> moves;
  std::map<std::string, std::string> holder;
  for (const auto& c : first->held) holder[c] = "a";
  for (int round = 0; round < 8; ++round) {
    for (const auto& [name, leases] : {std::pair<std::string, CameraLeases*>{"a", a.get()}, {"b", b.get()}}) {
      auto r = leases->renew();
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_FALSE(r->rejoined);
      for (const auto& c : r->taken) {
        if (holder[c] != name) ++moves[c];
        holder[c] = name;
      }
    }
  }
  auto ra = a->renew(), rb = b->renew();
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->held.size() + rb->held.size(), 6u) << "every camera held once";
  EXPECT_LE(ra->held.size(), 4u) << "at most share + 1";
  EXPECT_GE(rb->held.size(), 2u);
  for (const auto& [camera, n] : moves) EXPECT_LE(n, 1) << camera << " flapped";
  for (const auto& c : ra->held) EXPECT_EQ(rb->held.count(c), 0u) << c << " held by both";
}

TEST_P(CameraLeasesTest, ALapsedLeaseLosesItsCamerasAndItsWritesAreFenced) {
  // An entry to alert on.
  SqlWatchlistStore watchlist(connect());
  auto entry = watchlist.add_pending_entry({"P", "W", "S", "alice", kNow + 86400}, {{"p", {1.0f}, "a.jpg", "x"}}, kNow);
  ASSERT_TRUE(entry) << entry.error().message;
  AlertStore alerts(connect());
  Alert alert;
  alert.entry_id = *entry;
  alert.profile = "p";

  auto a = node("a", /*lease_s=*/1.0);
  auto held = a->renew();
  ASSERT_TRUE(held) << held.error().message;
  ASSERT_EQ(held->held.size(), 6u);
  alert.source = "cam1";
  const WriteFence fence_a{"a", held->epoch};
  auto stored = alerts.record(alert, {}, kNow, kNow, AlertWrite::under(fence_a));
  ASSERT_TRUE(stored) << stored.error().message;
  alert.source = "cam-unknown";
  auto not_held = alerts.record(alert, {}, kNow, kNow, AlertWrite::under(fence_a));
  ASSERT_FALSE(not_held);
  EXPECT_TRUE(CameraLeases::is_fenced(not_held.error())) << not_held.error().message;

  // a stops renewing (SIGSTOP, a cut network): past its lease, b takes its cameras.
  std::this_thread::sleep_for(1200ms);
  alert.source = "cam1";
  auto late = alerts.record(alert, {}, kNow, kNow, AlertWrite::under(fence_a));
  ASSERT_FALSE(late) << "written after the lease lapsed";
  EXPECT_TRUE(CameraLeases::is_fenced(late.error())) << late.error().message;
  auto b = node("b");
  auto taken = b->renew();
  ASSERT_TRUE(taken) << taken.error().message;
  EXPECT_EQ(taken->held.size(), 6u) << "the lapsed node's cameras are free";
  auto by_b = alerts.record(alert, {}, kNow, kNow, AlertWrite::under(WriteFence{"b", taken->epoch}));
  ASSERT_TRUE(by_b) << by_b.error().message;

  // a wakes up: its renewal finds the lease lapsed, comes back under a new epoch with nothing,
  // and its writes under the old epoch stay refused.
  auto back = a->renew();
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->rejoined);
  EXPECT_EQ(back->epoch, held->epoch + 1);
  EXPECT_TRUE(back->held.empty()) << "b holds them all and its lease is live";
  EXPECT_TRUE(CameraLeases::is_fenced(alerts.record(alert, {}, kNow, kNow, AlertWrite::under(fence_a)).error()));
  EXPECT_TRUE(CameraLeases::is_fenced(alerts.record(alert, {}, kNow, kNow, AlertWrite::under(WriteFence{"a", back->epoch})).error())) << "b holds cam1";
  auto listed = alerts.list({});
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2u) << "a's first alert and b's; none of the refused";
  // Recording segments carry the same fence: the stale node indexes none, the holder does.
  auto segments = connect();
  auto stale_segment = add_segment(*segments, "cam1", "/rec/a/cam1-1.mkv", kNow * 1000, fence_a);
  ASSERT_FALSE(stale_segment);
  EXPECT_TRUE(CameraLeases::is_fenced(stale_segment.error())) << stale_segment.error().message;
  EXPECT_TRUE(add_segment(*segments, "cam1", "/rec/b/cam1-1.mkv", kNow * 1000, WriteFence{"b", taken->epoch}));
  EXPECT_EQ(*query_int64(*segments, "SELECT count(*) FROM recording_segments", "segments"), 1);
  auto indexed = unfinished_segments(*segments);
  ASSERT_TRUE(indexed && indexed->size() == 1u);
  EXPECT_EQ(indexed->front().node, "b") << "a fenced segment names the node that can read it (a search's part goes there first)";

  // A second node under a name whose lease is live is refused, until that lease lapses.
  auto impostor = node("b");
  auto refused = impostor->renew();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("has a live lease"), std::string::npos) << refused.error().message;

  // A clean stop gives the cameras back at once.
  ASSERT_TRUE(b->leave());
  auto after_leave = a->renew();
  ASSERT_TRUE(after_leave);
  EXPECT_EQ(after_leave->held.size(), 6u);
}

// Many nodes renewing at once from threads: every camera ends held by exactly one node, and the
// serialization failures that concurrency brings are retried, never surfaced.
TEST_P(CameraLeasesTest, ConcurrentRenewalsNeverGiveACameraToTwoNodes) {
  constexpr int kNodes = 4;
  std::vector<std::thread> threads;
  std::vector<std::set<std::string>> held(kNodes);
  std::atomic<int> failures{0};
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] {
      auto leases = node("n" + std::to_string(n));
      for (int round = 0; round < 6; ++round) {
        auto r = leases->renew();
        if (!r) {
          ++failures;
          ADD_FAILURE() << r.error().message;
          return;
        }
        held[static_cast<std::size_t>(n)] = r->held;
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto db = connect();
  auto rows = db->prepare("SELECT camera, count(*) FROM camera_leases GROUP BY camera");
  int cameras = 0;
  for (auto step = rows->step(); step && *step == Step::kRow; step = rows->step()) {
    EXPECT_EQ(rows->int64(1), 1) << rows->text(0);
    ++cameras;
  }
  EXPECT_EQ(cameras, 6);
}

// Straight to the server, and through PgBouncer in transaction pooling mode: leases rely on no
// session state.
INSTANTIATE_TEST_SUITE_P(Connections, CameraLeasesTest, ::testing::Values(test::Backend::kPostgres, test::Backend::kPgbouncer),
                         test::backend_name);

}  // namespace
}  // namespace glassbox
