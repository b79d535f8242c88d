// Formats that outlive a process, pinned byte for byte: the alert line of `watch` and the
// database schema. A change here is a format change: update docs/ first, then regenerate with
// GLASSBOX_UPDATE_GOLDEN=1 and review the diff.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "alert/json_lines.h"
#include "store/sqlite_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

const std::filesystem::path kGolden = std::filesystem::path(GLASSBOX_SOURCE_DIR) / "tests" / "golden";

void expect_matches_golden(const std::string& actual, const std::string& name) {
  const auto path = kGolden / name;
  if (std::getenv("GLASSBOX_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "differs from " << path;
}

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
  { ASSERT_TRUE(SqliteWatchlistStore::open(path, OpenMode::kReadWriteCreate)); }
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

}  // namespace
}  // namespace glassbox
