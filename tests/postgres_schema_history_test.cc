// Upgrades of a cluster's database: a PostgreSQL database of every schema version, as that
// version's nodes left it, migrates to the current one with nothing lost, and the stores read
// and act on what it holds. The PostgreSQL side of schema_history_test.cc (SQLite's).
//
// The fixtures (tests/fixtures/postgres-schema/vNN.sql) hold, for each version, the catalogue
// that version's migrations make (as comments) and the rows that version's code wrote (as
// INSERTs, with the identity sequences' positions). A test database is brought to version NN by
// migrations 1..NN — which must give exactly the recorded catalogue, so a shipped migration that
// was edited is caught here —, the rows are loaded, and then the current migrations run.
// They were made by replaying history, version by version, as for SQLite; with
// GLASSBOX_UPDATE_GOLDEN set, the missing ones are written (an existing one is never rewritten).
#include <algorithm>
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
#include "store/postgres_database.h"
#include "store/postgres_schema.h"
#include "store/search_store.h"
#include "store/sql_watchlist_store.h"
#include "store/template_key.h"
#include "support/backends.h"
#include "support/history_rows.h"
#include "support/postgres_server.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

namespace fs = std::filesystem;
using test::day_of;
using test::event;
using test::kCarolPassword;
using test::kCheckedAt;
using test::kFarExpiry;
using test::tiny_jpeg;
using Seeder = test::HistorySeeder;

const char* const kProfile = "dlib_resnet";
const char* const kKeyBase = "node";  // the fixtures' keys: node.audit-key, node.audit-pub, node.template-key
const char* const kKeySuffixes[] = {".audit-key", ".audit-pub", ".template-key"};

fs::path fixture_dir() { return fs::path(GLASSBOX_SOURCE_DIR) / "tests" / "fixtures" / "postgres-schema"; }
fs::path fixture_file(int version) {
  char name[16];
  std::snprintf(name, sizeof name, "v%02d.sql", version);
  return fixture_dir() / name;
}

std::vector<float> vector_of(int id) { return test::history_vector(id); }

// The rows version `version` adds, in that version's layout (its migration has just run).
Status seed_rows_of(int version, Seeder& s) {
  const std::string far = std::to_string(kFarExpiry);
  auto key = TemplateKey::load(s.db().key_base(), /*create_if_missing=*/true);
  if (!key) return key.error();
  switch (version) {
    case 1:  // the audit log begins
      return s.audit(1, {event("setup", "cluster.create", "deployment/default")});
    case 2:  // cameras
      return s.sql("INSERT INTO cameras (name, url, rate_fps, min_face_px, enabled, loop, stall_timeout_s, created_at, updated_at, record, record_retention_days) VALUES "
                   "('gate', 'rtsp://10.0.0.5:554/gate', 5.0, 40, 1, 0, 5.0, " + s.t(2) + ", " + s.t(2) + ", 1, 14),"
                   "('platform', 'http://10.0.0.6/platform.ts', 2.5, 48, 0, 0, 8.0, " + s.t(2) + ", " + s.t(2, 30) + ", 0, 7)");
    case 3: {  // the watchlist: active, pending, expiring, revoked; sealed templates, a photo, ended biometrics
      auto st = s.sql(
          "INSERT INTO watchlist_entries (id, subject, legal_basis, photo_source, submitted_by, submitted_at, expires_at, status, approved_by, approved_at, scope) VALUES "
          "(1, 'Person A', 'Warrant 2026/1', 'case file photo', 'alice', " + s.t(3) + ", " + far + ", 'active', 'bob', " + s.t(3, 60) + ", '[]'),"
          "(2, 'Person B', 'Missing person report 17', 'family photo', 'alice', " + s.t(3) + ", " + far + ", 'pending', NULL, NULL, '[]'),"
          "(3, 'Person C', 'Warrant 2026/3', 'case file photo', 'carol', " + s.t(3) + ", " + s.t(20) + ", 'active', 'bob', " + s.t(3, 60) + ", '[]'),"
          "(4, 'Person D', 'Warrant 2026/4', 'case file photo', 'alice', " + s.t(3) + ", " + far + ", 'active', 'bob', " + s.t(3, 60) + ", '[]'),"
          "(5, 'Person E', 'Court order 2026/55', 'passport photo', 'bob', " + s.t(3) + ", " + far + ", 'active', 'carol', " + s.t(3, 60) + ", '[\"gate\"]')");
      for (int id = 1; st && id <= 5; ++id)
        st = s.with_blobs("INSERT INTO entry_templates (id, entry_id, profile, dimension, key_id, sealed, photo_name, photo_sha256) VALUES (" + std::to_string(id) +
                              ", " + std::to_string(id) + ", 'dlib_resnet', 4, '" + key->id() + "', ?, 'p" + std::to_string(id) + ".jpg', 'sha" + std::to_string(id) + "')",
                          {key->seal(vector_of(id), id, kProfile)});
      if (st) st = s.sql("UPDATE watchlist_entries SET status = 'revoked', revoked_by = 'bob', revoked_at = " + s.t(3, 120) + ", revoke_reason = 'warrant withdrawn' WHERE id = 4");
      if (st)
        st = s.with_blobs("INSERT INTO entry_photos (id, entry_id, position, photo_name, photo_sha256, key_id, sealed) VALUES (1, 5, 1, 'p5.jpg', 'sha5', '" + key->id() + "', ?)",
                          {key->seal_photo(tiny_jpeg(5), 5, "sha5")});
      if (st) st = s.sql("DELETE FROM entry_templates WHERE entry_id = 3");
      if (st) st = s.sql("INSERT INTO entry_biometrics_deleted (entry_id, deleted_at) VALUES (3, " + s.t(3, 200) + ")");
      if (st) st = s.audit(3, {event("alice", "entry.submit", "entry/1"), event("bob", "entry.approve", "entry/1"), event("bob", "entry.revoke", "entry/4")});
      return st;
    }
    case 4: {  // alerts: open, confirmed, dismissed, with evidence; analysis counts
      auto st = s.sql(
          "INSERT INTO alerts (id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h, "
          "raised_at, status, decided_by, decided_at, dismiss_reason) VALUES "
          "(1, 1, 'gate', 'dlib_resnet', 0.41, 0.6, 12.5, 125, 3, 100, 80, 120, 150, " + s.t(4) + ", 'open', NULL, NULL, NULL),"
          "(2, 1, 'gate', 'dlib_resnet', 0.38, 0.6, 40.25, 402, 5, 90, 70, 130, 160, " + s.t(4, 600) + ", 'confirmed', 'carol', " + s.t(4, 900) + ", NULL),"
          "(3, 5, 'gate', 'dlib_resnet', 0.55, 0.6, 3.0, 30, 1, 10, 20, 60, 70, " + s.t(4, 1200) + ", 'dismissed', 'carol', " + s.t(4, 1500) +
          ", 'a different person, same coat')");
      if (st) st = s.sql("SELECT setval(pg_get_serial_sequence('alerts', 'id'), 3)");
      if (st) st = s.with_blobs("INSERT INTO alert_evidence (alert_id, face_jpeg, purge_after) VALUES (1, ?, " + far + ")", {tiny_jpeg(1)});
      if (st) st = s.with_blobs("INSERT INTO alert_evidence (alert_id, face_jpeg, purge_after) VALUES (2, ?, " + far + ")", {tiny_jpeg(2)});
      if (st)
        st = s.sql("INSERT INTO analysis_stats (day, camera, frames_analysed, faces_detected, faces_embedded) VALUES "
                   "('2026-01-10', 'gate', 43200, 1812, 1790), ('2026-01-10', 'platform', 21600, 95, 93)");
      if (st) st = s.audit(4, {event("carol", "alert.confirm", "alert/2"), event("carol", "alert.dismiss", "alert/3")});
      return st;
    }
    case 5: {  // accounts: active, pending, disabled; a session; a revoked token
      const std::string alice = test::password_hash("alice's long passphrase 1"), carol = test::password_hash(kCarolPassword),
                        erin = test::password_hash("erin's long passphrase 3");
      if (alice.empty() || carol.empty() || erin.empty()) return Error{"cannot hash a password"};
      auto st = s.sql("INSERT INTO users (name, password_hash, roles, created_at, created_by, status) VALUES "
                      "('alice', '" + alice + "', 'admin', " + s.t(5) + ", 'setup', 'active'),"
                      "('carol', '" + carol + "', 'operator,supervisor', " + s.t(5, 60) + ", 'alice', 'active'),"
                      "('dave', '', 'auditor', " + s.t(5, 90) + ", 'alice', 'pending'),"
                      "('erin', '" + erin + "', 'operator', " + s.t(5, 100) + ", 'alice', 'active')");
      if (st) st = s.sql("UPDATE users SET status = 'disabled', disabled_by = 'alice', disabled_at = " + s.t(5, 160) + ", disable_reason = 'left the unit' WHERE name = 'erin'");
      if (st)
        st = s.with_blobs("INSERT INTO sessions (token_hash, \"user\", csrf_token, created_at, last_seen, expires_at) VALUES (?, 'carol', 'csrf-5', " + s.t(5, 100) +
                              ", " + s.t(5, 200) + ", " + s.t(5, 3600) + ")",
                          {test::sha256_of("session token 5")});
      if (st)
        st = s.with_blobs("INSERT INTO api_tokens (id, token_hash, \"user\", label, created_at, expires_at, revoked_at, revoked_by) VALUES (1, ?, 'alice', 'export job', " +
                              s.t(5, 300) + ", " + s.t(95) + ", " + s.t(5, 400) + ", 'alice')",
                          {test::sha256_of("api token 1")});
      if (st) st = s.sql("SELECT setval(pg_get_serial_sequence('api_tokens', 'id'), 1)");
      if (st) st = s.audit(5, {event("setup", "user.add", "user/alice"), event("alice", "user.add", "user/carol"), event("alice", "user.disable", "user/erin")});
      return st;
    }
    case 6: {  // a recording, searches (done with a visit, pending), an upload
      auto st = test::seed_searches(s, 6, *key, ".mp4");
      for (const char* table : {"recording_segments", "searches", "uploads"})
        if (st) st = s.sql(std::string("SELECT setval(pg_get_serial_sequence('") + table + "', 'id'), (SELECT max(id) FROM " + table + "))");
      if (st) st = s.audit(6, {event("carol", "search.request", "search/1"), event("alice", "search.approve", "search/1"), event("carol", "search.request", "search/2")});
      return st;
    }
    case 7:  // two nodes, one holding a camera
      return s.sql("INSERT INTO nodes (node, epoch, capacity, address, lease_until, renewed_at, joined_at) VALUES "
                   "('node-a', 3, 8, '10.0.1.1:8080', '2026-01-12 09:00:15+00', '2026-01-12 09:00:00+00', '2026-01-12 08:00:00+00'),"
                   "('node-b', 1, 8, '10.0.1.2:8080', '2026-01-12 09:00:12+00', '2026-01-12 08:59:57+00', '2026-01-12 08:30:00+00');"
                   "INSERT INTO camera_leases (camera, node, epoch, since) VALUES ('gate', 'node-a', 3, '2026-01-12 08:00:05+00')");
    case 8: {  // the feed position, a sighting, a delivery waiting in the outbox
      auto st = s.sql_then_bump_feed(
          "INSERT INTO alerts (id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h, raised_at, "
          "feed_position, captured_at_ms) VALUES (4, 5, 'gate', 'dlib_resnet', 0.44, 0.6, 9.5, 95, 4, 210, 95, 100, 130, " + s.t(8) +
          ", (SELECT position + 1 FROM alert_feed), " + std::to_string(static_cast<std::int64_t>(day_of(8)) * 1000 - 350) + ")");
      if (st) st = s.sql("SELECT setval(pg_get_serial_sequence('alerts', 'id'), 4)");
      if (st)
        st = s.sql("INSERT INTO alert_sightings (camera, entry_id, alert_id, first_seen_at, last_seen_at, repeats) VALUES ('gate', 5, 4, " + s.t(8) + ", " +
                   s.t(8, 40) + ", 3)");
      if (st)
        st = s.sql("INSERT INTO alert_deliveries (alert_id, endpoint, state, attempts, next_at_ms) VALUES (4, 'webhook:ops', 'pending', 1, " +
                   std::to_string(static_cast<std::int64_t>(day_of(8)) * 1000 + 30000) + ")");
      return st;
    }
    case 9: {  // a search claimed by the node that runs it
      auto st = s.sql("INSERT INTO searches (id, case_id, legal_basis, requested_by, requested_at, approved_by, approved_at, cameras, files, mode, profile, threshold, "
                      "expires_at, status, runner, runner_until_ms, runs) VALUES (3, '2026-120', 'Warrant 2026/120', 'carol', " + s.t(9) + ", 'alice', " +
                      s.t(9, 60) + ", '[\"gate\"]', '[]', 'keyframes', 'dlib_resnet', 0.55, " + far + ", 'running', 'node-a', " +
                      std::to_string(static_cast<std::int64_t>(day_of(9)) * 1000 + 30000) + ", 1)");
      if (st) st = s.sql("SELECT setval(pg_get_serial_sequence('searches', 'id'), 3)");
      return st;
    }
    case 10: {  // the search's parts, one done with a hit; a segment recorded by a named node
      const std::int64_t ms = static_cast<std::int64_t>(day_of(10)) * 1000;
      auto st = s.sql("INSERT INTO recording_segments (id, camera, path, start_ms, end_ms, bytes, node) VALUES (2, 'gate', '/srv/glassbox/recordings/gate/" +
                      std::to_string(ms) + ".mp4', " + std::to_string(ms) + ", " + std::to_string(ms + 60000) + ", 6291456, 'node-a')");
      if (st) st = s.sql("SELECT setval(pg_get_serial_sequence('recording_segments', 'id'), 2)");
      if (st)
        st = s.sql("INSERT INTO search_parts (search_id, part, work, recorded_by, state, runner, runner_until_ms, runs, created_ms, error, stats) VALUES "
                   "(3, 0, '{\"segments\":[1]}', NULL, 'pending', NULL, NULL, 0, " + std::to_string(ms) + ", NULL, NULL),"
                   "(3, 1, '{\"segments\":[2]}', 'node-a', 'done', 'node-a', " + std::to_string(ms + 30000) + ", 1, " + std::to_string(ms) +
                   ", NULL, '{\"frames\":720}')");
      if (st) st = s.with_blobs("INSERT INTO search_part_hits (search_id, part, seq, t, score, crop) VALUES (3, 1, 0, 31.5, 0.39, ?)", {tiny_jpeg(15)});
      return st;
    }
    case 11: {  // an alert with what its score meant
      auto st = s.sql_then_bump_feed(
          "INSERT INTO alerts (id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h, raised_at, "
          "feed_position, estimated_fpir, list_templates) VALUES (5, 1, 'gate', 'dlib_resnet', 0.36, 0.6, 2.0, 20, 7, 300, 100, 90, 120, " + s.t(11) +
          ", (SELECT position + 1 FROM alert_feed), 0.00125, 2)");
      if (st) st = s.sql("SELECT setval(pg_get_serial_sequence('alerts', 'id'), 5)");
      return st;
    }
    case 12: {  // an alert with the quality of the view that matched
      auto st = s.sql_then_bump_feed(
          "INSERT INTO alerts (id, entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, box_x, box_y, box_w, box_h, raised_at, "
          "feed_position, estimated_fpir, list_templates, face_quality, face_yaw_deg, face_pitch_deg, face_sharpness, face_confidence) VALUES "
          "(6, 5, 'gate', 'dlib_resnet', 0.4, 0.6, 4.0, 40, 8, 310, 105, 95, 125, " + s.t(12) + ", (SELECT position + 1 FROM alert_feed), 0.002, 2, "
          "0.81, -12.5, 4.0, 0.37, 0.97)");
      if (st) st = s.sql("SELECT setval(pg_get_serial_sequence('alerts', 'id'), 6)");
      return st;
    }
    default:
      return Error{"no rows are written for PostgreSQL schema version " + std::to_string(version) + ": add them to seed_rows_of()"};
  }
}

// --- The fixture's form -----------------------------------------------------------------------

std::vector<std::string> column_of(Database& db, const std::string& sql) {
  std::vector<std::string> out;
  auto s = db.prepare(sql);
  for (auto step = s->step(); step && *step == Step::kRow; step = s->step()) out.push_back(s->is_null(0) ? "NULL" : s->text(0));
  return out;
}

std::vector<std::string> tables_of(Database& db) {
  return column_of(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' "
                       "AND table_name <> 'schema_version' ORDER BY table_name");
}

std::vector<std::string> columns_of(Database& db, const std::string& table) {
  return column_of(db, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '" + table +
                           "' ORDER BY ordinal_position");
}

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

// The catalogue as comment lines, then each table's rows as INSERTs (the rows the migrations
// made are replaced), then the identity sequences where they stood.
std::string dump(Database& db) {
  std::string out;
  std::string catalogue = test::postgres_catalogue(db);
  for (std::size_t at = 0; at < catalogue.size();) {
    const auto end = catalogue.find('\n', at);
    out += "--| " + catalogue.substr(at, end - at) + "\n";
    at = end == std::string::npos ? catalogue.size() : end + 1;
  }
  for (const auto& table : tables_of(db)) {
    const auto columns = columns_of(db, table);
    std::string names, values;
    for (const auto& c : columns) {
      names += (names.empty() ? "" : ", ") + quoted(c);
      values += std::string(values.empty() ? "" : " || ', ' || ") + "quote_nullable(" + quoted(c) + ")";
    }
    out += "DELETE FROM " + quoted(table) + ";\n";
    for (const auto& row : column_of(db, "SELECT " + values + " FROM " + quoted(table) + " ORDER BY 1"))
      out += "INSERT INTO " + quoted(table) + " (" + names + ") VALUES (" + row + ");\n";
  }
  auto identities = db.prepare("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND is_identity = 'YES' ORDER BY 1");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto step = identities->step(); step && *step == Step::kRow; step = identities->step()) pairs.emplace_back(identities->text(0), identities->text(1));
  for (const auto& [table, column] : pairs) {
    const auto sequence = column_of(db, "SELECT pg_get_serial_sequence('" + table + "', '" + column + "')").front();
    const auto state = column_of(db, "SELECT last_value::text || ', ' || is_called::text FROM " + sequence);
    out += "SELECT setval('" + sequence + "', " + state.front() + ");\n";
  }
  return out;
}

std::string recorded_catalogue(const std::string& fixture) {
  std::string out;
  for (std::size_t at = 0; at < fixture.size();) {
    const auto end = fixture.find('\n', at);
    const std::string line = fixture.substr(at, end - at);
    if (line.rfind("--| ", 0) == 0) out += line.substr(4) + "\n";
    at = end == std::string::npos ? fixture.size() : end + 1;
  }
  return out;
}

// A database of version `version` from its fixture: the schema by migrations 1..version (which
// must be the recorded one), then the rows, loaded as a restore would (triggers and foreign-key
// checks off: the rows are already what that version's code checked).
Status restore(PostgresDatabase& db, int version, const std::string& fixture) {
  if (auto s = migrate_postgres(db, version); !s) return s;
  if (test::postgres_catalogue(db) != recorded_catalogue(fixture))
    return Error{"migrations 1.." + std::to_string(version) + " no longer make the schema version " + std::to_string(version) +
                 " shipped with: a shipped migration was edited"};
  return db.execute("BEGIN; SET LOCAL session_replication_role = replica;\n" + fixture + "COMMIT;");
}

// --- Making the fixtures ----------------------------------------------------------------------

void write_missing_fixtures(test::PostgresServer& server, const fs::path& scratch) {
  std::string why;
  ASSERT_TRUE(server.create_database("history_made", why)) << why;
  fs::create_directories(fixture_dir());
  const std::string key_base = (scratch / kKeyBase).string();
  for (const char* suffix : kKeySuffixes) {
    const auto kept = fixture_dir() / (std::string(kKeyBase) + suffix);
    if (!fs::exists(kept)) continue;
    fs::copy_file(kept, key_base + suffix, fs::copy_options::overwrite_existing);
    fs::permissions(key_base + suffix, fs::perms::owner_read | fs::perms::owner_write);
  }
  auto db = PostgresDatabase::connect(server.conninfo("history_made"), key_base);
  ASSERT_TRUE(db) << db.error().message;
  for (int version = 1; version <= kPostgresSchemaVersion; ++version) {
    ASSERT_TRUE(migrate_postgres(**db, version));
    Seeder seeder(**db);
    auto seeded = seed_rows_of(version, seeder);
    ASSERT_TRUE(seeded) << "version " << version << ": " << seeded.error().message;
    if (!fs::exists(fixture_file(version))) std::ofstream(fixture_file(version)) << dump(**db);
  }
  for (const char* suffix : kKeySuffixes)
    if (!fs::exists(fixture_dir() / (std::string(kKeyBase) + suffix))) fs::copy_file(key_base + suffix, fixture_dir() / (std::string(kKeyBase) + suffix));
}

// --- The test ---------------------------------------------------------------------------------

class PostgresSchemaHistory : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    std::string why;
    server_ = test::shared_postgres(why);
    ASSERT_NE(server_, nullptr) << why;
    static bool made = false;
    if (!made && std::getenv("GLASSBOX_UPDATE_GOLDEN") != nullptr) {
      test::TempDir scratch;
      write_missing_fixtures(*server_, scratch.path());
    }
    made = true;
  }
  test::PostgresServer* server_ = nullptr;
  test::TempDir dir_;
};

TEST_P(PostgresSchemaHistory, ADatabaseOfThisVersionMigratesWithNothingLost) {
  const int version = GetParam();
  ASSERT_TRUE(fs::exists(fixture_file(version))) << fixture_file(version)
                                                 << " is missing: write this version's rows in seed_rows_of() and run with GLASSBOX_UPDATE_GOLDEN=1";
  const std::string fixture = test::read_file(fixture_file(version));
  const std::string key_base = (dir_ / kKeyBase).string();
  for (const char* suffix : kKeySuffixes) {
    fs::copy_file(fixture_dir() / (std::string(kKeyBase) + suffix), key_base + suffix);
    fs::permissions(key_base + suffix, fs::perms::owner_read | fs::perms::owner_write);
  }
  std::string why;
  const std::string name = "history_v" + std::to_string(version), old_name = name + "_old", fresh_name = name + "_fresh";
  for (const auto& n : {name, old_name, fresh_name}) ASSERT_TRUE(server_->create_database(n, why)) << why;
  auto old_db = PostgresDatabase::connect(server_->conninfo(old_name), key_base);
  auto db = PostgresDatabase::connect(server_->conninfo(name), key_base);
  ASSERT_TRUE(old_db && db);
  auto restored = restore(**old_db, version, fixture);
  ASSERT_TRUE(restored) << restored.error().message;
  restored = restore(**db, version, fixture);
  ASSERT_TRUE(restored) << restored.error().message;

  // The current migrations, as a node of this version's successor runs them at its start.
  auto migrated = migrate_postgres(**db);
  ASSERT_TRUE(migrated) << migrated.error().message;
  {
    auto fresh = open_postgres(server_->conninfo(fresh_name));
    ASSERT_TRUE(fresh);
    EXPECT_EQ(test::postgres_catalogue(**db), test::postgres_catalogue(**fresh)) << "the migrated schema differs from a new database's";
  }

  // Nothing lost: every table of the old database, row for row, in the columns both have.
  int tables_compared = 0;
  for (const auto& table : tables_of(**old_db)) {
    const auto new_columns = columns_of(**db, table);
    std::string common;
    for (const auto& c : columns_of(**old_db, table))
      if (std::find(new_columns.begin(), new_columns.end(), c) != new_columns.end()) common += (common.empty() ? "" : ", ") + quoted(c);
    ASSERT_FALSE(common.empty()) << table << " has no column left";
    const std::string rows = "SELECT json_build_array(" + common + ")::text FROM " + quoted(table) + " ORDER BY 1";
    EXPECT_EQ(column_of(**old_db, rows), column_of(**db, rows)) << table << ": rows changed or lost";
    ++tables_compared;
  }
  EXPECT_GE(tables_compared, 2);
  const auto old_alerts = version >= 4 ? std::stoi(column_of(**old_db, "SELECT count(*) FROM alerts").front()) : 0;
  const auto old_max_alert = version >= 4 ? std::stoll(column_of(**old_db, "SELECT coalesce(max(id), 0) FROM alerts").front()) : 0;

  auto key = TemplateKey::load(key_base, /*create_if_missing=*/false);
  ASSERT_TRUE(key) << key.error().message;

  if (version >= 3) {  // the watchlist
    auto connection = PostgresDatabase::connect(server_->conninfo(name), key_base);
    ASSERT_TRUE(connection);
    SqlWatchlistStore watchlist(std::move(*connection));
    auto active = watchlist.active_templates(kProfile, kCheckedAt);
    ASSERT_TRUE(active) << active.error().message;
    std::map<std::int64_t, std::vector<float>> got;
    for (const auto& t : *active) got[t.entry_id] = t.vector;
    EXPECT_EQ(got, (std::map<std::int64_t, std::vector<float>>{{1, vector_of(1)}, {5, vector_of(5)}}));
    auto photo = watchlist.reference_photo(5, 1);
    ASSERT_TRUE(photo && photo->has_value());
    EXPECT_EQ(**photo, tiny_jpeg(5));
  }
  if (version >= 4) {  // alerts: each read, the open one decided, a new one numbered after the old
    auto connection = PostgresDatabase::connect(server_->conninfo(name), key_base);
    ASSERT_TRUE(connection);
    AlertStore alerts(std::move(*connection));
    auto listed = alerts.list({});
    ASSERT_TRUE(listed) << listed.error().message;
    EXPECT_EQ(static_cast<int>(listed->size()), old_alerts);
    auto evidence = alerts.evidence(1);
    ASSERT_TRUE(evidence && evidence->has_value());
    EXPECT_EQ(**evidence, tiny_jpeg(1));
    EXPECT_TRUE(alerts.confirm(1, "carol", kCheckedAt));
    EXPECT_FALSE(alerts.confirm(2, "carol", kCheckedAt)) << "a decided alert stays decided";
    Alert a;
    a.entry_id = 1;
    a.subject = "Person A";
    a.source = "gate";
    a.profile = kProfile;
    a.metric = "euclidean";
    a.score = 0.4;
    a.threshold = 0.6;
    a.box = cv::Rect(1, 2, 30, 40);
    auto id = alerts.record(a, tiny_jpeg(7), kCheckedAt, kCheckedAt + 86400);
    ASSERT_TRUE(id) << id.error().message;
    EXPECT_GT(*id, old_max_alert) << "an alert's id handed out again";
    auto feed = alerts.feed(0, 100);
    ASSERT_TRUE(feed);
    std::set<std::int64_t> positions;
    for (const auto& r : *feed) positions.insert(r.feed_position);
    EXPECT_EQ(static_cast<int>(positions.size()), old_alerts + 1) << "each alert has a position of its own in the feed";
  }
  if (version >= 5) {  // accounts
    auto connection = PostgresDatabase::connect(server_->conninfo(name), key_base);
    ASSERT_TRUE(connection);
    UserStore users(std::move(*connection));
    EXPECT_TRUE(std::holds_alternative<NewSession>(users.login("carol", kCarolPassword, "127.0.0.1", kCheckedAt)));
    EXPECT_FALSE(std::holds_alternative<NewSession>(users.login("erin", "erin's long passphrase 3", "127.0.0.1", kCheckedAt)));
  }
  if (version >= 6) {  // searches
    auto done = load_search(**db, 1);
    ASSERT_TRUE(done && done->has_value());
    EXPECT_EQ((*done)->status, "done");
    auto probes = probe_templates(**db, 1, *key);
    ASSERT_TRUE(probes) << probes.error().message;
    EXPECT_EQ(*probes, std::vector<std::vector<float>>{vector_of(101)});
    auto result = search_result_json(**db, **done);
    EXPECT_TRUE(result) << result.error().message;
  }
  // The audit log, before the upgrade and since, verifies as one.
  const std::string exported = (dir_ / "export.jsonl").string();
  auto written = audit::export_log(**db, "auditor", exported, kCheckedAt + 60);
  ASSERT_TRUE(written) << written.error().message;
  auto public_key = audit::read_public_key(audit::public_key_path(key_base));
  ASSERT_TRUE(public_key);
  auto report = audit::verify_export_file(exported, *public_key, std::nullopt);
  EXPECT_TRUE(report) << report.error().message;
}

INSTANTIATE_TEST_SUITE_P(EveryVersion, PostgresSchemaHistory, ::testing::Range(1, kPostgresSchemaVersion + 1),
                         [](const ::testing::TestParamInfo<int>& info) { return "v" + std::to_string(info.param); });

}  // namespace
}  // namespace glassbox
