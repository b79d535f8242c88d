// `glassbox serve` as an operator runs it: two cameras (real clips played as cameras, looped)
// from a configuration file, an approved entry in the database; alerts come through the API
// with their evidence, are reviewed by a named person, show in /metrics; every documented route
// answers; SIGTERM stops it cleanly with every alert in the database.
#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sqlite3.h>

#include "core/dates.h"
#include "ingest/segment_recorder.h"
#include "store/alert_store.h"
#include "store/sql_watchlist_store.h"
#include "store/sqlite_database.h"
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
    // The accounts the tests act as (the first, an admin, is the bootstrap).
    const std::vector<std::pair<std::string, std::vector<std::string>>> accounts = {
        {"root", {"admin"}}, {"olga", {"operator"}}, {"alice", {"supervisor"}}, {"bob", {"supervisor"}}, {"carol", {"supervisor"}}, {"audrey", {"auditor"}}};
    for (const auto& [name, roles] : accounts) {
      tokens_[name] = test::make_account(dir_.path(), name, roles);
      ASSERT_FALSE(tokens_[name].empty()) << "account " << name;
    }
  }
  // `glassbox serve` on a free loopback port with this data folder and `extra` arguments,
  // started and answering; nullptr (the process killed) when it does not come up in 30 s.
  std::unique_ptr<test::BackgroundProcess> start_serve(int& port, const std::vector<std::string>& extra, std::filesystem::path data_dir = {}) {
    port = test::free_port();
    if (data_dir.empty()) data_dir = dir_.path();
    std::vector<std::string> args = {GLASSBOX_BINARY, "serve", "--data-dir", data_dir.string(), "--listen", "127.0.0.1:" + std::to_string(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto serve = std::make_unique<test::BackgroundProcess>(args);
    if (!test::wait_for_port(port, 30)) return nullptr;
    return serve;
  }
  // A client acting as `user` (its API token).
  std::unique_ptr<httplib::Client> client(int port, const std::string& user) {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
    c->set_bearer_token_auth(tokens_.at(user));
    c->set_read_timeout(30, 0);
    return c;
  }
  std::string db() const { return (dir_ / "glassbox.db").string(); }
  // A metric without labels from /metrics (read as olga); -1 when it is not there.
  double metric_value(int port, const std::string& name) {
    const std::string text = client(port, "olga")->Get("/metrics")->body;
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size() + 2));
  }
  // The service's audit log, exported by the command line and verified offline with its key.
  void expect_audit_log_verifies() {
    const auto exported = dir_ / "audit-export.json";
    auto exp = test::run_glassbox({"audit", "export", "--data-dir", dir_.path().string(), "--out", exported.string()});
    ASSERT_EQ(exp.exit_code, 0) << exp.err;
    auto verified = test::run_glassbox({"audit", "verify", "--public-key", db() + ".audit-pub", exported.string()});
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  }
  using Event = test::SseEvent;
  // Reads /api/events (as olga, resuming after `last_event_id` when given) until `count` events
  // came or `timeout_s` passed; `opened` is called once the stream answered.
  std::vector<Event> read_events(int port, std::optional<std::string> last_event_id, std::size_t count, int timeout_s,
                                 std::function<void()> opened = {}) {
    httplib::Client events("127.0.0.1", port);
    events.set_bearer_token_auth(tokens_.at("olga"));
    events.set_read_timeout(timeout_s, 0);
    httplib::Headers headers;
    if (last_event_id) headers.emplace("Last-Event-ID", *last_event_id);
    std::vector<Event> out;
    std::string buffer;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    auto answered = [&](const httplib::Response&) {
      if (opened) opened();
      return true;
    };
    events.Get("/api/events", headers, answered, [&](const char* data, std::size_t length) {
      buffer.append(data, length);
      for (Event& e : test::take_sse_events(buffer)) out.push_back(std::move(e));
      return out.size() < count && std::chrono::steady_clock::now() < deadline;
    });
    return out;
  }
  std::string write_config(const std::string& text) const {
    const auto path = (dir_ / "config.json").string();
    std::ofstream(path) << text;
    return path;
  }

  test::TempDir dir_;
  std::int64_t entry_ = 0;
  std::map<std::string, std::string> tokens_;
};

TEST_F(ServeTest, AlertsWithEvidenceAreReviewedThroughTheApiAndSurviveAShutdown) {
  const std::string config = write_config(R"({"workers": 2, "evidence_retention_days": 7, "watchlist_reload_s": 1, "cameras": [
    {"name": "lobby", "url": ")" + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true},
    {"name": "gate", "url": ")" + test::data("video/talking_heads/WDA_EdMarkey0_000_h264.mp4").string() + R"(", "loop": true}]})");
  int port = 0;
  auto serve = start_serve(port, {"--config", config});
  ASSERT_TRUE(serve) << "serve did not start";
  auto olga = client(port, "olga");
  httplib::Client& http = *olga;
  auto health = http.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // A live client subscribes before anything happens and receives the first alert as an event.
  std::string first_event;
  std::thread live_client([&] {
    httplib::Client events("127.0.0.1", port);
    events.set_bearer_token_auth(tokens_.at("olga"));
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
  // The threshold follows the active list's size (docs/calibration.md): every alert was raised
  // at the threshold in force for it, and says what its own score means for that list.
  const json profile = json::parse(http.Get("/api/profile")->body);
  const json& in_force = profile["threshold_in_force"];
  EXPECT_EQ(in_force["basis"], "target_fpir");
  EXPECT_EQ(in_force["target_fpir"], 0.001);
  EXPECT_GE(in_force["templates"].get<int>(), 1);
  EXPECT_NE(in_force["why"].get<std::string>().find("1 in 1000"), std::string::npos) << in_force["why"];
  EXPECT_EQ(profile["threshold"], in_force["threshold"]);
  EXPECT_GT(profile["calibration"]["comparisons"].get<std::int64_t>(), 1000000);
  EXPECT_GT(profile["calibration"]["strictest_score"].get<double>(), 0.0) << "where an alert's rate becomes a bound";
  for (const auto& a : alerts) {
    EXPECT_EQ(a["camera"], "lobby");
    EXPECT_EQ(a["entry_id"], entry_);
    EXPECT_EQ(a["status"], "open");
    EXPECT_TRUE(a["evidence"].get<bool>());
    EXPECT_EQ(a["threshold"], in_force["threshold"]);
    EXPECT_EQ(a["list_templates"], in_force["templates"]);
    ASSERT_TRUE(a.contains("estimated_fpir")) << a;
    EXPECT_GT(a["estimated_fpir"].get<double>(), 0.0);
    // A track's views share the target: each search, and so each alert's score, means no more
    // than its share.
    EXPECT_LE(a["estimated_fpir"].get<double>(), 1.001 * 0.001 / in_force["searches_per_track"].get<double>()) << a;
    // And the quality of the view that matched comes with it.
    ASSERT_TRUE(a.contains("quality")) << a;
    EXPECT_GE(a["quality"]["score"].get<double>(), 0.0);
    EXPECT_LE(a["quality"]["score"].get<double>(), 1.0);
    EXPECT_EQ(a["quality"]["size_px"].get<double>(), std::min(a["box"]["w"].get<double>(), a["box"]["h"].get<double>()));
  }
  EXPECT_EQ(in_force["searches_per_track"], 3) << "a list of one can share the target among three views";
  live_client.join();
  ASSERT_FALSE(first_event.empty()) << "no alert pushed to the live client";
  const json pushed = json::parse(first_event);
  EXPECT_EQ(pushed["type"], "alert");
  EXPECT_EQ(pushed["camera"], "lobby");
  EXPECT_EQ(pushed["entry_id"], entry_);
  EXPECT_GT(pushed["id"].get<std::int64_t>(), 0);
  EXPECT_TRUE(pushed.contains("quality")) << pushed;
  const std::string id = std::to_string(alerts[0]["id"].get<std::int64_t>());
  auto evidence = http.Get("/api/alerts/" + id + "/evidence");
  ASSERT_TRUE(evidence);
  ASSERT_EQ(evidence->status, 200);
  EXPECT_EQ(evidence->get_header_value("Content-Type"), "image/jpeg");
  const cv::Mat face = cv::imdecode(std::vector<unsigned char>(evidence->body.begin(), evidence->body.end()), cv::IMREAD_COLOR);
  EXPECT_GE(face.cols, alerts[0]["box"]["w"].get<int>()) << "the matched face with a margin";

  // Review: the person deciding is the one authenticated; a dismissal needs a reason.
  EXPECT_EQ(httplib::Client("127.0.0.1", port).Post("/api/alerts/" + id + "/confirm", "", "application/json")->status, 401);
  EXPECT_EQ(client(port, "root")->Post("/api/alerts/" + id + "/confirm", "", "application/json")->status, 403) << "an admin does not review";
  auto confirmed = http.Post("/api/alerts/" + id + "/confirm", "", "application/json");
  ASSERT_TRUE(confirmed);
  EXPECT_EQ(confirmed->status, 200);
  EXPECT_EQ(json::parse(confirmed->body)["decided_by"], "olga");
  EXPECT_EQ(http.Post("/api/alerts/" + id + "/dismiss", R"({"reason":"no"})", "application/json")->status, 409) << "decided once";
  EXPECT_EQ(http.Post("/api/alerts/999999/confirm", "", "application/json")->status, 404);
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
    EXPECT_LE(c["frames_waiting"].get<int>(), 8) << c["name"] << ": more waiting than the queue holds (queue_frames 8)";
  }
  const std::string metrics = http.Get("/metrics")->body;
  for (const char* family : {"glassbox_frames_decoded_total{camera=\"gate\"}", "glassbox_frames_dropped_total{camera=\"lobby\"}", "glassbox_frames_waiting{camera=\"lobby\"}",
                             "glassbox_alerts_total{camera=\"lobby\"}", "glassbox_camera_reconnects_total", "glassbox_watchlist_entries 1",
                             "# TYPE glassbox_stage_latency_seconds histogram", "glassbox_stage_latency_seconds_bucket{stage=\"detect\",le=\"+Inf\"}",
                             "glassbox_stage_latency_seconds_count{stage=\"total\"}", "glassbox_match_threshold{basis=\"target_fpir\",metric=\"euclidean\"}",
                             "glassbox_match_list_templates ", "glassbox_match_target_fpir 0.001", "glassbox_match_estimated_fpir ",
                             "glassbox_match_threshold_at_calibration_limit 0", "glassbox_memory_resident_bytes ",
                             "glassbox_memory_returned_bytes_total "})
    EXPECT_NE(metrics.find(family), std::string::npos) << family;
  {
    const std::string gauge = "\nglassbox_memory_resident_bytes ";
    const auto at = metrics.find(gauge);
    ASSERT_NE(at, std::string::npos);
    EXPECT_GT(std::stod(metrics.substr(at + gauge.size())), 50e6) << "a service with its models loaded resides in more than 50 MB";
  }

  // Every operation in docs/openapi.json (served at /openapi.json) exists.
  const json api = json::parse(http.Get("/openapi.json")->body);
  int operations = 0;
  for (const auto& [path, methods] : api["paths"].items()) {
    std::string concrete = path;
    const bool entry_path = path.rfind("/api/entries/", 0) == 0;
    if (auto at = concrete.find("{id}"); at != std::string::npos) concrete.replace(at, 4, entry_path ? std::to_string(entry_) : id);
    if (auto at = concrete.find("{name}"); at != std::string::npos) concrete.replace(at, 6, "gate");
    if (auto at = concrete.find("{position}"); at != std::string::npos) concrete.replace(at, 10, "1");
    for (const auto& [method, spec] : methods.items()) {
      ++operations;
      if (path == "/api/events") continue;  // a stream; checked by the live client above
      if (path == "/api/me/logout-all") continue;  // it would revoke the token this walk uses (tests/security)
      // A search's and an upload's routes need one: search_test walks them on real ones.
      if (path.rfind("/api/searches/", 0) == 0 || path.rfind("/api/uploads/", 0) == 0) continue;
      // The bodies are deliberately not what the routes want (or act on a file camera, or an
      // entry already active): each must answer, and not as an unknown route.
      const std::string body = R"({"name":"olga","reason":"check"})";
      httplib::Result r = method == "get"     ? http.Get(concrete.c_str())
                          : method == "patch" ? http.Patch(concrete.c_str(), body, "application/json")
                          : method == "delete" ? http.Delete(concrete.c_str())
                                               : http.Post(concrete.c_str(), body, "application/json");
      ASSERT_TRUE(r) << method << " " << path;
      // The router's own 404 says "no such route"; a route's 404 is about the object it names.
      EXPECT_EQ(r->body.find("no such route"), std::string::npos) << method << " " << path << " is documented but not served";
      EXPECT_NE(r->status, 405) << method << " " << path << " is documented but not served with that method";
      EXPECT_TRUE(spec["responses"].contains(std::to_string(r->status)))
          << method << " " << path << " answered " << r->status << ", which the document does not list: " << r->body;
    }
  }
  EXPECT_EQ(operations, 52);

  // Transparency: what was analysed and decided, in numbers.
  auto transparency = http.Get("/api/transparency");
  ASSERT_TRUE(transparency);
  ASSERT_EQ(transparency->status, 200) << transparency->body;
  const json counts = json::parse(transparency->body)["counts"];
  EXPECT_GT(counts["faces_analysed"].get<int>(), 0);
  EXPECT_GT(counts["frames_analysed"].get<int>(), 0);
  EXPECT_GE(counts["alerts_raised"].get<int>(), 1);
  EXPECT_EQ(counts["alerts_confirmed"], 1) << "olga's confirmation";
  EXPECT_EQ(counts["entries_approved"], 1);
  EXPECT_EQ(http.Get("/api/transparency?from=2026-13-01")->status, 400);

  // SIGTERM: a clean stop, and every alert the API showed is in the database.
  const auto listed = json::parse(http.Get("/api/alerts?limit=10000")->body).size();
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);
  auto store = AlertStore::open(db());
  ASSERT_TRUE(store);
  EXPECT_GE(store->get()->list({{}, {}, {}, {}, 10000})->size(), listed);
}

// kill -9 at unpredictable moments while alerts are written and entries enrolled: every alert
// the API has shown and every entry it acknowledged (201) is still in the database afterwards,
// and the database is intact.
// The live stream resumes: every event's id is its alert's feed position, and a client that
// reconnects with Last-Event-ID gets every alert after it exactly once, in order — from memory
// (the latest 1,000), from the database before that, and, further back than another 1,000, after
// a `gap` event that says where it resumes. Alerts stored by another process (another node; here
// a second connection to the same file) reach the stream too.
TEST_F(ServeTest, AnOnlineBackupTakenWhileACameraRunsRestoresWithItsAuditLogAndAlerts) {
  namespace fs = std::filesystem;
  const std::string config = write_config(R"({"workers": 1, "watchlist_reload_s": 1, "cameras": [
    {"name": "lobby", "url": ")" + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true}]})");
  int port = 0;
  auto serve = start_serve(port, {"--config", config});
  ASSERT_TRUE(serve) << "serve did not start";
  json before;
  for (int i = 0; i < 600 && before.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    before = json::parse(client(port, "olga")->Get("/api/alerts")->body);
  }
  ASSERT_FALSE(before.empty()) << "no alert within 60 s";
  // A checkpoint an auditor keeps from before the backup: the restored log must extend it.
  const fs::path kept = dir_ / "kept-checkpoint.json";
  auto checkpoint = test::run_glassbox({"audit", "checkpoint", "--data-dir", dir_.path().string(), "--out", kept.string()});
  ASSERT_EQ(checkpoint.exit_code, 0) << checkpoint.err;

  // The backup, while the camera goes on raising alerts and the service writes.
  const fs::path backup = dir_ / "backup" / "glassbox-backup.db";
  fs::create_directories(backup.parent_path());
  auto taken = test::run_glassbox({"backup", "--data-dir", dir_.path().string(), "--out", backup.string()});
  ASSERT_EQ(taken.exit_code, 0) << taken.err;
  EXPECT_NE(taken.out.find("written to " + backup.string()), std::string::npos) << taken.out;
  EXPECT_NE(taken.err.find("glassbox.db.template-key"), std::string::npos) << "the keys to keep apart are named: " << taken.err;
  EXPECT_EQ(fs::status(backup).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(fs::exists(backup.string() + "-wal")) << "one self-contained file";
  auto again = test::run_glassbox({"backup", "--data-dir", dir_.path().string(), "--out", backup.string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);

  // Restore as docs/reliability.md says: the backup as the new folder's glassbox.db, and the
  // key files kept apart beside it.
  test::TempDir restored;
  fs::copy_file(backup, restored / "glassbox.db");
  for (const char* key : {".template-key", ".audit-key", ".audit-pub"})
    fs::copy_file(db() + key, (restored / "glassbox.db").string() + key);
  const fs::path exported = restored / "audit-export.json";
  auto exp = test::run_glassbox({"audit", "export", "--data-dir", restored.path().string(), "--out", exported.string()});
  ASSERT_EQ(exp.exit_code, 0) << exp.err;
  auto verified = test::run_glassbox({"audit", "verify", "--public-key", (restored / "glassbox.db.audit-pub").string(), "--checkpoint",
                                      kept.string(), exported.string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  // The restored service starts and shows every alert raised before the backup, with its evidence.
  int restored_port = 0;
  auto again_serve = start_serve(restored_port, {}, restored.path());
  ASSERT_TRUE(again_serve) << "the restored service did not start";
  auto olga = client(restored_port, "olga");
  const json after = json::parse(olga->Get("/api/alerts")->body);
  std::map<std::int64_t, json> by_id;
  for (const auto& a : after) by_id[a["id"].get<std::int64_t>()] = a;
  for (const auto& a : before) {
    const auto id = a["id"].get<std::int64_t>();
    ASSERT_TRUE(by_id.count(id)) << "alert " << id << " is missing from the restored database";
    EXPECT_EQ(by_id[id]["score"], a["score"]);
    EXPECT_EQ(by_id[id]["subject"], a["subject"]);
    auto evidence = olga->Get("/api/alerts/" + std::to_string(id) + "/evidence");
    ASSERT_TRUE(evidence);
    EXPECT_EQ(evidence->status, 200) << "alert " << id << "'s evidence";
  }
  EXPECT_EQ(again_serve->stop(SIGTERM, 20), 0);
}

// A disk that refuses every write (the file-size limit of the running process set to one byte,
// as `prlimit` would): people's actions are refused whole with 507 and counted, reads with an
// existing session go on, alerts raised meanwhile wait in memory, and when the disk takes writes
// again the same process stores them, takes the same actions, and its audit log verifies.
TEST_F(ServeTest, ADiskThatRefusesWritesRefusesActionsWith507KeepsReadsAndStoresWaitingAlertsOnceItRecovers) {
  // A pending entry, to be approved while the disk refuses.
  auto pending = test::run_glassbox({"enroll", "--db", db(), "--subject", "Person P", "--legal-basis", "Order 8", "--source", "clip",
                                     "--expires", "2099-01-01", "--submitted-by", "alice", (dir_ / "still.png").string()});
  ASSERT_EQ(pending.exit_code, 0) << pending.err;
  const std::string pending_id = std::to_string(std::stoll(pending.out));
  const std::string config = write_config(R"({"workers": 1, "watchlist_reload_s": 1, "cameras": [
    {"name": "lobby", "url": ")" + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true}]})");
  int port = 0;
  auto serve = start_serve(port, {"--config", config});
  ASSERT_TRUE(serve) << "serve did not start";
  auto olga = client(port, "olga");
  auto metric = [&](const std::string& name) { return metric_value(port, name); };
  json alerts;
  for (int i = 0; i < 600 && alerts.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    alerts = json::parse(olga->Get("/api/alerts")->body);
  }
  ASSERT_FALSE(alerts.empty()) << "no alert within 60 s";
  const std::string first = std::to_string(alerts[0]["id"].get<std::int64_t>());

  // The disk refuses: every write past the first byte of any file fails (EFBIG).
  const UnixSeconds refused_from = now_utc();
  rlimit one_byte{1, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(serve->pid(), RLIMIT_FSIZE, &one_byte, nullptr), 0) << std::strerror(errno);
  auto decided = olga->Post("/api/alerts/" + first + "/confirm", "", "application/json");
  ASSERT_TRUE(decided);
  EXPECT_EQ(decided->status, 507) << decided->body;
  EXPECT_NE(decided->body.find("nothing was changed"), std::string::npos) << decided->body;
  auto approved = client(port, "bob")->Post("/api/entries/" + pending_id + "/approve", "", "application/json");
  ASSERT_TRUE(approved);
  EXPECT_EQ(approved->status, 507) << approved->body;
  // Reads with the sessions people have go on, and show the refused actions changed nothing;
  // a read that must be audited (an entry's details) is refused, since its record cannot be kept.
  auto listed = olga->Get("/api/alerts/" + first);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200);
  EXPECT_EQ(json::parse(listed->body)["status"], "open");
  auto entry = client(port, "bob")->Get("/api/entries/" + pending_id);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->status, 507) << entry->body;
  EXPECT_NE(entry->body.find("could not be recorded in the audit log"), std::string::npos) << entry->body;
  EXPECT_GE(metric("glassbox_storage_refusals_total"), 3);
  // The camera goes on; the alerts it raises now wait.
  double waiting = 0;
  for (int i = 0; i < 900 && waiting < 1; ++i) {
    std::this_thread::sleep_for(100ms);
    waiting = metric("glassbox_alerts_waiting");
  }
  ASSERT_GE(waiting, 1) << "no alert was raised while the disk refused writes (90 s)";
  EXPECT_GE(metric("glassbox_alert_store_failures_total"), 1);
  EXPECT_EQ(::kill(serve->pid(), 0), 0) << "the service is running";

  // The disk takes writes again: the same process stores what waited and takes the same actions.
  const UnixSeconds recovered_at = now_utc();
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(serve->pid(), RLIMIT_FSIZE, &unlimited, nullptr), 0) << std::strerror(errno);
  for (int i = 0; i < 300 && metric("glassbox_alerts_waiting") > 0; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(metric("glassbox_alerts_waiting"), 0);
  EXPECT_GE(metric("glassbox_alerts_stored_late_total"), 1);
  EXPECT_EQ(metric("glassbox_alerts_dropped_total"), 0);
  const json after = json::parse(olga->Get("/api/alerts?limit=1000")->body);
  int raised_while_refused = 0;
  for (const auto& a : after) {
    const auto raised = a["raised_at"].get<std::string>();
    const auto at = parse_time_utc(raised);
    ASSERT_TRUE(at) << raised;
    if (*at >= refused_from && *at <= recovered_at) {
      ++raised_while_refused;
      EXPECT_EQ(olga->Get("/api/alerts/" + std::to_string(a["id"].get<std::int64_t>()) + "/evidence")->status, 200) << "its evidence is kept";
    }
  }
  EXPECT_GE(raised_while_refused, 1) << "an alert raised while the disk refused is stored, with the time it was raised";
  decided = olga->Post("/api/alerts/" + first + "/confirm", "", "application/json");
  ASSERT_TRUE(decided);
  EXPECT_EQ(decided->status, 200) << decided->body;
  auto still_pending = client(port, "bob")->Get("/api/entries/" + pending_id);
  ASSERT_TRUE(still_pending);
  ASSERT_EQ(still_pending->status, 200) << still_pending->body;
  EXPECT_EQ(json::parse(still_pending->body)["status"], "pending") << "the refused approval changed nothing";
  approved = client(port, "bob")->Post("/api/entries/" + pending_id + "/approve", "", "application/json");
  ASSERT_TRUE(approved);
  EXPECT_EQ(approved->status, 200) << approved->body;
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);

  expect_audit_log_verifies();
}

// A recorded camera meets a disk that refuses writes (the file-size limit, as above) in the middle
// of a segment. The segment the failed write cut is indexed only as far as its file reads back (a
// fragmented MP4 keeps its whole fragments), its index update waits while the database refuses
// too, and no file is left behind without a row. When the disk takes writes again, the same
// process writes what waited and records on; when it stops, every row is complete and promises
// no footage its file does not hold.
TEST_F(ServeTest, ARecordingCutByADiskThatRefusesWritesIsIndexedAsFarAsItsFileReadsAndGoesOn) {
  namespace fs = std::filesystem;
  // A keyframe a second (the shared clip has one in 8 s), so a segment holds several fragments;
  // no B-frames, so a segment's media ends where its last frame does.
  const std::string clip = (dir_ / "camera.mp4").string();
  ASSERT_EQ(std::system(("ffmpeg -loglevel error -y -i " + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() +
                         " -c:v libx264 -preset veryfast -g 25 -bf 0 -an " + clip).c_str()),
            0);
  const std::string config = write_config(R"({"workers": 1, "watchlist_reload_s": 1, "record_segment_s": 3, "cameras": [
    {"name": "lobby", "url": ")" + clip + R"(", "loop": true, "rate": 1, "record": true}]})");
  int port = 0;
  auto serve = start_serve(port, {"--config", config});
  ASSERT_TRUE(serve) << "serve did not start";
  auto metric = [&](const std::string& name) { return metric_value(port, name); };
  auto recorder = [&](const std::string& name) { return metric_value(port, name + "{camera=\"lobby\"}"); };
  auto wait_until = [&](const std::function<bool()>& done, int seconds) {
    for (int i = 0; i < seconds * 10 && !done(); ++i) std::this_thread::sleep_for(100ms);
    return done();
  };
  ASSERT_TRUE(wait_until([&] { return recorder("glassbox_recorder_segments_total") >= 2; }, 60)) << "no two segments within 60 s";
  // Into the next segment, past its first fragment.
  const double segments = recorder("glassbox_recorder_segments_total");
  ASSERT_TRUE(wait_until([&] { return recorder("glassbox_recorder_segments_total") > segments; }, 30));
  std::this_thread::sleep_for(1800ms);

  const double errors = recorder("glassbox_recorder_errors_total");
  rlimit one_byte{1, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(serve->pid(), RLIMIT_FSIZE, &one_byte, nullptr), 0) << std::strerror(errno);
  EXPECT_TRUE(wait_until([&] { return recorder("glassbox_recorder_errors_total") > errors; }, 30)) << "the failed write is counted";
  EXPECT_TRUE(wait_until([&] { return metric("glassbox_recording_index_waiting") >= 1; }, 10)) << "the cut segment's update waits";
  std::this_thread::sleep_for(3s);  // the recorder's retries meet the refusing disk too
  EXPECT_EQ(::kill(serve->pid(), 0), 0) << "the service is running";

  const std::int64_t recovered_ms = now_utc_ms();
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(serve->pid(), RLIMIT_FSIZE, &unlimited, nullptr), 0) << std::strerror(errno);
  const double segments_at_recovery = recorder("glassbox_recorder_segments_total");
  EXPECT_TRUE(wait_until([&] { return metric("glassbox_recording_index_waiting") == 0; }, 30)) << "what waited is written";
  EXPECT_TRUE(wait_until([&] { return recorder("glassbox_recorder_segments_total") >= segments_at_recovery + 2; }, 90))
      << "recording goes on without a restart";
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);

  // Every row complete, its file there, and no longer in the index than in the file; no file
  // without a row.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* rows = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT path, start_ms, end_ms FROM recording_segments WHERE camera = 'lobby' ORDER BY start_ms", -1, &rows,
                               nullptr),
            SQLITE_OK);
  std::set<std::string> indexed;
  int after_recovery = 0;
  while (sqlite3_step(rows) == SQLITE_ROW) {
    const std::string path = reinterpret_cast<const char*>(sqlite3_column_text(rows, 0));
    indexed.insert(fs::path(path).filename().string());
    const std::int64_t start_ms = sqlite3_column_int64(rows, 1);
    ASSERT_NE(sqlite3_column_type(rows, 2), SQLITE_NULL) << path << " was left incomplete";
    const std::int64_t indexed_ms = sqlite3_column_int64(rows, 2) - start_ms;
    const auto readable = media_duration(path);
    ASSERT_TRUE(readable) << readable.error().message;
    EXPECT_GT(*readable, 0.0) << path;
    EXPECT_LE(indexed_ms, std::llround(*readable * 1000.0) + 1) << path << ": the index promises footage the file does not hold";
    if (start_ms > recovered_ms) ++after_recovery;
  }
  sqlite3_finalize(rows);
  sqlite3_close(raw);
  EXPECT_GE(after_recovery, 2) << "segments recorded after the disk took writes again";
  for (const auto& file : fs::directory_iterator(dir_ / "recordings" / "lobby"))
    EXPECT_TRUE(indexed.count(file.path().filename().string())) << file.path() << " has no row";
  expect_audit_log_verifies();
}

// Below the free-space floor (min_free_disk_mb, here above any disk's size) uploads are refused
// with 507 and a recorded camera starts no segment, before SQLite would meet a full disk; the
// gauges say so, and the camera is still analysed.
TEST_F(ServeTest, BelowTheFreeSpaceFloorUploadsAndRecordingPauseAndTheGaugesSaySo) {
  const std::string config = write_config(R"({"workers": 1, "min_free_disk_mb": 1073741824, "cameras": [
    {"name": "lobby", "url": ")" + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true, "record": true}]})");
  int port = 0;
  auto serve = start_serve(port, {"--config", config});
  ASSERT_TRUE(serve) << "serve did not start";
  auto olga = client(port, "olga");
  auto upload = olga->Post("/api/uploads", json{{"name", "clip.mp4"}}.dump(), "application/json");
  ASSERT_TRUE(upload);
  EXPECT_EQ(upload->status, 507) << upload->body;
  std::string metrics;
  for (int i = 0; i < 300; ++i) {
    metrics = olga->Get("/metrics")->body;
    if (metrics.find("glassbox_recorder_segments_skipped_low_disk_total{camera=\"lobby\"} 0") == std::string::npos &&
        metrics.find("glassbox_recorder_segments_skipped_low_disk_total{camera=\"lobby\"}") != std::string::npos)
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(metrics.find("glassbox_disk_below_floor 1"), std::string::npos);
  EXPECT_NE(metrics.find("\nglassbox_disk_free_bytes "), std::string::npos);
  EXPECT_EQ(metrics.find("glassbox_recorder_segments_skipped_low_disk_total{camera=\"lobby\"} 0"), std::string::npos) << "a segment was skipped";
  EXPECT_NE(metrics.find("glassbox_recorder_segments_total{camera=\"lobby\"} 0"), std::string::npos) << "no segment was written";
  json cameras;
  for (int i = 0; i < 300; ++i) {
    cameras = json::parse(olga->Get("/api/cameras")->body);
    if (cameras.size() == 1 && cameras[0]["frames_analysed"].get<int>() > 0) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(cameras.size(), 1u);
  EXPECT_GT(cameras[0]["frames_analysed"].get<int>(), 0) << "analysis goes on";
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);
}

// serve's wall clock stepped an hour back, then two hours forward, under it (libfaketime, which
// leaves CLOCK_BOOTTIME alone): each step is counted in /metrics with its size, logged and
// recorded in the audit log once; the service's own time does not follow it (its audit records
// stay in order, an hour-old session goes on), and the log verifies.
TEST_F(ServeTest, AWallClockSteppedUnderServeIsReportedAuditedAndNotFollowed) {
  const std::string faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
  ASSERT_TRUE(std::filesystem::exists(faketime)) << "libfaketime is installed by scripts/install-deps.sh";
  const std::string offset_file = (dir_ / "faketime").string();
  std::ofstream(offset_file) << "+0\n";
  const std::string config = write_config(R"({"workers": 1, "watchlist_reload_s": 1})");
  const int port = test::free_port();
  const std::string log = (dir_ / "serve.err").string();
  test::BackgroundProcess serve({"/usr/bin/env", "LD_PRELOAD=" + faketime, "FAKETIME_TIMESTAMP_FILE=" + offset_file, "FAKETIME_CACHE_DURATION=1",
                                 "FAKETIME_DONT_FAKE_MONOTONIC=1", GLASSBOX_BINARY, "serve", "--data-dir", dir_.path().string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port), "--config", config},
                                {}, log);
  ASSERT_TRUE(test::wait_for_port(port, 30)) << "serve did not start";
  auto metric = [&](const std::string& name) { return metric_value(port, name); };
  auto wait_for_steps = [&](double steps) {
    for (int i = 0; i < 100 && metric("glassbox_clock_steps_total") < steps; ++i) std::this_thread::sleep_for(100ms);
    return metric("glassbox_clock_steps_total");
  };
  EXPECT_EQ(wait_for_steps(0), 0);
  auto audrey = client(port, "audrey");

  std::ofstream(offset_file, std::ios::trunc) << "-1h\n";
  EXPECT_EQ(wait_for_steps(1), 1);
  EXPECT_NEAR(metric("glassbox_clock_wall_offset_seconds"), -3600, 5);
  std::ofstream(offset_file, std::ios::trunc) << "+1h\n";
  EXPECT_EQ(wait_for_steps(2), 2);
  EXPECT_NEAR(metric("glassbox_clock_wall_offset_seconds"), 3600, 5);
  // The service goes on: its sessions and tokens work, the time it acts on has not moved.
  json records;
  for (int i = 0; i < 50; ++i) {
    auto r = audrey->Get("/api/audit/records?action=clock.step");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    records = json::parse(r->body)["records"];
    if (records.size() >= 2) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(records.size(), 2u) << records.dump();
  const UnixSeconds real_now = now_utc();
  for (const auto& r : records) {
    EXPECT_EQ(r["actor"], "system");
    const auto at = parse_time_utc(r["time"].get<std::string>());
    ASSERT_TRUE(at);
    EXPECT_LE(std::llabs(*at - real_now), 60) << "recorded at the service's time, not the stepped wall clock: " << r.dump();
  }
  EXPECT_NEAR(records[0]["details"]["wall_minus_service_s"].get<double>(), 3600, 5);   // newest first
  EXPECT_NEAR(records[1]["details"]["wall_minus_service_s"].get<double>(), -3600, 5);
  EXPECT_EQ(serve.stop(SIGTERM, 20), 0);
  EXPECT_NE(test::read_file(log).find("the wall clock was stepped"), std::string::npos) << test::read_file(log);

  expect_audit_log_verifies();
}

TEST_F(ServeTest, ALiveClientResumesFromItsLastEventIdWithoutGapsOrRepeats) {
  constexpr int kStored = 2050;
  {
    auto store = AlertStore::open(db());
    ASSERT_TRUE(store) << store.error().message;
    Alert a;
    a.entry_id = entry_;
    a.subject = "Person B";
    a.source = "lobby";
    a.profile = "dlib_resnet";
    ASSERT_TRUE((*store)->record(a, {}, now_utc(), now_utc()));  // the first through the store; the rest at once
  }
  {
    auto raw = SqliteDatabase::open(db(), OpenMode::kReadWriteCreate);
    ASSERT_TRUE(raw) << raw.error().message;
    const std::string entry = std::to_string(entry_), now = std::to_string(now_utc()), last = std::to_string(kStored);
    ASSERT_TRUE((*raw)->execute("BEGIN; WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < " + last +
                                ") INSERT INTO alerts (entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, "
                                "box_x, box_y, box_w, box_h, raised_at, feed_position) SELECT " + entry + ", 'lobby', 'dlib_resnet', 0.3, 0.42, "
                                "0, i, 1, 0, 0, 10, 10, " + now + ", i FROM n; UPDATE alert_feed SET position = " + last + "; COMMIT;"));
  }
  int port = 0;
  auto serve = start_serve(port, {"--config", write_config(R"({"workers": 1})")});
  ASSERT_TRUE(serve);
  auto positions_of = [](const std::vector<Event>& events) {
    std::vector<std::int64_t> out;
    for (const Event& e : events)
      if (e.type == "alert") out.push_back(std::stoll(e.id));
    return out;
  };
  auto consecutive = [](const std::vector<std::int64_t>& got, std::int64_t first, std::int64_t last) {
    if (got.size() != static_cast<std::size_t>(last - first + 1)) return false;
    for (std::size_t i = 0; i < got.size(); ++i)
      if (got[i] != first + static_cast<std::int64_t>(i)) return false;
    return true;
  };
  // Kept in memory.
  auto recent = read_events(port, "1500", kStored - 1500, 30);
  EXPECT_TRUE(consecutive(positions_of(recent), 1501, kStored)) << recent.size() << " events";
  ASSERT_FALSE(recent.empty());
  const json event = json::parse(recent.back().data);
  EXPECT_EQ(event["position"], kStored);
  EXPECT_EQ(event["id"], kStored) << "the alerts' ids and positions agree here (one writer)";
  EXPECT_EQ(event["camera"], "lobby");
  // Older: read from the database, then memory.
  auto older = read_events(port, "1020", kStored - 1020, 30);
  EXPECT_TRUE(consecutive(positions_of(older), 1021, kStored)) << older.size() << " events";
  // Further back than that: told where the stream resumes.
  auto far = read_events(port, "0", 1 + 2000, 30);
  ASSERT_FALSE(far.empty());
  EXPECT_EQ(far.front().type, "gap");
  EXPECT_EQ(json::parse(far.front().data)["resumes_after"], kStored - 2000);
  EXPECT_TRUE(consecutive(positions_of(far), kStored - 1999, kStored));
  // Up to date: the next alert, stored by another writer, arrives live — once.
  std::atomic<bool> open{false};
  std::vector<Event> live;
  // It waits 4 s for a second event, which must not come.
  std::thread reader([&] { live = read_events(port, std::to_string(kStored), 2, 4, [&] { open = true; }); });
  for (int i = 0; i < 100 && !open; ++i) std::this_thread::sleep_for(50ms);
  {
    auto store = AlertStore::open(db());
    ASSERT_TRUE(store);
    Alert a;
    a.entry_id = entry_;
    a.source = "gate";
    a.profile = "dlib_resnet";
    ASSERT_TRUE((*store)->record(a, {}, now_utc(), now_utc()));
  }
  reader.join();
  EXPECT_EQ(positions_of(live), std::vector<std::int64_t>{kStored + 1}) << "the new alert, once";
  httplib::Client bad("127.0.0.1", port);
  bad.set_bearer_token_auth(tokens_.at("olga"));
  auto refused = bad.Get("/api/events", {{"Last-Event-ID", "yesterday"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);
}

TEST_F(ServeTest, KillNineLosesNoAcknowledgedAlertOrEntry) {
  const std::string config = write_config(R"({"workers": 2, "cameras": [
    {"name": "lobby", "url": ")" + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true},
    {"name": "lobby2", "url": ")" + test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true}]})");
  std::set<std::int64_t> acknowledged, acknowledged_entries;
  std::ifstream still(dir_ / "still.png", std::ios::binary);
  const std::string still_bytes((std::istreambuf_iterator<char>(still)), std::istreambuf_iterator<char>());
  std::mt19937 rng(20261129);
  for (int round = 0; round < 3; ++round) {
    int port = 0;
    auto serve = start_serve(port, {"--config", config});
    ASSERT_TRUE(serve) << "round " << round;
    auto alice = client(port, "alice");
    httplib::Client& http = *alice;
    const auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500 + rng() % 2500);
    while (std::chrono::steady_clock::now() < kill_at) {
      if (auto r = http.Get("/api/alerts?limit=10000"); r && r->status == 200)
        for (const auto& a : json::parse(r->body)) acknowledged.insert(a["id"].get<std::int64_t>());
      // Entries enrolled through the API while alerts are being written.
      auto enrolled = http.Post("/api/entries", httplib::MultipartFormDataItems{
                                                    {"subject", "Person R" + std::to_string(round), "", ""},
                                                    {"legal_basis", "Order 9", "", ""},
                                                    {"source", "clip", "", ""},
                                                    {"expires", test::date_in_days(300), "", ""},
                                                    {"submitted_by", "alice", "", ""},
                                                    {"photo", still_bytes, "still.png", "image/png"}});
      if (enrolled && enrolled->status == 201) acknowledged_entries.insert(json::parse(enrolled->body)["id"].get<std::int64_t>());
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(serve->stop(SIGKILL, 10), -1);
    auto entries = SqlWatchlistStore::open(db(), OpenMode::kReadOnly);
    ASSERT_TRUE(entries) << entries.error().message;
    for (std::int64_t id : acknowledged_entries) EXPECT_TRUE((*entries)->get_entry(id)->has_value()) << "entry " << id << " was acknowledged, then lost";
    auto store = AlertStore::open(db());
    ASSERT_TRUE(store) << store.error().message;
    std::set<std::int64_t> stored;
    for (const auto& r : *(*store)->list({{}, {}, {}, {}, 10000})) stored.insert(r.id);
    for (std::int64_t id : acknowledged) EXPECT_TRUE(stored.count(id)) << "alert " << id << " was shown, then lost";
  }
  EXPECT_GT(acknowledged.size(), 2u) << "alerts were being written while the service was killed";
  EXPECT_GT(acknowledged_entries.size(), 2u) << "entries were being enrolled while the service was killed";
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
  std::vector<std::string> bodies, keys;
  int requests = 0;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    if (++requests <= 2) {
      res.status = 503;  // the first two attempts fail
      return;
    }
    bodies.push_back(req.body);
    keys.push_back(req.get_header_value("Idempotency-Key"));
  });
  const int hook_port = receiver.bind_to_any_port("127.0.0.1");
  std::thread receiver_thread([&] { receiver.listen_after_bind(); });
  const int dead_port = test::free_port();
  const std::string good = "http://127.0.0.1:" + std::to_string(hook_port) + "/hook";
  const std::string dead = "http://127.0.0.1:" + std::to_string(dead_port) + "/nobody";
  const std::string config = write_config(R"({"cameras": [{"name": "lobby", "url": ")" +
                                          test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() +
                                          R"(", "loop": true}], "webhooks": [{"url": ")" + dead + R"(", "max_attempts": 2, "timeout_s": 1, "insecure": true},
                                          {"url": ")" + good + R"(", "insecure": true}]})");
  int port = 0;
  auto serve = start_serve(port, {"--config", config});
  ASSERT_TRUE(serve);
  for (int i = 0; i < 600; ++i) {
    {
      std::lock_guard lock(mutex);
      if (!bodies.empty()) break;
    }
    std::this_thread::sleep_for(100ms);
  }
  const std::string metrics = client(port, "olga")->Get("/metrics")->body;
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);
  receiver.stop();
  receiver_thread.join();
  std::lock_guard lock(mutex);
  ASSERT_FALSE(bodies.empty()) << "no alert delivered to the webhook; metrics:\n" << metrics;
  const json event = json::parse(bodies.front());
  EXPECT_EQ(event["type"], "alert");
  EXPECT_EQ(event["camera"], "lobby");
  EXPECT_EQ(event["entry_id"], entry_);
  EXPECT_GT(event["id"].get<std::int64_t>(), 0);
  // The receiver's key for dropping repeats: the header and the payload agree, and name the alert.
  EXPECT_EQ(keys.front(), event.value("idempotency_key", "")) << event.dump();
  const std::string suffix = "-alert-" + std::to_string(event["id"].get<std::int64_t>());
  EXPECT_TRUE(keys.front().size() > suffix.size() && keys.front().ends_with(suffix)) << keys.front();
  // When the frame was captured, to the millisecond, on the wall clock: within this test's run.
  const std::string captured = event.value("captured_at", "");
  ASSERT_EQ(captured.size(), 24u) << event.dump();
  EXPECT_EQ(captured.substr(19, 1), ".") << captured;
  auto captured_s = parse_time_utc(captured.substr(0, 19) + "Z");
  ASSERT_TRUE(captured_s) << captured;
  EXPECT_LE(*captured_s, now_utc());
  EXPECT_GT(*captured_s, now_utc() - 120);
  // Webhooks are named by position and host in /metrics: a webhook's path is often its secret.
  EXPECT_NE(metrics.find("glassbox_webhook_failed_attempts_total{webhook=\"1\",host=\"127.0.0.1\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("glassbox_webhook_failed_attempts_total{webhook=\"0\",host=\"127.0.0.1\"}"), std::string::npos);
  EXPECT_EQ(metrics.find("/hook"), std::string::npos) << "no webhook path in /metrics";
}

// A webhook delivery outlives the process that raised the alert: the endpoint is down, the
// service is killed with SIGKILL while its deliveries wait in the outbox, and once the endpoint
// is back the restarted service (no cameras now) delivers every alert stored before the kill,
// each under its own key.
TEST_F(ServeTest, AWebhookDeliveryOutlivesAKill) {
  httplib::Server receiver;
  std::mutex mutex;
  std::atomic<bool> up{false};
  std::multiset<std::string> keys;
  std::atomic<int> attempts{0};
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    ++attempts;
    if (!up) {
      res.status = 503;
      return;
    }
    std::lock_guard lock(mutex);
    keys.insert(req.get_header_value("Idempotency-Key"));
  });
  const int hook_port = receiver.bind_to_any_port("127.0.0.1");
  std::thread receiver_thread([&] { receiver.listen_after_bind(); });
  const std::string hook = R"("webhooks": [{"url": "http://127.0.0.1:)" + std::to_string(hook_port) +
                           R"(/hook", "max_attempts": 100, "timeout_s": 1, "insecure": true}])";
  int port = 0;
  auto serve = start_serve(port, {"--config", write_config(R"({"cameras": [{"name": "lobby", "url": ")" +
                                                           test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() +
                                                           R"(", "loop": true}], )" + hook + "}")});
  ASSERT_TRUE(serve);
  for (int i = 0; i < 600 && attempts == 0; ++i) std::this_thread::sleep_for(100ms);
  ASSERT_GT(attempts.load(), 0) << "no delivery attempted within 60 s";
  ASSERT_EQ(serve->stop(SIGKILL, 10), -1);
  std::set<std::string> expected;
  {
    auto store = AlertStore::open(db());
    ASSERT_TRUE(store);
    auto deployment = (*store)->deployment();
    ASSERT_TRUE(deployment);
    AlertFilter all;
    all.limit = 1000;
    for (const AlertRecord& r : *(*store)->list(all)) expected.insert(*deployment + "-alert-" + std::to_string(r.id));
  }
  ASSERT_FALSE(expected.empty());
  up = true;
  serve = start_serve(port, {"--config", write_config("{" + hook + "}")});
  ASSERT_TRUE(serve);
  std::set<std::string> delivered;
  for (int i = 0; i < 600; ++i) {
    {
      std::lock_guard lock(mutex);
      delivered = std::set<std::string>(keys.begin(), keys.end());
    }
    if (delivered == expected) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(delivered, expected) << "every alert stored before the kill, delivered after the restart";
  // The outbox is empty (the gauge is refreshed every 2 s).
  std::string metrics;
  for (int i = 0; i < 50; ++i) {
    metrics = client(port, "olga")->Get("/metrics")->body;
    if (metrics.find("glassbox_webhook_pending{webhook=\"0\",host=\"127.0.0.1\"} 0") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(metrics.find("glassbox_webhook_pending{webhook=\"0\",host=\"127.0.0.1\"} 0"), std::string::npos) << metrics;
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);
  receiver.stop();
  receiver_thread.join();
  std::cerr << "deliveries after the restart: " << keys.size() << " for " << expected.size() << " alerts\n";
}

// HTTPS webhooks: the endpoint's certificate is verified — against the configured CA file it
// is accepted; without it (self-signed, not in the system store) nothing is sent, and the
// failures are counted.
TEST_F(ServeTest, HttpsWebhooksVerifyTheEndpointsCertificate) {
  const auto cert = dir_ / "cert.pem", key = dir_ / "key.pem";
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                         "-keyout " + key.string() + " -out " + cert.string() + " 2>/dev/null").c_str()), 0);
  httplib::SSLServer receiver(cert.c_str(), key.c_str());
  ASSERT_TRUE(receiver.is_valid());
  std::mutex mutex;
  std::vector<std::string> trusted, untrusted;
  receiver.Post("/trusted", [&](const httplib::Request& req, httplib::Response&) {
    std::lock_guard lock(mutex);
    trusted.push_back(req.body);
  });
  receiver.Post("/untrusted", [&](const httplib::Request& req, httplib::Response&) {
    std::lock_guard lock(mutex);
    untrusted.push_back(req.body);
  });
  const int hook_port = receiver.bind_to_any_port("127.0.0.1");
  std::thread receiver_thread([&] { receiver.listen_after_bind(); });
  const std::string base = "https://127.0.0.1:" + std::to_string(hook_port);
  const std::string config = write_config(R"({"cameras": [{"name": "lobby", "url": ")" +
                                          test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true}],
      "webhooks": [{"url": ")" + base + R"(/trusted", "ca_file": ")" + cert.string() + R"("},
                   {"url": ")" + base + R"(/untrusted", "max_attempts": 2}]})");
  int port = 0;
  auto serve = start_serve(port, {"--config", config});
  ASSERT_TRUE(serve);
  auto olga = client(port, "olga");
  httplib::Client& http = *olga;
  std::string metrics;
  for (int i = 0; i < 600; ++i) {
    metrics = http.Get("/metrics")->body;
    std::lock_guard lock(mutex);
    if (!trusted.empty() && metrics.find("glassbox_webhook_given_up_total{webhook=\"1\",host=\"127.0.0.1\"} 1") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);
  receiver.stop();
  receiver_thread.join();
  std::lock_guard lock(mutex);
  ASSERT_FALSE(trusted.empty()) << "nothing delivered over TLS; metrics:\n" << metrics;
  EXPECT_EQ(json::parse(trusted.front())["entry_id"], entry_);
  EXPECT_TRUE(untrusted.empty()) << "an endpoint whose certificate cannot be verified was sent an alert";
  EXPECT_NE(metrics.find("glassbox_webhook_given_up_total{webhook=\"1\",host=\"127.0.0.1\"} 1"), std::string::npos) << metrics;
}

// MQTT: the service starts while the broker is down (and says so in /metrics), connects once a
// real mosquitto broker comes up, and publishes each alert's JSON event on TOPIC/CAMERA.
TEST_F(ServeTest, AlertsArePublishedToMqttOnceTheBrokerIsUp) {
  const int broker_port = test::free_port();
  const auto broker_config = dir_ / "mosquitto.conf";
  std::ofstream(broker_config) << "listener " << broker_port << " 127.0.0.1\nallow_anonymous true\npersistence false\n";
  const std::string config = write_config(R"({"cameras": [{"name": "lobby", "url": ")" +
                                          test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true}],
      "mqtt": {"host": "127.0.0.1", "port": )" + std::to_string(broker_port) + R"(, "topic": "site1/alerts", "client_id": "glassbox-test"}})");
  int port = 0;
  auto serve = start_serve(port, {"--config", config});
  ASSERT_TRUE(serve);
  auto olga = client(port, "olga");
  httplib::Client& http = *olga;
  const std::string broker = "{broker=\"127.0.0.1:" + std::to_string(broker_port) + "\"} ";
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = http.Get("/metrics")->body;
    if (metrics.find("glassbox_mqtt_failed_attempts_total" + broker + "0") == std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(metrics.find("glassbox_mqtt_connected" + broker + "0"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("glassbox_mqtt_failed_attempts_total" + broker + "0"), std::string::npos) << "no failed connect counted";
  EXPECT_EQ(http.Get("/health")->status, 200) << "a missing broker does not stop the service";

  test::BackgroundProcess mosquitto({"mosquitto", "-c", broker_config.string()});
  ASSERT_TRUE(test::wait_for_port(broker_port, 20)) << "mosquitto did not start";
  const auto received = dir_ / "received.txt";
  test::BackgroundProcess subscriber({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker_port), "-t", "site1/alerts/#",
                                      "-v", "-C", "1", "-W", "90"},
                                     received.string());
  // The clip loops every 8 s and each loop raises a new alert: one reaches the subscriber.
  std::string line;
  for (int i = 0; i < 900 && line.find('\n') == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    std::ifstream in(received);
    std::getline(in, line, '\0');
  }
  metrics = http.Get("/metrics")->body;
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);
  ASSERT_NE(line.find('\n'), std::string::npos) << "nothing published; metrics:\n" << metrics;
  const auto space = line.find(' ');
  EXPECT_EQ(line.substr(0, space), "site1/alerts/lobby");
  const json event = json::parse(line.substr(space + 1));
  EXPECT_EQ(event["type"], "alert");
  EXPECT_EQ(event["entry_id"], entry_);
  EXPECT_GT(event["id"].get<std::int64_t>(), 0);
  EXPECT_NE(metrics.find("glassbox_mqtt_connected" + broker + "1"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("glassbox_mqtt_acknowledged_total" + broker + "0"), std::string::npos) << "QoS 1: the broker acknowledged";
}

// Cameras and watchlist entries managed through the API while the service runs: a camera
// created, changed and deleted (kept across a restart; file cameras refused); an entry enrolled
// from an uploaded photo matches nothing while pending, alerts once another user approves it,
// and stops matching when it is revoked.
TEST_F(ServeTest, CamerasAndEntriesAreManagedThroughTheApi) {
  const std::string ed_clip = test::data("video/talking_heads/WDA_EdMarkey0_000_h264.mp4").string();
  const auto ed_still = dir_ / "ed.png";
  ASSERT_EQ(std::system(("ffmpeg -loglevel error -y -ss 1 -i " + ed_clip + " -frames:v 1 " + ed_still.string()).c_str()), 0);
  int port = 0;
  // Local files stand in for cameras here: the API takes them only when the configuration says so.
  const std::string files_allowed = write_config(R"({"api_camera_schemes": ["rtsp", "rtsps", "http", "https", "file"]})");
  auto serve = start_serve(port, {"--config", files_allowed});
  ASSERT_TRUE(serve) << "serve did not start";
  // Cameras are changed by an admin; entries submitted by alice and approved by bob, supervisors.
  auto root = client(port, "root"), alice = client(port, "alice"), bob = client(port, "bob"), carol = client(port, "carol");
  httplib::Client& http = *root;
  auto get_json = [&](const std::string& path) {
    auto r = bob->Get(path.c_str());
    EXPECT_TRUE(r) << path;
    return r ? json::parse(r->body) : json();
  };
  EXPECT_EQ(get_json("/api/cameras").size(), 0u);

  // Create: validated field by field, names unique.
  auto bad = http.Post("/api/cameras", R"({"name": "gate", "url": ")" + ed_clip + R"(", "rate": 500})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("camera.rate"), std::string::npos) << bad->body;
  EXPECT_EQ(http.Post("/api/cameras", R"({"name": "gate", "url": ")" + ed_clip + R"(", "colour": 1})", "application/json")->status, 400);
  EXPECT_EQ(http.Post("/api/cameras", "not json", "application/json")->status, 400);
  const std::string gate = R"({"name": "gate", "url": ")" + ed_clip + R"(", "loop": true})";
  auto created = http.Post("/api/cameras", gate, "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(json::parse(created->body)["managed_by"], "api");
  EXPECT_EQ(http.Post("/api/cameras", gate, "application/json")->status, 409);
  json camera;
  for (int i = 0; i < 300; ++i) {
    camera = get_json("/api/cameras/gate");
    if (camera["frames_analysed"].get<int>() > 0) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(camera["state"], "streaming") << camera["last_error"];
  EXPECT_GT(camera["frames_analysed"].get<int>(), 0) << "a camera created while running is analysed";
  // An administrator aiming the camera sees what it sees now; nobody else does.
  auto snapshot = http.Get("/api/cameras/gate/snapshot");
  ASSERT_EQ(snapshot->status, 200) << snapshot->body;
  EXPECT_EQ(snapshot->get_header_value("Content-Type"), "image/jpeg");
  const cv::Mat view = cv::imdecode(std::vector<unsigned char>(snapshot->body.begin(), snapshot->body.end()), cv::IMREAD_COLOR);
  ASSERT_FALSE(view.empty());
  EXPECT_GT(view.cols, 0);
  EXPECT_LE(view.cols, 1280);
  EXPECT_EQ(bob->Get("/api/cameras/gate/snapshot")->status, 403) << "a supervisor does not aim cameras";
  EXPECT_EQ(http.Get("/api/cameras/nowhere/snapshot")->status, 404);

  // Enrol through the API: every problem named; a photo without a face refuses the entry.
  auto form = [&](const std::string& submitter, const std::vector<std::pair<std::string, std::string>>& photos) {
    httplib::MultipartFormDataItems items = {{"subject", "Person E", "", ""},       {"legal_basis", "Order 12", "", ""},
                                             {"source", "press footage", "", ""}, {"expires", test::date_in_days(300), "", ""},
                                             {"submitted_by", submitter, "", ""},  {"scope", "gate,door", "", ""}};
    for (const auto& [name, bytes] : photos) items.push_back({"photo", bytes, name, "image/png"});
    return items;
  };
  std::ifstream in(ed_still, std::ios::binary);
  const std::string ed_bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<unsigned char> blank_png;
  cv::imencode(".png", cv::Mat(200, 200, CV_8UC3, cv::Scalar(90, 120, 40)), blank_png);
  const std::string blank(blank_png.begin(), blank_png.end());
  auto refused = alice->Post("/api/entries", form("alice", {{"ed.png", ed_bytes}, {"wall.png", blank}}));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_NE(refused->body.find("wall.png: no face found"), std::string::npos) << refused->body;
  // A face turned well aside is refused with the reason, in words the person enrolling can act on.
  std::ifstream turned_in(test::data("faces/faceapi_bbt/examples/images/stuart/stuart5.png"), std::ios::binary);
  const std::string turned((std::istreambuf_iterator<char>(turned_in)), std::istreambuf_iterator<char>());
  auto poor = alice->Post("/api/entries", form("alice", {{"turned.png", turned}}));
  ASSERT_TRUE(poor);
  EXPECT_EQ(poor->status, 400);
  EXPECT_NE(poor->body.find("turned.png: the face is turned"), std::string::npos) << poor->body;
  EXPECT_NE(poor->body.find("need at most 35°"), std::string::npos) << poor->body;
  auto no_fields = alice->Post("/api/entries", httplib::MultipartFormDataItems{{"photo", ed_bytes, "ed.png", "image/png"}});
  ASSERT_TRUE(no_fields);
  EXPECT_EQ(no_fields->status, 400);
  for (const char* field : {"subject", "legal_basis", "source", "expires"})
    EXPECT_NE(no_fields->body.find(field), std::string::npos) << field << " not named in " << no_fields->body;
  EXPECT_EQ(alice->Post("/api/entries", R"({"subject": "x"})", "application/json")->status, 415);
  EXPECT_EQ(alice->Post("/api/entries", form("bob", {{"ed.png", ed_bytes}}))->status, 400) << "nobody submits in another's name";
  EXPECT_EQ(client(port, "audrey")->Post("/api/entries", form("audrey", {{"ed.png", ed_bytes}}))->status, 403) << "an auditor changes nothing";
  EXPECT_EQ(get_json("/api/entries").size(), 1u) << "refused entries store nothing";
  auto enrolled = alice->Post("/api/entries", form("alice", {{"ed.png", ed_bytes}}));
  ASSERT_TRUE(enrolled);
  ASSERT_EQ(enrolled->status, 201) << enrolled->body;
  json entry = json::parse(enrolled->body);
  const std::string entry_path = "/api/entries/" + std::to_string(entry["id"].get<std::int64_t>());
  EXPECT_EQ(entry["status"], "pending");
  EXPECT_FALSE(entry["matching"].get<bool>());
  EXPECT_EQ(entry["templates"], 1);
  EXPECT_EQ(entry["scope"], json({"gate", "door"})) << "it matches on gate (below) and door only";
  EXPECT_EQ(get_json(entry_path)["subject"], "Person E");
  EXPECT_EQ(get_json("/api/entries?status=pending").size(), 1u);
  // Its photo is kept for review: a re-encoded JPEG the size of the original, shown to reviewers
  // only, each view audited.
  ASSERT_EQ(entry["photos"].size(), 1u);
  EXPECT_EQ(entry["photos"][0]["name"], "ed.png");
  auto photo = bob->Get((entry_path + "/photos/1").c_str());
  ASSERT_TRUE(photo);
  ASSERT_EQ(photo->status, 200) << photo->body;
  EXPECT_EQ(photo->get_header_value("Content-Type"), "image/jpeg");
  const cv::Mat shown = cv::imdecode(std::vector<unsigned char>(photo->body.begin(), photo->body.end()), cv::IMREAD_COLOR);
  const cv::Mat original = cv::imread(ed_still.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(shown.empty());
  EXPECT_EQ(shown.size(), original.size());
  EXPECT_EQ(client(port, "audrey")->Get((entry_path + "/photos/1").c_str())->status, 403) << "an auditor sees no face";
  EXPECT_EQ(bob->Get((entry_path + "/photos/2").c_str())->status, 404);

  auto alerts_for_entry = [&] {
    return get_json("/api/alerts?limit=10000&entry=" + std::to_string(entry["id"].get<std::int64_t>())).size();
  };
  // Pending: a full loop of the clip (200 frames, 8 s) is analysed and nothing matches.
  const auto decoded_before = get_json("/api/cameras/gate")["frames_decoded"].get<int>();
  while (get_json("/api/cameras/gate")["frames_decoded"].get<int>() < decoded_before + 250) std::this_thread::sleep_for(200ms);
  EXPECT_EQ(alerts_for_entry(), 0u) << "a pending entry matched";

  // The threshold in force follows the list: the pending entry is not in it.
  const json before_approval = get_json("/api/profile")["threshold_in_force"];

  // Four eyes: the submitter cannot approve; someone else can, and matching starts.
  auto own = alice->Post((entry_path + "/approve").c_str(), "", "application/json");
  EXPECT_EQ(own->status, 403) << own->body;
  auto approved = bob->Post((entry_path + "/approve").c_str(), "", "application/json");
  ASSERT_EQ(approved->status, 200) << approved->body;
  EXPECT_TRUE(json::parse(approved->body)["matching"].get<bool>());
  EXPECT_EQ(json::parse(approved->body)["approved_by"], "bob");
  for (int i = 0; i < 600 && alerts_for_entry() == 0; ++i) std::this_thread::sleep_for(100ms);
  ASSERT_GT(alerts_for_entry(), 0u) << "no alert within 60 s of the approval";
  // One more template in the list: each comparison must be rarer, so the distance is stricter.
  const json after_approval = get_json("/api/profile")["threshold_in_force"];
  EXPECT_EQ(after_approval["templates"].get<int>(), before_approval["templates"].get<int>() + 1);
  EXPECT_LT(after_approval["threshold"].get<double>(), before_approval["threshold"].get<double>());
  EXPECT_EQ(get_json("/api/alerts?entry=" + std::to_string(entry["id"].get<std::int64_t>()))[0]["camera"], "gate");

  // Revocation needs a reason, is final, and stops matching.
  EXPECT_EQ(carol->Post((entry_path + "/revoke").c_str(), "{}", "application/json")->status, 400);
  auto revoked = carol->Post((entry_path + "/revoke").c_str(), R"({"reason": "warrant withdrawn"})", "application/json");
  ASSERT_EQ(revoked->status, 200) << revoked->body;
  EXPECT_EQ(json::parse(revoked->body)["status"], "revoked");
  EXPECT_EQ(json::parse(revoked->body)["revoke_reason"], "warrant withdrawn");
  EXPECT_EQ(carol->Post((entry_path + "/revoke").c_str(), R"({"reason": "again"})", "application/json")->status, 409);
  EXPECT_EQ(bob->Post((entry_path + "/approve").c_str(), "", "application/json")->status, 409);
  std::this_thread::sleep_for(1s);  // a frame in analysis during the revocation may still alert
  const auto alerts_at_revocation = alerts_for_entry();
  const auto decoded_at_revocation = get_json("/api/cameras/gate")["frames_decoded"].get<int>();
  // Two loops: each restart of the clip starts new tracks, which would alert if it still matched.
  while (get_json("/api/cameras/gate")["frames_decoded"].get<int>() < decoded_at_revocation + 450) std::this_thread::sleep_for(200ms);
  EXPECT_EQ(alerts_for_entry(), alerts_at_revocation) << "a revoked entry matched";
  EXPECT_EQ(get_json("/api/profile")["threshold_in_force"], before_approval) << "the list, and its threshold, as before";

  // Change: keys given replace settings; the name is the identity.
  auto patched = http.Patch("/api/cameras/gate", R"({"rate": 2, "min_face": 40})", "application/json");
  ASSERT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(json::parse(patched->body)["rate"], 2.0);
  EXPECT_EQ(json::parse(patched->body)["min_face"], 40);
  EXPECT_EQ(json::parse(patched->body)["loop"], true);
  EXPECT_EQ(http.Patch("/api/cameras/gate", R"({"name": "door"})", "application/json")->status, 400);
  EXPECT_EQ(http.Patch("/api/cameras/nowhere", R"({"rate": 2})", "application/json")->status, 404);

  // A restart keeps API cameras and the entry's state; file cameras cannot be changed here.
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);
  const std::string config = write_config(R"({"ended_entry_retention_days": 0, "api_camera_schemes": ["rtsp", "file"], "cameras": [{"name": "lobby", "url": ")" +
                                          test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true}]})");
  int port2 = 0;
  auto serve2 = start_serve(port2, {"--config", config});
  ASSERT_TRUE(serve2) << "serve did not start again";
  auto root2 = client(port2, "root");
  httplib::Client& http2 = *root2;
  const json cameras = json::parse(http2.Get("/api/cameras")->body);
  ASSERT_EQ(cameras.size(), 2u);
  EXPECT_EQ(cameras[0]["name"], "gate");
  EXPECT_EQ(cameras[0]["rate"], 2.0);
  EXPECT_EQ(cameras[1]["managed_by"], "config");
  EXPECT_EQ(json::parse(client(port2, "bob")->Get(entry_path.c_str())->body)["status"], "revoked");
  // With no retention after the end, the next maintenance pass deletes its template and photo.
  json ended;
  for (int i = 0; i < 100; ++i) {
    ended = json::parse(client(port2, "bob")->Get(entry_path.c_str())->body);
    if (ended.contains("biometrics_deleted_at")) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(ended["templates"], 0) << ended.dump();
  EXPECT_TRUE(ended["photos"].empty());
  EXPECT_EQ(client(port2, "bob")->Get((entry_path + "/photos/1").c_str())->status, 404);
  EXPECT_EQ(http2.Delete("/api/cameras/lobby")->status, 409);
  EXPECT_EQ(http2.Patch("/api/cameras/lobby", R"({"rate": 1})", "application/json")->status, 409);
  EXPECT_EQ(http2.Delete("/api/cameras/gate")->status, 204);
  EXPECT_EQ(http2.Get("/api/cameras/gate")->status, 404);
  EXPECT_EQ(http2.Delete("/api/cameras/gate")->status, 404);
  EXPECT_EQ(http2.Get("/metrics")->body.find("camera=\"gate\""), std::string::npos);
  EXPECT_EQ(json::parse(http2.Get("/api/cameras")->body).size(), 1u);
  // A camera created through the API whose name the file then takes is refused at start.
  ASSERT_EQ(http2.Post("/api/cameras", R"({"name": "door", "url": ")" + ed_clip + R"("})", "application/json")->status, 201);
  EXPECT_EQ(serve2->stop(SIGTERM, 20), 0);
  const std::string clash = write_config(R"({"cameras": [{"name": "door", "url": ")" + ed_clip + R"("}]})");
  auto r = test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--listen", "127.0.0.1:0", "--config", clash}, 60);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("camera 'door' is in the configuration file and was also created through the API"), std::string::npos) << r.err;

  // Every change above is in the audit log, by whom it was made, and the export verifies.
  const auto out = dir_ / "audit.jsonl";
  ASSERT_EQ(test::run_glassbox({"audit", "export", "--data-dir", dir_.path().string(), "--out", out.string(), "--by", "auditor"}).exit_code, 0);
  std::vector<std::string> trail;
  for (const auto& line : test::lines_of(test::read_file(out))) {
    if (line.find('\t') == std::string::npos) continue;
    const json record = json::parse(line.substr(0, line.find('\t')));
    trail.push_back(record["action"].get<std::string>() + " " + record["actor"].get<std::string>() + " " + record["object"].get<std::string>());
  }
  const std::string e = "entry/" + std::to_string(entry["id"].get<std::int64_t>());
  for (const std::string& expected : std::vector<std::string>{"service.start system service", "camera.create root camera/gate", "entry.enrol alice " + e,
                                      "entry.approve bob " + e, "entry.revoke carol " + e,
                                      "entry.photo.view bob " + e, "entry.biometrics.delete glassbox " + e, "camera.snapshot root camera/gate",
                                      "camera.update root camera/gate",
                                      "camera.delete root camera/gate", "camera.create root camera/door", "audit.export auditor audit",
                                      "user.add bootstrap user/root", "user.add cli user/olga", "token.create cli user/olga"})
    EXPECT_NE(std::find(trail.begin(), trail.end(), expected), trail.end()) << expected << " is not in the audit log";
  auto verified = test::run_glassbox({"audit", "verify", "--public-key", db() + ".audit-pub", out.string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
}

// Every documented route, as anonymous and as each role: 401 without an account, 403 for a role
// the document does not allow, anything else (the route's own answer) for one it allows. Then
// a browser session: the cookie's attributes, CSRF on changes, logout; and the lockout.
TEST_F(ServeTest, EveryRouteAnswersEveryRoleAsDocumented) {
  const std::string config = write_config(R"({"cameras": [{"name": "lobby", "url": ")" +
                                          test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() + R"(", "loop": true}]})");
  int port = 0;
  auto serve = start_serve(port, {"--config", config});
  ASSERT_TRUE(serve);
  const json api = json::parse(httplib::Client("127.0.0.1", port).Get("/openapi.json")->body);
  const std::vector<std::pair<std::string, std::string>> principals = {
      {"anonymous", ""}, {"operator", "olga"}, {"supervisor", "alice"}, {"auditor", "audrey"}, {"admin", "root"}};
  int checked = 0;
  for (const auto& [path, methods] : api["paths"].items()) {
    std::string concrete = path;
    if (auto at = concrete.find("{id}"); at != std::string::npos) concrete.replace(at, 4, "999999");
    if (auto at = concrete.find("{name}"); at != std::string::npos) concrete.replace(at, 6, "nowhere");
    if (auto at = concrete.find("{visit}"); at != std::string::npos) concrete.replace(at, 7, "1");
    if (auto at = concrete.find("{position}"); at != std::string::npos) concrete.replace(at, 10, "1");
    for (const auto& [method, spec] : methods.items()) {
      ASSERT_TRUE(spec.contains("x-roles")) << method << " " << path << " does not say who may use it";
      const json& roles = spec["x-roles"];
      for (const auto& [role, user] : principals) {
        const bool allowed = roles.is_null() || (!user.empty() && (roles.empty() || std::find(roles.begin(), roles.end(), role) != roles.end()));
        if (allowed && path == "/api/events") continue;  // a stream that does not end; its refusals are checked
        if (allowed && path == "/api/me/logout-all") continue;  // it would revoke the token used here (tests/security)
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(30, 0);
        if (!user.empty()) c.set_bearer_token_auth(tokens_.at(user));
        const std::string body = "{}";
        httplib::Result r = method == "get"      ? c.Get(concrete.c_str())
                            : method == "patch"  ? c.Patch(concrete.c_str(), body, "application/json")
                            : method == "put"    ? c.Put(concrete.c_str(), body, "application/octet-stream")
                            : method == "delete" ? c.Delete(concrete.c_str())
                                                 : c.Post(concrete.c_str(), body, "application/json");
        ASSERT_TRUE(r) << method << " " << path << " as " << role;
        if (allowed) {
          EXPECT_NE(r->status, 401) << method << " " << path << " as " << role << ": " << r->body;
          EXPECT_NE(r->status, 403) << method << " " << path << " as " << role << ": " << r->body;
        } else {
          EXPECT_EQ(r->status, user.empty() ? 401 : 403) << method << " " << path << " as " << role << ": " << r->body;
        }
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 44 * 5 - 8);

  // A browser session.
  httplib::Client browser("127.0.0.1", port);
  auto login = browser.Post("/api/login", R"({"name": "olga", "password": "a long test password for olga"})", "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200) << login->body;
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos) << set_cookie;
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos) << "not over TLS here: " << set_cookie;
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf = json::parse(login->body)["csrf_token"];
  const httplib::Headers with_cookie = {{"Cookie", cookie}}, with_csrf = {{"Cookie", cookie}, {"X-CSRF-Token", csrf}};
  auto me = browser.Get("/api/me", with_cookie);
  ASSERT_EQ(me->status, 200);
  EXPECT_EQ(json::parse(me->body)["via"], "session");
  EXPECT_EQ(browser.Post("/api/alerts/999999/confirm", with_cookie, "", "application/json")->status, 403) << "a change without the CSRF token";
  EXPECT_EQ(browser.Post("/api/alerts/999999/confirm", with_csrf, "", "application/json")->status, 404) << "with it, the route answers";
  EXPECT_EQ(browser.Post("/api/logout", with_csrf, "", "application/json")->status, 204);
  EXPECT_EQ(browser.Get("/api/me", with_cookie)->status, 401) << "the session ended at logout";

  // Five wrong passwords for one name from one address throttle that name from that address,
  // for a name that exists as for one that does not (tests/security has the rest).
  for (const char* name : {"carol", "nobody"}) {
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(browser.Post("/api/login", std::string(R"({"name": ")") + name + R"(", "password": "not the password at all"})", "application/json")->status, 401);
    EXPECT_EQ(browser.Post("/api/login", std::string(R"({"name": ")") + name + R"(", "password": "a long test password for carol"})", "application/json")->status, 429)
        << name;
  }
  // Accounts: an admin asks for one (no password), another admin approves it.
  auto root = client(port, "root");
  EXPECT_EQ(root->Post("/api/users", R"({"name": "dave", "password": "long enough password", "roles": ["operator"]})", "application/json")->status, 400)
      << "no admin sets a password";
  EXPECT_EQ(root->Post("/api/users", R"({"name": "dave", "roles": ["operator", "admin"]})", "application/json")->status, 400) << "separation of duties";
  auto asked = root->Post("/api/users", R"({"name": "dave", "roles": ["operator"]})", "application/json");
  ASSERT_EQ(asked->status, 201) << asked->body;
  EXPECT_EQ(json::parse(asked->body)["status"], "pending");
  EXPECT_EQ(root->Post("/api/users", R"({"name": "Dave", "roles": ["operator"]})", "application/json")->status, 409) << "names are case-blind";
  EXPECT_EQ(root->Post("/api/users/dave/approve", "", "application/json")->status, 403) << "not by the admin who asked";
  EXPECT_EQ(serve->stop(SIGTERM, 20), 0);

  // All of it is in the audit log.
  const auto out = dir_ / "audit.jsonl";
  ASSERT_EQ(test::run_glassbox({"audit", "export", "--data-dir", dir_.path().string(), "--out", out.string(), "--by", "audrey"}).exit_code, 0);
  const std::string log = test::read_file(out);
  for (const char* expected : {R"("action":"login.success","actor":"olga")", R"("action":"logout","actor":"olga")",
                               R"("action":"login.failure","actor":"anonymous")", R"("action":"user.add","actor":"root")",
                               R"("action":"login.throttled","actor":"anonymous")",
                               R"("action":"audit.export","actor":"audrey")"})
    EXPECT_NE(log.find(expected), std::string::npos) << expected;
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
  const std::string plain_ca = write_config(R"({"webhooks": [{"url": "http://127.0.0.1/x", "insecure": true, "ca_file": "/etc/hostname"}]})");
  EXPECT_NE(test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--config", plain_ca}, 60).err.find("webhooks[0].ca_file"),
            std::string::npos);
  const std::string bad_mqtt = write_config(R"({"mqtt": {"host": "127.0.0.1", "qos": 3}})");
  EXPECT_NE(test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--config", bad_mqtt}, 60).err.find("mqtt.qos"),
            std::string::npos);
  // A LISTEN connection is a cluster's, and a connection string.
  const std::string bad_listen = write_config(R"({"listen_database": "/tmp/glassbox.db"})");
  EXPECT_NE(test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--config", bad_listen}, 60).err.find("listen_database: must be a PostgreSQL"),
            std::string::npos);
  const std::string lone_listen = write_config(R"({"listen_database": "host=/tmp dbname=glassbox"})");
  auto lone = test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--listen", "127.0.0.1:0", "--config", lone_listen}, 60);
  EXPECT_EQ(lone.exit_code, 1);
  EXPECT_NE(lone.err.find("listen_database is for a cluster's PostgreSQL"), std::string::npos) << lone.err;
  const std::string unknown = write_config(R"({"camreas": []})");
  EXPECT_NE(test::run_glassbox({"serve", "--data-dir", dir_.path().string(), "--config", unknown}, 60).err.find("camreas: unknown setting"),
            std::string::npos);
}

}  // namespace
}  // namespace glassbox
