// The HTTP layer under attack (docs/security.md, "The HTTP layer"): each test runs a finding of
// the review (../shared/reviews/security-serve.md) against a real `glassbox serve` on loopback,
// as a client without an account unless the finding needs one, and checks that the attack gets a
// clear refusal, that memory and threads stay bounded (read from /proc) and that /health keeps
// answering within a second throughout.
#include <signal.h>

#include <atomic>
#include <functional>
#include <latch>
#include <thread>

#include <gtest/gtest.h>

#include "security/security_support.h"

namespace glassbox::sectest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Memory the service may add while it is attacked; its baseline holds the models.
constexpr long kRssCeilingKib = 160 * 1024;

class HttpLayerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);
    service_ = new Service();
    // Short deadlines, so the tests do not wait for the production ones; caps the tests reach.
    ASSERT_TRUE(service_->start(R"({"workers": 1, "http": {"header_timeout_s": 3, "max_connections_per_client": 64,
                                   "max_event_streams_per_user": 24, "event_keepalive_s": 1}})"))
        << service_->log();
  }
  static void TearDownTestSuite() {
    delete service_;
    service_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(service_->alive());
    // Warm: the first requests load what they load; the baseline is taken after.
    for (int i = 0; i < 3; ++i) request(port(), "GET", "/api/me", service_->bearer("olga"));
    baseline_rss_ = rss_kib(service_->pid());
    baseline_threads_ = thread_count(service_->pid());
  }
  void TearDown() override {
    EXPECT_TRUE(service_->alive()) << "the service died:\n" << service_->log();
    auto health = request(port(), "GET", "/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
  }
  static int port() { return service_->port(); }
  static int pid() { return service_->pid(); }
  long rss_growth_kib() const { return rss_kib(pid()) - baseline_rss_; }
  std::uint64_t refused(const std::string& reason) const {
    auto metrics = request(port(), "GET", "/metrics", service_->bearer("audrey"));
    if (!metrics) return 0;
    const std::string key = "glassbox_http_refused_total{reason=\"" + reason + "\"} ";
    const auto at = metrics->body.find(key);
    return at == std::string::npos ? 0 : std::stoull(metrics->body.substr(at + key.size()));
  }

  static Service* service_;
  long baseline_rss_ = 0;
  int baseline_threads_ = 0;
};
Service* HttpLayerTest::service_ = nullptr;

// C-01 (1): a chunked body is counted as it comes: past the login form's 4 KiB the answer is 413
// and the connection ends, however much more the client has to send.
TEST_F(HttpLayerTest, C01_AChunkedBodyStopsAtTheRouteLimit) {
  HealthProbe probe(port());
  long peak = 0;
  auto c = Connection::open(port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
  std::size_t sent = 0;
  for (int i = 0; i < 1024 && c->send(chunk); ++i) {  // up to 64 MiB
    sent += 0x10000;
    peak = std::max(peak, rss_growth_kib());
  }
  auto reply = c->read_reply(5);
  probe.stop();
  EXPECT_LT(sent, std::size_t{8} << 20) << "the server kept reading a body it had refused";
  if (reply) {
    EXPECT_EQ(reply->status, 413) << reply->body;
  }
  EXPECT_GE(refused("body_too_large"), 1u);
  EXPECT_LT(peak, kRssCeilingKib);
  EXPECT_LT(probe.slowest_s(), 1.0);
  EXPECT_EQ(probe.failed(), 0);

  // A body announced larger than the route takes is refused before a byte of it is read.
  auto announced = Connection::open(port());
  ASSERT_TRUE(announced->send(head("POST", "/api/login", {{"Content-Type", "application/json"}}, std::size_t{62} << 20)));
  auto early = announced->read_reply(5);
  ASSERT_TRUE(early) << "no answer before the body";
  EXPECT_EQ(early->status, 413);
  EXPECT_NE(early->body.find("4096 bytes"), std::string::npos) << early->body;
}

// C-01 (2): compressed request bodies are refused whole (no inflation on the server).
TEST_F(HttpLayerTest, C01_CompressedRequestBodiesAreRefused) {
  for (const char* encoding : {"gzip", "deflate", "br"}) {
    auto r = request(port(), "POST", "/api/login", {{"Content-Type", "application/json"}, {"Content-Encoding", encoding}},
                     std::string("\x1f\x8b\x08\x00", 4) + std::string(200, '\0'));
    ASSERT_TRUE(r) << encoding;
    EXPECT_EQ(r->status, 415) << encoding << ": " << r->body;
  }
  // An account changes nothing: the body is never inflated.
  auto r = request(port(), "PUT", "/api/uploads/1", {{"Authorization", "Bearer " + service_->token("olga")}, {"Content-Encoding", "gzip"},
                                                     {"Content-Type", "application/octet-stream"}, {"Upload-Offset", "0"}},
                   std::string(100, 'x'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  EXPECT_LT(rss_growth_kib(), kRssCeilingKib);
}

// C-01 (3): several ranges are refused; one is ignored (the whole document, once).
TEST_F(HttpLayerTest, C01_RangesCannotMultiplyAResponse) {
  auto whole = request(port(), "GET", "/openapi.json");
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->status, 200);
  std::string ranges = "bytes=0-";
  for (int i = 0; i < 2700; ++i) ranges += ",0-";
  auto many = request(port(), "GET", "/openapi.json", {{"Range", ranges}});
  ASSERT_TRUE(many);
  EXPECT_EQ(many->status, 416);
  EXPECT_LT(many->body.size(), 200u);
  auto one = request(port(), "GET", "/openapi.json", {{"Range", "bytes=0-10"}});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  EXPECT_EQ(one->body.size(), whole->body.size()) << "a single range is ignored: the whole, once";
  auto two_headers = request(port(), "GET", "/openapi.json", {{"Range", "bytes=0-1"}, {"Range", "bytes=2-3"}});
  ASSERT_TRUE(two_headers);
  EXPECT_EQ(two_headers->status, 416);
}

// C-01 (4): a header line that never ends is cut off at the head's limit (16 KiB).
TEST_F(HttpLayerTest, C01_AHeaderLineWithoutEndIsCutOff) {
  HealthProbe probe(port());
  auto c = Connection::open(port());
  ASSERT_TRUE(c->send("GET /health HTTP/1.1\r\nHost: x\r\nX-Long: "));
  const std::string block(0x10000, 'a');
  std::size_t sent = 0;
  long peak = 0;
  for (int i = 0; i < 1600 && c->send(block); ++i) {  // up to 100 MiB
    sent += block.size();
    peak = std::max(peak, rss_growth_kib());
  }
  probe.stop();
  EXPECT_LT(sent, std::size_t{8} << 20) << "the server kept reading an endless header";
  EXPECT_TRUE(c->closed_within(5));
  EXPECT_GE(refused("header_too_large"), 1u);
  EXPECT_LT(peak, kRssCeilingKib);
  EXPECT_LT(probe.slowest_s(), 1.0);
  // Too many fields, and a too long target, are refused the same way, with a status.
  Headers many;
  for (int i = 0; i < 70; ++i) many.emplace_back("X-F" + std::to_string(i), "1");
  auto fields = request(port(), "GET", "/health", many);
  ASSERT_TRUE(fields);
  EXPECT_EQ(fields->status, 431);
  auto target = request(port(), "GET", "/health?x=" + std::string(5000, 'a'));
  ASSERT_TRUE(target);
  EXPECT_EQ(target->status, 414);
}

// C-02 (slowloris): slow clients hold neither threads nor the service; each is cut off when its
// head has not arrived whole within the deadline (3 s here); past 64 connections per address
// the rest are turned away at once.
TEST_F(HttpLayerTest, C02_SlowClientsHoldNoThreadAndAreCutOff) {
  HealthProbe probe(port());
  const std::uint64_t timeouts_before = refused("header_timeout");
  const std::uint64_t turned_away_before = refused("client_connection_limit");
  std::vector<std::unique_ptr<Connection>> slow;
  for (int i = 0; i < 100; ++i) {
    auto c = Connection::open(port(), from("127.0.0.3"));
    if (c && c->send("GET /health HTTP/1.1\r\nHost: x\r\n")) slow.push_back(std::move(c));
  }
  int peak_threads = 0;
  const auto started = Clock::now();
  while (Clock::now() - started < 5s) {
    for (auto& c : slow) c->send("X-a: b\r\n");
    peak_threads = std::max(peak_threads, thread_count(pid()));
    std::this_thread::sleep_for(500ms);
  }
  int still_open = 0;
  for (auto& c : slow) still_open += c->closed_within(0.5) ? 0 : 1;
  probe.stop();
  EXPECT_EQ(still_open, 0) << "slow heads outlived the 3 s deadline";
  EXPECT_GE(refused("header_timeout") - timeouts_before, 60u);
  EXPECT_GE(refused("client_connection_limit") - turned_away_before, 30u) << "100 from one address, 64 allowed";
  EXPECT_LE(peak_threads, baseline_threads_ + 2) << "a thread per slow client";
  EXPECT_LT(probe.slowest_s(), 1.0);
  EXPECT_EQ(probe.failed(), 0);
  EXPECT_LT(rss_growth_kib(), kRssCeilingKib);
}

// C-02 (event streams): twenty live streams of one operator pin no worker: everyone else is
// served at once; past the cap per account the answer is 429.
TEST_F(HttpLayerTest, C02_EventStreamsPinNoWorker) {
  HealthProbe probe(port());
  std::vector<std::unique_ptr<Connection>> streams;
  for (int i = 0; i < 20; ++i) {
    auto c = Connection::open(port());
    ASSERT_TRUE(c->send(head("GET", "/api/events", service_->bearer("olga"), 0, false)));
    streams.push_back(std::move(c));
  }
  for (auto& c : streams) EXPECT_NE(c->read_some(5).find("200 OK"), std::string::npos);
  const auto started = Clock::now();
  auto me = request(port(), "GET", "/api/me", service_->bearer("alice"));
  const double me_s = std::chrono::duration<double>(Clock::now() - started).count();
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200);
  EXPECT_LT(me_s, 1.0) << "a request waited behind live streams";
  EXPECT_LE(thread_count(pid()), baseline_threads_ + 2) << "a thread per stream";
  // Keep-alive comments arrive on every stream.
  std::this_thread::sleep_for(1500ms);
  for (auto& c : streams) EXPECT_NE(c->read_some(3).find(": keep-alive"), std::string::npos);
  for (int i = 0; i < 4; ++i) {
    auto c = Connection::open(port());
    c->send(head("GET", "/api/events", service_->bearer("olga"), 0, false));
    EXPECT_NE(c->read_some(5).find("200 OK"), std::string::npos) << "stream " << 21 + i;
    streams.push_back(std::move(c));
  }
  auto over = request(port(), "GET", "/api/events", service_->bearer("olga"));
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 429) << "the 25th stream of one account";
  probe.stop();
  EXPECT_LT(probe.slowest_s(), 1.0);
  streams.clear();
}

// C-03: a login flood by clients without accounts (twelve addresses, names that exist nowhere)
// does not hold up anyone signed in: password checks run two at a time, without the lock every
// request's authentication takes.
TEST_F(HttpLayerTest, C03_ALoginFloodDoesNotStallSignedInWork) {
  std::atomic<bool> stop{false};
  std::atomic<int> logins{0}, busy{0}, throttled{0};
  std::vector<std::thread> flood;
  for (int i = 0; i < 12; ++i)
    flood.emplace_back([&, i] {
      const ClientOptions address = from("127.0.1." + std::to_string(10 + i));
      for (int n = 0; !stop; ++n) {
        auto r = request(port(), "POST", "/api/login", {{"Content-Type", "application/json"}},
                         R"({"name": "flood)" + std::to_string(i) + "-" + std::to_string(n) + R"(", "password": "not a password at all"})", address);
        if (!r) continue;
        ++logins;
        busy += r->status == 503;
        throttled += r->status == 429;
      }
    });
  std::this_thread::sleep_for(1s);
  double slowest = 0;
  for (int i = 0; i < 40; ++i) {
    const auto started = Clock::now();
    auto me = request(port(), "GET", "/api/me", service_->bearer("olga"));
    slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - started).count());
    EXPECT_TRUE(me && me->status == 200);
    std::this_thread::sleep_for(100ms);
  }
  stop = true;
  for (auto& t : flood) t.join();
  EXPECT_GT(logins.load(), 24) << "the flood ran";
  EXPECT_LT(slowest, 1.0) << "a signed-in request waited " << slowest << " s behind logins";
  EXPECT_LT(rss_growth_kib(), kRssCeilingKib) << "two Argon2id checks at a time, 64 MiB each";
}

// C-18: a large JSON document is refused by its length before it is read or parsed.
TEST_F(HttpLayerTest, C18_ALargeJsonBodyIsRefusedUnread) {
  std::vector<std::thread> senders;
  std::atomic<int> refused_413{0};
  long peak = 0;
  for (int i = 0; i < 8; ++i)
    senders.emplace_back([&] {
      auto c = Connection::open(port());
      if (!c) return;
      c->send(head("POST", "/api/login", {{"Content-Type", "application/json"}}, std::size_t{62} << 20) + "[" + std::string(1 << 20, '0'));
      auto r = c->read_reply(5);
      if (r && r->status == 413) ++refused_413;
    });
  for (int i = 0; i < 20; ++i) {
    peak = std::max(peak, rss_growth_kib());
    std::this_thread::sleep_for(50ms);
  }
  for (auto& t : senders) t.join();
  EXPECT_EQ(refused_413.load(), 8);
  EXPECT_LT(peak, 32 * 1024) << "a refused body was held in memory";
}

// C-22: every response, refusals included, carries no-store and the security headers.
TEST_F(HttpLayerTest, C22_EveryResponseCarriesTheSecurityHeaders) {
  std::vector<std::pair<std::string, std::optional<Reply>>> replies = {
      {"health", request(port(), "GET", "/health")},
      {"document", request(port(), "GET", "/openapi.json")},
      {"json", request(port(), "GET", "/api/me", service_->bearer("olga"))},
      {"401", request(port(), "GET", "/api/me")},
      {"403", request(port(), "GET", "/api/users", service_->bearer("olga"))},
      {"evidence 404", request(port(), "GET", "/api/alerts/9999/evidence", service_->bearer("olga"))},
      {"no route", request(port(), "GET", "/nowhere")},
      {"413", request(port(), "POST", "/api/login", {{"Content-Type", "application/json"}}, std::string(5000, ' '))}};
  for (const auto& [what, r] : replies) {
    ASSERT_TRUE(r) << what;
    EXPECT_EQ(r->header("Cache-Control"), "no-store") << what;
    EXPECT_EQ(r->header("X-Content-Type-Options"), "nosniff") << what;
    EXPECT_EQ(r->header("X-Frame-Options"), "DENY") << what;
    EXPECT_EQ(r->header("Referrer-Policy"), "no-referrer") << what;
    EXPECT_NE(r->header("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos) << what;
    EXPECT_EQ(r->header("Server"), "") << what;
    EXPECT_EQ(r->header("Strict-Transport-Security"), "") << what << ": not over plain loopback HTTP";
    EXPECT_EQ(r->header("Access-Control-Allow-Origin"), "") << what;
  }
}

// C-23: a login must be JSON (a cross-site form cannot send it without a preflight), and from
// this origin when the browser says where it comes from.
TEST_F(HttpLayerTest, C23_LoginNeedsJsonFromThisOrigin) {
  const std::string body = R"({"name": "olga", "password": ")" + password_of("olga") + R"(", "x": "="})";
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    auto r = request(port(), "POST", "/api/login", {{"Content-Type", type}}, body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 415) << type;
    EXPECT_EQ(r->header("Set-Cookie"), "") << type;
  }
  auto cross = request(port(), "POST", "/api/login", {{"Content-Type", "application/json"}, {"Origin", "http://evil.example"}}, body);
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
  EXPECT_EQ(cross->header("Set-Cookie"), "");
  auto own = request(port(), "POST", "/api/login", {{"Content-Type", "application/json"}, {"Origin", "http://127.0.0.1"}}, body);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200) << own->body;
}

// C-24: refusals say what was wrong, never how the server is built.
TEST_F(HttpLayerTest, C24_RefusalsGiveNoInternals) {
  auto typed = request(port(), "POST", "/api/alerts/1/dismiss", {{"Authorization", "Bearer " + service_->token("olga")}, {"Content-Type", "application/json"}},
                       R"({"reason": 5})");
  ASSERT_TRUE(typed);
  EXPECT_EQ(typed->status, 400) << typed->body;
  EXPECT_NE(typed->body.find("reason must be a string"), std::string::npos) << typed->body;
  auto bad_utf8 = request(port(), "POST", "/api/login", {{"Content-Type", "application/json"}}, "{\"name\":\"\xff");
  ASSERT_TRUE(bad_utf8);
  EXPECT_EQ(bad_utf8->status, 400);
  auto not_utf8 = request(port(), "POST", "/api/login", {{"Content-Type", "application/json"}}, "{\"name\":\"ol\xffga\",\"password\":\"x\"}");
  ASSERT_TRUE(not_utf8);
  EXPECT_EQ(not_utf8->status, 400);
  for (const auto& r : {typed, bad_utf8, not_utf8}) {
    for (const auto& [name, value] : r->headers) EXPECT_EQ(name.find("exception"), std::string::npos) << name;
    EXPECT_EQ(r->body.find("json.exception"), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find(service_->data_dir().string()), std::string::npos) << r->body;
  }
}

// S-02: long Range values of every shape are answered (416) and never take the process down.
TEST_F(HttpLayerTest, S02_LongRangeHeadersNeverCrashTheService) {
  for (const std::string pattern : {"0-0", "0-", " 0-0", "00000000000-"}) {
    std::string value = "bytes=" + pattern;
    while (value.size() + pattern.size() + 1 < 8100) value += "," + pattern;
    auto r = request(port(), "GET", "/health", {{"Range", value}});
    ASSERT_TRUE(r) << pattern;
    EXPECT_EQ(r->status, 416) << pattern;
    ASSERT_TRUE(service_->alive()) << "died on a Range of '" << pattern << "'";
  }
}

// S-03: framing that two parsers could read differently is refused, and what was smuggled
// behind it is never answered.
TEST_F(HttpLayerTest, S03_AmbiguousFramingIsRefused) {
  const std::string smuggled = "GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + service_->token("olga") + "\r\n\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Content-Length and Transfer-Encoding",
       "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"a coding before chunked", "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
      {"two Transfer-Encodings",
       "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"},
      {"a negative chunk size", "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nab\r\n0\r\n\r\n"},
      {"a signed chunk size", "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nab\r\n0\r\n\r\n"},
      {"garbage after a chunk", "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX\r\n0\r\n\r\n"},
      {"two Content-Lengths", "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}"},
      {"no Host", "GET /health HTTP/1.1\r\n\r\n"},
      {"two Hosts", "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"}};
  for (const auto& [what, bytes] : cases) {
    auto c = Connection::open(port());
    ASSERT_TRUE(c->send(bytes + smuggled)) << what;
    auto first = c->read_reply(5);
    ASSERT_TRUE(first) << what;
    EXPECT_EQ(first->status, 400) << what << ": " << first->body;
    auto second = c->read_reply(2);
    EXPECT_FALSE(second) << what << ": the request behind it was answered (" << (second ? second->status : 0) << ")";
  }
}

// C-02 (queue and connections): with one worker and a queue of one, a burst is answered at once
// with 503 and Retry-After rather than piling up; so is a burst of logins past their own pool
// (two threads, sixteen waiting); connections past the cap are turned away at once.
TEST(HttpLayerLimits, AFullQueueAndTooManyConnectionsAreAnsweredAtOnce) {
  ::signal(SIGPIPE, SIG_IGN);
  Service service;
  ASSERT_TRUE(service.start(R"({"workers": 1, "http": {"workers": 1, "queue": 1, "max_connections": 60, "max_connections_per_client": 1000}})"))
      << service.log();
  // Each burst's requests are all sent before any is answered.
  auto burst = [&](int n, const std::function<std::optional<Reply>(int)>& send) {
    std::vector<std::thread> threads;
    std::latch ready(n);
    std::atomic<int> busy{0}, answered{0};
    std::atomic<double> slowest{0};
    for (int i = 0; i < n; ++i)
      threads.emplace_back([&, i] {
        ready.arrive_and_wait();
        const auto started = Clock::now();
        auto r = send(i);
        const double s = std::chrono::duration<double>(Clock::now() - started).count();
        if (!r) return;
        ++answered;
        if (r->status == 503) {
          ++busy;
          EXPECT_EQ(r->header("Retry-After"), "1");
        }
        if (s > slowest) slowest = s;
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(answered.load(), n);
    EXPECT_LT(slowest.load(), 5.0);
    return busy.load();
  };
  const int listings = burst(30, [&](int i) {
    return request(service.port(), "GET", "/api/entries", service.bearer(i % 2 ? "olga" : "alice"), {}, from("127.0.2." + std::to_string(10 + i)));
  });
  EXPECT_GE(listings, 5) << "one worker, one place in its queue";
  const int logins = burst(40, [&](int i) {
    return request(service.port(), "POST", "/api/login", {{"Content-Type", "application/json"}},
                   R"({"name": "burst)" + std::to_string(i) + R"(", "password": "not a password at all"})", from("127.0.4." + std::to_string(10 + i)));
  });
  EXPECT_GE(logins, 10) << "two password checks at once, sixteen waiting";

  std::vector<std::unique_ptr<Connection>> held;
  int turned_away = 0;
  for (int i = 0; i < 80; ++i) {
    auto c = Connection::open(service.port());
    if (!c) continue;
    if (held.size() >= 65) {
      auto r = c->read_reply(2);
      turned_away += r && r->status == 503;
    }
    held.push_back(std::move(c));
  }
  EXPECT_GE(turned_away, 10) << "connections past max_connections";
  const int descriptors = open_descriptors(service.pid());
  held.clear();
  std::this_thread::sleep_for(500ms);
  auto health = request(service.port(), "GET", "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_LT(descriptors, 200) << "held connections are bounded by max_connections";
}

}  // namespace
}  // namespace glassbox::sectest
