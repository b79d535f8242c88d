// `glassbox serve` as an operator runs it: two cameras (real clips played as cameras, looped)
// from a configuration file, an approved entry in the database; alerts come through the API
// with their evidence, are reviewed by a named person, show in /metrics; every documented route
// answers; SIGTERM stops it cleanly with every alert in the database.
#include <httplib.h>
#include <signal.h>

#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sqlite3.h>

#include "store/alert_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto clip = test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string();
    ASSERT_EQ(std::system(("ffmpeg -loglevel error -y -ss 1 -i " + clip + " -frames:v 1 " + (dir_ / "still.png").string()).c_str()), 0);
    auto enrolled = test::run_glassbox({"enroll", "--db", db(), "--subject", "Person B", "--legal-basis", "Order 7", "--source", "clip",
                                        "--expires", "2099-01-01", "--submitted-by", "alice", (dir_ / "still.png").string()});
    ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;
    entry_ = std::stoll(enrolled.out);
    ASSERT_EQ(test::run_glassbox({"approve", "--db", db(), "--entry", std::to_string(entry_), "--approved-by", "bob"}).exit_code, 0);
  }
  std::string db() const { return (dir_ / "glassbox.db").string(); }
  std::string write_config(const std::string& text) const {
    const auto path = (dir_ / "config.json").string();
    std::ofstream(path) << text;
    return path;
  }

  test::TempDir dir_;
  std::int64_t entry_ = 0;
};

TEST_F(ServeTest, AlertsWithEvidenceAreReviewedThroughTheApiAndSurviveAShutdown) {
  const std::string config = write_config(R"({"workers": 2, "evidence_retention_days": 7, "watchlist_reload_s": 1, "cameras": [
    {"name": "lobby", "url": ")" + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true},
    {"name": "gate", "url": ")" + test::data("video/talking_heads/WDA_EdMarkey0_000_h264.mp4").string() + R"(", "loop": true}]})");
  const int port = test::free_port();
  test::BackgroundProcess serve({GLASSBOX_BINARY, "serve", "--data-dir", dir_.path().string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port), "--config", config});
  ASSERT_TRUE(test::wait_for_port(port, 30)) << "serve did not start";
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(10, 0);
  auto health = http.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // A live client subscribes before anything happens and receives the first alert as an event.
  std::string first_event;
  std::thread live_client([&] {
    httplib::Client events("127.0.0.1", port);
    events.set_read_timeout(60, 0);
    std::string buffer;
    events.Get("/api/events", [&](const char* data, std::size_t length) {
      buffer.append(data, length);
      const auto at = buffer.find("event: alert\ndata: ");
      if (at == std::string::npos || buffer.find("\n\n", at) == std::string::npos) return true;
      first_event = buffer.substr(at + 19, buffer.find("\n\n", at) - at - 19);
      return false;  // got it: hang up
    });
  });

  // The enrolled person is on "lobby" only.
  json alerts;
  for (int i = 0; i < 600 && alerts.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    auto r = http.Get("/api/alerts?status=open");
    ASSERT_TRUE(r);
    alerts = json::parse(r->body);
  }
  ASSERT_FALSE(alerts.empty()) << "no alert within 60 s";
  for (const auto& a : alerts) {
    EXPECT_EQ(a["camera"], "lobby");
    EXPECT_EQ(a["entry_id"], entry_);
    EXPECT_EQ(a["status"], "open");
    EXPECT_TRUE(a["evidence"].get<bool>());
  }
  live_client.join();
  ASSERT_FALSE(first_event.empty()) << "no alert pushed to the live client";
  const json pushed = json::parse(first_event);
  EXPECT_EQ(pushed["type"], "alert");
  EXPECT_EQ(pushed["camera"], "lobby");
  EXPECT_EQ(pushed["entry_id"], entry_);
  EXPECT_GT(pushed["id"].get<std::int64_t>(), 0);
  const std::string id = std::to_string(alerts[0]["id"].get<std::int64_t>());
  auto evidence = http.Get("/api/alerts/" + id + "/evidence");
  ASSERT_TRUE(evidence);
  ASSERT_EQ(evidence->status, 200);
  EXPECT_EQ(evidence->get_header_value("Content-Type"), "image/jpeg");
  const cv::Mat face = cv::imdecode(std::vector<unsigned char>(evidence->body.begin(), evidence->body.end()), cv::IMREAD_COLOR);
  EXPECT_GE(face.cols, alerts[0]["box"]["w"].get<int>()) << "the matched face with a margin";

  // Review: a named person decides once; a dismissal needs a reason.
  auto confirmed = http.Post("/api/alerts/" + id + "/confirm", R"({"user":"olga"})", "application/json");
  ASSERT_TRUE(confirmed);
  EXPECT_EQ(confirmed->status, 200);
  EXPECT_EQ(json::parse(confirmed->body)["decided_by"], "olga");
  EXPECT_EQ(http.Post("/api/alerts/" + id + "/dismiss", R"({"user":"piet","reason":"no"})", "application/json")->status, 409);
  EXPECT_EQ(http.Post("/api/alerts/" + id + "/confirm", R"({})", "application/json")->status, 400);
  EXPECT_EQ(http.Post("/api/alerts/999999/confirm", R"({"user":"olga"})", "application/json")->status, 404);
  EXPECT_EQ(http.Get("/api/alerts?status=maybe")->status, 400);

  // Both cameras are analysed (the second may start a little later on a busy machine).
  json cameras;
  for (int i = 0; i < 300; ++i) {
    cameras = json::parse(http.Get("/api/cameras")->body);
    if (cameras.size() == 2 && cameras[0]["frames_analysed"].get<int>() > 0 && cameras[1]["frames_analysed"].get<int>() > 0) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(cameras.size(), 2u);
  for (const auto& c : cameras) {
    EXPECT_EQ(c["state"], "streaming") << c["name"] << ": " << c["last_error"];
    EXPECT_GT(c["frames_analysed"].get<int>(), 0);
  }
  const std::string metrics = http.Get("/metrics")->body;
  for (const char* family : {"glassbox_frames_decoded_total{camera=\"gate\"}", "glassbox_frames_dropped_total{camera=\"lobby\"}",
                             "glassbox_alerts_total{camera=\"lobby\"}", "glassbox_camera_reconnects_total", "glassbox_watchlist_entries 1",
                             "# TYPE glassbox_stage_latency_seconds histogram", "glassbox_stage_latency_seconds_bucket{stage=\"detect\",le=\"+Inf\"}",
                             "glassbox_stage_latency_seconds_count{stage=\"total\"}"})
    EXPECT_NE(metrics.find(family), std::string::npos) << family;

  // Every operation in docs/openapi.json (served at /openapi.json) exists.
  const json api = json::parse(http.Get("/openapi.json")->body);
  int operations = 0;
  for (const auto& [path, methods] : api["paths"].items()) {
    std::string concrete = path;
    if (auto at = concrete.find("{id}"); at != std::string::npos) concrete.replace(at, 4, id);
    for (const auto& [method, spec] : methods.items()) {
      ++operations;
      if (path == "/api/events") continue;  // a stream; checked by the live client above
      auto r = method == "get" ? http.Get(concrete.c_str()) : http.Post(concrete.c_str(), R"({"user":"olga","reason":"check"})", "application/json");
      ASSERT_TRUE(r) << method << " " << path;
      EXPECT_NE(r->status, 404) << method << " " << path << " is documented but not served";
    }
  }
  EXPECT_EQ(operations, 10);

  // SIGTERM: a clean stop, and every alert the API showed is in the database.
  const auto listed = json::parse(http.Get("/api/alerts?limit=10000")->body).size();
  EXPECT_EQ(serve.stop(SIGTERM, 20), 0);
  auto store = SqliteAlertStore::open(db());
  ASSERT_TRUE(store);
  EXPECT_GE(store->get()->list({{}, {}, {}, {}, 10000})->size(), listed);
}

// kill -9 at unpredictable moments while alerts are being written: every alert the API has
// shown (acknowledged) is still in the database afterwards, and the database is intact.
TEST_F(ServeTest, KillNineLosesNoAcknowledgedAlert) {
  const std::string config = write_config(R"({"workers": 2, "cameras": [
    {"name": "lobby", "url": ")" + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true},
    {"name": "lobby2", "url": ")" + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true}]})");
  std::set<std::int64_t> acknowledged;
  std::mt19937 rng(20261129);
  for (int round = 0; round < 3; ++round) {
    const int port = test::free_port();
    test::BackgroundProcess serve({GLASSBOX_BINARY, "serve", "--data-dir", dir_.path().string(), "--listen",
                                   "127.0.0.1:" + std::to_string(port), "--config", config});
    ASSERT_TRUE(test::wait_for_port(port, 30)) << "round " << round;
    httplib::Client http("127.0.0.1", port);
    const auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500 + rng() % 2500);
    while (std::chrono::steady_clock::now() < kill_at) {
      if (auto r = http.Get("/api/alerts?limit=10000"); r && r->status == 200)
        for (const auto& a : json::parse(r->body)) acknowledged.insert(a["id"].get<std::int64_t>());
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(serve.stop(SIGKILL, 10), -1);
    auto store = SqliteAlertStore::open(db());
    ASSERT_TRUE(store) << store.error().message;
    std::set<std::int64_t> stored;
    for (const auto& r : *(*store)->list({{}, {}, {}, {}, 10000})) stored.insert(r.id);
    for (std::int64_t id : acknowledged) EXPECT_TRUE(stored.count(id)) << "alert " << id << " was shown, then lost";
  }
  EXPECT_GT(acknowledged.size(), 2u) << "alerts were being written while the service was killed";
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* check = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &check, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(check), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(check, 0)), "ok");
  sqlite3_finalize(check);
  sqlite3_close(raw);
}

// Webhooks: an endpoint that fails twice then recovers gets the alert through retries; an
// endpoint nobody listens on gives up and blocks nothing.
TEST_F(ServeTest, WebhooksAreRetriedAndADeadOneBlocksNothing) {
  httplib::Server receiver;
  std::mutex mutex;
  std::vector<std::string> bodies;
  int requests = 0;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    if (++requests <= 2) {
      res.status = 503;  // the first two attempts fail
      return;
    }
    bodies.push_back(req.body);
  });
  const int hook_port = receiver.bind_to_any_port("127.0.0.1");
  std::thread receiver_thread([&] { receiver.listen_after_bind(); });
  const int dead_port = test::free_port();
  const std::string good = "http://127.0.0.1:" + std::to_string(hook_port) + "/hook";
  const std::string dead = "http://127.0.0.1:" + std::to_string(dead_port) + "/nobody";
  const std::string config = write_config(R"({"cameras": [{"name": "lobby", "url": ")" +
                                          test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() +
                                          R"(", "loop": true}], "webhooks": [{"url": ")" + dead + R"(", "max_attempts": 2, "timeout_s": 1},
                                          {"url": ")" + good + R"("}]})");
  const int port = test::free_port();
  test::BackgroundProcess serve({GLASSBOX_BINARY, "serve", "--data-dir", dir_.path().string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port), "--config", config});
  ASSERT_TRUE(test::wait_for_port(port, 30));
  for (int i = 0; i < 600; ++i) {
    {
      std::lock_guard lock(mutex);
      if (!bodies.empty()) break;
    }
    std::this_thread::sleep_for(100ms);
  }
  httplib::Client http("127.0.0.1", port);
  const std::string metrics = http.Get("/metrics")->body;
  EXPECT_EQ(serve.stop(SIGTERM, 20), 0);
  receiver.stop();
  receiver_thread.join();
  std::lock_guard lock(mutex);
  ASSERT_FALSE(bodies.empty()) << "no alert delivered to the webhook; metrics:\n" << metrics;
  const json event = json::parse(bodies.front());
  EXPECT_EQ(event["type"], "alert");
  EXPECT_EQ(event["camera"], "lobby");
  EXPECT_EQ(event["entry_id"], entry_);
  EXPECT_GT(event["id"].get<std::int64_t>(), 0);
  EXPECT_NE(metrics.find("glassbox_webhook_failed_attempts_total{url=\"" + good + "\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("glassbox_webhook_failed_attempts_total{url=\"" + dead + "\"}"), std::string::npos);
}

TEST_F(ServeTest, ABadConfigurationNamesTheField) {
  const std::string config = write_config(R"({"cameras": [{"name": "a", "url": "x.mp4"}, {"name": "b", "url": "y.mp4", "rate": 500}]})");
  auto r = test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--listen", "127.0.0.1:0", "--config", config}, 60);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cameras[1].rate"), std::string::npos) << r.err;
  const std::string twice = write_config(R"({"cameras": [{"name": "a", "url": "x.mp4"}, {"name": "a", "url": "y.mp4"}]})");
  auto dup = test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--config", twice}, 60);
  EXPECT_NE(dup.err.find("cameras[1].name"), std::string::npos) << dup.err;
  const std::string bad_hook = write_config(R"({"webhooks": [{"url": "ftp://example/x"}]})");
  EXPECT_NE(test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--config", bad_hook}, 60).err.find("webhooks[0].url"),
            std::string::npos);
  const std::string unknown = write_config(R"({"camreas": []})");
  EXPECT_NE(test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--config", unknown}, 60).err.find("camreas: unknown setting"),
            std::string::npos);
}

}  // namespace
}  // namespace glassbox
