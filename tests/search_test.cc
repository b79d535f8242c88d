// End to end: case-scoped searches of recordings (docs/search.md) on footage with known ground
// truth — LFW photos laid over a real street clip at known times (tests/tools/search_footage.cc).
// The command line: recall and false visits at keyframes and at a sampled rate, bad recordings,
// the four-eyes rule, cancellation, what the database keeps; the service: cameras recorded into
// segments (and recovered after kill -9), searched through the API with approval and progress.
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sqlite3.h>

#include "enroll/enrollment.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// An integer from the first column of the first row of `sql`; -1 when there is none.
std::int64_t query(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  std::int64_t value = -1;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
      value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
  }
  sqlite3_close(handle);
  return value;
}

json score(const std::filesystem::path& truth, const std::string& result_text, const std::filesystem::path& scratch) {
  const auto result = scratch / "result.json";
  std::ofstream(result) << result_text;
  const std::string command = std::string(SEARCH_FOOTAGE) + " score --truth " + truth.string() + " --result " + result.string() + " > " +
                              (scratch / "score.json").string();
  if (std::system(command.c_str()) != 0) return json::object();
  return json::parse(test::read_file(scratch / "score.json"));
}

class SearchTest : public ::testing::Test {
 protected:
  // One footage file for the whole suite: 120 s of 1080p, made once (about 40 s).
  static void SetUpTestSuite() {
    footage_dir_ = new test::TempDir();
    const std::string command = std::string(SEARCH_FOOTAGE) + " make --seconds 120 --seed 1 --out " + footage().string() + " --truth " +
                                truth().string() + " 2>/dev/null";
    made_ = std::system(command.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    delete footage_dir_;
    footage_dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(made_) << "the ground-truth footage could not be made"; }

  static std::filesystem::path footage() { return *footage_dir_ / "footage.mp4"; }
  static std::filesystem::path truth() { return *footage_dir_ / "footage.json"; }
  static std::string probe() { return json::parse(test::read_file(truth()))["probe"]; }
  std::filesystem::path db() const { return dir_ / "glassbox.db"; }

  std::vector<std::string> search_args(const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {"search", "--db", db().string(), "--case", "2026-114", "--legal-basis", "Warrant 2026/114",
                                     "--requested-by", "alice", "--approved-by", "bob", "--probe", probe()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  static test::TempDir* footage_dir_;
  static bool made_;
  test::TempDir dir_;
};

test::TempDir* SearchTest::footage_dir_ = nullptr;
bool SearchTest::made_ = false;

TEST_F(SearchTest, FindsTheTargetAtKeyframesAndAtARateAndKeepsNoOneElse) {
  const json truth_doc = json::parse(test::read_file(truth()));
  int appearances = 0, others = 0;
  for (const auto& a : truth_doc["appearances"]) (a["target"].get<bool>() ? appearances : others)++;
  ASSERT_GE(appearances, 4);
  ASSERT_GE(others, 8) << "the footage must hold other people too";

  for (const std::string mode : {"keyframes", "rate:2"}) {
    SCOPED_TRACE(mode);
    auto run = test::run_glassbox(search_args({"--mode", mode, "--crops", (dir_ / ("crops-" + mode.substr(0, 4))).string(), footage().string()}), 300);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.err.find("pieces"), std::string::npos) << "progress on stderr: " << run.err;
    const json result = json::parse(run.out);
    EXPECT_EQ(result["status"], "done");
    EXPECT_EQ(result["mode"], mode);
    EXPECT_TRUE(result["errors"].empty()) << result["errors"];
    const json s = score(truth(), run.out, dir_.path());
    // Measured: 4 of 5 at both modes; the fifth photo (Colin_Powell_0003) is not recognised at
    // the profile's threshold from any frame, a recognition miss rather than a sampling one.
    EXPECT_GE(s["recall"].get<double>(), 0.75) << s.dump(2);
    EXPECT_EQ(s["false_visits"], 0) << s.dump(2);
    const json& stats = result["stats"];
    EXPECT_NEAR(stats["footage_s"].get<double>(), 120.0, 1.0);
    if (mode == "keyframes") {
      // A keyframe every two seconds: only those are decoded; everything else is skipped unread.
      EXPECT_NEAR(stats["frames_decoded"].get<double>(), 60.0, 2.0) << stats;
      EXPECT_GT(stats["packets_skipped"].get<int>(), 2800) << stats;
    } else {
      EXPECT_GE(stats["frames_decoded"].get<int>(), 2990) << stats;
      EXPECT_NEAR(stats["frames_analysed"].get<double>(), 240.0, 4.0) << stats;
    }
    EXPECT_GT(stats["faces_detected"].get<int>(), stats["hits"].get<int>()) << "other faces were seen and compared";
    for (const auto& v : result["visits"]) {
      EXPECT_EQ(v["source"], footage().string());
      EXPECT_TRUE(v["camera"].is_null());
      EXPECT_LE(v["start_s"].get<double>(), v["best_at_s"].get<double>());
      EXPECT_LE(v["best_at_s"].get<double>(), v["end_s"].get<double>());
      ASSERT_TRUE(v.contains("crop"));
      EXPECT_FALSE(cv::imread(v["crop"].get<std::string>()).empty()) << v["crop"];
    }
  }
  // What the database keeps: the two searches, their visits (each with its crop) and nothing
  // about the faces that did not match; the probes are gone once the searches ended.
  EXPECT_EQ(query(db(), "SELECT count(*) FROM searches WHERE status = 'done' AND approved_by = 'bob'"), 2);
  EXPECT_EQ(query(db(), "SELECT count(*) FROM search_probes"), 0);
  const auto visits = query(db(), "SELECT count(*) FROM search_visits");
  EXPECT_GE(visits, 6);
  EXPECT_EQ(query(db(), "SELECT count(*) FROM search_visits WHERE crop IS NULL"), 0);
  EXPECT_EQ(query(db(), "SELECT count(*) FROM alerts"), 0);
  for (const std::string action : {"search.request", "search.approve", "search.run", "search.finish"})
    EXPECT_EQ(query(db(), "SELECT count(*) FROM audit_records WHERE json_extract(record, '$.action') = '" + action + "'"), 2) << action;
  auto report = test::run_glassbox({"transparency", "--db", db().string(), "--json"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_EQ(json::parse(report.out)["counts"]["searches_run"], 2) << report.out;
  auto verify = test::run_glassbox({"audit", "export", "--db", db().string(), "--out", (dir_ / "audit.jsonl").string()});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
}

TEST_F(SearchTest, BadRecordingsAreReportedPerFileAndTheRestIsSearched) {
  const std::string bytes = test::read_file(footage());
  const auto truncated = dir_ / "truncated.mp4";
  std::ofstream(truncated, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() * 2 / 5));
  std::string damaged_bytes = bytes;
  std::mt19937 rng(7);
  for (std::size_t i = damaged_bytes.size() / 3; i < damaged_bytes.size() / 2; ++i) damaged_bytes[i] = static_cast<char>(rng());
  const auto damaged = dir_ / "damaged.mp4";
  std::ofstream(damaged, std::ios::binary) << damaged_bytes;
  const auto text = dir_ / "notes.mp4";
  std::ofstream(text) << "not a video at all\n";
  const auto missing = dir_ / "missing.mp4";

  // An intact clip with one keyframe, at its start: keyframe mode decodes one frame of its 8 s,
  // which must not read as a file cut short.
  const std::string one_keyframe = test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string();

  auto run = test::run_glassbox(
      search_args({footage().string(), truncated.string(), damaged.string(), text.string(), missing.string(), one_keyframe}), 300);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json result = json::parse(run.out);
  std::map<std::string, std::string> errors;
  for (const auto& e : result["errors"]) errors[e["recording"]] = e["error"];
  EXPECT_EQ(errors.size(), 4u) << result["errors"];
  EXPECT_NE(errors[truncated.string()].find("truncated"), std::string::npos) << errors[truncated.string()];
  EXPECT_NE(errors[damaged.string()].find("damaged"), std::string::npos) << errors[damaged.string()];
  EXPECT_NE(errors[text.string()].find("cannot open as video"), std::string::npos) << errors[text.string()];
  EXPECT_NE(errors[missing.string()].find("no such recording"), std::string::npos) << errors[missing.string()];
  EXPECT_EQ(errors.count(footage().string()), 0u);
  EXPECT_EQ(errors.count(one_keyframe), 0u) << errors[one_keyframe];
  // The good file is searched whole, and what could be read of the others too.
  std::map<std::string, int> visits;
  for (const auto& v : result["visits"]) visits[v["source"]]++;
  EXPECT_GE(visits[footage().string()], 4);
  EXPECT_GE(visits[truncated.string()], 1) << "the first 40% of the file holds appearances";
}

// Every video of the robustness corpus (fuzzed, truncated, odd sizes and formats), searched at
// once on two workers, twice: the search runs to its end and reports, never crashes. (This found
// swscale writing past the end of rows of odd width.)
TEST_F(SearchTest, TheBrokenVideosOfTheRobustnessCorpusNeverCrashASearch) {
  std::vector<std::string> files;
  for (const auto& f : test::files_under(test::data("robustness/video"))) files.push_back(f.string());
  for (const auto& f : test::files_under(test::data("robustness/minimal")))
    if (f.extension() == ".mp4" || f.extension() == ".flv") files.push_back(f.string());
  ASSERT_GE(files.size(), 50u);
  for (int round = 0; round < 2; ++round) {
    std::vector<std::string> extra = {"--workers", "2"};
    extra.insert(extra.end(), files.begin(), files.end());
    auto run = test::run_glassbox(search_args(extra), 300);
    ASSERT_EQ(run.exit_code, 0) << run.err.substr(run.err.size() > 2000 ? run.err.size() - 2000 : 0);
    const json result = json::parse(run.out);
    EXPECT_EQ(result["status"], "done");
    EXPECT_EQ(result["stats"]["recordings"].get<std::size_t>(), files.size());
    EXPECT_GE(result["errors"].size(), 10u) << "most of the corpus is broken, and says so";
    for (const auto& e : result["errors"]) EXPECT_FALSE(e["error"].get<std::string>().empty());
    EXPECT_TRUE(result["visits"].empty()) << "none of these shows the person sought";
  }
}

TEST_F(SearchTest, RefusedWithoutAnApprovalBySomeoneElseOrBySomeoneWhoMayApprove) {
  auto same = test::run_glassbox({"search", "--db", db().string(), "--case", "C", "--legal-basis", "W", "--requested-by", "alice",
                                  "--approved-by", "alice", "--probe", probe(), footage().string()});
  EXPECT_EQ(same.exit_code, 1);
  EXPECT_NE(same.err.find("someone other than the requester"), std::string::npos) << same.err;
  auto no_window = test::run_glassbox(search_args({"--camera", "gate"}));
  EXPECT_EQ(no_window.exit_code, 1);
  EXPECT_NE(no_window.err.find("time window"), std::string::npos) << no_window.err;
  auto bad_mode = test::run_glassbox(search_args({"--mode", "rate:0", footage().string()}));
  EXPECT_EQ(bad_mode.exit_code, 1);
  EXPECT_NE(bad_mode.err.find("rate:N"), std::string::npos) << bad_mode.err;
  // Once accounts exist, the approver must be a supervisor.
  ASSERT_FALSE(test::make_account(dir_.path(), "root", {"admin"}).empty());
  ASSERT_FALSE(test::make_account(dir_.path(), "alice", {"operator"}).empty());
  ASSERT_FALSE(test::make_account(dir_.path(), "bob", {"operator"}).empty());
  auto not_supervisor = test::run_glassbox(search_args({footage().string()}));
  EXPECT_EQ(not_supervisor.exit_code, 1);
  EXPECT_NE(not_supervisor.err.find("is not supervisor"), std::string::npos) << not_supervisor.err;
  EXPECT_EQ(query(db(), "SELECT count(*) FROM searches"), 0) << "a refused search leaves no request behind";
}

TEST_F(SearchTest, AnInterruptCancelsAndKeepsWhatWasFound) {
  const auto out = dir_ / "out.json";
  std::vector<std::string> args = {GLASSBOX_BINARY};
  for (const auto& a : search_args({"--mode", "rate:25", "--workers", "1", footage().string()})) args.push_back(a);
  test::BackgroundProcess search(args, out.string());
  ASSERT_TRUE(search.started());
  std::this_thread::sleep_for(6s);
  EXPECT_EQ(search.stop(SIGINT, 60), 130);
  const json result = json::parse(test::read_file(out));
  EXPECT_EQ(result["status"], "cancelled");
  EXPECT_LT(result["stats"]["footage_s"].get<double>(), 115.0);
  EXPECT_EQ(query(db(), "SELECT count(*) FROM searches WHERE status = 'cancelled'"), 1);
  EXPECT_EQ(query(db(), "SELECT count(*) FROM search_probes"), 0);
}

// The service records a camera into segments and searches them through the API.
TEST_F(SearchTest, TheServiceRecordsACameraAndSearchesItThroughTheApiWithAnApproval) {
  std::map<std::string, std::string> tokens;
  for (const auto& [name, role] : std::vector<std::pair<std::string, std::string>>{
           {"root", "admin"}, {"olga", "operator"}, {"alice", "supervisor"}, {"audrey", "auditor"}}) {
    tokens[name] = test::make_account(dir_.path(), name, {role});
    ASSERT_FALSE(tokens[name].empty()) << name;
  }
  const auto config = dir_ / "config.json";
  std::ofstream(config) << json{{"record_segment_s", 4},
                                {"cameras", {{{"name", "gate"}, {"url", footage().string()}, {"loop", true}, {"record", true}, {"rate", 1}}}}}.dump();
  auto start_serve = [&](int& port) {
    port = test::free_port();
    auto serve = std::make_unique<test::BackgroundProcess>(std::vector<std::string>{
        GLASSBOX_BINARY, "serve", "--data-dir", dir_.path().string(), "--listen", "127.0.0.1:" + std::to_string(port), "--config", config.string()});
    return test::wait_for_port(port, 30) ? std::move(serve) : nullptr;
  };
  const auto window_from = std::chrono::system_clock::now() - 1min;
  int port = 0;
  auto serve = start_serve(port);
  ASSERT_TRUE(serve);
  // Record about 22 s (the first target appearance is at 12.8-18.2 s), then die mid-segment.
  std::this_thread::sleep_for(22s);
  ASSERT_EQ(serve->stop(SIGKILL, 10), -1);
  EXPECT_EQ(query(db(), "SELECT count(*) FROM recording_segments WHERE end_ms IS NULL"), 1) << "the segment being written";
  serve = start_serve(port);
  ASSERT_TRUE(serve);
  EXPECT_EQ(query(db(), "SELECT count(*) FROM recording_segments WHERE end_ms IS NULL AND start_ms < "
                            "(SELECT max(start_ms) FROM recording_segments)"), 0)
      << "the segment cut by the crash was completed from its file at the restart";
  EXPECT_GE(query(db(), "SELECT count(*) FROM recording_segments WHERE end_ms IS NOT NULL"), 5);
  EXPECT_EQ(query(db(), "SELECT count(*) FROM recording_segments WHERE end_ms - start_ms > 4500"), 0) << "segments of about 4 s";

  auto as = [&](const std::string& user) {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
    c->set_bearer_token_auth(tokens.at(user));
    c->set_read_timeout(60, 0);
    return c;
  };
  const std::string probe_bytes = test::read_file(probe());
  const auto to_text = [](std::chrono::system_clock::time_point t) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&seconds));
    return std::string(text);
  };
  httplib::MultipartFormDataItems form = {{"case_id", "2026-114", "", ""},
                                          {"legal_basis", "Warrant 2026/114", "", ""},
                                          {"cameras", "gate", "", ""},
                                          {"from", to_text(window_from), "", ""},
                                          {"to", to_text(std::chrono::system_clock::now() + 1min), "", ""},
                                          {"probe", probe_bytes, "probe.jpg", "image/jpeg"}};
  auto created = as("olga")->Post("/api/searches", form);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const json search = json::parse(created->body);
  EXPECT_EQ(search["status"], "pending");
  EXPECT_EQ(search["requested_by"], "olga");
  const std::string path = "/api/searches/" + std::to_string(search["id"].get<int>());
  EXPECT_EQ(as("olga")->Post(path + "/approve", "", "application/json")->status, 403) << "operators do not approve";
  EXPECT_EQ(as("olga")->Get(path + "/results")->status, 409) << "no results before it has run";
  auto approved = as("alice")->Post(path + "/approve", "", "application/json");
  ASSERT_EQ(approved->status, 200) << approved->body;
  json state;
  for (int i = 0; i < 120; ++i) {
    state = json::parse(as("audrey")->Get(path)->body);
    if (state["status"] == "done" || state["status"] == "failed") break;
    std::this_thread::sleep_for(500ms);
  }
  ASSERT_EQ(state["status"], "done") << state.dump(2);
  EXPECT_EQ(as("audrey")->Get(path + "/results")->status, 403) << "auditors see that a search ran, not whom it found";
  auto results = as("olga")->Get(path + "/results");
  ASSERT_EQ(results->status, 200) << results->body;
  const json r = json::parse(results->body);
  ASSERT_GE(r["visits"].size(), 1u) << r.dump(2);
  const json& visit = r["visits"][0];
  EXPECT_EQ(visit["camera"], "gate");
  EXPECT_TRUE(visit["start"].is_string());
  auto crop = as("olga")->Get(path + "/visits/1/crop");
  ASSERT_EQ(crop->status, 200);
  EXPECT_EQ(crop->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_FALSE(cv::imdecode(std::vector<unsigned char>(crop->body.begin(), crop->body.end()), cv::IMREAD_COLOR).empty());
  // A recording uploaded in chunks and searched whole.
  auto created_upload = as("olga")->Post("/api/uploads", R"({"name": "cam3.mp4"})", "application/json");
  ASSERT_EQ(created_upload->status, 201) << created_upload->body;
  const std::string upload_id = std::to_string(json::parse(created_upload->body)["id"].get<int>());
  const std::string upload_path = "/api/uploads/" + upload_id;
  const std::string bytes = test::read_file(footage());
  const std::size_t chunk = bytes.size() / 3 + 1;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    const httplib::Headers offset = {{"Upload-Offset", std::to_string(at)}};
    if (at == chunk) {
      auto wrong = as("olga")->Put(upload_path, {{"Upload-Offset", "7"}}, bytes.substr(at, chunk), "application/octet-stream");
      EXPECT_EQ(wrong->status, 409) << "a chunk at the wrong offset: " << wrong->body;
      EXPECT_EQ(as("alice")->Put(upload_path, offset, bytes.substr(at, chunk), "application/octet-stream")->status, 403)
          << "someone else's upload";
    }
    auto put = as("olga")->Put(upload_path, offset, bytes.substr(at, chunk), "application/octet-stream");
    ASSERT_EQ(put->status, 200) << put->body;
    if (at == 0) {
      // A client that lost its place reads where to go on from: its own uploads only.
      const json mine = json::parse(as("olga")->Get("/api/uploads")->body);
      ASSERT_EQ(mine.size(), 1u) << mine.dump();
      EXPECT_EQ(mine[0]["bytes"].get<std::size_t>(), chunk);
      EXPECT_EQ(mine[0]["finished"], false);
      EXPECT_EQ(json::parse(as("olga")->Get(upload_path)->body)["bytes"].get<std::size_t>(), chunk);
      EXPECT_TRUE(json::parse(as("alice")->Get("/api/uploads")->body).empty()) << "alice sees none of olga's uploads";
      EXPECT_EQ(as("alice")->Get(upload_path)->status, 404) << "someone else's upload is not there";
    }
  }
  auto digest = sha256_file(footage());
  ASSERT_TRUE(digest);
  EXPECT_EQ(as("olga")->Post(upload_path + "/finish", R"({"sha256": ")" + std::string(64, '0') + R"("})", "application/json")->status, 400);
  auto finished = as("olga")->Post(upload_path + "/finish", json{{"sha256", *digest}}.dump(), "application/json");
  ASSERT_EQ(finished->status, 200) << finished->body;
  EXPECT_EQ(json::parse(finished->body)["bytes"].get<std::size_t>(), bytes.size());
  httplib::MultipartFormDataItems upload_form = {{"case_id", "2026-114", "", ""},
                                                 {"legal_basis", "Warrant 2026/114", "", ""},
                                                 {"uploads", upload_id, "", ""},
                                                 {"probe", probe_bytes, "probe.jpg", "image/jpeg"}};
  auto upload_search = as("olga")->Post("/api/searches", upload_form);
  ASSERT_EQ(upload_search->status, 201) << upload_search->body;
  const std::string upload_search_path = "/api/searches/" + std::to_string(json::parse(upload_search->body)["id"].get<int>());
  ASSERT_EQ(as("alice")->Post(upload_search_path + "/approve", "", "application/json")->status, 200);
  json upload_state;
  for (int i = 0; i < 120; ++i) {
    upload_state = json::parse(as("olga")->Get(upload_search_path)->body);
    if (upload_state["status"] == "done" || upload_state["status"] == "failed") break;
    std::this_thread::sleep_for(500ms);
  }
  ASSERT_EQ(upload_state["status"], "done") << upload_state.dump(2);
  auto upload_results = as("olga")->Get(upload_search_path + "/results");
  const json upload_visits = json::parse(upload_results->body)["visits"];
  EXPECT_GE(upload_visits.size(), 4u) << upload_results->body;
  // The stored file that visits name, with the name the upload was given.
  const json named_uploads = json::parse(upload_results->body)["uploads"];
  ASSERT_EQ(named_uploads.size(), 1u) << upload_results->body;
  EXPECT_EQ(named_uploads[0]["name"], "cam3.mp4");
  EXPECT_EQ(named_uploads[0]["id"].dump(), upload_id);
  EXPECT_EQ(named_uploads[0]["file"], "uploads/upload-" + upload_id + ".bin");
  ASSERT_FALSE(upload_visits.empty());
  EXPECT_EQ(upload_visits[0]["source"], named_uploads[0]["file"]);
  const json upload_score = score(truth(), upload_results->body, dir_.path());
  EXPECT_EQ(upload_score["false_visits"], 0) << upload_score.dump(2);

  // Every documented search route answers, on this real search, with a status it documents.
  const json api = json::parse(as("alice")->Get("/openapi.json")->body);
  int routes = 0;
  for (const auto& [doc_path, methods] : api["paths"].items()) {
    if (doc_path.rfind("/api/searches/", 0) != 0 && doc_path.rfind("/api/uploads/", 0) != 0) continue;
    std::string concrete = doc_path;
    concrete.replace(concrete.find("{id}"), 4, doc_path.rfind("/api/uploads/", 0) == 0 ? upload_id : std::to_string(search["id"].get<int>()));
    if (auto at = concrete.find("{visit}"); at != std::string::npos) concrete.replace(at, 7, "1");
    for (const auto& [method, spec] : methods.items()) {
      auto reply = method == "get"   ? as("alice")->Get(concrete)
                   : method == "put" ? as("alice")->Put(concrete, "", "application/octet-stream")
                                     : as("alice")->Post(concrete, "", "application/json");
      ASSERT_TRUE(reply) << method << " " << concrete;
      EXPECT_TRUE(spec["responses"].contains(std::to_string(reply->status))) << method << " " << concrete << " answered " << reply->status;
      ++routes;
    }
  }
  EXPECT_EQ(routes, 8);
  // A running search is cancelled through the API: it stops between frames and is kept as
  // cancelled, with what it found so far.
  form.push_back({"mode", "rate:25", "", ""});
  auto slow = as("olga")->Post("/api/searches", form);
  ASSERT_EQ(slow->status, 201) << slow->body;
  const std::string slow_path = "/api/searches/" + std::to_string(json::parse(slow->body)["id"].get<int>());
  ASSERT_EQ(as("alice")->Post(slow_path + "/approve", "", "application/json")->status, 200);
  json running;
  for (int i = 0; i < 120; ++i) {
    running = json::parse(as("olga")->Get(slow_path)->body);
    if (running["status"] == "running" && running.contains("progress")) break;
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_EQ(running["status"], "running") << running.dump(2);
  EXPECT_GT(running["progress"]["pieces_total"].get<int>(), 0) << running.dump(2);
  auto cancel = as("olga")->Post(slow_path + "/cancel", "", "application/json");
  ASSERT_EQ(cancel->status, 202) << cancel->body;
  for (int i = 0; i < 120; ++i) {
    running = json::parse(as("olga")->Get(slow_path)->body);
    if (running["status"] != "running") break;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_EQ(running["status"], "cancelled") << running.dump(2);
  EXPECT_EQ(as("olga")->Get(slow_path + "/results")->status, 200);
  auto metrics = as("olga")->Get("/metrics");
  EXPECT_NE(metrics->body.find("glassbox_recorder_segments_total{camera=\"gate\"}"), std::string::npos);
  EXPECT_NE(metrics->body.find("glassbox_searches_finished_total 3"), std::string::npos);
  EXPECT_EQ(serve->stop(SIGTERM, 30), 0);
  for (const std::string action : {"search.request", "search.approve", "search.run", "search.finish"})
    EXPECT_EQ(query(db(), "SELECT count(*) FROM audit_records WHERE json_extract(record, '$.action') = '" + action + "'"), 3) << action;
  EXPECT_EQ(query(db(), "SELECT count(*) FROM audit_records WHERE json_extract(record, '$.action') = 'upload.finish'"), 1);
  EXPECT_EQ(query(db(), "SELECT count(*) FROM audit_records WHERE json_extract(record, '$.action') = 'search.cancel' AND "
                        "json_extract(record, '$.actor') = 'olga'"), 1);
}

}  // namespace
}  // namespace glassbox
