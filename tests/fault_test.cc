// Faults of the disk under the embedded database, injected through FaultVfs
// (support/fault_vfs.h), over a workload of the actions people take — enrolments, approvals,
// alerts, decisions, a revocation — each on the store the service uses, with its audit record
// in the same transaction:
//   - an I/O error on each write, sync and truncate of the workload in turn: every action that
//     answered success is in the database afterwards, every one that answered failure is not,
//     the file passes integrity_check and its audit log verifies — after a clean close, and in a
//     copy taken as if the process had been killed at that moment;
//   - a power loss at each of them (every write not yet synced is lost): nothing acknowledged is
//     missing, nothing is there that was refused before the power went, and the same checks pass;
//     with synchronous = NORMAL the same sweep loses acknowledged actions, which is why the
//     service runs FULL (docs/database-schema.md);
//   - a full disk: actions are refused with SQLite's "database or disk is full", reads go on,
//     and once space returns the same connections carry on.
// docs/reliability.md has the table these rows belong to.
#include <filesystem>
#include <fstream>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "audit/export_verifier.h"
#include "store/alert_store.h"
#include "store/sql_watchlist_store.h"
#include "store/sqlite_database.h"
#include "store/sqlite_statement.h"
#include "support/fault_vfs.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

constexpr UnixSeconds kNow = 1795950000;
constexpr int kPeople = 3;

// One action the workload took, and what it answered.
struct Outcome {
  std::string action;  // as the audit log names it; "alert.raise" for an alert (not audited)
  int person = 0;
  bool acknowledged = false;
  std::string error;
  // A sync failed under it: the service would have stopped without answering (see
  // set_failed_sync_handler), so it may be there or not.
  bool unknown = false;
};

// What the failed-sync handler saw; the service would have stopped at each.
std::vector<std::string> g_failed_syncs;
void note_failed_sync(const std::string& message) { g_failed_syncs.push_back(message); }

// What the database must hold afterwards, given the outcomes.
struct Expected {
  std::vector<Outcome> outcomes;
  bool ok(const std::string& action, int person) const {
    for (const auto& o : outcomes)
      if (o.action == action && o.person == person) return o.acknowledged;
    return false;
  }
  bool attempted(const std::string& action, int person) const {
    for (const auto& o : outcomes)
      if (o.action == action && o.person == person) return true;
    return false;
  }
};

std::string subject_of(int person) { return "Person " + std::to_string(person); }

Alert alert_for(std::int64_t entry, int person) {
  Alert a;
  a.entry_id = entry;
  a.subject = subject_of(person);
  a.source = "gate";
  a.profile = "dlib_resnet";
  a.score = 0.31;
  a.threshold = 0.42;
  a.timestamp_s = 1.5 + person;
  a.frame_index = 37 + person;
  a.track_id = 4 + person;
  a.box = cv::Rect(10, 20, 30, 40);
  return a;
}

// Runs the workload on two connections to `db_file`, as serve holds them (the watchlist's and
// the alerts'). `between` runs after each action with the outcomes so far (to copy the files, for
// instance).
Expected run_workload(std::unique_ptr<Database> watchlist_db, std::unique_ptr<Database> alerts_db,
                      const std::function<void(const Expected&)>& between = {}) {
  SqlWatchlistStore watchlist(std::move(watchlist_db));
  AlertStore alerts(std::move(alerts_db));
  Expected e;
  std::size_t failed_syncs = g_failed_syncs.size();
  auto note = [&](const std::string& action, int person, const Status& s) {
    const bool unknown = g_failed_syncs.size() > failed_syncs;
    failed_syncs = g_failed_syncs.size();
    e.outcomes.push_back({action, person, static_cast<bool>(s), s ? "" : s.error().message, unknown});
    if (between) between(e);
    return static_cast<bool>(s);
  };
  std::map<int, std::int64_t> entry_of;
  for (int person = 0; person < kPeople; ++person) {
    auto id = watchlist.add_pending_entry({subject_of(person), "warrant " + std::to_string(person), "photo", "alice", kNow + 86400 * 30},
                                          {{"dlib_resnet", {1.0f, 2.0f, static_cast<float>(person)}, "a.jpg", "ab12"}}, kNow);
    if (!note("entry.enrol", person, id ? ok_status() : Status(id.error()))) continue;
    entry_of[person] = *id;
    if (!note("entry.approve", person, watchlist.approve_entry(*id, "bob", kNow + 1))) continue;
    const std::vector<unsigned char> jpeg(2000, static_cast<unsigned char>(person));
    auto alert = alerts.record(alert_for(*id, person), jpeg, kNow + 2, kNow + 86400);
    if (!note("alert.raise", person, alert ? ok_status() : Status(alert.error()))) continue;
    if (person % 2 == 0) {
      note("alert.confirm", person, alerts.confirm(*alert, "carol", kNow + 3));
    } else {
      note("alert.dismiss", person, alerts.dismiss(*alert, "carol", "not the same person", kNow + 3));
    }
  }
  if (entry_of.count(0) != 0) note("entry.revoke", 0, watchlist.revoke_entry(entry_of[0], "bob", "warrant withdrawn", kNow + 4));
  return e;
}

std::unique_ptr<Database> open_database(const std::string& file, const char* synchronous = nullptr) {
  auto db = SqliteDatabase::open(file, OpenMode::kReadWriteCreate);
  EXPECT_TRUE(db) << db.error().message;
  if (!db) return nullptr;
  if (synchronous != nullptr) {
    EXPECT_TRUE((*db)->exec((std::string("PRAGMA synchronous = ") + synchronous).c_str()));
  }
  return std::move(*db);
}

// Checks the database at `file` (opened without faults) against what the workload answered.
// `in_flight`: the one action that may or may not be there (it was under way when the power
// went, or a sync failed under it). Returns the problems found, in words.
std::vector<std::string> check_against(const std::string& file, const Expected& expected, const test::TempDir& scratch,
                                       std::optional<std::size_t> in_flight = std::nullopt) {
  std::vector<std::string> problems;
  for (std::size_t i = 0; !in_flight && i < expected.outcomes.size(); ++i)
    if (expected.outcomes[i].unknown) in_flight = i;
  auto opened = SqliteDatabase::open(file, OpenMode::kReadWriteCreate);
  if (!opened) return {"cannot open: " + opened.error().message};
  SqliteDatabase& db = **opened;
  {
    SqliteStatement check(db.handle(), "PRAGMA integrity_check");
    if (check.step() != SQLITE_ROW || check.text(0) != "ok") problems.push_back("integrity_check: " + check.text(0));
  }
  // The audit log: exactly the audited actions that were acknowledged, in order.
  std::vector<std::string> logged;
  auto records = audit::read_records(db);
  if (!records) return {"cannot read the audit log: " + records.error().message};
  for (const auto& text : *records) {
    const auto record = nlohmann::json::parse(text);
    logged.push_back(record.at("action").get<std::string>() + " " + record.at("object").get<std::string>());
  }
  // The action under way when the power went may have committed or not; every other one is
  // there exactly when it was acknowledged.
  std::vector<std::string> without_in_flight, with_in_flight, logged_actions;
  for (std::size_t i = 0; i < expected.outcomes.size(); ++i) {
    const auto& o = expected.outcomes[i];
    if (o.action == "alert.raise") continue;
    if (o.acknowledged) without_in_flight.push_back(o.action);
    if (o.acknowledged || (in_flight && i == *in_flight)) with_in_flight.push_back(o.action);
  }
  for (const auto& l : logged) logged_actions.push_back(l.substr(0, l.find(' ')));
  if (logged_actions != without_in_flight && logged_actions != with_in_flight) {
    std::string want, got;
    for (const auto& a : without_in_flight) want += a + " ";
    for (const auto& a : logged_actions) got += a + " ";
    problems.push_back("audit log holds [" + got + "], the acknowledged actions were [" + want + "]");
  }
  const auto export_file = (scratch / "export.jsonl").string();
  std::filesystem::remove(export_file);
  if (auto exported = audit::export_log(db, "auditor", export_file, kNow + 10); !exported) {
    problems.push_back("audit export: " + exported.error().message);
  } else {
    auto key = audit::read_public_key(audit::public_key_path(file));
    if (!key) return {"public key: " + key.error().message};
    if (auto report = audit::verify_export_file(export_file, *key, std::nullopt); !report)
      problems.push_back("audit verify: " + report.error().message);
  }

  // The entries and alerts: each acknowledged one there, each refused one not.
  SqlWatchlistStore watchlist(std::move(*opened));
  auto entries = watchlist.list_entries();
  if (!entries) return {"cannot list entries: " + entries.error().message};
  std::map<std::string, EntryRecord> by_subject;
  for (const auto& e : *entries) by_subject[e.subject] = e;
  for (std::size_t i = 0; i < expected.outcomes.size(); ++i) {
    const auto& o = expected.outcomes[i];
    const bool either = in_flight && i == *in_flight;
    const auto found = by_subject.find(subject_of(o.person));
    const std::string who = subject_of(o.person) + " (" + o.action + ")";
    if (o.action == "entry.enrol") {
      if (o.acknowledged && found == by_subject.end()) problems.push_back(who + ": acknowledged, missing");
      if (!o.acknowledged && !either && found != by_subject.end()) problems.push_back(who + ": refused, yet stored");
    } else if (o.action == "entry.approve" && found != by_subject.end()) {
      const bool approved = found->second.approved_by.has_value();
      if (o.acknowledged && !approved) problems.push_back(who + ": acknowledged, still pending");
      if (!o.acknowledged && !either && approved) problems.push_back(who + ": refused, yet approved");
    } else if (o.action == "entry.revoke" && found != by_subject.end()) {
      const bool revoked = found->second.revoked_by.has_value();
      if (o.acknowledged && !revoked) problems.push_back(who + ": acknowledged, not revoked");
      if (!o.acknowledged && !either && revoked) problems.push_back(who + ": refused, yet revoked");
    }
  }
  auto alerts_store = AlertStore::open(file);
  if (!alerts_store) return {"cannot open alerts: " + alerts_store.error().message};
  auto alerts = (*alerts_store)->list({});
  if (!alerts) return {"cannot list alerts: " + alerts.error().message};
  std::map<std::string, AlertRecord> alert_of;
  for (const auto& a : *alerts) alert_of[a.subject] = a;
  for (std::size_t i = 0; i < expected.outcomes.size(); ++i) {
    const auto& o = expected.outcomes[i];
    const bool either = in_flight && i == *in_flight;
    const auto found = alert_of.find(subject_of(o.person));
    const std::string who = subject_of(o.person) + " (" + o.action + ")";
    if (o.action == "alert.raise") {
      if (o.acknowledged && found == alert_of.end()) problems.push_back(who + ": acknowledged, missing");
      if (!o.acknowledged && !either && found != alert_of.end()) problems.push_back(who + ": refused, yet stored");
      if (found != alert_of.end()) {
        auto evidence = (*alerts_store)->evidence(found->second.id);
        if (!evidence || !*evidence || (*evidence)->size() != 2000) problems.push_back(who + ": its evidence is not whole");
      }
    } else if ((o.action == "alert.confirm" || o.action == "alert.dismiss") && found != alert_of.end()) {
      const bool decided = found->second.status != AlertStatus::kOpen;
      if (o.acknowledged && !decided) problems.push_back(who + ": acknowledged, still open");
      if (!o.acknowledged && !either && decided) problems.push_back(who + ": refused, yet decided");
    }
  }
  return problems;
}

std::string joined(const std::vector<std::string>& problems) {
  std::string text;
  for (const auto& p : problems) text += "\n  " + p;
  return text;
}

// Copies the database and its WAL (not the -shm, which a new process rebuilds), as a process
// killed at this moment would leave them.
void copy_as_killed(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  std::error_code ec;
  if (std::filesystem::exists(from + "-wal", ec)) std::filesystem::copy_file(from + "-wal", to + "-wal", std::filesystem::copy_options::overwrite_existing);
  for (const char* key : {".audit-key", ".audit-pub", ".template-key"})
    std::filesystem::copy_file(from + key, to + key, std::filesystem::copy_options::overwrite_existing, ec);
}

// The failed-sync handler records instead of stopping the process.
class DiskFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    g_failed_syncs.clear();
    set_failed_sync_handler(note_failed_sync);
  }
  void TearDown() override { set_failed_sync_handler(nullptr); }
};

// Counts the workload's file operations with no fault, so that a sweep covers each of them.
std::int64_t operations_of_workload(test::FaultVfs& vfs, const test::TempDir& dir) {
  const std::string file = (dir / "count.db").string();
  auto a = open_database(file), b = open_database(file);
  vfs.reset_count();
  const Expected e = run_workload(std::move(a), std::move(b));
  for (const auto& o : e.outcomes) EXPECT_TRUE(o.acknowledged) << o.action << ": " << o.error;
  return vfs.operations();
}

TEST_F(DiskFaults, AnIoErrorOnAnyWriteOrSyncLosesNothingAcknowledgedAndKeepsNothingRefused) {
  test::FaultVfs vfs;
  test::TempDir dir;
  const std::int64_t total = operations_of_workload(vfs, dir);
  ASSERT_GT(total, 20);
  int refused_actions = 0;
  for (std::int64_t at = 1; at <= total; ++at) {
    SCOPED_TRACE("I/O error on operation " + std::to_string(at) + " of " + std::to_string(total));
    const auto run_dir = dir / ("io-" + std::to_string(at));
    std::filesystem::create_directories(run_dir);
    const std::string file = (run_dir / "glassbox.db").string();
    const std::string killed = (run_dir / "killed.db").string();
    auto a = open_database(file), b = open_database(file);
    ASSERT_TRUE(a && b);
    vfs.reset_count();
    vfs.fail_once(at);
    std::optional<Expected> as_killed;
    const Expected e = run_workload(std::move(a), std::move(b), [&](const Expected& so_far) {
      // Right after the action that met the error: the state a kill -9 would leave.
      if (!as_killed && vfs.failures() > 0) {
        copy_as_killed(file, killed);
        as_killed = so_far;
      }
    });
    vfs.clear();
    ASSERT_EQ(vfs.failures(), 1);
    int unknown = 0;
    for (const auto& o : e.outcomes) {
      refused_actions += o.acknowledged ? 0 : 1;
      unknown += o.unknown ? 1 : 0;
    }
    EXPECT_LE(unknown, 1);
    EXPECT_EQ(joined(check_against(file, e, dir)), "") << "after a clean close";
    if (as_killed) {
      EXPECT_EQ(joined(check_against(killed, *as_killed, dir)), "") << "as killed right after the error";
    }
  }
  // The sweep must have made actions fail; otherwise it tested nothing.
  EXPECT_GT(refused_actions, 0);
  // Each commit's sync failed once in the sweep: the service would have stopped there.
  EXPECT_GE(g_failed_syncs.size(), 13u);
  std::printf("an I/O error at each of %lld operations: %d actions refused, %zu failed syncs stopped the service\n",
              static_cast<long long>(total), refused_actions, g_failed_syncs.size());
  for (const auto& message : g_failed_syncs) EXPECT_NE(message.find("whether the last commit is on the disk is unknown"), std::string::npos) << message;
}

// Sweeps a power loss over every operation of the workload at the given synchronous setting.
// Returns the problems found, by operation.
std::map<std::int64_t, std::string> power_loss_sweep(test::FaultVfs& vfs, const test::TempDir& dir, const char* synchronous,
                                                     std::int64_t total, int& crashes_mid_action) {
  std::map<std::int64_t, std::string> problems;
  for (std::int64_t at = 1; at <= total; ++at) {
    const auto run_dir = dir / (std::string("power-") + synchronous + "-" + std::to_string(at));
    std::filesystem::create_directories(run_dir);
    const std::string file = (run_dir / "glassbox.db").string();
    Expected e;
    {
      auto a = open_database(file, synchronous), b = open_database(file, synchronous);
      // The files as they stand now (the schema made) are on the disk: a clean start.
      vfs.reset_count();
      vfs.lose_power(at);
      e = run_workload(std::move(a), std::move(b));
    }  // the connections close; with the power off nothing more reaches the disk
    vfs.lose_unsynced_writes();
    vfs.clear();
    // The action under way when the power went: the first that failed.
    std::optional<std::size_t> in_flight;
    for (std::size_t i = 0; i < e.outcomes.size(); ++i)
      if (!e.outcomes[i].acknowledged) {
        in_flight = i;
        break;
      }
    if (in_flight) ++crashes_mid_action;
    if (auto found = check_against(file, e, dir, in_flight); !found.empty()) problems[at] = joined(found);
  }
  return problems;
}

TEST_F(DiskFaults, APowerLossAtAnyWriteOrSyncLosesNothingAcknowledged) {
  test::FaultVfs vfs;
  test::TempDir dir;
  const std::int64_t total = operations_of_workload(vfs, dir);
  int mid_action = 0;
  const auto problems = power_loss_sweep(vfs, dir, "FULL", total, mid_action);
  for (const auto& [at, what] : problems) ADD_FAILURE() << "power lost at operation " << at << " of " << total << ":" << what;
  EXPECT_GT(mid_action, 0);
  std::printf("power lost at each of %lld operations, %d of them in the middle of an action: %zu lost or kept anything wrongly\n",
              static_cast<long long>(total), mid_action, problems.size());
}

// The sweep above can fail: with synchronous = NORMAL a commit is acknowledged before its WAL
// frames are synced, and a power loss takes acknowledged actions with it.
TEST_F(DiskFaults, WithSynchronousNormalAPowerLossLosesAcknowledgedActions) {
  test::FaultVfs vfs;
  test::TempDir dir;
  const std::int64_t total = operations_of_workload(vfs, dir);
  int mid_action = 0;
  const auto problems = power_loss_sweep(vfs, dir, "NORMAL", total, mid_action);
  int lost = 0;
  for (const auto& [at, what] : problems) lost += what.find("acknowledged") != std::string::npos ? 1 : 0;
  std::printf("synchronous = NORMAL: a power loss at %d of %lld operations lost acknowledged actions\n", lost, static_cast<long long>(total));
  EXPECT_GT(lost, 0) << "a power loss under synchronous = NORMAL lost nothing acknowledged in " << total << " tries";
}

// Without a test's handler, a failed sync stops the process at once with EX_IOERR, saying why,
// before the action is answered.
TEST_F(DiskFaults, AFailedSyncStopsTheProcessBeforeTheActionIsAnswered) {
  set_failed_sync_handler(nullptr);
  test::TempDir dir;
  const std::string file = (dir / "glassbox.db").string();
  EXPECT_EXIT(
      {
        test::FaultVfs vfs;
        SqlWatchlistStore watchlist(open_database(file));
        vfs.fail_next_sync();
        auto id = watchlist.add_pending_entry({"Person 0", "warrant", "photo", "alice", kNow + 86400}, {{"dlib_resnet", {1.0f}, "a.jpg", "x"}}, kNow);
        std::fprintf(stderr, "answered: %s\n", id ? "enrolled" : id.error().message.c_str());
        std::exit(0);
      },
      ::testing::ExitedWithCode(kStorageFaultExit), "stopping: .*glassbox.db: disk I/O error .*whether the last commit is on the disk is unknown");
}

TEST_F(DiskFaults, AFullDiskRefusesActionsWithAClearErrorKeepsReadsAndRecoversWhenSpaceReturns) {
  test::FaultVfs vfs;
  test::TempDir dir;
  const std::string file = (dir / "glassbox.db").string();
  SqlWatchlistStore watchlist(open_database(file));
  AlertStore alerts(open_database(file));
  auto first = watchlist.add_pending_entry({"Person 0", "warrant", "photo", "alice", kNow + 86400}, {{"dlib_resnet", {1.0f}, "a.jpg", "x"}}, kNow);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(watchlist.approve_entry(*first, "bob", kNow));

  // The disk fills. An enrolment and an alert with its evidence need room: refused, whole.
  vfs.fill_disk(vfs.operations() + 1);
  const std::vector<float> big(4096, 0.5f);
  auto refused = watchlist.add_pending_entry({"Person 1", "warrant", "photo", "alice", kNow + 86400}, {{"dlib_resnet", big, "b.jpg", "y"}}, kNow);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("disk is full"), std::string::npos) << refused.error().message;
  auto refused_alert = alerts.record(alert_for(*first, 0), std::vector<unsigned char>(64 * 1024, 7), kNow, kNow + 86400);
  ASSERT_FALSE(refused_alert);
  EXPECT_NE(refused_alert.error().message.find("disk is full"), std::string::npos) << refused_alert.error().message;
  EXPECT_GT(vfs.failures(), 0);
  // Reads go on.
  auto listed = watchlist.list_entries();
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->size(), 1u);
  auto no_alerts = alerts.list({});
  ASSERT_TRUE(no_alerts);
  EXPECT_TRUE(no_alerts->empty());

  // Space returns: the same connections carry on, and the log verifies with both actions in it.
  vfs.clear();
  auto second = watchlist.add_pending_entry({"Person 1", "warrant", "photo", "alice", kNow + 86400}, {{"dlib_resnet", big, "b.jpg", "y"}}, kNow);
  ASSERT_TRUE(second) << second.error().message;
  auto alert = alerts.record(alert_for(*first, 0), std::vector<unsigned char>(64 * 1024, 7), kNow, kNow + 86400);
  ASSERT_TRUE(alert) << alert.error().message;
  Expected e;
  e.outcomes = {{"entry.enrol", 0, true, ""}, {"entry.approve", 0, true, ""}, {"entry.enrol", 1, true, ""}, {"alert.raise", 0, true, ""}};
  // (The evidence check expects the workload's 2000-byte crops; this one is larger.)
  auto problems = check_against(file, e, dir);
  std::erase_if(problems, [](const std::string& p) { return p.find("evidence") != std::string::npos; });
  EXPECT_EQ(joined(problems), "");
}

}  // namespace
}  // namespace glassbox
