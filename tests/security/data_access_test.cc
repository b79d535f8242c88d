// Who sees what, what the service accepts, and what it keeps (docs/security.md, "Need to know",
// "Untrusted media", "Text", "Disk"): the review's findings C-05, C-09, C-10, C-11, C-13 to
// C-17, C-19 to C-21, C-24, C-27, C-28, S-01 and S-04 run against a real `glassbox serve`, and
// where the defence is in a library (the demuxer whitelists, the audit log's verification),
// against that library directly.
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <zlib.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "enroll/enrollment.h"
#include "ingest/video_decoder.h"
#include "security/security_support.h"
#include "store/sqlite_database.h"

namespace glassbox::sectest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kClip = "video/talking_heads/WDA_KatieHill_000_h264.mp4";

Headers with(Headers h, const std::string& type) {
  h.emplace_back("Content-Type", type);
  return h;
}

// A PNG whose header says width x height, its pixels one compressed row after another: a few
// kilobytes that would decode into gigabytes.
std::string png_bomb(std::uint32_t width, std::uint32_t height) {
  auto be = [](std::uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
  auto chunk = [&](const std::string& type, const std::string& data) {
    const std::string body = type + data;
    return be(static_cast<std::uint32_t>(data.size())) + body + be(static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
  };
  std::string raw;
  for (std::uint32_t y = 0; y < 64; ++y) raw += std::string(1 + width, '\0');  // only the first rows: the header is what counts
  uLongf size = compressBound(raw.size());
  std::string packed(size, '\0');
  compress2(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 9);
  packed.resize(size);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", be(width) + be(height) + std::string("\x08\x00\x00\x00\x00", 5)) + chunk("IDAT", packed) +
         chunk("IEND", "");
}

class DataAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    still_ = still_of(kClip, service_.dir().path());
  }
  void TearDown() override {
    if (service_.pid() > 0) {
      EXPECT_TRUE(service_.alive()) << service_.log();
    }
  }
  bool start(const std::string& config = R"({"workers": 1, "watchlist_reload_s": 1})") { return service_.start(config); }
  // An uploaded recording, finished; its id.
  std::int64_t upload(const std::string& user, const std::string& bytes, int expect_finish = 200) {
    auto created = request(service_.port(), "POST", "/api/uploads", with(service_.bearer(user), "application/json"), R"({"name": "case.mp4"})");
    EXPECT_EQ(created->status, 201) << created->body;
    const std::int64_t id = json::parse(created->body)["id"];
    Headers put = with(service_.bearer(user), "application/octet-stream");
    put.emplace_back("Upload-Offset", "0");
    auto sent = request(service_.port(), "PUT", "/api/uploads/" + std::to_string(id), put, bytes);
    EXPECT_EQ(sent->status, 200) << sent->body;
    auto digest = sha256_bytes(std::vector<unsigned char>(bytes.begin(), bytes.end()));
    auto finished = request(service_.port(), "POST", "/api/uploads/" + std::to_string(id) + "/finish", with(service_.bearer(user), "application/json"),
                            json{{"sha256", *digest}}.dump());
    EXPECT_EQ(finished->status, expect_finish) << finished->body;
    return id;
  }
  // A search of uploads by `user` with the clip's still as probe; its id.
  std::optional<Reply> request_search(const std::string& user, const std::string& uploads, const std::string& expires = {}) {
    std::string body;
    std::vector<std::pair<std::string, std::string>> fields = {{"case_id", "C-1"}, {"legal_basis", "Order 3"}, {"uploads", uploads}};
    if (!expires.empty()) fields.emplace_back("expires", expires);
    const std::string type = multipart(fields, {{"probe", "p.png", file_bytes(still_)}}, body);
    return request(service_.port(), "POST", "/api/searches", with(service_.bearer(user), type), body);
  }
  json wait_for_search(std::int64_t id, const std::string& user) {
    json state;
    for (int i = 0; i < 600; ++i) {
      auto r = request(service_.port(), "GET", "/api/searches/" + std::to_string(id), service_.bearer(user));
      state = json::parse(r->body);
      if (state["status"] == "done" || state["status"] == "failed" || state["status"] == "cancelled") break;
      std::this_thread::sleep_for(100ms);
    }
    return state;
  }
  std::vector<std::string> actions(const std::string& prefix) const { return service_.audit_trail(prefix); }
  Service service_;
  std::string still_;
};

// C-05: a byte that is not UTF-8 (or a control character, or a bidirectional override) is
// refused, with the field named, at every route that takes text; the service stays up and its
// listings keep answering.
TEST_F(DataAccessTest, C05_InvalidTextIsRefusedAtEveryRoute) {
  ASSERT_TRUE(start());
  const std::string photo = file_bytes(still_);
  for (const std::string& bad : std::vector<std::string>{"Jos\xe9", "Bob\xe2\x80\xae", "a\x01" "b"}) {
    for (const char* field : {"subject", "legal_basis", "source"}) {
      std::vector<std::pair<std::string, std::string>> fields = {
          {"subject", "Person"}, {"legal_basis", "Order 1"}, {"source", "clip"}, {"expires", test::date_in_days(100)}};
      for (auto& f : fields)
        if (f.first == field) f.second = bad;
      std::string body;
      const std::string type = multipart(fields, {{"photo", "p.png", photo}}, body);
      auto r = request(service_.port(), "POST", "/api/entries", with(service_.bearer("olga"), type), body);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 400) << field << ": " << r->body;
      EXPECT_NE(r->body.find(field), std::string::npos) << r->body;
      EXPECT_TRUE(json::accept(r->body)) << "the refusal itself is valid JSON";
    }
    std::string body;
    const std::string type = multipart({{"case_id", bad}, {"legal_basis", "Order"}, {"cameras", "gate"}, {"from", "2026-01-01T00:00:00Z"},
                                        {"to", "2026-01-02T00:00:00Z"}},
                                       {{"probe", "p.png", photo}}, body);
    EXPECT_EQ(request(service_.port(), "POST", "/api/searches", with(service_.bearer("olga"), type), body)->status, 400);
    EXPECT_EQ(request(service_.port(), "POST", "/api/uploads", with(service_.bearer("olga"), "application/json"), "{\"name\": \"" + bad + "\"}")->status, 400);
    EXPECT_EQ(request(service_.port(), "POST", "/api/tokens", with(service_.bearer("olga"), "application/json"), "{\"label\": \"" + bad + "\"}")->status, 400);
    EXPECT_EQ(request(service_.port(), "POST", "/api/alerts/1/dismiss", with(service_.bearer("olga"), "application/json"), "{\"reason\": \"" + bad + "\"}")->status,
              400);
    EXPECT_EQ(request(service_.port(), "POST", "/api/cameras", with(service_.bearer("root"), "application/json"),
                      "{\"name\": \"" + bad + "\", \"url\": \"rtsp://192.0.2.1/x\"}")->status,
              400);
    EXPECT_EQ(request(service_.port(), "POST", "/api/users", with(service_.bearer("root"), "application/json"),
                      "{\"name\": \"" + bad + "\", \"roles\": [\"operator\"]}")->status,
              400);
  }
  for (const char* path : {"/api/entries", "/api/searches", "/api/alerts"}) {
    auto r = request(service_.port(), "GET", path, service_.bearer("alice"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(json::parse(r->body).size(), 0u) << path << ": something refused was stored";
  }
}

// C-05: bytes an older version let in (written here straight into the database) neither stop
// the listings nor the analysis thread when the entry alerts: they come out as U+FFFD.
TEST_F(DataAccessTest, C05_BytesAnOlderVersionStoredNeverStopTheService) {
  const auto enrolled = test::run_glassbox({"enroll", "--db", service_.db(), "--subject", "Jose", "--legal-basis", "Order 7", "--source", "clip",
                                            "--expires", test::date_in_days(100), "--submitted-by", "olga", still_});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;
  const std::string id = enrolled.out.substr(0, enrolled.out.find('\n'));
  ASSERT_EQ(test::run_glassbox({"approve", "--db", service_.db(), "--entry", id, "--approved-by", "alice"}).exit_code, 0);
  ASSERT_EQ(sql(service_.db(), "UPDATE watchlist_entries SET subject = CAST(x'4A6F73E9' AS TEXT), legal_basis = CAST(x'4F72646572FF37' AS TEXT)"),
            SQLITE_OK);
  ASSERT_TRUE(start(R"({"workers": 1, "watchlist_reload_s": 1, "cameras": [{"name": "lobby", "url": ")" + test::data(kClip).string() +
                    R"(", "loop": true}]})"));
  auto stream = Connection::open(service_.port());
  stream->send(head("GET", "/api/events", service_.bearer("olga"), 0, false));
  json alerts;
  for (int i = 0; i < 600 && alerts.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    auto r = request(service_.port(), "GET", "/api/alerts", service_.bearer("olga"));
    ASSERT_TRUE(r) << "the service stopped answering:\n" << service_.log();
    ASSERT_EQ(r->status, 200) << r->body;
    alerts = json::parse(r->body);
  }
  ASSERT_FALSE(alerts.empty()) << "no alert within 60 s";
  EXPECT_EQ(alerts[0]["subject"], "Jos\xef\xbf\xbd") << "the bad byte as U+FFFD";
  std::string events;
  for (int i = 0; i < 30 && events.find("event: alert") == std::string::npos; ++i) events += stream->read_some(1);
  EXPECT_NE(events.find("Jos\xef\xbf\xbd"), std::string::npos) << "the live event";
  auto entries = request(service_.port(), "GET", "/api/entries", service_.bearer("alice"));
  EXPECT_EQ(entries->status, 200);
  EXPECT_TRUE(json::accept(entries->body));
  std::this_thread::sleep_for(2s);  // more alerts, more events
  EXPECT_TRUE(service_.alive()) << "the analysis thread ended the process:\n" << service_.log();
  auto metrics = request(service_.port(), "GET", "/metrics", service_.bearer("olga"));
  EXPECT_NE(metrics->body.find("glassbox_alert_publish_failures_total 0"), std::string::npos);
}

// C-09, C-14, C-24, S-01: a case's uploads, results and crops are for the people on the case;
// nothing shows a server path; ids are never reused; a playlist is no recording.
TEST_F(DataAccessTest, C09_C14_S01_ACasesUploadsResultsAndCropsAreForThePeopleOnIt) {
  ASSERT_TRUE(start());
  const std::string clip = file_bytes(test::data(kClip));
  const std::int64_t oscars = upload("oscar", clip);
  // Olga may not search oscar's recording, by its id or any other.
  auto stolen = request_search("olga", std::to_string(oscars));
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->status, 400);
  EXPECT_NE(stolen->body.find("is not an upload of yours"), std::string::npos) << stolen->body;
  auto own = request_search("oscar", std::to_string(oscars));
  ASSERT_EQ(own->status, 201) << own->body;
  const std::int64_t search = json::parse(own->body)["id"];
  EXPECT_EQ(own->body.find(service_.data_dir().string()), std::string::npos) << "a server path: " << own->body;
  // Olga cannot cancel it; alice (a supervisor) approves it.
  const std::string path = "/api/searches/" + std::to_string(search);
  EXPECT_EQ(request(service_.port(), "POST", path + "/cancel", service_.bearer("olga"), "")->status, 403);
  ASSERT_EQ(request(service_.port(), "POST", path + "/approve", service_.bearer("alice"), "")->status, 200);
  const json done = wait_for_search(search, "oscar");
  ASSERT_EQ(done["status"], "done") << done.dump();
  auto results = request(service_.port(), "GET", path + "/results", service_.bearer("oscar"));
  ASSERT_EQ(results->status, 200) << results->body;
  const json visits = json::parse(results->body)["visits"];
  ASSERT_FALSE(visits.empty()) << results->body;
  EXPECT_EQ(results->body.find(service_.data_dir().string()), std::string::npos) << "a server path in the results";
  EXPECT_EQ(results->body.find(std::filesystem::absolute(service_.data_dir()).string()), std::string::npos);
  EXPECT_NE(results->body.find("uploads/upload-"), std::string::npos) << results->body;
  // Need to know: the requester, the approver and supervisors; not another operator, not the auditor.
  const std::string crop = path + "/visits/1/crop";
  for (const auto& [user, status] : std::vector<std::pair<std::string, int>>{{"oscar", 200}, {"alice", 200}, {"sam", 200}, {"olga", 403}, {"audrey", 403}}) {
    EXPECT_EQ(request(service_.port(), "GET", path + "/results", service_.bearer(user))->status, status) << user;
    EXPECT_EQ(request(service_.port(), "GET", crop, service_.bearer(user))->status, status) << user;
  }
  const auto views = actions("search.");
  for (const char* expected : {"search.results.view oscar", "search.results.view alice", "search.crop.view sam"})
    EXPECT_NE(std::find_if(views.begin(), views.end(), [&](const std::string& v) { return v.rfind(expected, 0) == 0; }), views.end()) << expected;

  // An HLS playlist that names other files and hosts is no recording: refused at finish, by its bytes.
  const std::string playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:60\n#EXTINF:60,\nfile://" + service_.db() + "\n#EXTINF:10,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n";
  upload("olga", playlist, 415);
  upload("olga", "ffconcat version 1.0\nfile '" + service_.db() + "'\n", 415);

  // Ids are never handed out again, even after the newest upload is purged.
  service_.stop();
  ASSERT_EQ(sql(service_.db(), "UPDATE searches SET status = 'done'"), SQLITE_OK);
  ASSERT_EQ(sql(service_.db(), "UPDATE uploads SET expires_at = 1"), SQLITE_OK);
  ASSERT_TRUE(start());
  std::this_thread::sleep_for(3s);  // the first maintenance round purges
  ASSERT_EQ(sql_text(service_.db(), "SELECT count(*) FROM uploads"), "0");
  auto next = request(service_.port(), "POST", "/api/uploads", with(service_.bearer("olga"), "application/json"), R"({"name": "n.mp4"})");
  ASSERT_EQ(next->status, 201);
  EXPECT_GT(json::parse(next->body)["id"].get<std::int64_t>(), oscars + 2) << "a purged upload's id was handed out again";
}

// C-10, S-04: uploads are bounded per upload, per user and by the free-space floor; finishing a
// large one (its hash) holds up no one.
TEST_F(DataAccessTest, C10_S04_UploadsAreBoundedAndFinishingOneHoldsUpNoOne) {
  ASSERT_TRUE(start(R"({"workers": 1, "upload_max_mb": 550, "upload_quota_mb": 600})"));
  auto created = request(service_.port(), "POST", "/api/uploads", with(service_.bearer("olga"), "application/json"), R"({"name": "big.mp4"})");
  const std::string path = "/api/uploads/" + std::to_string(json::parse(created->body)["id"].get<int>());
  // 512 MiB in eight chunks, beginning as an MP4 does.
  std::string chunk(std::size_t{64} << 20, 'v');
  std::memcpy(chunk.data(), "\0\0\0\x18" "ftypmp42", 12);
  std::string whole_digest;
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (int i = 0; i < 8; ++i) {
    Headers put = with(service_.bearer("olga"), "application/octet-stream");
    put.emplace_back("Upload-Offset", std::to_string(std::int64_t{i} << 26));
    auto r = request(service_.port(), "PUT", path, put, chunk, waiting(120));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(chunk.data()), chunk.size());
    if (i == 0) chunk[0] = 'v', chunk[4] = 'v';  // only the first chunk starts the file
  }
  unsigned char digest[32];
  crypto_hash_sha256_final(&state, digest);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  // Past the size an upload may have: 413.
  Headers over = with(service_.bearer("olga"), "application/octet-stream");
  over.emplace_back("Upload-Offset", std::to_string(std::int64_t{8} << 26));
  auto announced = Connection::open(service_.port());
  ASSERT_TRUE(announced->send(head("PUT", path, over, std::size_t{100} << 20)));
  auto too_big = announced->read_reply(10);
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413) << "over 64 MiB in one request";
  auto past_limit = request(service_.port(), "PUT", path, over, std::string(std::size_t{60} << 20, 'x'), waiting(60));
  EXPECT_EQ(past_limit->status, 413) << past_limit->body << ": over upload_max_mb";
  // While the 512 MiB file is hashed, others are served (the search list takes the lock the
  // hash used to hold).
  std::atomic<double> slowest{0};
  std::atomic<bool> done{false};
  std::thread others([&] {
    while (!done) {
      const auto started = Clock::now();
      auto r = request(service_.port(), "GET", "/api/searches", service_.bearer("alice"));
      const double s = std::chrono::duration<double>(Clock::now() - started).count();
      if (s > slowest) slowest = s;
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto started = Clock::now();
  auto finished = request(service_.port(), "POST", path + "/finish", with(service_.bearer("olga"), "application/json"), json{{"sha256", hex}}.dump(),
                          waiting(120));
  const double finish_s = std::chrono::duration<double>(Clock::now() - started).count();
  done = true;
  others.join();
  ASSERT_EQ(finished->status, 200) << finished->body;
  EXPECT_LT(slowest.load(), 1.0) << "a request waited " << slowest << " s while an upload of 512 MiB was hashed (" << finish_s << " s)";
  // The quota of one user: olga has 512 MiB, her quota is 700.
  auto second = request(service_.port(), "POST", "/api/uploads", with(service_.bearer("olga"), "application/json"), R"({"name": "more.mp4"})");
  Headers put = with(service_.bearer("olga"), "application/octet-stream");
  put.emplace_back("Upload-Offset", "0");
  const std::string second_path = "/api/uploads/" + std::to_string(json::parse(second->body)["id"].get<int>());
  EXPECT_EQ(request(service_.port(), "PUT", second_path, put, std::string(std::size_t{60} << 20, 'x'), waiting(60))->status, 200)
      << "512 + 60 MiB: within the 600 of her quota";
  put.back().second = std::to_string(std::int64_t{60} << 20);
  auto quota = request(service_.port(), "PUT", second_path, put, std::string(std::size_t{60} << 20, 'x'), waiting(60));
  EXPECT_EQ(quota->status, 413) << quota->body;
  EXPECT_NE(quota->body.find("quota"), std::string::npos);
  EXPECT_EQ(request(service_.port(), "POST", "/api/uploads", with(service_.bearer("oscar"), "application/json"), R"({"name": "x.mp4"})")->status, 201)
      << "the quota is per user";
  // Below the free-space floor no upload starts.
  service_.stop();
  ASSERT_TRUE(start(R"({"workers": 1, "min_free_disk_mb": 1073741823})"));
  auto floor = request(service_.port(), "POST", "/api/uploads", with(service_.bearer("olga"), "application/json"), R"({"name": "y.mp4"})");
  EXPECT_EQ(floor->status, 507);
  auto metrics = request(service_.port(), "GET", "/metrics", service_.bearer("olga"));
  EXPECT_NE(metrics->body.find("glassbox_disk_below_floor 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("glassbox_disk_free_bytes "), std::string::npos);
}

// C-11: credentials in camera URLs and webhook paths are shown to no one: not in listings, not in
// last_error, not in the audit log or its exports, not in /metrics.
TEST_F(DataAccessTest, C11_SecretsInUrlsAreRedactedWhereverTheyAreShown) {
  ASSERT_TRUE(start(R"({"workers": 1, "webhooks": [{"url": "https://hooks.example/T0/B1/SecretHookPath", "max_attempts": 1}]})"));
  auto made = request(service_.port(), "POST", "/api/cameras", with(service_.bearer("root"), "application/json"),
                      R"({"name": "gate", "url": "rtsp://admin:S3cretPass@192.0.2.7:554/stream?user=admin&password=S3cretQuery", "stall_timeout_s": 1})");
  ASSERT_EQ(made->status, 201) << made->body;
  EXPECT_EQ(made->body.find("S3cret"), std::string::npos) << made->body;
  std::this_thread::sleep_for(3s);  // it tries to connect and fails: last_error
  for (const std::string user : {"olga", "root", "alice"}) {
    auto r = request(service_.port(), "GET", "/api/cameras", service_.bearer(user));
    EXPECT_EQ(r->body.find("S3cret"), std::string::npos) << user << ": " << r->body;
    EXPECT_NE(r->body.find("rtsp://***@192.0.2.7:554/stream?***"), std::string::npos) << r->body;
  }
  auto metrics = request(service_.port(), "GET", "/metrics", service_.bearer("olga"));
  EXPECT_EQ(metrics->body.find("SecretHookPath"), std::string::npos);
  EXPECT_EQ(metrics->body.find("S3cret"), std::string::npos);
  auto exported = request(service_.port(), "GET", "/api/audit/export", service_.bearer("audrey"));
  ASSERT_EQ(exported->status, 200);
  EXPECT_EQ(exported->body.find("S3cret"), std::string::npos) << "a camera password in the signed log";
  EXPECT_EQ(exported->body.find("SecretHookPath"), std::string::npos) << "a webhook's secret path in the signed log";
  EXPECT_EQ(service_.log().find("S3cret"), std::string::npos) << "in the service's log";
}

// C-13: reads of biometric data are on the record, and refused when they cannot be; refused
// requests are logged and counted.
TEST_F(DataAccessTest, C13_ReadsAndDenialsAreOnTheRecord) {
  const auto enrolled = test::run_glassbox({"enroll", "--db", service_.db(), "--subject", "Person K", "--legal-basis", "Order 7", "--source", "clip",
                                            "--expires", test::date_in_days(100), "--submitted-by", "olga", still_});
  ASSERT_EQ(enrolled.exit_code, 0);
  const std::string entry = enrolled.out.substr(0, enrolled.out.find('\n'));
  ASSERT_EQ(test::run_glassbox({"approve", "--db", service_.db(), "--entry", entry, "--approved-by", "alice"}).exit_code, 0);
  const auto access_log = service_.dir() / "access.log";
  ASSERT_TRUE(start(R"({"workers": 1, "access_log": ")" + access_log.string() + R"(", "cameras": [{"name": "lobby", "url": ")" +
                    test::data(kClip).string() + R"(", "loop": true}]})"));
  json alerts;
  for (int i = 0; i < 600 && alerts.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    alerts = json::parse(request(service_.port(), "GET", "/api/alerts", service_.bearer("olga"))->body);
  }
  ASSERT_FALSE(alerts.empty());
  const std::string alert = std::to_string(alerts[0]["id"].get<int>());
  EXPECT_EQ(request(service_.port(), "GET", "/api/alerts/" + alert + "/evidence", service_.bearer("olga"))->status, 200);
  EXPECT_EQ(request(service_.port(), "GET", "/api/entries/" + entry, service_.bearer("alice"))->status, 200);
  EXPECT_EQ(request(service_.port(), "GET", "/api/entries", service_.bearer("olga"))->status, 200);
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", {{"Authorization", "Bearer gbx_not_a_token"}})->status, 401);
  EXPECT_EQ(request(service_.port(), "GET", "/api/users", service_.bearer("olga"))->status, 403);
  const auto reads = actions("");
  for (const std::string& expected : std::vector<std::string>{"evidence.view olga alert/" + alert, "entry.view alice entry/" + entry, "entry.list olga entries"})
    EXPECT_NE(std::find(reads.begin(), reads.end(), expected), reads.end()) << expected;
  auto metrics = request(service_.port(), "GET", "/metrics", service_.bearer("olga"));
  EXPECT_NE(metrics->body.find("glassbox_http_denied_total{status=\"401\"}"), std::string::npos);
  EXPECT_NE(metrics->body.find("glassbox_http_denied_total{status=\"403\"}"), std::string::npos);
  const std::string log = service_.log();
  EXPECT_NE(log.find("\"GET /api/me\" 401"), std::string::npos) << log;
  EXPECT_NE(log.find("\"GET /api/users\" 403"), std::string::npos);
  EXPECT_NE(log.find("user=olga"), std::string::npos);
  EXPECT_EQ(log.find("gbx_not_a_token"), std::string::npos) << "a token in the log";
  // The access log: every request, one line each, who asked and with which credential, never a secret.
  const std::string access = test::read_file(access_log);
  EXPECT_NE(access.find("\"GET /api/alerts/" + alert + "/evidence\" 200"), std::string::npos) << access;
  EXPECT_NE(access.find("user=olga credential=token:"), std::string::npos);
  EXPECT_NE(access.find("\"GET /api/me\" 401"), std::string::npos);
  for (const std::string name : {"olga", "alice"})
    EXPECT_EQ(access.find(service_.token(name)), std::string::npos) << name << "'s token in the access log";
  // When the record cannot be written, the evidence is not shown: the audit table made
  // read-only by a trigger stands in for a write that fails.
  ASSERT_EQ(sql(service_.db(), "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'test: no writes'); END"), SQLITE_OK);
  auto refused = request(service_.port(), "GET", "/api/alerts/" + alert + "/evidence", service_.bearer("olga"));
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_NE(refused->header("Content-Type"), "image/jpeg");
  ASSERT_EQ(sql(service_.db(), "DROP TRIGGER refuse_audit"), SQLITE_OK);
}

// C-15: photos are checked from their header before anything is decoded: a small file claiming
// a billion pixels, too many photos, or another format, are refused at once, and a revocation is
// never held up by photo work.
TEST_F(DataAccessTest, C15_PhotosAreCheckedBeforeTheyAreDecoded) {
  ASSERT_TRUE(start());
  const long rss_before = rss_kib(service_.pid());
  const std::string bomb = png_bomb(30000, 30000);
  ASSERT_LT(bomb.size(), std::size_t{2} << 20);
  std::vector<std::tuple<std::string, std::string, std::string>> bombs;
  for (int i = 0; i < 8; ++i) bombs.emplace_back("photo", "bomb" + std::to_string(i) + ".png", bomb);
  std::string body;
  const std::string type = multipart({{"subject", "X"}, {"legal_basis", "t"}, {"source", "t"}, {"expires", test::date_in_days(100)}}, bombs, body);
  const auto started = Clock::now();
  auto r = request(service_.port(), "POST", "/api/entries", with(service_.bearer("olga"), type), body);
  const double took = std::chrono::duration<double>(Clock::now() - started).count();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("30000 x 30000 pixels"), std::string::npos) << r->body;
  EXPECT_LT(took, 3.0);
  EXPECT_LT(rss_kib(service_.pid()) - rss_before, 160 * 1024);
  std::vector<std::tuple<std::string, std::string, std::string>> eleven;
  for (int i = 0; i < 11; ++i) eleven.emplace_back("photo", "p.png", file_bytes(still_));
  const std::string type11 = multipart({{"subject", "X"}, {"legal_basis", "t"}, {"source", "t"}, {"expires", test::date_in_days(100)}}, eleven, body);
  auto many = request(service_.port(), "POST", "/api/entries", with(service_.bearer("olga"), type11), body);
  EXPECT_EQ(many->status, 400);
  EXPECT_NE(many->body.find("at most 10 photos"), std::string::npos) << many->body;
  const std::string gif = "GIF89a" + std::string(100, '\0');
  const std::string type_gif = multipart({{"subject", "X"}, {"legal_basis", "t"}, {"source", "t"}, {"expires", test::date_in_days(100)}},
                                         {{"photo", "p.gif", gif}}, body);
  auto other = request(service_.port(), "POST", "/api/entries", with(service_.bearer("olga"), type_gif), body);
  EXPECT_EQ(other->status, 400);
  EXPECT_NE(other->body.find("not a JPEG or PNG"), std::string::npos) << other->body;
  // An entry to revoke, and photo work running while it is revoked.
  std::string good;
  const std::string good_type = multipart({{"subject", "Y"}, {"legal_basis", "t"}, {"source", "t"}, {"expires", test::date_in_days(100)}},
                                          {{"photo", "p.png", file_bytes(still_)}}, good);
  auto entry = request(service_.port(), "POST", "/api/entries", with(service_.bearer("olga"), good_type), good);
  ASSERT_EQ(entry->status, 201) << entry->body;
  const std::string id = std::to_string(json::parse(entry->body)["id"].get<int>());
  std::atomic<bool> stop{false};
  std::thread photos([&] {
    std::vector<std::tuple<std::string, std::string, std::string>> ten(10, {"photo", "p.png", file_bytes(still_)});
    std::string b;
    const std::string t = multipart({{"subject", "Z"}, {"legal_basis", "t"}, {"source", "t"}, {"expires", test::date_in_days(100)}}, ten, b);
    while (!stop) request(service_.port(), "POST", "/api/entries", with(service_.bearer("oscar"), t), b);
  });
  std::this_thread::sleep_for(300ms);
  const auto revoke_started = Clock::now();
  auto revoked = request(service_.port(), "POST", "/api/entries/" + id + "/revoke", with(service_.bearer("alice"), "application/json"),
                         R"({"reason": "withdrawn"})");
  const double revoke_s = std::chrono::duration<double>(Clock::now() - revoke_started).count();
  stop = true;
  photos.join();
  EXPECT_EQ(revoked->status, 200) << revoked->body;
  EXPECT_LT(revoke_s, 1.0) << "a revocation waited behind photo work";
}

// C-16, C-19: cameras made through the API reach only cameras: no local file, no scheme beyond
// rtsp and http(s), no host in a blocked network, no name that leaves the recordings folder.
TEST_F(DataAccessTest, C16_C19_CamerasReachOnlyWhatTheyShould) {
  ASSERT_TRUE(start());
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"metadata", R"({"name": "p1", "url": "http://169.254.169.254/latest/meta-data/"})"},
      {"loopback port", R"({"name": "p2", "url": "tcp://127.0.0.1:22"})"},
      {"loopback http", R"({"name": "p2", "url": "http://127.0.0.1:8080/"})"},
      {"a local file", R"({"name": "p3", "url": "/root/.ssh/id_rsa"})"},
      {"concat", R"({"name": "p4", "url": "concat:/etc/hostname|/etc/hostname", "record": true})"},
      {"ftp", R"({"name": "p5", "url": "ftp://192.0.2.1/x"})"},
      {"a name that climbs", R"({"name": "..", "url": "rtsp://192.0.2.1/x", "record": true})"},
      {"a hidden name", R"({"name": ".cams", "url": "rtsp://192.0.2.1/x"})"},
      {"a localhost name", R"({"name": "p6", "url": "rtsp://localhost/x"})"},
      {"IPv6 loopback", R"({"name": "p7", "url": "rtsp://[::1]/x"})"}};
  for (const auto& [what, body] : refused) {
    auto r = request(service_.port(), "POST", "/api/cameras", with(service_.bearer("root"), "application/json"), body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << what << ": " << r->body;
  }
  EXPECT_EQ(json::parse(request(service_.port(), "GET", "/api/cameras", service_.bearer("root"))->body).size(), 0u);
  auto allowed = request(service_.port(), "POST", "/api/cameras", with(service_.bearer("root"), "application/json"),
                         R"({"name": "gate", "url": "rtsp://192.0.2.1/x", "stall_timeout_s": 1})");
  EXPECT_EQ(allowed->status, 201) << allowed->body;

  // Below the API, every input is opened with a protocol whitelist, and recordings with a
  // format whitelist too: concat:, subfile:, a playlist naming files.
  test::TempDir scratch;
  std::ofstream(scratch / "list.m3u8") << "#EXTM3U\n#EXT-X-TARGETDURATION:8\n#EXTINF:8,\n" << test::data(kClip).string() << "\n#EXT-X-ENDLIST\n";
  DecoderOptions untrusted;
  untrusted.untrusted_file = true;
  untrusted.open_timeout_s = 10;
  auto playlist = VideoDecoder::open((scratch / "list.m3u8").string(), untrusted);
  EXPECT_FALSE(playlist) << "a playlist opened as a recording";
  EXPECT_TRUE(VideoDecoder::open(test::data(kClip).string(), untrusted)) << "a real recording still opens";
  EXPECT_FALSE(VideoDecoder::open("concat:" + test::data(kClip).string() + "|" + test::data(kClip).string(), {}));
  EXPECT_FALSE(VideoDecoder::open("subfile,,start,0,end,0,,:" + test::data(kClip).string(), {}));
}

// C-17: the data folder and everything the service writes in it are its account's alone.
TEST_F(DataAccessTest, C17_TheDataFolderIsTheServicesAlone) {
  ASSERT_TRUE(start(R"({"workers": 1, "record_segment_s": 2, "cameras": [{"name": "lobby", "url": ")" + test::data(kClip).string() +
                    R"(", "loop": true, "record": true}]})"));
  upload("olga", file_bytes(test::data(kClip)));
  std::this_thread::sleep_for(5s);  // segments
  struct stat folder {};
  ASSERT_EQ(::stat(service_.data_dir().c_str(), &folder), 0);
  EXPECT_EQ(folder.st_mode & 0777, 0700u);
  int files = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(service_.data_dir())) {
    struct stat s {};
    ASSERT_EQ(::stat(f.path().c_str(), &s), 0);
    const unsigned expected = S_ISDIR(s.st_mode) ? 0700u : 0600u;
    EXPECT_EQ(s.st_mode & 0077, 0u) << f.path() << " is " << std::oct << (s.st_mode & 0777) << ", expected " << expected;
    ++files;
  }
  EXPECT_GE(files, 6) << "database, its WAL, keys, an upload, recordings";
  // A folder made by an earlier version with the usual umask is tightened at start.
  service_.stop();
  std::filesystem::permissions(service_.data_dir(), std::filesystem::perms::all);
  std::filesystem::permissions(service_.db(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                                  std::filesystem::perms::group_read | std::filesystem::perms::others_read);
  ASSERT_TRUE(start());
  ASSERT_EQ(::stat(service_.data_dir().c_str(), &folder), 0);
  EXPECT_EQ(folder.st_mode & 0777, 0700u);
  struct stat db {};
  ::stat(service_.db().c_str(), &db);
  EXPECT_EQ(db.st_mode & 0077, 0u);
}

// C-20: nothing may be kept longer than the deployment allows.
TEST_F(DataAccessTest, C20_RetentionIsBounded) {
  ASSERT_TRUE(start(R"({"workers": 1, "entry_max_days": 366, "search_max_days": 180})"));
  std::string body;
  const std::string type = multipart({{"subject", "X"}, {"legal_basis", "t"}, {"source", "t"}, {"expires", "9999-12-31"}},
                                     {{"photo", "p.png", file_bytes(still_)}}, body);
  auto entry = request(service_.port(), "POST", "/api/entries", with(service_.bearer("olga"), type), body);
  EXPECT_EQ(entry->status, 400);
  EXPECT_NE(entry->body.find("entry_max_days"), std::string::npos) << entry->body;
  const std::int64_t up = upload("olga", file_bytes(test::data(kClip)));
  auto search = request_search("olga", std::to_string(up), "9999-12-31");
  EXPECT_EQ(search->status, 400);
  EXPECT_NE(search->body.find("search_max_days"), std::string::npos) << search->body;
  EXPECT_EQ(request_search("olga", std::to_string(up), test::date_in_days(100))->status, 201);
}

// C-21: a purge records only what it deleted; a file that cannot be deleted stays indexed,
// counted, and is tried again.
TEST_F(DataAccessTest, C21_APurgeRecordsOnlyWhatItDeleted) {
  ASSERT_TRUE(start());
  const std::int64_t id = upload("olga", file_bytes(test::data(kClip)));
  service_.stop();
  const std::string file = sql_text(service_.db(), "SELECT path FROM uploads WHERE id = " + std::to_string(id));
  ASSERT_FALSE(file.empty());
  // In place of the file, a folder that is not empty: no one, root included, can remove() it.
  std::filesystem::remove(file);
  std::filesystem::create_directories(file + "/keep");
  ASSERT_EQ(sql(service_.db(), "UPDATE uploads SET expires_at = 1"), SQLITE_OK);
  ASSERT_TRUE(start());
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(sql_text(service_.db(), "SELECT count(*) FROM uploads"), "1") << "recorded as purged while the file stays";
  EXPECT_TRUE(actions("upload.purge").empty());
  auto metrics = request(service_.port(), "GET", "/metrics", service_.bearer("olga"));
  EXPECT_EQ(metrics->body.find("glassbox_purge_failures_total 0"), std::string::npos) << "the failure is counted";
  service_.stop();
  std::filesystem::remove_all(file);
  ASSERT_TRUE(start());
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(sql_text(service_.db(), "SELECT count(*) FROM uploads"), "0") << "tried again";
  EXPECT_EQ(actions("upload.purge").size(), 1u);
}

// C-27: whoever holds the service's files can rewrite the log and sign it again, and such an
// export verifies on its own; a checkpoint an auditor kept from before catches it.
TEST(AuditKey, C27_AKeptCheckpointCatchesARewrittenLog) {
  test::TempDir dir;
  const std::string db = (dir / "g.db").string();
  {
    auto d = SqliteDatabase::open(db, OpenMode::kReadWriteCreate);
    ASSERT_TRUE(d);
    for (const auto& [actor, action] : std::vector<std::pair<std::string, std::string>>{{"olga", "entry.enrol"}, {"alice", "entry.approve"}, {"olga", "evidence.view"}})
      ASSERT_TRUE((*d)->transaction([&] { return audit::append(**d, {actor, action, "entry/1", json::object()}, 1800000000); }));
  }
  const auto kept = dir / "kept.json";
  ASSERT_EQ(test::run_glassbox({"audit", "checkpoint", "--db", db, "--out", kept.string()}).exit_code, 0);
  // The forger rebuilds the history with the same key: the approval now by someone else.
  const std::string forged = (dir / "forged.db").string();
  std::filesystem::copy_file(db + ".audit-key", forged + ".audit-key");
  std::filesystem::copy_file(db + ".audit-pub", forged + ".audit-pub");
  {
    auto d = SqliteDatabase::open(forged, OpenMode::kReadWriteCreate);
    ASSERT_TRUE(d);
    for (const auto& [actor, action] : std::vector<std::pair<std::string, std::string>>{{"olga", "entry.enrol"}, {"sam", "entry.approve"}, {"olga", "evidence.view"}})
      ASSERT_TRUE((*d)->transaction([&] { return audit::append(**d, {actor, action, "entry/1", json::object()}, 1800000000); }));
  }
  const auto exported = dir / "forged.jsonl";
  ASSERT_EQ(test::run_glassbox({"audit", "export", "--db", forged, "--out", exported.string(), "--by", "forger"}).exit_code, 0);
  EXPECT_EQ(test::run_glassbox({"audit", "verify", "--public-key", db + ".audit-pub", exported.string()}).exit_code, 0)
      << "alone, a re-signed log verifies: the documented limit";
  EXPECT_NE(test::run_glassbox({"audit", "verify", "--public-key", db + ".audit-pub", "--checkpoint", kept.string(), exported.string()}).exit_code, 0)
      << "the kept checkpoint catches the rewrite";
}

// C-28: alerts do not leave in clear unless someone decided so in writing.
TEST(OutgoingTransport, C28_PlainWebhooksAndMqttCredentialsInClearAreRefused) {
  test::TempDir dir;
  auto config = [&](const std::string& text) {
    std::ofstream(dir / "c.json") << text;
    return test::run_glassbox({"serve", "--data-dir", (dir / "d").string(), "--listen", "127.0.0.1:0", "--config", (dir / "c.json").string()}, 60);
  };
  auto plain = config(R"({"webhooks": [{"url": "http://alerts.example/hook"}]})");
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_NE(plain.err.find("webhooks[0].url"), std::string::npos) << plain.err;
  EXPECT_NE(plain.err.find("insecure"), std::string::npos) << plain.err;
  auto mqtt = config(R"({"mqtt": {"host": "broker.example", "username": "u", "password": "p"}})");
  EXPECT_NE(mqtt.exit_code, 0);
  EXPECT_NE(mqtt.err.find("mqtt.tls"), std::string::npos) << mqtt.err;
  auto mqtt_ca = config(R"({"mqtt": {"host": "broker.example", "ca_file": "/etc/hostname"}})");
  EXPECT_NE(mqtt_ca.err.find("mqtt.ca_file"), std::string::npos) << mqtt_ca.err;
}

}  // namespace
}  // namespace glassbox::sectest
