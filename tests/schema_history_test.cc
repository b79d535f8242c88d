// Upgrades: a database of every schema version, as that version's binary left it, migrates to
// the current one with nothing lost, and the current code reads and acts on what it holds.
//
// The fixtures (tests/fixtures/schema/vNN.sql, one per version, and the keys beside them) are
// kept in the repository as SQL text. They were made by replaying history: the file is brought
// to version 1 by migration 1 (append-only, so exactly what version 1 shipped), rows are written
// in version 1's own layout — as version 1's code wrote them —, then migration 2, rows of version
// 2, and so on; after each version the file is dumped. Version 5's templates were sealed by
// migration 5's code; audit records are signed with the fixture's audit key from version 4 on.
//
// With GLASSBOX_UPDATE_GOLDEN set, the fixtures that are missing are written (a fixture that is
// there is never rewritten: it stands for a version that has shipped). A new schema version needs
// a seed of its own in seed_rows_of() and its fixture generated — the test fails until then.
// docs/reliability.md ("Upgrades and restores") has the promise this proves.
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/export_verifier.h"
#include "auth/user_store.h"
#include "store/alert_store.h"
#include "store/search_store.h"
#include "store/sql_watchlist_store.h"
#include "store/sqlite_database.h"
#include "store/template_key.h"
#include "support/history_rows.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

namespace fs = std::filesystem;

constexpr int kVersions = SqliteDatabase::kSchemaVersion;
const char* const kProfile = "dlib_resnet";
const char* const kDbName = "glassbox.db";  // the fixture's keys are named after it
using test::day_of;
using test::kCarolPassword;
using test::kCheckedAt;
using test::kFarExpiry;

fs::path fixture_dir() { return fs::path(GLASSBOX_SOURCE_DIR) / "tests" / "fixtures" / "schema"; }
fs::path fixture_file(int version) {
  char name[16];
  std::snprintf(name, sizeof name, "v%02d.sql", version);
  return fixture_dir() / name;
}

using test::bytes_of;
using test::password_hash;
using test::sha256_of;
using test::tiny_jpeg;
std::vector<float> vector_of(int id) { return test::history_vector(id); }

// --- Writing rows as each version's code wrote them -------------------------------------------

using Seeder = test::HistorySeeder;

std::string str(UnixSeconds s) { return std::to_string(s); }

using test::event;

// The rows version `version` adds, in that version's layout (its migration has just run).
Status seed_rows_of(int version, Seeder& s) {
  const std::string far = str(kFarExpiry);
  switch (version) {
    case 1: {  // entries and their plaintext templates: active, pending, and one that will expire
      auto st = s.sql(
          "INSERT INTO watchlist_entries (id, subject, legal_basis, photo_source, submitted_by, submitted_at, expires_at, status, approved_by, approved_at) VALUES "
          "(1, 'Person A', 'Warrant 2026/1', 'case file photo', 'alice', " + s.t(1) + ", " + far + ", 'active', 'bob', " + s.t(1, 60) + "),"
          "(2, 'Person B', 'Missing person report 17', 'family photo', 'alice', " + s.t(1) + ", " + far + ", 'pending', NULL, NULL),"
          "(3, 'Person C', 'Warrant 2026/3', 'case file photo', 'carol', " + s.t(1) + ", " + s.t(20) + ", 'active', 'bob', " + s.t(1, 60) + ")");
      for (int id = 1; st && id <= 3; ++id)
        st = s.with_blobs("INSERT INTO entry_templates (id, entry_id, profile, dimension, vector, photo_name, photo_sha256) VALUES (" +
                              std::to_string(id) + ", " + std::to_string(id) + ", 'dlib_resnet', 4, ?, 'p" + std::to_string(id) + ".jpg', 'sha" +
                              std::to_string(id) + "')",
                          {bytes_of(vector_of(id))});
      return st;
    }
    case 2: {  // alerts: open, confirmed, dismissed; evidence kept for two of them
      auto st = s.sql(
          "INSERT INTO alerts (id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h, "
          "raised_at, status, decided_by, decided_at, dismiss_reason) VALUES "
          "(1, 1, 'gate', 'dlib_resnet', 0.41, 0.6, 12.5, 125, 3, 100, 80, 120, 150, " + s.t(2) + ", 'open', NULL, NULL, NULL),"
          "(2, 1, 'gate', 'dlib_resnet', 0.38, 0.6, 40.25, 402, 5, 90, 70, 130, 160, " + s.t(2, 600) + ", 'confirmed', 'carol', " + s.t(2, 900) + ", NULL),"
          "(3, 3, 'platform', 'dlib_resnet', 0.55, 0.6, 3.0, 30, 1, 10, 20, 60, 70, " + s.t(2, 1200) + ", 'dismissed', 'carol', " + s.t(2, 1500) +
          ", 'a different person, same coat')");
      if (st) st = s.with_blobs("INSERT INTO alert_evidence (alert_id, face_jpeg, purge_after) VALUES (1, ?, " + far + ")", {tiny_jpeg(1)});
      if (st) st = s.with_blobs("INSERT INTO alert_evidence (alert_id, face_jpeg, purge_after) VALUES (2, ?, " + far + ")", {tiny_jpeg(2)});
      return st;
    }
    case 3: {  // a revoked entry; cameras managed through the API
      auto st = s.sql(
          "INSERT INTO watchlist_entries (id, subject, legal_basis, photo_source, submitted_by, submitted_at, expires_at, status, approved_by, approved_at) VALUES "
          "(4, 'Person D', 'Warrant 2026/4', 'case file photo', 'alice', " + s.t(3) + ", " + far + ", 'active', 'bob', " + s.t(3, 60) + ")");
      if (st) st = s.with_blobs("INSERT INTO entry_templates (id, entry_id, profile, dimension, vector, photo_name, photo_sha256) VALUES (4, 4, 'dlib_resnet', 4, ?, 'p4.jpg', 'sha4')",
                                {bytes_of(vector_of(4))});
      if (st) st = s.sql("UPDATE watchlist_entries SET status = 'revoked', revoked_by = 'bob', revoked_at = " + s.t(3, 120) +
                         ", revoke_reason = 'warrant withdrawn' WHERE id = 4");
      if (st)
        st = s.sql("INSERT INTO cameras (name, url, rate_fps, min_face_px, enabled, loop, stall_timeout_s, created_at, updated_at) VALUES "
                   "('gate', 'rtsp://10.0.0.5:554/gate', 5.0, 40, 1, 0, 5.0, " + s.t(3) + ", " + s.t(3) + "),"
                   "('platform', 'http://10.0.0.6/platform.ts', 2.5, 48, 0, 0, 8.0, " + s.t(3) + ", " + s.t(3, 30) + ")");
      return st;
    }
    case 4: {  // the audit log begins, with a checkpoint
      auto st = s.audit(4, {event("alice", "entry.submit", "entry/1"), event("bob", "entry.approve", "entry/1"),
                            event("carol", "alert.confirm", "alert/2"), event("bob", "entry.revoke", "entry/4")});
      if (st) {
        auto cp = audit::make_checkpoint(s.db(), day_of(4) + 7200);
        if (!cp) return cp.error();
      }
      return st;
    }
    case 5: {  // templates sealed: an entry enrolled under the template key
      auto key = TemplateKey::load(s.db().key_base(), /*create_if_missing=*/false);
      if (!key) return key.error();
      auto st = s.sql(
          "INSERT INTO watchlist_entries (id, subject, legal_basis, photo_source, submitted_by, submitted_at, expires_at, status, approved_by, approved_at) VALUES "
          "(5, 'Person E', 'Court order 2026/55', 'passport photo', 'bob', " + s.t(5) + ", " + far + ", 'active', 'carol', " + s.t(5, 60) + ")");
      if (st)
        st = s.with_blobs("INSERT INTO entry_templates (id, entry_id, profile, dimension, key_id, sealed, photo_name, photo_sha256) "
                          "VALUES (5, 5, 'dlib_resnet', 4, '" + key->id() + "', ?, 'p5.jpg', 'sha5')",
                          {key->seal(vector_of(5), 5, kProfile)});
      if (st) st = s.audit(5, {event("bob", "entry.submit", "entry/5"), event("carol", "entry.approve", "entry/5")});
      return st;
    }
    case 6:  // transparency counts
      return s.sql("INSERT INTO analysis_stats (day, camera, frames_analysed, faces_detected, faces_embedded) VALUES "
                   "('2026-01-10', 'gate', 43200, 1812, 1790), ('2026-01-10', 'platform', 21600, 95, 93)");
    case 7: {  // accounts, a session, an API token
      const std::string alice = password_hash("alice's long passphrase 1"), carol = password_hash(kCarolPassword);
      if (alice.empty() || carol.empty()) return Error{"cannot hash a password"};
      auto st = s.sql("INSERT INTO users (name, password_hash, roles, created_at, created_by, failed_logins, locked_until) VALUES "
                      "('alice', '" + alice + "', 'admin', " + s.t(7) + ", 'setup', 0, 0),"
                      "('carol', '" + carol + "', 'operator,supervisor', " + s.t(7, 60) + ", 'alice', 2, 0)");
      if (st)
        st = s.with_blobs("INSERT INTO sessions (token_hash, user, csrf_token, created_at, last_seen) VALUES (?, 'carol', 'csrf-7', " + s.t(7, 100) + ", " +
                              s.t(7, 200) + ")",
                          {sha256_of("session token 7")});
      if (st)
        st = s.with_blobs("INSERT INTO api_tokens (id, token_hash, user, label, created_at, revoked_at) VALUES (1, ?, 'alice', 'export job', " + s.t(7, 300) + ", NULL)",
                          {sha256_of("api token 1")});
      if (st) st = s.audit(7, {event("setup", "user.add", "user/alice"), event("alice", "user.add", "user/carol"), event("carol", "login.success", "user/carol")});
      return st;
    }
    case 8:  // an entry scoped to one camera
      return s.sql("UPDATE watchlist_entries SET scope = '[\"gate\"]' WHERE id = 5");
    case 9: {  // recordings, searches (done with a visit, pending), an upload; a recording camera
      auto key = TemplateKey::load(s.db().key_base(), false);
      if (!key) return key.error();
      auto st = s.sql("UPDATE cameras SET record = 1, record_retention_days = 14 WHERE name = 'gate'");
      if (st) st = test::seed_searches(s, 9, *key, ".ts");
      if (st) st = s.audit(9, {event("carol", "search.request", "search/1"), event("alice", "search.approve", "search/1"),
                               event("carol", "search.request", "search/2"), event("carol", "upload.finish", "upload/1")});
      return st;
    }
    case 10: {  // accounts with a life cycle: one pending, one disabled; a token revoked
      auto st = s.sql("INSERT INTO users (name, password_hash, roles, created_at, created_by, status) VALUES "
                      "('dave', '', 'auditor', " + s.t(10) + ", 'alice', 'pending'),"
                      "('erin', '" + password_hash("erin's long passphrase 3") + "', 'operator', " + s.t(10) + ", 'alice', 'active')");
      if (st) st = s.sql("UPDATE users SET status = 'disabled', disabled_by = 'alice', disabled_at = " + s.t(10, 60) + ", disable_reason = 'left the unit' WHERE name = 'erin'");
      if (st) st = s.sql("UPDATE api_tokens SET revoked_at = " + s.t(10, 120) + ", revoked_by = 'alice' WHERE id = 1");
      if (st) st = s.audit(10, {event("alice", "user.request", "user/dave"), event("alice", "user.disable", "user/erin"), event("alice", "token.revoke", "token/1")});
      return st;
    }
    case 11: {  // a reference photo; an ended entry's biometrics deleted
      auto key = TemplateKey::load(s.db().key_base(), false);
      if (!key) return key.error();
      auto st = s.with_blobs("INSERT INTO entry_photos (id, entry_id, position, photo_name, photo_sha256, key_id, sealed) VALUES (1, 5, 1, 'p5.jpg', 'sha5', '" +
                                 key->id() + "', ?)",
                             {key->seal_photo(tiny_jpeg(5), 5, "sha5")});
      if (st) st = s.sql("DELETE FROM entry_templates WHERE entry_id = 3");
      if (st) st = s.sql("INSERT INTO entry_biometrics_deleted (entry_id, deleted_at) VALUES (3, " + s.t(11) + ")");
      if (st) st = s.audit(11, {event("system", "entry.biometrics_delete", "entry/3")});
      return st;
    }
    case 12:  // one more open alert (a decided one can no longer change)
      return s.sql(
          "INSERT INTO alerts (id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h, raised_at) VALUES "
          "(4, 5, 'gate', 'dlib_resnet', 0.47, 0.6, 7.5, 75, 2, 200, 90, 110, 140, " + s.t(12) + ")");
    case 13: {  // the feed position, a sighting, a delivery waiting in the outbox
      auto st = s.sql(
          "INSERT INTO alerts (id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h, raised_at, "
          "feed_position, captured_at_ms) VALUES (5, 5, 'gate', 'dlib_resnet', 0.44, 0.6, 9.5, 95, 4, 210, 95, 100, 130, " + s.t(13) +
          ", (SELECT position + 1 FROM alert_feed), " + std::to_string(static_cast<std::int64_t>(day_of(13)) * 1000 - 350) + ")");
      if (st) st = s.sql("UPDATE alert_feed SET position = position + 1");
      if (st)
        st = s.sql("INSERT INTO alert_sightings (camera, entry_id, alert_id, first_seen_at, last_seen_at, repeats) VALUES ('gate', 5, 5, " + s.t(13) + ", " +
                   s.t(13, 40) + ", 3)");
      if (st)
        st = s.sql("INSERT INTO alert_deliveries (alert_id, endpoint, state, attempts, next_at_ms) VALUES (5, 'webhook:ops', 'pending', 1, " +
                   std::to_string(static_cast<std::int64_t>(day_of(13)) * 1000 + 30000) + ")");
      return st;
    }
    case 14:  // a search claimed by the node that runs it
      return s.sql("INSERT INTO searches (id, case_id, legal_basis, requested_by, requested_at, approved_by, approved_at, cameras, files, mode, profile, threshold, "
                   "expires_at, status, runner, runner_until_ms, runs) VALUES (3, '2026-120', 'Warrant 2026/120', 'carol', " + s.t(14) + ", 'alice', " +
                   s.t(14, 60) + ", '[\"gate\"]', '[]', 'keyframes', 'dlib_resnet', 0.55, " + far + ", 'running', 'node-a', " +
                   std::to_string(static_cast<std::int64_t>(day_of(14)) * 1000 + 30000) + ", 1)");
    case 15: {  // the search's parts, one done with a hit; a segment recorded by a named node
      const std::int64_t ms = static_cast<std::int64_t>(day_of(15)) * 1000;
      auto st = s.sql("INSERT INTO recording_segments (id, camera, path, start_ms, end_ms, bytes, node) VALUES (2, 'gate', '/srv/glassbox/recordings/gate/" +
                      std::to_string(ms) + ".ts', " + std::to_string(ms) + ", " + std::to_string(ms + 60000) + ", 6291456, 'node-a')");
      if (st)
        st = s.sql("INSERT INTO search_parts (search_id, part, work, recorded_by, state, runner, runner_until_ms, runs, created_ms, error, stats) VALUES "
                   "(3, 0, '{\"segments\":[1]}', NULL, 'pending', NULL, NULL, 0, " + std::to_string(ms) + ", NULL, NULL),"
                   "(3, 1, '{\"segments\":[2]}', 'node-a', 'done', 'node-a', " + std::to_string(ms + 30000) + ", 1, " + std::to_string(ms) +
                   ", NULL, '{\"frames\":720}')");
      if (st)
        st = s.with_blobs("INSERT INTO search_part_hits (search_id, part, seq, t, score, crop) VALUES (3, 1, 0, 31.5, 0.39, ?)", {tiny_jpeg(15)});
      return st;
    }
    case 16:  // an alert with what its score meant
      return s.sql_then_bump_feed(
          "INSERT INTO alerts (id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h, raised_at, "
          "feed_position, estimated_fpir, list_templates) VALUES (6, 1, 'gate', 'dlib_resnet', 0.36, 0.6, 2.0, 20, 7, 300, 100, 90, 120, " + s.t(16) +
          ", (SELECT position + 1 FROM alert_feed), 0.00125, 2)");
    case 17:  // an alert with the quality of the view that matched
      return s.sql_then_bump_feed(
          "INSERT INTO alerts (id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h, raised_at, "
          "feed_position, estimated_fpir, list_templates, face_quality, face_yaw_deg, face_pitch_deg, face_sharpness, face_confidence) VALUES "
          "(7, 5, 'gate', 'dlib_resnet', 0.4, 0.6, 4.0, 40, 8, 310, 105, 95, 125, " + s.t(17) + ", (SELECT position + 1 FROM alert_feed), 0.002, 2, "
          "0.81, -12.5, 4.0, 0.37, 0.97)");
    default:
      return Error{"no rows are written for schema version " + std::to_string(version) + ": add them to seed_rows_of()"};
  }
}

// --- Dumping a file as SQL and reading it back ------------------------------------------------

std::string sql_literal(sqlite3_stmt* row, int column) {
  switch (sqlite3_column_type(row, column)) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_INTEGER: return std::to_string(sqlite3_column_int64(row, column));
    case SQLITE_FLOAT: {
      // Enough digits to read back the same double, and a form that stays REAL.
      char text[40];
      std::snprintf(text, sizeof text, "%.17g", sqlite3_column_double(row, column));
      std::string out = text;
      if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
      return out;
    }
    case SQLITE_TEXT: {
      std::string out = "'";
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(row, column));
      for (std::string_view text(p, static_cast<std::size_t>(sqlite3_column_bytes(row, column))); char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
      return out + "'";
    }
    default: {
      static const char* const kHex = "0123456789abcdef";
      std::string out = "X'";
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(row, column));
      for (int i = 0; i < sqlite3_column_bytes(row, column); ++i) {
        out += kHex[p[i] >> 4];
        out += kHex[p[i] & 15];
      }
      return out + "'";
    }
  }
}

// The whole file as SQL that rebuilds it: its version, its tables with their rows in rowid order
// (and SQLite's AUTOINCREMENT counters), then its indexes and triggers.
std::string dump(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  auto rows_of = [&](const std::string& query, const std::function<void(sqlite3_stmt*)>& each) {
    sqlite3_stmt* q = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, query.c_str(), -1, &q, nullptr), SQLITE_OK) << query << ": " << sqlite3_errmsg(db);
    while (q && sqlite3_step(q) == SQLITE_ROW) each(q);
    sqlite3_finalize(q);
  };
  std::string out;
  rows_of("PRAGMA user_version", [&](sqlite3_stmt* q) {
    out += "-- A Glassbox database of schema version " + std::to_string(sqlite3_column_int(q, 0)) +
           ", made by tests/schema_history_test.cc. Never edit: it stands for a version that has shipped.\n";
    out += "PRAGMA user_version = " + std::to_string(sqlite3_column_int(q, 0)) + ";\n";
  });
  std::vector<std::string> tables, later;
  rows_of("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid", [&](sqlite3_stmt* q) {
    const std::string type = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    const std::string name = reinterpret_cast<const char*>(sqlite3_column_text(q, 1));
    const std::string sql = reinterpret_cast<const char*>(sqlite3_column_text(q, 2));
    if (name == "sqlite_sequence") return;  // made by the first AUTOINCREMENT table
    if (type == "table") {
      out += sql + ";\n";
      tables.push_back(name);
    } else {
      later.push_back(sql + ";\n");
    }
  });
  tables.push_back("sqlite_sequence");  // its rows replace those the inserts above made
  for (const auto& table : tables) {
    bool exists = true;
    if (table == "sqlite_sequence") rows_of("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'", [&](sqlite3_stmt* q) { exists = sqlite3_column_int(q, 0) > 0; });
    if (!exists) continue;
    if (table == "sqlite_sequence") out += "DELETE FROM sqlite_sequence;\n";
    rows_of("SELECT * FROM \"" + table + "\"" + (table == "sqlite_sequence" ? " ORDER BY name" : " ORDER BY rowid"), [&](sqlite3_stmt* q) {
      out += "INSERT INTO \"" + table + "\" VALUES(";
      for (int c = 0; c < sqlite3_column_count(q); ++c) out += (c ? "," : "") + sql_literal(q, c);
      out += ");\n";
    });
  }
  for (const auto& sql : later) out += sql;
  sqlite3_close(db);
  return out;
}

Status restore(const std::string& sql_text, const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return Error{path + ": cannot create"};
  char* message = nullptr;
  const std::string script = "BEGIN;\n" + sql_text + "COMMIT;\n";
  const int rc = sqlite3_exec(db, script.c_str(), nullptr, nullptr, &message);
  std::string text = message ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  if (rc != SQLITE_OK) return Error{path + ": the fixture does not load: " + text};
  return ok_status();
}

// The key files beside a database, by suffix, and from which version they exist.
struct KeyFile {
  const char* suffix;
  int since;
};
constexpr KeyFile kKeyFiles[] = {{".audit-key", 4}, {".audit-pub", 4}, {".template-key", 1}};

// --- Making the fixtures ----------------------------------------------------------------------

// Replays the history into a scratch file and writes each missing fixture (see the top).
void write_missing_fixtures() {
  test::TempDir scratch;
  const std::string path = (scratch / kDbName).string();
  fs::create_directories(fixture_dir());
  // The same keys for every fixture, so that one made later continues the same history.
  for (const auto& k : kKeyFiles)
    if (fs::exists(fixture_dir() / (std::string(kDbName) + k.suffix))) {
      fs::copy_file(fixture_dir() / (std::string(kDbName) + k.suffix), path + k.suffix);
      fs::permissions(path + k.suffix, fs::perms::owner_read | fs::perms::owner_write);  // a checkout's mode is not a key's
    }
  for (int version = 1; version <= kVersions; ++version) {
    auto db = SqliteDatabase::open_at_version(path, version);
    ASSERT_TRUE(db) << db.error().message;
    Seeder seeder(**db);
    auto seeded = seed_rows_of(version, seeder);
    ASSERT_TRUE(seeded) << "version " << version << ": " << seeded.error().message;
    ASSERT_TRUE((*db)->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
    db->reset();
    if (!fs::exists(fixture_file(version))) std::ofstream(fixture_file(version)) << dump(path);
  }
  for (const auto& k : kKeyFiles)
    if (!fs::exists(fixture_dir() / (std::string(kDbName) + k.suffix)))
      fs::copy_file(path + k.suffix, fixture_dir() / (std::string(kDbName) + k.suffix));
}

// --- Checking a migrated file -----------------------------------------------------------------

std::vector<std::string> strings_of(sqlite3* db, const std::string& query) {
  std::vector<std::string> out;
  sqlite3_stmt* q = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, query.c_str(), -1, &q, nullptr), SQLITE_OK) << query << ": " << sqlite3_errmsg(db);
  while (q && sqlite3_step(q) == SQLITE_ROW) {
    std::string row;
    for (int c = 0; c < sqlite3_column_count(q); ++c) {
      const auto* text = sqlite3_column_text(q, c);
      row += (c ? "|" : "") + std::string(text ? reinterpret_cast<const char*>(text) : "NULL");
    }
    out.push_back(row);
  }
  sqlite3_finalize(q);
  return out;
}

std::vector<std::string> schema_of(sqlite3* db) {
  return strings_of(db, "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name");
}

class SchemaHistory : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    if (std::getenv("GLASSBOX_UPDATE_GOLDEN") != nullptr) write_missing_fixtures();
  }
};

// What the file held before, every row of it, is there after, in every column both versions
// have; the schema is the one a new file gets; the stores read and act on the old rows; the
// accounts log in; the audit log verifies.
TEST_P(SchemaHistory, ADatabaseOfThisVersionMigratesWithNothingLost) {
  const int version = GetParam();
  ASSERT_TRUE(fs::exists(fixture_file(version))) << fixture_file(version)
                                                 << " is missing: write this version's rows in seed_rows_of() and run with GLASSBOX_UPDATE_GOLDEN=1";
  const std::string fixture = test::read_file(fixture_file(version));
  test::TempDir dir;
  fs::create_directories(dir / "before");
  fs::create_directories(dir / "after");
  const std::string before = (dir / "before" / kDbName).string(), path = (dir / "after" / kDbName).string();
  ASSERT_TRUE(restore(fixture, before));
  ASSERT_TRUE(restore(fixture, path));
  for (const auto& k : kKeyFiles) {
    // Versions before 5 had no template key: migration 5 makes one to seal their templates.
    if (version < k.since || (version < 5 && std::string(k.suffix) == ".template-key")) continue;
    fs::copy_file(fixture_dir() / (std::string(kDbName) + k.suffix), path + k.suffix);
    fs::permissions(path + k.suffix, fs::perms::owner_read | fs::perms::owner_write);
  }

  // An older file is not silently used by a read-only handle: it names the way forward.
  if (version < kVersions) {
    auto read_only = SqliteDatabase::open(path, OpenMode::kReadOnly);
    ASSERT_FALSE(read_only);
    EXPECT_NE(read_only.error().message.find("is older"), std::string::npos) << read_only.error().message;
  }

  auto opened = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  ASSERT_TRUE(opened) << opened.error().message;
  sqlite3* db = (*opened)->handle();
  EXPECT_EQ(strings_of(db, "PRAGMA user_version"), std::vector<std::string>{std::to_string(kVersions)});
  EXPECT_EQ(strings_of(db, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  EXPECT_TRUE(strings_of(db, "PRAGMA foreign_key_check").empty());
  {
    auto fresh = SqliteDatabase::open((dir / "fresh.db").string(), OpenMode::kReadWriteCreate);
    ASSERT_TRUE(fresh);
    EXPECT_EQ(schema_of(db), schema_of((*fresh)->handle())) << "the migrated schema differs from a new file's";
  }

  // Nothing lost: every table of the old file, row for row, in the columns both versions have.
  const std::string attach = "ATTACH DATABASE '" + before + "' AS old";
  ASSERT_EQ(sqlite3_exec(db, attach.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  int tables_compared = 0;
  for (const auto& table : strings_of(db, "SELECT name FROM old.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")) {
    std::string columns;
    for (const auto& column : strings_of(db, "SELECT o.name FROM pragma_table_info('" + table + "', 'old') o "
                                             "JOIN pragma_table_info('" + table + "', 'main') n ON n.name = o.name ORDER BY o.cid"))
      columns += (columns.empty() ? "\"" : ", \"") + column + "\"";
    ASSERT_FALSE(columns.empty()) << table << " has no column left";
    EXPECT_EQ(strings_of(db, "SELECT count(*) FROM old.\"" + table + "\""), strings_of(db, "SELECT count(*) FROM main.\"" + table + "\"")) << table;
    EXPECT_EQ(strings_of(db, "SELECT count(*) FROM (SELECT " + columns + " FROM old.\"" + table + "\" EXCEPT SELECT " + columns + " FROM main.\"" +
                                 table + "\")"),
              std::vector<std::string>{"0"})
        << table << ": rows changed or lost";
    ++tables_compared;
  }
  EXPECT_GE(tables_compared, version >= 4 ? 6 : 2);
  const auto old_count = [&](const std::string& table) {
    const auto rows = strings_of(db, "SELECT count(*) FROM old.\"" + table + "\"");
    return rows.empty() ? 0 : std::stoi(rows.front());
  };
  const int old_alerts = version >= 2 ? old_count("alerts") : 0;
  const int old_records = version >= 4 ? old_count("audit_records") : 0;
  ASSERT_EQ(sqlite3_exec(db, "DETACH DATABASE old", nullptr, nullptr, nullptr), SQLITE_OK);
  opened->reset();

  auto key = TemplateKey::load(path, /*create_if_missing=*/false);
  ASSERT_TRUE(key) << "version " << version << ": " << key.error().message;

  // The watchlist: the active, unexpired, unrevoked entries match, with the templates enrolled.
  {
    auto watchlist = SqlWatchlistStore::open(path, OpenMode::kReadWriteCreate);
    ASSERT_TRUE(watchlist) << watchlist.error().message;
    auto active = (*watchlist)->active_templates(kProfile, kCheckedAt);
    ASSERT_TRUE(active) << active.error().message;
    std::map<std::int64_t, std::vector<float>> got;
    for (const auto& t : *active) got[t.entry_id] = t.vector;
    std::map<std::int64_t, std::vector<float>> want = {{1, vector_of(1)}};
    if (version >= 5) want[5] = vector_of(5);
    EXPECT_EQ(got, want);
    auto entries = (*watchlist)->list_entries();
    ASSERT_TRUE(entries);
    EXPECT_EQ(entries->size(), version >= 5 ? 5u : version >= 3 ? 4u : 3u);
    if (version >= 11) {
      auto photo = (*watchlist)->reference_photo(5, 1);
      ASSERT_TRUE(photo && photo->has_value()) << (photo ? "no photo" : photo.error().message);
      EXPECT_EQ(**photo, tiny_jpeg(5));
    }
  }

  // The alerts: every one read, the open one decided now, its evidence there.
  if (version >= 2) {
    auto alerts = AlertStore::open(path);
    ASSERT_TRUE(alerts) << alerts.error().message;
    auto listed = (*alerts)->list({});
    ASSERT_TRUE(listed) << listed.error().message;
    EXPECT_EQ(static_cast<int>(listed->size()), old_alerts);
    auto feed = (*alerts)->feed(0, 100);
    ASSERT_TRUE(feed);
    std::set<std::int64_t> positions;
    for (const auto& a : *feed) positions.insert(a.feed_position);
    EXPECT_EQ(static_cast<int>(positions.size()), old_alerts) << "each alert has a position of its own in the feed";
    auto evidence = (*alerts)->evidence(1);
    ASSERT_TRUE(evidence && evidence->has_value());
    EXPECT_EQ(**evidence, tiny_jpeg(1));
    EXPECT_TRUE((*alerts)->confirm(1, "carol", kCheckedAt));
    EXPECT_FALSE((*alerts)->confirm(2, "carol", kCheckedAt)) << "a decided alert stays decided";
  }

  // Searches: the done one's result and its probe, under the key.
  if (version >= 9) {
    auto search_db = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
    ASSERT_TRUE(search_db);
    auto done = load_search(**search_db, 1);
    ASSERT_TRUE(done && done->has_value());
    EXPECT_EQ((*done)->status, "done");
    EXPECT_EQ((*done)->request.case_id, "2026-114");
    auto probes = probe_templates(**search_db, 1, *key);
    ASSERT_TRUE(probes) << probes.error().message;
    EXPECT_EQ(*probes, std::vector<std::vector<float>>{vector_of(101)});
    auto result = search_result_json(**search_db, **done);
    ASSERT_TRUE(result) << result.error().message;
    auto listed = list_searches_json(**search_db);
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->size(), version >= 14 ? 3u : 2u);
  }

  // Accounts: the password set long ago still logs in; a disabled account does not.
  if (version >= 7) {
    auto users = UserStore::open(path);
    ASSERT_TRUE(users) << users.error().message;
    auto session = (*users)->login("carol", kCarolPassword, "127.0.0.1", kCheckedAt);
    EXPECT_TRUE(std::holds_alternative<NewSession>(session)) << "version " << version;
    if (version >= 10) {
      EXPECT_FALSE(std::holds_alternative<NewSession>((*users)->login("erin", "erin's long passphrase 3", "127.0.0.1", kCheckedAt)));
    }
  }

  // The audit log: the old records and those written since verify as one log.
  if (version >= 4) {
    auto audit_db = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
    ASSERT_TRUE(audit_db);
    const std::string exported = (dir / "export.jsonl").string();
    auto written = audit::export_log(**audit_db, "auditor", exported, kCheckedAt + 60);
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_GT(*written, static_cast<std::uint64_t>(old_records));
    auto public_key = audit::read_public_key(audit::public_key_path(path));
    ASSERT_TRUE(public_key);
    auto report = audit::verify_export_file(exported, *public_key, std::nullopt);
    EXPECT_TRUE(report) << report.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryVersion, SchemaHistory, ::testing::Range(1, kVersions + 1),
                         [](const ::testing::TestParamInfo<int>& info) { return "v" + std::to_string(info.param); });

// The fixtures are what they say: each file's version is its name's, and it is no newer than
// this binary.
TEST(SchemaHistoryFixtures, EachFixtureIsOfTheVersionItsNameSays) {
  for (int version = 1; version <= kVersions; ++version) {
    if (!fs::exists(fixture_file(version))) continue;  // the test above says so
    EXPECT_NE(test::read_file(fixture_file(version)).find("PRAGMA user_version = " + std::to_string(version) + ";"), std::string::npos) << version;
  }
  EXPECT_FALSE(fs::exists(fixture_file(kVersions + 1))) << "a fixture newer than this binary's schema";
}

}  // namespace
}  // namespace glassbox
