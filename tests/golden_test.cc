// Formats that outlive a process, pinned byte for byte: the alert line of `watch` and the
// database schema. A change here is a format change: update docs/ first, then regenerate with
// GLASSBOX_UPDATE_GOLDEN=1 and review the diff.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "alert/json_lines.h"
#include "store/search_store.h"
#include "store/sql_watchlist_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

using test::expect_matches_golden;

TEST(Golden, AlertLine) {
  Alert a;
  a.subject = "Person A";
  a.entry_id = 42;
  a.score = 0.391372;
  a.metric = "euclidean";
  a.threshold = 0.6;
  a.profile = "dlib_resnet";
  a.source = "/data/photos";
  a.item = "frame_0007.jpg";
  a.timestamp_s = 7.0004;
  a.frame_index = 7;
  a.track_id = 3;
  a.box = cv::Rect(516, 125, 402, 500);
  std::ostringstream out;
  JsonLinesWriter writer(out);
  JsonLinesAlertSink sink(writer);
  sink.publish(a);
  a.item.clear();
  a.source = "rtsp://127.0.0.1:8554/cam";
  a.metric = "cosine";
  a.score = 0.71234567;
  a.threshold = 0.42;
  sink.publish(a);
  expect_matches_golden(out.str(), "alert.jsonl");
}

TEST(Golden, DatabaseSchema) {
  test::TempDir dir;
  const auto path = (dir / "w.db").string();
  { ASSERT_TRUE(SqlWatchlistStore::open(path, OpenMode::kReadWriteCreate)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type DESC, name", -1, &stmt, nullptr), SQLITE_OK);
  std::string schema = "-- user_version " + std::to_string(SqliteDatabase::kSchemaVersion) + "\n";
  while (sqlite3_step(stmt) == SQLITE_ROW) schema += std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) + ";\n";
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  expect_matches_golden(schema, "schema.sql");
}

// The result of a search (docs/search.md): a camera visit and a file visit, an error, the stats.
TEST(Golden, SearchResult) {
  test::TempDir dir;
  auto db = SqliteDatabase::open((dir / "g.db").string(), OpenMode::kReadWriteCreate);
  ASSERT_TRUE(db);
  auto key = TemplateKey::load((dir / "g.db").string(), true);
  ASSERT_TRUE(key);
  const UnixSeconds t = *parse_date_utc("2026-12-01") + 9 * 3600;
  SearchRequest r;
  r.case_id = "2026-114";
  r.legal_basis = "Warrant 2026/114";
  r.requested_by = "olga";
  r.cameras = {"gate"};
  r.files = {"cam3.mp4"};
  r.window_from = t - 3600;
  r.window_to = t;
  r.profile = "dlib_resnet";
  r.threshold = 0.51;
  r.expires_at = t + 30 * 86400;
  auto id = request_search(**db, r, {EntryTemplate{"dlib_resnet", {0.5f, 0.25f}, "probe.jpg", "ab"}}, *key, t);
  ASSERT_TRUE(id && approve_search(**db, *id, "alice", t) && start_search(**db, *id, t));
  SearchOutcome outcome;
  Visit camera;
  camera.source = "gate";
  camera.camera = "gate";
  camera.start_s = 62.5;
  camera.end_s = 70.5;
  camera.start_ms = (t - 3000) * 1000 + 500;
  camera.end_ms = (t - 2992) * 1000 + 500;
  camera.best_score = 0.3875;
  camera.best_at_s = 64.5;
  camera.hits = 5;
  Visit file = camera;
  file.source = "cam3.mp4";
  file.camera.clear();
  file.start_ms.reset();
  file.end_ms.reset();
  outcome.visits = {camera, file};
  outcome.errors = {RecordingError{"broken.mp4", "broken.mp4: cannot open as video: Invalid data found when processing input"}};
  outcome.stats.recordings = 3;
  outcome.stats.pieces = 4;
  outcome.stats.footage_s = 240;
  outcome.stats.frames_decoded = 121;
  outcome.stats.frames_analysed = 120;
  outcome.stats.faces_detected = 80;
  outcome.stats.faces_compared = 40;
  outcome.stats.hits = 10;
  outcome.stats.wall_s = 2;
  outcome.stats.workers = 2;
  ASSERT_TRUE(finish_search(**db, *id, outcome, t + 60));
  auto stored = load_search(**db, *id);
  ASSERT_TRUE(stored && stored->has_value());
  auto result = search_result_json(**db, **stored);
  ASSERT_TRUE(result);
  expect_matches_golden(result->dump(2) + "\n", "search_result.json");
}

}  // namespace
}  // namespace glassbox
