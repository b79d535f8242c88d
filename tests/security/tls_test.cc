// TLS (docs/security.md, "TLS"; the review's C-06): `serve` speaks HTTPS itself (TLS 1.2+ only,
// HSTS, Secure __Host- cookies), refuses to listen beyond loopback in plain HTTP unless a proxy
// adds TLS, and deploy/nginx/glassbox.conf — started here in front of serve with Debian's nginx —
// carries part of the security suite through it: bodies, encodings, ranges, framing, slow heads,
// live events, and the client's own address for throttling.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "security/security_support.h"

namespace glassbox::sectest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A CA and a server certificate it signed for 127.0.0.1 and localhost.
struct Certificates {
  std::filesystem::path ca, cert, key;
};

Certificates make_certificates(const std::filesystem::path& dir) {
  Certificates c{dir / "ca.pem", dir / "server.pem", dir / "server.key"};
  const std::string d = dir.string();
  const std::string script =
      "cd " + d + " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem 2>/dev/null && "
      "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr 2>/dev/null && "
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null && "
      "chmod 600 server.key";
  EXPECT_EQ(std::system(script.c_str()), 0);
  return c;
}

std::optional<Reply> https(int port, const std::string& ca, const std::string& method, const std::string& path, const Headers& headers = {},
                           const std::string& body = {}, const std::string& source_ip = {}) {
  return request(port, method, path, headers, body, tls_with(ca, source_ip));
}

TEST(Tls, C06_ServeSpeaksTls12OrLaterWithHstsAndSecureCookies) {
  ::signal(SIGPIPE, SIG_IGN);
  Service service;
  const auto certs = make_certificates(service.dir().path());
  ASSERT_TRUE(service.start(R"({"workers": 1, "tls_cert_file": ")" + certs.cert.string() + R"(", "tls_key_file": ")" + certs.key.string() + R"("})"))
      << service.log();
  EXPECT_NE(test::read_file(service.dir() / "serve.out").find("listening on https://"), std::string::npos);
  auto c = Connection::open(service.port(), tls_with(certs.ca.string()));
  ASSERT_TRUE(c) << "a TLS connection verified against the CA";
  EXPECT_TRUE(c->tls_version() == "TLSv1.3" || c->tls_version() == "TLSv1.2") << c->tls_version();
  auto health = https(service.port(), certs.ca.string(), "GET", "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_NE(health->header("Strict-Transport-Security").find("max-age="), std::string::npos);
  auto login = https(service.port(), certs.ca.string(), "POST", "/api/login", {{"Content-Type", "application/json"}},
                     json{{"name", "olga"}, {"password", password_of("olga")}}.dump());
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200) << login->body;
  const std::string cookie = login->header("Set-Cookie");
  EXPECT_EQ(cookie.rfind("__Host-glassbox_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; Secure"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("Path=/"), std::string::npos);
  EXPECT_EQ(cookie.find("Domain"), std::string::npos);
  EXPECT_EQ(https(service.port(), certs.ca.string(), "GET", "/api/me", {{"Cookie", cookie.substr(0, cookie.find(';'))}})->status, 200);
  // Older protocols are refused; plain HTTP gets no answer on the TLS port.
  const std::string old_tls = "openssl s_client -connect 127.0.0.1:" + std::to_string(service.port()) +
                              " -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >/dev/null 2>&1";
  EXPECT_NE(std::system(old_tls.c_str()), 0) << "TLS 1.1 was accepted";
  const std::string tls12 = "openssl s_client -connect 127.0.0.1:" + std::to_string(service.port()) + " -tls1_2 </dev/null >/dev/null 2>&1";
  EXPECT_EQ(std::system(tls12.c_str()), 0) << "TLS 1.2 was refused";
  EXPECT_FALSE(request(service.port(), "GET", "/health", {}, {}, waiting(3))) << "plain HTTP answered on the TLS port";
  EXPECT_TRUE(service.alive());
  service.stop();

  // A private key that others may read is refused.
  std::filesystem::permissions(certs.key, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  EXPECT_FALSE(service.start(R"({"tls_cert_file": ")" + certs.cert.string() + R"(", "tls_key_file": ")" + certs.key.string() + R"("})"));
  EXPECT_NE(service.log().find("other users may read"), std::string::npos) << service.log();
}

TEST(Tls, C06_PlainHttpBeyondLoopbackNeedsAProxyThatAddsTls) {
  Service service;
  EXPECT_FALSE(service.start("{}", {}, "0.0.0.0"));
  EXPECT_NE(service.log().find("needs TLS"), std::string::npos) << service.log();
  ASSERT_TRUE(service.start("{}", {"--behind-tls-proxy"}, "0.0.0.0")) << service.log();
  auto login = request(service.port(), "POST", "/api/login", {{"Content-Type", "application/json"}}, json{{"name", "olga"}, {"password", password_of("olga")}}.dump());
  ASSERT_TRUE(login);
  EXPECT_NE(login->header("Set-Cookie").find("; Secure"), std::string::npos) << "behind a TLS proxy the cookie is Secure";
  EXPECT_FALSE(login->header("Strict-Transport-Security").empty());
}

// The shipped nginx configuration in front of serve.
class NginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    if (std::system("command -v nginx >/dev/null 2>&1") != 0) GTEST_SKIP() << "nginx is not installed (scripts/install-deps.sh installs it)";
    certs_ = make_certificates(service_.dir().path());
    ASSERT_TRUE(service_.start(R"({"workers": 1, "http": {"event_keepalive_s": 1}})", {"--behind-tls-proxy"})) << service_.log();
    https_port_ = test::free_port();
    const int http_port = test::free_port();
    // The shipped file, with this test's ports, certificates and upstream.
    std::string site = test::read_file(std::filesystem::path(GLASSBOX_SOURCE_DIR) / "deploy/nginx/glassbox.conf");
    ASSERT_FALSE(site.empty());
    auto replace = [&](const std::string& from, const std::string& to) {
      const auto at = site.find(from);
      ASSERT_NE(at, std::string::npos) << from;
      site.replace(at, from.size(), to);
    };
    replace("server 127.0.0.1:8080;", "server 127.0.0.1:" + std::to_string(service_.port()) + ";");
    replace("listen 80;", "listen 127.0.0.1:" + std::to_string(http_port) + ";");
    replace("listen [::]:80;", "");
    replace("listen 443 ssl;", "listen 127.0.0.1:" + std::to_string(https_port_) + " ssl;");
    replace("listen [::]:443 ssl;", "");
    replace("/etc/glassbox/tls/fullchain.pem", certs_.cert.string());
    replace("/etc/glassbox/tls/privkey.pem", certs_.key.string());
    const auto prefix = service_.dir() / "nginx";
    std::filesystem::create_directories(prefix / "temp");
    std::ofstream(prefix / "glassbox.conf") << site;
    std::ofstream(prefix / "nginx.conf") << (::geteuid() == 0 ? "user root;\n" : "") << "worker_processes 1;\nerror_log " << (prefix / "error.log").string()
                                         << " warn;\npid " << (prefix / "nginx.pid").string() << ";\nevents { worker_connections 512; }\nhttp {\n"
                                         << "  access_log " << (prefix / "access.log").string() << ";\n"
                                         << "  client_body_temp_path " << (prefix / "temp/body").string() << ";\n"
                                         << "  proxy_temp_path " << (prefix / "temp/proxy").string() << ";\n"
                                         << "  fastcgi_temp_path " << (prefix / "temp/fastcgi").string() << ";\n"
                                         << "  uwsgi_temp_path " << (prefix / "temp/uwsgi").string() << ";\n"
                                         << "  scgi_temp_path " << (prefix / "temp/scgi").string() << ";\n"
                                         << "  include " << (prefix / "glassbox.conf").string() << ";\n}\n";
    nginx_ = std::make_unique<test::BackgroundProcess>(
        std::vector<std::string>{"nginx", "-p", prefix.string(), "-c", (prefix / "nginx.conf").string(), "-g", "daemon off;"}, "",
        (prefix / "nginx.err").string());
    ASSERT_TRUE(test::wait_for_port(https_port_, 20)) << test::read_file(prefix / "nginx.err") << test::read_file(prefix / "error.log");
  }
  std::optional<Reply> via(const std::string& method, const std::string& path, const Headers& headers = {}, const std::string& body = {},
                           const std::string& source_ip = {}) {
    return https(https_port_, certs_.ca.string(), method, path, headers, body, source_ip);
  }
  Service service_;
  Certificates certs_;
  int https_port_ = 0;
  std::unique_ptr<test::BackgroundProcess> nginx_;
};

TEST_F(NginxTest, PartOfTheSecuritySuiteHoldsThroughTheProxy) {
  // TLS, serve's headers passed through, a Secure __Host- cookie.
  auto health = via("GET", "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_FALSE(health->header("Strict-Transport-Security").empty());
  EXPECT_EQ(health->header("Cache-Control"), "no-store");
  EXPECT_EQ(health->header("Server"), "nginx") << "no version";
  auto login = via("POST", "/api/login", {{"Content-Type", "application/json"}}, json{{"name", "olga"}, {"password", password_of("olga")}}.dump());
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200) << login->body;
  EXPECT_EQ(login->header("Set-Cookie").rfind("__Host-glassbox_session=", 0), 0u);
  EXPECT_NE(login->header("Set-Cookie").find("; Secure"), std::string::npos);

  // C-01: a chunked body past the route's limit, compressed bodies, several ranges.
  auto c = Connection::open(https_port_, tls_with(certs_.ca.string()));
  ASSERT_TRUE(c->send("POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (int i = 0; i < 64 && c->send("1000\r\n" + std::string(0x1000, 'a') + "\r\n"); ++i) {
  }
  auto chunked = c->read_reply(10);
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 413);
  EXPECT_EQ(via("POST", "/api/login", {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}}, "x")->status, 415);
  EXPECT_EQ(via("GET", "/openapi.json", {{"Range", "bytes=0-1,2-3"}})->status, 416);
  auto one_range = via("GET", "/openapi.json", {{"Range", "bytes=0-10"}});
  EXPECT_EQ(one_range->status, 200) << "serve ignores a single range";
  // An upload chunk may be 64 MiB through the proxy; the login form 4 KiB.
  EXPECT_EQ(via("POST", "/api/login", {{"Content-Type", "application/json"}}, std::string(5000, ' '))->status, 413);

  // S-03: ambiguous framing is refused at the proxy; what was smuggled behind it is not answered.
  auto smuggle = Connection::open(https_port_, tls_with(certs_.ca.string()));
  ASSERT_TRUE(smuggle->send("POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/me HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
                            service_.token("olga") + "\r\n\r\n"));
  auto first = smuggle->read_reply(5);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 400);
  EXPECT_FALSE(smuggle->read_reply(2)) << "the smuggled request was answered";

  // Live events stream through, unbuffered.
  auto stream = Connection::open(https_port_, tls_with(certs_.ca.string()));
  ASSERT_TRUE(stream->send(head("GET", "/api/events", service_.bearer("olga"), 0, false)));
  std::string got;
  for (int i = 0; i < 6 && got.find(": keep-alive") == std::string::npos; ++i) got += stream->read_some(1);
  EXPECT_NE(got.find("text/event-stream"), std::string::npos) << got;
  EXPECT_NE(got.find(": keep-alive"), std::string::npos) << "nothing streamed through the proxy: " << got;

  // The client's own address: throttled from one address, not from another; a forged
  // X-Forwarded-For is replaced by the proxy.
  const std::string wrong = json{{"name", "alice"}, {"password", "not her password at all"}}.dump();
  std::vector<int> statuses;
  for (int i = 0; i < 6; ++i)
    statuses.push_back(via("POST", "/api/login", {{"Content-Type", "application/json"}, {"X-Forwarded-For", "10.9.9." + std::to_string(i)}}, wrong,
                           "127.0.0.2")
                           ->status);
  EXPECT_EQ(statuses, (std::vector<int>{401, 401, 401, 401, 401, 429})) << "a forged X-Forwarded-For escaped the throttle";
  auto alice = via("POST", "/api/login", {{"Content-Type", "application/json"}}, json{{"name", "alice"}, {"password", password_of("alice")}}.dump(),
                   "127.0.0.3");
  EXPECT_EQ(alice->status, 200) << "alice from another address";
  const std::string log = test::read_file(service_.dir() / "serve.err");
  EXPECT_NE(log.find("127.0.0.2 \"POST /api/login\""), std::string::npos) << "serve saw the client's address:\n" << log;
}

TEST_F(NginxTest, SlowHeadsAreCutOffAtTheProxy) {
  HealthProbe probe(https_port_, 300ms, tls_with(certs_.ca.string()));
  const long serve_threads = thread_count(service_.pid());
  std::vector<std::unique_ptr<Connection>> slow;
  for (int i = 0; i < 30; ++i) {
    auto c = Connection::open(https_port_, tls_with(certs_.ca.string(), "127.0.0.4"));
    if (c && c->send("GET /health HTTP/1.1\r\nHost: localhost\r\n")) slow.push_back(std::move(c));
  }
  ASSERT_EQ(slow.size(), 30u);
  const auto started = Clock::now();
  while (Clock::now() - started < 13s) {
    for (auto& c : slow) c->send("X-a: b\r\n");
    std::this_thread::sleep_for(1s);
  }
  int open = 0;
  for (auto& c : slow) open += c->closed_within(0.5) ? 0 : 1;
  probe.stop();
  EXPECT_EQ(open, 0) << "slow heads outlived client_header_timeout";
  EXPECT_LT(probe.slowest_s(), 1.0);
  EXPECT_EQ(probe.failed(), 0);
  EXPECT_LE(thread_count(service_.pid()), serve_threads + 2) << "serve never saw them";
  // A header line longer than the proxy's buffers is refused there.
  auto long_header = via("GET", "/health", {{"X-Long", std::string(20000, 'a')}});
  ASSERT_TRUE(long_header);
  EXPECT_EQ(long_header->status, 400);
}

}  // namespace
}  // namespace glassbox::sectest
