// The Database interface (store/database.h) on both backends: one suite, run against an SQLite
// file and against a real PostgreSQL server this test starts itself (support/postgres_server.h).
// What the store code relies on: every type and NULL round trips, placeholders, RETURNING,
// atomic transactions, a trigger's message reaching the caller, no lost update under concurrent
// transactions, and no acknowledged write lost when a client is killed with SIGKILL in the
// middle of a transaction. Then the first store on it, the audit log: the same records, export
// and offline verification on both, append-only in both schemas, and one unforked log when
// many connections (a cluster's nodes) append at once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "audit/export_verifier.h"
#include "store/camera_store.h"
#include "store/database_location.h"
#include "store/postgres_database.h"
#include "store/postgres_schema.h"
#include "store/sqlite_database.h"
#include "support/backends.h"
#include "support/postgres_server.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

using nlohmann::json;

TEST(NumberPlaceholders, NumbersQuestionMarksOutsideLiteralsIdentifiersAndComments) {
  EXPECT_EQ(number_placeholders("SELECT ?, ? FROM t WHERE a = ?"), "SELECT $1, $2 FROM t WHERE a = $3");
  EXPECT_EQ(number_placeholders("SELECT ?2, ?1, ?2"), "SELECT $2, $1, $2");
  EXPECT_EQ(number_placeholders("SELECT '?', 'it''s ?', \"col?\", ? -- why?\n, ? /* ? */"),
            "SELECT '?', 'it''s ?', \"col?\", $1 -- why?\n, $2 /* ? */");
  EXPECT_EQ(number_placeholders("CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN IF a ? b THEN END IF; END $$ LANGUAGE plpgsql; SELECT ?"),
            "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN IF a ? b THEN END IF; END $$ LANGUAGE plpgsql; SELECT $1");
  EXPECT_EQ(number_placeholders("SELECT $body$ ? $body$, $1"), "SELECT $body$ ? $body$, $1");
  EXPECT_EQ(number_placeholders("SELECT 'unterminated ?"), "SELECT 'unterminated ?");
  int highest = -1;
  number_placeholders("SELECT ?, '?5', ? -- ?9", &highest);
  EXPECT_EQ(highest, 2);
  number_placeholders("SELECT ?3, ?1", &highest);
  EXPECT_EQ(highest, 3);
  number_placeholders("SELECT $4, $$ $7 $$", &highest);
  EXPECT_EQ(highest, 4);
  number_placeholders("SELECT 1", &highest);
  EXPECT_EQ(highest, 0);
}

using test::Backend;

class DatabaseTest : public test::BackendTest {
 protected:
  // The one place the two schemas differ in these tests: how a table gets its own ids.
  std::string id_column() const {
    return GetParam() == Backend::kSqlite ? "id INTEGER PRIMARY KEY" : "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";
  }
  std::string blob_type() const { return GetParam() == Backend::kSqlite ? "BLOB" : "BYTEA"; }
};

TEST_P(DatabaseTest, EveryTypeAndNullRoundTrip) {
  ASSERT_TRUE(db_->execute("CREATE TABLE things (" + id_column() + ", name TEXT, n BIGINT, x DOUBLE PRECISION, b " + blob_type() + ")"));
  const std::string name = "Ёлка 'quoted' \"double\" ? ; -- not a comment";
  const std::vector<unsigned char> bytes = {0, 1, 2, 255, 0, 39, 92};
  struct Row {
    std::optional<std::string> name;
    std::optional<std::int64_t> n;
    std::optional<double> x;
    std::optional<std::vector<unsigned char>> b;
  };
  const std::vector<Row> rows = {{name, std::numeric_limits<std::int64_t>::max(), 0.1, bytes},
                                 {"", std::numeric_limits<std::int64_t>::min(), -1e300, std::vector<unsigned char>{}},
                                 {std::nullopt, std::nullopt, std::nullopt, std::nullopt}};
  std::vector<std::int64_t> ids;
  auto insert = db_->prepare("INSERT INTO things (name, n, x, b) VALUES (?, ?, ?, ?) RETURNING id");
  for (const Row& r : rows) {
    insert->reset();
    r.name ? insert->bind(1, *r.name) : insert->bind_null(1);
    r.n ? insert->bind(2, *r.n) : insert->bind_null(2);
    r.x ? insert->bind_real(3, *r.x) : insert->bind_null(3);
    r.b ? insert->bind_bytes(4, *r.b) : insert->bind_null(4);
    auto step = insert->step();
    ASSERT_TRUE(step) << step.error().message;
    ASSERT_EQ(*step, Step::kRow);
    ids.push_back(insert->int64(0));
    ASSERT_EQ(*insert->step(), Step::kDone);
  }
  EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), 3u) << "RETURNING gives each row its own id";

  auto select = db_->prepare("SELECT name, n, x, b FROM things WHERE id = ?");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    select->bind(1, ids[i]);
    auto step = select->step();
    ASSERT_TRUE(step) << step.error().message;
    ASSERT_EQ(*step, Step::kRow);
    const Row& r = rows[i];
    EXPECT_EQ(select->is_null(0), !r.name);
    EXPECT_EQ(select->is_null(1), !r.n);
    EXPECT_EQ(select->is_null(2), !r.x);
    EXPECT_EQ(select->is_null(3), !r.b) << "an empty blob is not NULL";
    EXPECT_EQ(select->text(0), r.name.value_or(""));
    EXPECT_EQ(select->int64(1), r.n.value_or(0));
    EXPECT_EQ(select->real(2), r.x.value_or(0.0));
    EXPECT_EQ(select->bytes(3), r.b.value_or(std::vector<unsigned char>{}));
    EXPECT_EQ(*select->step(), Step::kDone);
  }
}

TEST_P(DatabaseTest, PlaceholdersNumberedOrNotAndLiteralsLeftAlone) {
  auto s = db_->prepare("SELECT '?', ?2, ?1 -- a comment?\n");
  s->bind(1, "first");
  s->bind(2, "second");
  auto step = s->step();
  ASSERT_TRUE(step) << step.error().message;
  ASSERT_EQ(*step, Step::kRow);
  EXPECT_EQ(s->text(0), "?");
  EXPECT_EQ(s->text(1), "second");
  EXPECT_EQ(s->text(2), "first");
}

// Parameters never bound are NULL on both engines, the last ones included (SQLite's rule; libpq
// is sent every parameter the text names).
TEST_P(DatabaseTest, AParameterLeftUnboundIsNull) {
  ASSERT_TRUE(db_->execute("CREATE TABLE u (a TEXT, b TEXT, c BIGINT)"));
  auto insert = db_->prepare("INSERT INTO u (a, b, c) VALUES (?, ?, ?)");
  insert->bind(1, "x");
  auto inserted = run(*insert);
  ASSERT_TRUE(inserted) << inserted.error().message;
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM u WHERE a = 'x' AND b IS NULL AND c IS NULL"), 1);
}

TEST_P(DatabaseTest, AStatementRunsOnceUntilResetOrBoundAgain) {
  ASSERT_TRUE(db_->execute("CREATE TABLE runs (n BIGINT NOT NULL)"));
  auto insert = db_->prepare("INSERT INTO runs (n) VALUES (?)");
  insert->bind(1, 1);
  ASSERT_EQ(*insert->step(), Step::kDone);
  ASSERT_EQ(*insert->step(), Step::kDone) << "stepping a finished statement does not run it again";
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM runs"), 1);
  insert->reset();
  ASSERT_EQ(*insert->step(), Step::kDone);
  insert->bind(1, 2);
  ASSERT_EQ(*insert->step(), Step::kDone);
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM runs"), 3);
  EXPECT_EQ(count(*db_, "SELECT sum(n) FROM runs"), 4);
}

TEST_P(DatabaseTest, ABadStatementSaysWhatAndWhere) {
  auto s = db_->prepare("SELECT nothing FROM nowhere");
  auto step = s->step();
  ASSERT_FALSE(step);
  EXPECT_NE(step.error().message.find("nowhere"), std::string::npos) << step.error().message;
  EXPECT_NE(step.error().message.find(db_->describe()), std::string::npos) << "names the database: " << step.error().message;
  if (postgres()) {
    EXPECT_EQ(static_cast<PostgresDatabase&>(*db_).last_sqlstate(), "42P01");
  }
  // The connection goes on working.
  EXPECT_EQ(count(*db_, "SELECT 1 + 1"), 2);
}

TEST_P(DatabaseTest, AFailedTransactionLeavesNothing) {
  ASSERT_TRUE(db_->execute("CREATE TABLE ledger (k BIGINT NOT NULL, v BIGINT NOT NULL CHECK (v >= 0))"));
  // The body gives up after a write.
  Status refused = db_->transaction([&]() -> Status {
    auto s = db_->prepare("INSERT INTO ledger (k, v) VALUES (1, 1)");
    if (auto r = run(*s); !r) return r;
    return Error{"changed my mind"};
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "changed my mind");
  // The database refuses the second write: the first goes with it.
  Status violated = db_->transaction([&]() -> Status {
    auto first = db_->prepare("INSERT INTO ledger (k, v) VALUES (2, 5)");
    if (auto r = run(*first); !r) return r;
    auto second = db_->prepare("INSERT INTO ledger (k, v) VALUES (2, -5)");
    return run(*second);
  });
  ASSERT_FALSE(violated);
  std::string message = violated.error().message;
  std::transform(message.begin(), message.end(), message.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_NE(message.find("check constraint"), std::string::npos) << violated.error().message;
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM ledger"), 0);
  // A good one commits.
  ASSERT_TRUE(db_->transaction([&]() -> Status { return run(*db_->prepare("INSERT INTO ledger (k, v) VALUES (3, 3)")); }));
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM ledger"), 1);
}

// A read-only connection (the commands that only read: transparency, audit export, cluster
// status) writes nothing, however it tries — and, through a transaction pool, leaves nothing on
// the server session it used for the clients that get it next: read-only is per statement, not a
// session setting (docs/cluster.md, "Connection pooling").
TEST_P(DatabaseTest, AReadOnlyConnectionWritesNothingAndLeavesNoSessionStateBehind) {
  ASSERT_TRUE(db_->execute("CREATE TABLE notes (n BIGINT NOT NULL)"));
  DatabaseLocation where;
  where.key_base = key_base();
  if (postgres()) {
    where.postgres = conninfo();
  } else {
    where.sqlite_path = (dir_ / "store.db").string();
  }
  auto reader = connect(where, ConnectMode::kReadOnly);
  ASSERT_TRUE(reader) << reader.error().message;
  Database& r = **reader;
  EXPECT_EQ(count(r, "SELECT count(*) FROM notes"), 0);
  EXPECT_FALSE(run(*r.prepare("INSERT INTO notes (n) VALUES (1)")));
  EXPECT_FALSE(r.execute("INSERT INTO notes (n) VALUES (2)"));
  EXPECT_FALSE(r.transaction([&] { return run(*r.prepare("INSERT INTO notes (n) VALUES (3)")); }));
  EXPECT_EQ(count(r, "SELECT count(*) FROM notes"), 0) << "it still reads after its refusals";
  // Writers after it — through PgBouncer, on the server session it used last — write.
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(run(*db_->prepare("INSERT INTO notes (n) VALUES (4)")));
    EXPECT_TRUE(db_->transaction([&] { return run(*db_->prepare("INSERT INTO notes (n) VALUES (5)")); }));
    EXPECT_EQ(count(r, "SELECT count(*) FROM notes"), 2 * (i + 1));
  }
}

// A connection that PostgreSQL drops (a restart, a primary switch, an administrator) is made
// again by the next call: a transaction whose body it cut is run again from the start on the new
// one — once, never half — and the calls after it work (docs/cluster.md, "Primary switch").
TEST_P(DatabaseTest, ALostConnectionIsMadeAgainAndATransactionItCutRunsAgainWhole) {
  if (!postgres()) GTEST_SKIP() << "an SQLite file has no connection to lose";
  ASSERT_TRUE(db_->execute("CREATE TABLE pairs (run BIGINT NOT NULL, half TEXT NOT NULL)"));
  // Straight to the server: through the pool, the administrator could be handed the very session
  // it is asked to end.
  auto direct = PostgresDatabase::connect(direct_conninfo());
  ASSERT_TRUE(direct) << direct.error().message;
  auto admin = std::move(*direct);
  // The session that runs `db`'s current transaction is ended from outside.
  auto cut = [&](Database& db) -> Status {
    auto pid = db.prepare("SELECT pg_backend_pid()");
    auto step = pid->step();
    if (!step) return step.error();
    auto end = admin->prepare("SELECT pg_terminate_backend(?)");
    end->bind(1, pid->int64(0));
    return run(*end);
  };
  const std::uint64_t reconnects_before = PostgresDatabase::reconnects_total();
  int runs = 0;
  Status written = db_->transaction([&]() -> Status {
    ++runs;
    auto first = db_->prepare("INSERT INTO pairs (run, half) VALUES (?, 'a')");
    first->bind(1, runs);
    if (auto r = run(*first); !r) return r;
    if (runs == 1)
      if (auto c = cut(*db_); !c) return c;
    auto second = db_->prepare("INSERT INTO pairs (run, half) VALUES (?, 'b')");
    second->bind(1, runs);
    return run(*second);
  });
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(runs, 2) << "cut in its first run, run again";
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM pairs"), 2);
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM pairs WHERE run = 1"), 0) << "nothing of the cut run stays";
  // Cut between calls: the next transaction (its BEGIN finds the loss) runs on a new connection.
  ASSERT_TRUE(cut(*db_));
  ASSERT_TRUE(db_->transaction([&] { return run(*db_->prepare("INSERT INTO pairs (run, half) VALUES (3, 'a')")); }));
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM pairs"), 3);
  // A statement on its own after the server ended the session (and said so) goes to a new
  // connection, not to the dead one.
  ASSERT_TRUE(cut(*db_));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(run(*db_->prepare("INSERT INTO pairs (run, half) VALUES (4, 'a')")));
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM pairs"), 4);
  // Straight to the server, the client saw the three losses and connected again; through
  // PgBouncer the pool absorbs a loss between transactions, and the client connects again after
  // the first.
  EXPECT_GE(PostgresDatabase::reconnects_total() - reconnects_before, GetParam() == Backend::kPostgres ? 3u : 1u);
}

TEST_P(DatabaseTest, ATriggersRefusalReachesTheCallerInItsOwnWords) {
  // The way the stores' invariants are written in each schema (approver ≠ submitter here).
  ASSERT_TRUE(db_->execute("CREATE TABLE approvals (submitted_by TEXT NOT NULL, approved_by TEXT)"));
  if (GetParam() == Backend::kSqlite) {
    ASSERT_TRUE(db_->execute(
        "CREATE TRIGGER four_eyes BEFORE UPDATE OF approved_by ON approvals WHEN NEW.approved_by = OLD.submitted_by "
        "BEGIN SELECT RAISE(ABORT, 'an entry is approved by someone other than its submitter'); END"));
  } else {
    ASSERT_TRUE(db_->execute(
        "CREATE FUNCTION four_eyes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.approved_by = OLD.submitted_by THEN RAISE EXCEPTION 'an entry is approved by someone other than its submitter' "
        "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$; "
        "CREATE TRIGGER four_eyes BEFORE UPDATE OF approved_by ON approvals FOR EACH ROW EXECUTE FUNCTION four_eyes()"));
  }
  ASSERT_TRUE(run(*db_->prepare("INSERT INTO approvals (submitted_by) VALUES ('alice')")));
  auto own = db_->prepare("UPDATE approvals SET approved_by = ? WHERE submitted_by = ?");
  own->bind(1, "alice");
  own->bind(2, "alice");
  Status refused = run(*own);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("approved by someone other than its submitter"), std::string::npos) << refused.error().message;
  own->bind(1, "bob");
  EXPECT_TRUE(run(*own));
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM approvals WHERE approved_by = 'bob'"), 1);
}

TEST_P(DatabaseTest, ConcurrentReadModifyWriteTransactionsLoseNoUpdate) {
  ASSERT_TRUE(db_->execute("CREATE TABLE counter (n BIGINT NOT NULL)"));
  ASSERT_TRUE(run(*db_->prepare("INSERT INTO counter (n) VALUES (0)")));
  constexpr int kThreads = 3;
  constexpr int kEach = 40;
  std::atomic<int> committed{0};
  std::atomic<int> failed{0};
  std::vector<std::unique_ptr<Database>> connections;
  for (int t = 0; t < kThreads; ++t) connections.push_back(open());
  for (auto& c : connections) ASSERT_NE(c, nullptr);
  if (GetParam() == Backend::kSqlite)
    for (auto& c : connections) static_cast<SqliteDatabase&>(*c).set_busy_timeout(std::chrono::seconds(30));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Database& db = *connections[static_cast<std::size_t>(t)];
      for (int i = 0; i < kEach; ++i) {
        Status s = db.transaction([&]() -> Status {
          auto read = db.prepare("SELECT n FROM counter");
          auto step = read->step();
          if (!step) return step.error();
          const std::int64_t n = read->int64(0);
          std::this_thread::yield();  // widen the window another transaction could write in
          auto write = db.prepare("UPDATE counter SET n = ?");
          write->bind(1, n + 1);
          return run(*write);
        });
        (s ? committed : failed)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  // Every committed increment is counted, and only those: no update lost, none doubled.
  EXPECT_EQ(count(*db_, "SELECT n FROM counter"), committed.load());
  EXPECT_GE(committed.load(), kThreads * kEach * 9 / 10) << failed.load() << " transactions failed after their retries";
  if (postgres()) {
    std::uint64_t retries = 0;
    for (auto& c : connections) retries += static_cast<PostgresDatabase&>(*c).transaction_retries();
    RecordProperty("serialization_retries", static_cast<int>(retries));
  }
}

TEST_P(DatabaseTest, AClientKilledMidTransactionLosesNoAcknowledgedWrite) {
  ASSERT_TRUE(db_->execute("CREATE TABLE pairs (k BIGINT NOT NULL, half TEXT NOT NULL)"));
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The client: its own connection; each transaction writes both halves of a pair, then the
    // pair's number is acknowledged to the parent once the commit has returned.
    close(pipe_fds[0]);
    std::unique_ptr<Database> db = open();
    if (!db) _exit(2);
    for (std::int64_t k = 1;; ++k) {
      Status s = db->transaction([&]() -> Status {
        for (const char* half : {"a", "b"}) {
          auto insert = db->prepare("INSERT INTO pairs (k, half) VALUES (?, ?)");
          insert->bind(1, k);
          insert->bind(2, half);
          if (auto r = run(*insert); !r) return r;
        }
        return ok_status();
      });
      if (!s) _exit(3);
      if (write(pipe_fds[1], &k, sizeof k) != sizeof k) _exit(4);
    }
  }
  close(pipe_fds[1]);
  std::int64_t acknowledged = 0;
  while (acknowledged < 200) {
    std::int64_t k = 0;
    if (read(pipe_fds[0], &k, sizeof k) != sizeof k) break;
    acknowledged = k;
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the client ended by itself (exit " << WEXITSTATUS(status) << ") before it was killed";
  ASSERT_EQ(acknowledged, 200);

  // A new connection sees every acknowledged pair whole, and no half of a pair.
  std::unique_ptr<Database> after = open();
  ASSERT_NE(after, nullptr);
  std::map<std::int64_t, int> halves;
  auto rows = after->prepare("SELECT k, count(*) FROM pairs GROUP BY k");
  for (auto step = rows->step(); step && *step == Step::kRow; step = rows->step()) halves[rows->int64(0)] = static_cast<int>(rows->int64(1));
  for (std::int64_t k = 1; k <= acknowledged; ++k) EXPECT_EQ(halves[k], 2) << "acknowledged pair " << k;
  for (const auto& [k, n] : halves) EXPECT_EQ(n, 2) << "pair " << k << " is half written";
}

const UnixSeconds kNow = *parse_date_utc("2026-12-01") + 9 * 3600;

TEST_P(DatabaseTest, TheAuditLogExportsAndVerifiesOfflineAndFindsItsRecords) {
  ASSERT_TRUE(migrate(*db_));
  if (postgres()) {
    ASSERT_TRUE(migrate(*db_)) << "a second migration finds the work done";
  }
  const std::string keys = (dir_ / "audit").string();
  for (int i = 0; i < 60; ++i) {
    Status s = db_->transaction([&]() -> Status {
      const audit::AuditEvent event{i % 3 == 0 ? "alice" : "bob", i % 2 ? "entry.approve" : "alert.dismiss", "object/" + std::to_string(i),
                                    {{"reason", "ünïcödé, \"quoted\" ?"}, {"n", i}}};
      if (auto a = audit::append(*db_, keys, event, kNow + i); !a) return a;
      // Every tenth action fails after its record was appended: the record goes with it.
      return i % 10 == 9 ? Status(Error{"the action failed"}) : ok_status();
    });
    EXPECT_EQ(static_cast<bool>(s), i % 10 != 9) << i;
  }
  auto records = audit::read_records(*db_);
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_EQ(records->size(), 54u);
  for (std::size_t i = 0; i < records->size(); ++i) EXPECT_EQ(json::parse((*records)[i])["seq"], i);

  const auto file = dir_ / "export.jsonl";
  auto exported = audit::export_log(*db_, keys, "carol", file.string(), kNow + 100);
  ASSERT_TRUE(exported) << exported.error().message;
  EXPECT_EQ(*exported, 55u);
  auto key = audit::read_public_key(audit::public_key_path(keys));
  ASSERT_TRUE(key) << key.error().message;
  auto report = audit::verify_export_file(file, *key, std::nullopt);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records, 55u);
  auto proof = audit::inclusion_proof_json(*db_, keys, 17);
  ASSERT_TRUE(proof) << proof.error().message;
  EXPECT_TRUE(audit::verify_inclusion_document(proof->dump(), *key));

  // The auditor's filters: by actor, by an action's prefix, by time, paged.
  audit::RecordFilter by_alice;
  by_alice.actor = "alice";
  by_alice.action = "entry.";
  auto found = audit::query_records(*db_, by_alice);
  ASSERT_TRUE(found) << found.error().message;
  for (const auto& r : *found) {
    EXPECT_EQ(r["actor"], "alice");
    EXPECT_EQ(r["action"], "entry.approve");
  }
  std::size_t expected = 0;
  for (int i = 0; i < 60; ++i) expected += i % 3 == 0 && i % 2 == 1 && i % 10 != 9;
  EXPECT_EQ(found->size(), expected);
  audit::RecordFilter window;
  window.from = format_utc(kNow + 10);
  window.to = format_utc(kNow + 20);
  window.limit = 4;
  auto page = audit::query_records(*db_, window);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->size(), 4u);
  EXPECT_EQ((*page)[0]["time"], format_utc(kNow + 18)) << "newest first; 19 failed";
}

TEST_P(DatabaseTest, TheAuditLogIsAppendOnlyInTheSchema) {
  ASSERT_TRUE(migrate(*db_));
  const std::string keys = (dir_ / "audit").string();
  ASSERT_TRUE(db_->transaction([&] { return audit::append(*db_, keys, {"alice", "entry.enrol", "entry/1"}, kNow); }));
  for (const char* sql : {"UPDATE audit_records SET record = 'forged'", "DELETE FROM audit_records"}) {
    Status refused = run(*db_->prepare(sql));
    ASSERT_FALSE(refused) << sql;
    EXPECT_NE(refused.error().message.find("append-only"), std::string::npos) << refused.error().message;
  }
  if (postgres()) {
    Status truncated = db_->execute("TRUNCATE audit_records");
    ASSERT_FALSE(truncated);
    EXPECT_NE(truncated.error().message.find("append-only"), std::string::npos) << truncated.error().message;
  }
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM audit_records"), 1);
}

TEST_P(DatabaseTest, ManyConnectionsAppendingAtOnceMakeOneUnforkedLog) {
  ASSERT_TRUE(migrate(*db_));
  const std::string keys = (dir_ / "audit").string();
  // The first record makes the keys; the appenders then share them, as a cluster's nodes do.
  ASSERT_TRUE(db_->transaction([&] { return audit::append(*db_, keys, {"system", "service.start", "service"}, kNow); }));
  constexpr int kNodes = 3;
  constexpr int kEach = 25;
  std::vector<std::unique_ptr<Database>> nodes;
  for (int n = 0; n < kNodes; ++n) nodes.push_back(open());
  for (auto& c : nodes) ASSERT_NE(c, nullptr);
  if (GetParam() == Backend::kSqlite)
    for (auto& c : nodes) static_cast<SqliteDatabase&>(*c).set_busy_timeout(std::chrono::seconds(30));
  std::atomic<int> committed{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] {
      Database& db = *nodes[static_cast<std::size_t>(n)];
      for (int i = 0; i < kEach; ++i) {
        const audit::AuditEvent event{"node" + std::to_string(n), "alert.confirm", "alert/" + std::to_string(n * 1000 + i)};
        if (Status s = db.transaction([&] { return audit::append(db, keys, event, kNow + 1 + i); }); s) {
          ++committed;
        } else {
          std::lock_guard lock(failures_mutex);
          failures.push_back(s.error().message);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(committed.load(), kNodes * kEach) << "every append commits (after retries where two collided); first failure: "
                                              << (failures.empty() ? "" : failures.front());
  auto records = audit::read_records(*db_);
  ASSERT_TRUE(records) << records.error().message;
  EXPECT_EQ(records->size(), static_cast<std::size_t>(1 + committed.load()));
  const auto file = dir_ / "export.jsonl";
  ASSERT_TRUE(audit::export_log(*db_, keys, "auditor", file.string(), kNow + 100));
  auto key = audit::read_public_key(audit::public_key_path(keys));
  ASSERT_TRUE(key);
  auto report = audit::verify_export_file(file, *key, std::nullopt);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records, static_cast<std::uint64_t>(2 + committed.load()));
}

TEST_P(DatabaseTest, CamerasAreStoredByNameAndEveryChangeIsAudited) {
  ASSERT_TRUE(migrate(*db_));
  CameraStore cameras(open());
  CameraConfig gate{"gate", "rtsp://127.0.0.1/gate", 2.5, 40, false, true, 12.0};
  gate.record = true;
  gate.record_retention_days = 3.5;
  ASSERT_TRUE(cameras.insert(gate, "admin", kNow));
  auto twice = cameras.insert(gate, "admin", kNow);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("exists already"), std::string::npos) << twice.error().message;
  gate.rate_fps = 1.0;
  ASSERT_TRUE(cameras.update(gate, "admin", kNow));
  auto listed = cameras.list();
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front(), gate) << "every setting round-trips";
  auto missing = cameras.update(CameraConfig{"door", "x"}, "admin", kNow);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos) << missing.error().message;
  EXPECT_FALSE(cameras.remove("door", "admin", kNow));
  // The schema refuses what the API would: no camera analysed at 0 frames per second.
  auto stopped = cameras.insert(CameraConfig{"still", "rtsp://127.0.0.1/still", 0.0}, "admin", kNow);
  ASSERT_FALSE(stopped);
  ASSERT_TRUE(cameras.remove("gate", "admin", kNow));
  EXPECT_TRUE(cameras.list()->empty());
  // Three changes, three records, each by its actor; the refused ones left none.
  auto records = audit::read_records(*db_);
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ(json::parse((*records)[0])["action"], "camera.create");
  EXPECT_EQ(json::parse((*records)[1])["action"], "camera.update");
  EXPECT_EQ(json::parse((*records)[2])["action"], "camera.delete");
  EXPECT_EQ(json::parse((*records)[1])["details"]["rate"], 1.0);
}

// PostgreSQL's schema, pinned like SQLite's (tests/golden/schema.sql): every table's columns,
// every constraint, trigger and function, and the version, as the catalogue describes them.
TEST(PostgresSchema, IsWhatDocsDatabaseSchemaSays) {
  std::string why;
  test::PostgresServer* server = test::shared_postgres(why);
  ASSERT_NE(server, nullptr) << why;
  ASSERT_TRUE(server->create_database("schema", why)) << why;
  auto db = open_postgres(server->conninfo("schema"));
  ASSERT_TRUE(db) << db.error().message;
  const std::string out = test::postgres_catalogue(**db);
  test::expect_matches_golden(out, "postgres_schema.txt");
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseTest, test::kAllBackends, test::backend_name);

}  // namespace
}  // namespace glassbox
