// The wall clock stepped an hour back and forward under the stores the service uses, through the
// process's clock (core/service_clock.h) with its readings injected: no expired entry comes back,
// no live entry, session or piece of evidence ends early, the audit log stays in time order and
// verifies — also across a restart whose wall clock is behind the log, and for another process
// whose clock is behind (docs/reliability.md, "Clock steps").
#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "audit/export_verifier.h"
#include "auth/user_store.h"
#include "core/service_clock.h"
#include "store/alert_store.h"
#include "store/sql_watchlist_store.h"
#include "store/sqlite_database.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

constexpr std::int64_t kStartMs = 1798761600000;  // 2027-01-01T00:00:00Z
constexpr UnixSeconds kStart = kStartMs / 1000;

// A machine's clocks, set by the test: the wall clock may be stepped; elapsed time only grows.
struct FakeMachine {
  std::int64_t wall_ms = kStartMs;
  std::int64_t elapsed_ms = 5000;
  void pass(std::int64_t seconds) {
    wall_ms += seconds * 1000;
    elapsed_ms += seconds * 1000;
  }
  void step_wall(std::int64_t seconds) { wall_ms += seconds * 1000; }
};

class ClockSteps : public ::testing::Test {
 protected:
  void SetUp() override { start_process(); }
  void TearDown() override { service_clock().set_source(ServiceClock::read_system); }
  // A new process on this machine: its clock starts again from the wall clock.
  void start_process() {
    service_clock().set_source([this] { return ClockReading{machine_.wall_ms, machine_.elapsed_ms}; });
  }
  std::string db() const { return (dir_ / "glassbox.db").string(); }
  std::unique_ptr<Database> open() {
    auto opened = SqliteDatabase::open(db(), OpenMode::kReadWriteCreate);
    EXPECT_TRUE(opened) << opened.error().message;
    return std::move(*opened);
  }
  std::vector<std::int64_t> active_entries(SqlWatchlistStore& store) {
    auto templates = store.active_templates("dlib_resnet", now_utc());
    EXPECT_TRUE(templates) << templates.error().message;
    std::vector<std::int64_t> ids;
    for (const auto& t : *templates) ids.push_back(t.entry_id);
    return ids;
  }
  std::int64_t enrol_and_approve(SqlWatchlistStore& store, const std::string& subject, UnixSeconds expires) {
    auto id = store.add_pending_entry({subject, "warrant", "photo", "alice", expires}, {{"dlib_resnet", {1.0f, 0.5f}, "a.jpg", "ab"}}, now_utc());
    EXPECT_TRUE(id) << id.error().message;
    EXPECT_TRUE(store.approve_entry(*id, "bob", now_utc()));
    return *id;
  }
  // The audit log's record times, in log order.
  std::vector<UnixSeconds> audit_times() {
    auto database = open();
    auto records = audit::read_records(*database);
    EXPECT_TRUE(records) << records.error().message;
    std::vector<UnixSeconds> times;
    for (const auto& r : *records) times.push_back(*parse_time_utc(nlohmann::json::parse(r).at("time").get<std::string>()));
    return times;
  }

  FakeMachine machine_;
  test::TempDir dir_;
};

TEST_F(ClockSteps, TheServiceClockFollowsElapsedTimeNotStepsOfTheWallClockAndCountsThem) {
  EXPECT_EQ(now_utc(), kStart);
  machine_.pass(10);
  EXPECT_EQ(now_utc(), kStart + 10);
  EXPECT_EQ(service_clock().steps(), 0u);
  // Slewing-sized differences are not steps.
  machine_.step_wall(1);
  EXPECT_EQ(now_utc(), kStart + 10);
  EXPECT_EQ(service_clock().steps(), 0u);
  machine_.step_wall(-3601);
  machine_.pass(5);
  EXPECT_EQ(now_utc(), kStart + 15) << "an hour back is not followed";
  EXPECT_EQ(service_clock().steps(), 1u);
  EXPECT_EQ(service_clock().wall_offset_ms(), -3600 * 1000);
  machine_.step_wall(7200);
  EXPECT_EQ(now_utc(), kStart + 15) << "nor two hours forward";
  EXPECT_EQ(service_clock().steps(), 2u);
  EXPECT_EQ(service_clock().wall_offset_ms(), 3600 * 1000);
  // A floor ahead of the clock moves it forward, never back.
  service_clock().raise_floor_ms((kStart + 100) * 1000);
  EXPECT_EQ(now_utc(), kStart + 100);
  service_clock().raise_floor_ms((kStart + 50) * 1000);
  EXPECT_EQ(now_utc(), kStart + 100);
}

TEST_F(ClockSteps, ASteppedWallClockRevivesNoEntryEndsNothingEarlyAndKeepsTheAuditLogInOrder) {
  auto watchlist = std::make_unique<SqlWatchlistStore>(open());
  const auto short_lived = enrol_and_approve(*watchlist, "Person S", kStart + 1800);  // 30 minutes
  const auto long_lived = enrol_and_approve(*watchlist, "Person L", kStart + 5400);   // 90 minutes
  auto users = std::make_unique<UserStore>(open());
  ASSERT_TRUE(users->add_user("olga", "twelve chars!", {Role::kOperator}, "bootstrap", now_utc()));
  auto login = users->login("olga", "twelve chars!", "test", now_utc());
  ASSERT_TRUE(std::holds_alternative<NewSession>(login));
  const std::string token = std::get<NewSession>(login).token;
  constexpr UnixSeconds kIdle = 1800;
  AlertStore alerts(open());
  Alert alert;
  alert.entry_id = long_lived;
  alert.subject = "Person L";
  alert.source = "gate";
  alert.profile = "dlib_resnet";
  auto raised = alerts.record(alert, {0xff, 0xd8, 0xff, 0xd9}, now_utc(), now_utc() + 4800);  // evidence kept 80 minutes
  ASSERT_TRUE(raised) << raised.error().message;

  // An hour passes: the short-lived entry has expired.
  machine_.pass(3600);
  auto idle = users->session(token, now_utc(), kIdle);
  ASSERT_TRUE(idle) << idle.error().message;
  EXPECT_FALSE(idle->has_value()) << "idle for an hour: ended";
  login = users->login("olga", "twelve chars!", "test", now_utc());
  ASSERT_TRUE(std::holds_alternative<NewSession>(login));
  const std::string fresh = std::get<NewSession>(login).token;
  EXPECT_EQ(active_entries(*watchlist), std::vector<std::int64_t>{long_lived});

  // The wall clock is set back an hour: the expired entry stays expired.
  machine_.step_wall(-3600);
  machine_.pass(60);
  const auto after_step_back = active_entries(*watchlist);
  EXPECT_EQ(std::count(after_step_back.begin(), after_step_back.end(), short_lived), 0) << "an expired entry was revived";
  EXPECT_EQ(after_step_back, std::vector<std::int64_t>{long_lived});
  const auto third = enrol_and_approve(*watchlist, "Person T", kStart + 86400);

  // Then two hours forward: nothing ends early — the 90-minute entry, the session, the evidence
  // (due at 80 minutes; the service's time is at 62; the wall clock's at 122).
  machine_.step_wall(7200);
  machine_.pass(60);
  EXPECT_EQ(now_utc(), kStart + 3720);
  auto active = active_entries(*watchlist);
  std::sort(active.begin(), active.end());
  EXPECT_EQ(active, (std::vector<std::int64_t>{long_lived, third})) << "the 90-minute entry expired early";
  auto session = users->session(fresh, now_utc(), kIdle);
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_TRUE(session->has_value()) << "a session two minutes old was ended by the step";
  auto purged = alerts.purge_evidence(now_utc());
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 0) << "evidence was purged early";
  auto evidence = alerts.evidence(*raised);
  ASSERT_TRUE(evidence && evidence->has_value());
  EXPECT_EQ(service_clock().steps(), 2u);

  // The audit log is in time order, and verifies.
  const auto times = audit_times();
  ASSERT_GE(times.size(), 8u);
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
  auto database = open();
  const auto exported = (dir_ / "export.jsonl").string();
  ASSERT_TRUE(audit::export_log(*database, "auditor", exported, now_utc()));
  auto key = audit::read_public_key(audit::public_key_path(db()));
  ASSERT_TRUE(key);
  auto verified = audit::verify_export_file(exported, *key, std::nullopt);
  EXPECT_TRUE(verified) << verified.error().message;
}

TEST_F(ClockSteps, ARestartWithTheWallClockBehindTheLogActsNoEarlierThanTheLogsNewestRecord) {
  {
    SqlWatchlistStore watchlist(open());
    enrol_and_approve(watchlist, "Person S", kStart + 1800);
    machine_.pass(3600);
    ASSERT_TRUE(watchlist.revoke_entry(enrol_and_approve(watchlist, "Person X", kStart + 86400), "bob", "last act before the restart", now_utc()));
    EXPECT_TRUE(active_entries(watchlist).empty());
  }
  // The machine restarts with its wall clock two hours behind; the process opens the database.
  machine_.step_wall(-7200);
  start_process();
  SqlWatchlistStore watchlist(open());
  EXPECT_GE(now_utc(), kStart + 3600) << "the newest audit record's time is the floor";
  EXPECT_TRUE(active_entries(watchlist).empty()) << "an expired entry was revived by the restart";
  EXPECT_GE(service_clock().steps(), 1u) << "the wall clock behind the log is reported";
  const auto times = audit_times();
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
}

// Another process appending with a clock behind (a command run on a host whose clock is wrong):
// its record takes the newest record's time, not an earlier one.
TEST_F(ClockSteps, ARecordAppendedWithAnEarlierClockTakesTheNewestRecordsTime) {
  SqlWatchlistStore watchlist(open());
  enrol_and_approve(watchlist, "Person S", kStart + 86400);
  auto database = open();
  ASSERT_TRUE(database->transaction([&] { return audit::append(*database, {"cli", "test.behind", "x", {}}, kStart - 3600); }));
  const auto times = audit_times();
  ASSERT_EQ(times.size(), 3u);
  EXPECT_EQ(times.back(), times[1]);
}

}  // namespace
}  // namespace glassbox
