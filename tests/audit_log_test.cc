// The audit log end to end below the command line: records appended with the actions they
// describe (or the action refused), an export of thousands of records that verifies with the
// public key alone, and every single-byte change, deletion, reordering and truncation of it
// detected and pinned to the first record that fails; a rewritten or forked history exposed by a
// checkpoint kept from earlier; inclusion proofs.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "audit/export_verifier.h"
#include "store/alert_store.h"
#include "store/camera_store.h"
#include "store/sql_watchlist_store.h"
#include "support/test_support.h"

namespace glassbox::audit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const UnixSeconds kNow = *parse_date_utc("2026-11-29") + 9 * 3600;

std::vector<std::string> lines_of_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

void write_lines(const fs::path& file, const std::vector<std::string>& lines) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

class AuditLogTest : public ::testing::Test {
 protected:
  std::string db_path(const std::string& name = "a.db") const { return (dir_ / name).string(); }
  std::unique_ptr<SqliteDatabase> open(const std::string& name = "a.db") {
    auto db = SqliteDatabase::open(db_path(name), OpenMode::kReadWriteCreate);
    EXPECT_TRUE(db) << db.error().message;
    return std::move(*db);
  }
  // Appends records [from, to) in one transaction; record i's details depend on `variant`.
  void append_range(SqliteDatabase& db, int from, int to, const std::string& variant = "") {
    ASSERT_TRUE(db.transaction([&]() -> Status {
      for (int i = from; i < to; ++i) {
        const AuditEvent event{i % 3 == 0 ? "alice" : "bob", i % 2 ? "entry.approve" : "alert.dismiss", "object/" + std::to_string(i),
                               {{"reason", "checked on site; \"quoted\" and ünïcödé " + variant}, {"n", i}}};
        if (auto s = append(db, event, kNow + i); !s) return s;
      }
      return ok_status();
    }));
  }
  PublicKey key(const std::string& name = "a.db") const { return *read_public_key(public_key_path(db_path(name))); }

  test::TempDir dir_;
};

TEST_F(AuditLogTest, AnExportOfThousandsOfRecordsVerifiesAndEveryChangeIsPinnedToItsRecord) {
  auto db = open();
  append_range(*db, 0, 2000);
  const fs::path file = dir_ / "export.jsonl";
  auto exported = export_log(*db, "carol", file.string(), kNow + 5000);
  ASSERT_TRUE(exported) << exported.error().message;
  ASSERT_EQ(*exported, 2001u) << "the export's own record is included";
  const PublicKey public_key = key();
  auto report = verify_export_file(file, public_key, std::nullopt);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records, 2001u);
  EXPECT_GE(report->checkpoints, 1u);

  const auto lines = lines_of_file(file);
  ASSERT_EQ(lines.size(), 1 + 2001 + report->checkpoints);
  const std::size_t records = 2001;

  // A change to the header: refused at once, or (a count) when the lines do not add up.
  for (std::size_t p = 0; p < lines[0].size(); ++p) {
    auto changed = lines;
    changed[0][p] ^= 1;
    ExportVerifier v(public_key);
    bool failed = !v.line(changed[0]);
    for (std::size_t i = 1; i < changed.size() && !failed; ++i) failed = !v.line(changed[i]);
    if (!failed) failed = !v.finish();
    EXPECT_TRUE(failed) << "header byte " << p;
  }

  // Every byte of every record line, every line end, every deletion and every swap with the next
  // record: the verifier, having accepted records 0..k-1, refuses what stands at k.
  ExportVerifier verifier(public_key);
  ASSERT_TRUE(verifier.line(lines[0]));
  std::size_t byte_changes = 0;
  for (std::size_t k = 0; k < records; ++k) {
    const std::string& line = lines[1 + k];
    for (std::size_t p = 0; p < line.size(); ++p) {
      std::string changed = line;
      changed[p] ^= static_cast<char>(1 << (p % 7));
      auto s = verifier.examine(changed);
      ASSERT_FALSE(s) << "record " << k << ", byte " << p << " changed and not detected";
      ASSERT_NE(s.error().message.find("record " + std::to_string(k) + ":"), std::string::npos)
          << "record " << k << ", byte " << p << ": " << s.error().message;
      ++byte_changes;
    }
    // The line end changed: this line and the next run together.
    EXPECT_FALSE(verifier.examine(line + "\x0b" + lines[2 + k])) << "line end of record " << k;
    if (k + 1 < records) {
      auto s = verifier.examine(lines[2 + k]);  // record k deleted, or swapped with k + 1
      ASSERT_FALSE(s) << "record " << k << " deleted or swapped";
      EXPECT_NE(s.error().message.find("record " + std::to_string(k) + ": its sequence number says"), std::string::npos)
          << s.error().message;
    }
    // Truncated after k records: the header's count says so.
    EXPECT_FALSE(verifier.finish()) << "truncated after " << k << " records";
    ASSERT_TRUE(verifier.line(line)) << "the original record " << k;
  }
  EXPECT_GT(byte_changes, 200000u);
  // The trailing checkpoints: every byte.
  for (std::size_t c = 1 + records; c < lines.size(); ++c)
    for (std::size_t p = 0; p < lines[c].size(); ++p) {
      std::string changed = lines[c];
      changed[p] ^= 1;
      EXPECT_FALSE(verifier.examine(changed)) << "checkpoint line " << c << ", byte " << p;
    }
  for (std::size_t c = 1 + records; c < lines.size(); ++c) ASSERT_TRUE(verifier.line(lines[c]));
  EXPECT_TRUE(verifier.finish());

  // Through the file, as an auditor runs it: a changed byte deep inside names its record.
  auto changed = lines;
  changed[1 + 1234][20] ^= 1;
  write_lines(dir_ / "changed.jsonl", changed);
  auto failed = verify_export_file(dir_ / "changed.jsonl", public_key, std::nullopt);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message.rfind("record 1234:", 0), 0u) << failed.error().message;
  // Records removed from the end, the header's count and the checkpoints made to agree: the
  // export alone cannot tell, a checkpoint kept from before can.
  auto kept = make_checkpoint(*db, kNow + 6000);
  ASSERT_TRUE(kept);
  std::vector<std::string> shorter(lines.begin(), lines.begin() + 1 + 1500);
  json header = json::parse(shorter[0]);
  header["records"] = 1500;
  header["checkpoints"] = 0;
  shorter[0] = header.dump();
  write_lines(dir_ / "shorter.jsonl", shorter);
  EXPECT_TRUE(verify_export_file(dir_ / "shorter.jsonl", public_key, std::nullopt)) << "a consistent prefix verifies alone";
  auto truncated = verify_export_file(dir_ / "shorter.jsonl", public_key, *kept);
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().message.find("truncated"), std::string::npos) << truncated.error().message;
  // Another key: nothing verifies.
  PublicKey other = public_key;
  other[0] ^= 1;
  EXPECT_FALSE(verify_export_file(file, other, std::nullopt));
}

// An administrator with the signing key rewrites record 500 and re-signs everything after it:
// the rewritten log verifies on its own, but not against a checkpoint an auditor kept. A fork
// (two different histories of the same size) is exposed the same way.
TEST_F(AuditLogTest, AKeptCheckpointExposesARewrittenHistory) {
  auto db = open();
  append_range(*db, 0, 500);
  db.reset();
  // The rewrite starts from a copy of the log as it was at 500 records, keys included.
  for (const char* suffix : {"", ".audit-key", ".audit-pub"}) fs::copy_file(db_path() + suffix, db_path("b.db") + suffix);
  for (const char* suffix : {"-wal", "-shm"})
    if (fs::exists(db_path() + suffix)) fs::copy_file(db_path() + suffix, db_path("b.db") + suffix);
  db = open();
  append_range(*db, 500, 1000);
  auto kept = make_checkpoint(*db, kNow + 2000);
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size, 1000u);
  auto rewritten = open("b.db");
  append_range(*rewritten, 500, 1000, "(rewritten)");
  ASSERT_TRUE(export_log(*rewritten, "mallory", (dir_ / "rewritten.jsonl").string(), kNow + 3000));
  ASSERT_TRUE(export_log(*db, "carol", (dir_ / "honest.jsonl").string(), kNow + 3000));
  EXPECT_EQ(key("b.db"), key()) << "the same key signed both";

  EXPECT_TRUE(verify_export_file(dir_ / "rewritten.jsonl", key(), std::nullopt)) << "alone, a re-signed rewrite verifies";
  auto exposed = verify_export_file(dir_ / "rewritten.jsonl", key(), *kept);
  ASSERT_FALSE(exposed);
  EXPECT_NE(exposed.error().message.find("rewritten"), std::string::npos) << exposed.error().message;
  auto honest = verify_export_file(dir_ / "honest.jsonl", key(), *kept);
  ASSERT_TRUE(honest) << honest.error().message;
  EXPECT_TRUE(honest->auditor_checkpoint_consistent) << "the consistency proof from the kept checkpoint verified";

  // Two roots for one size: a checkpoint of the rewritten log placed in the honest export.
  auto fork = make_checkpoint(*rewritten, kNow + 4000);
  ASSERT_TRUE(fork);
  auto lines = lines_of_file(dir_ / "honest.jsonl");
  ASSERT_EQ(fork->size, 1001u) << "1000 records and the export's own";
  const auto honest_records = json::parse(lines[0])["records"].get<std::size_t>();
  ASSERT_GE(honest_records, fork->size);
  json header = json::parse(lines[0]);
  header["checkpoints"] = header["checkpoints"].get<int>() + 1;
  lines[0] = header.dump();
  lines.push_back(json{{"checkpoint", fork->to_json()}}.dump());
  write_lines(dir_ / "forked.jsonl", lines);
  auto forked = verify_export_file(dir_ / "forked.jsonl", key(), std::nullopt);
  ASSERT_FALSE(forked);
  EXPECT_NE(forked.error().message.find("different root for the same size"), std::string::npos) << forked.error().message;
}

TEST_F(AuditLogTest, InclusionProofsVerifyAndForgedOnesDoNot) {
  auto db = open();
  append_range(*db, 0, 37);
  for (std::uint64_t seq : {0u, 1u, 17u, 36u}) {
    auto proof = inclusion_proof_json(*db, seq);
    ASSERT_TRUE(proof) << proof.error().message;
    EXPECT_TRUE(verify_inclusion_document(proof->dump(), key())) << seq;
    json forged = *proof;
    forged["record"] = forged["record"].get<std::string>().replace(forged["record"].get<std::string>().find("object/"), 7, "object:");
    EXPECT_FALSE(verify_inclusion_document(forged.dump(), key())) << "a changed record";
    forged = *proof;
    std::string node = forged["path"][0];
    node[0] = node[0] == '0' ? '1' : '0';
    forged["path"][0] = node;
    EXPECT_FALSE(verify_inclusion_document(forged.dump(), key())) << "a forged path node";
    forged = *proof;
    forged["seq"] = seq + 1;
    EXPECT_FALSE(verify_inclusion_document(forged.dump(), key())) << "another position";
  }
  EXPECT_FALSE(inclusion_proof_json(*db, 37)) << "no such record";
}

// Fail closed: when the record cannot be written, the action does not happen.
TEST_F(AuditLogTest, ActionsAreRefusedWhenTheirRecordCannotBeWritten) {
  const UnixSeconds expiry = *parse_date_utc("2099-01-01");
  auto store = SqlWatchlistStore::open(db_path(), OpenMode::kReadWriteCreate);
  ASSERT_TRUE(store);
  const std::vector<EntryTemplate> templates = {{"p", {1.0f, 2.0f}, "a.jpg", "ab"}};
  auto first = (*store)->add_pending_entry({"Person A", "Warrant 1", "file", "alice", expiry}, templates, kNow);
  ASSERT_TRUE(first) << first.error().message;
  auto second = (*store)->add_pending_entry({"Person B", "Warrant 2", "file", "alice", expiry}, templates, kNow);
  ASSERT_TRUE(second);

  // 1. The signing key is gone: approving is refused and the entry stays pending.
  fs::rename(secret_key_path(db_path()), dir_ / "moved-key");
  auto refused = (*store)->approve_entry(*first, "bob", kNow);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("audit signing key is missing"), std::string::npos) << refused.error().message;
  EXPECT_EQ((**(*store)->get_entry(*first)).status, EntryStatus::kPending);
  fs::rename(dir_ / "moved-key", secret_key_path(db_path()));
  ASSERT_TRUE((*store)->approve_entry(*first, "bob", kNow)) << "with the key back, it works";

  // 2. The write itself fails (simulated with a trigger that refuses every new record).
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_FALSE((*store)->approve_entry(*second, "bob", kNow));
  EXPECT_EQ((**(*store)->get_entry(*second)).status, EntryStatus::kPending) << "approval without its record";
  EXPECT_FALSE((*store)->revoke_entry(*first, "carol", "withdrawn", kNow));
  EXPECT_EQ((**(*store)->get_entry(*first)).status, EntryStatus::kActive) << "revocation without its record";
  const auto entries_before = (*store)->list_entries()->size();
  EXPECT_FALSE((*store)->add_pending_entry({"Person C", "Warrant 3", "file", "alice", expiry}, templates, kNow));
  EXPECT_EQ((*store)->list_entries()->size(), entries_before) << "enrolment without its record";
  auto cameras = CameraStore::open(db_path());
  ASSERT_TRUE(cameras);
  EXPECT_FALSE((*cameras)->insert(CameraConfig{"gate", "rtsp://x"}, "admin", kNow));
  EXPECT_TRUE((*cameras)->list()->empty()) << "camera without its record";
  auto alerts = AlertStore::open(db_path());
  ASSERT_TRUE(alerts);
  Alert alert;
  alert.entry_id = *first;
  alert.source = "gate";
  auto alert_id = (*alerts)->record(alert, {}, kNow, kNow + 86400);
  ASSERT_TRUE(alert_id) << "raising an alert is not an audited decision";
  EXPECT_FALSE((*alerts)->confirm(*alert_id, "olga", kNow));
  EXPECT_EQ((**(*alerts)->get(*alert_id)).status, AlertStatus::kOpen) << "decision without its record";

  // The log itself only grows.
  EXPECT_NE(sqlite3_exec(raw, "UPDATE audit_records SET actor = 'x'", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(raw, "UPDATE audit_records SET record = 'x' WHERE seq = 0", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(raw, "DELETE FROM audit_records WHERE seq = 0", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto db = open();
  auto records = read_records(*db);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 3u) << "two enrolments and one approval";
  EXPECT_NE((*records)[2].find("\"action\":\"entry.approve\""), std::string::npos);
  EXPECT_NE((*records)[2].find("\"actor\":\"bob\""), std::string::npos);
}

}  // namespace
}  // namespace glassbox::audit
