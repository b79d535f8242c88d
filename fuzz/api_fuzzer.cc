// Fuzz target for every route of the HTTP API, through the real service: `serve`'s LiveService
// runs in this process on loopback, over a data folder of its own with accounts of each role, an
// approved entry, alerts with evidence and a search; each input is one request sent to it over a
// socket, so the bytes pass through the HTTP server, admission, the body's parsing (JSON,
// multipart, octet-stream) and the route's own checks down to the stores, as a client's would.
// Photos in an enrolment or a search's probe go through the image decoding and the models.
//
// An input is three header lines, then the body:
//   METHOD TARGET          e.g. "POST /api/entries/1/approve" (sent as given, made safe for a request line)
//   ACCOUNT                admin | operator | supervisor | auditor | none
//   CONTENT-TYPE           sent as given; "photo" or "probe": the body is a photo in an otherwise
//                          valid enrolment (POST /api/entries) or search (POST /api/searches);
//                          "photo-patch", "probe-patch": the same with a real face photo from
//                          GLASSBOX_DATA, the body's bytes written over it (4 bytes of offset,
//                          then the bytes)
// Invariants, not only "no crash": no request is answered 500 (an unexpected failure: bad input
// must be a 4xx that says why), none hangs, every JSON answer parses, and the service still
// answers /health after. Built with libFuzzer under -DGLASSBOX_FUZZ=ON (needs the models,
// GLASSBOX_MODELS), and always as a replay of fuzz/corpus_api/ in the test suite.
// Thread-safety: libFuzzer calls the target from one thread; the service runs its own.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alert/alert.h"
#include "api/live_service.h"
#include "auth/user_store.h"
#include "core/dates.h"
#include "store/alert_store.h"
#include "store/sql_watchlist_store.h"

namespace {

using namespace glassbox;

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "api_fuzzer: %s\n", why.c_str());
  std::fflush(stderr);
  std::abort();
}

struct Service {
  std::filesystem::path dir;
  std::unique_ptr<LiveService> live;
  int port = 0;
  std::map<std::string, std::string> tokens;  // account -> API token
  std::string jpeg;                            // a real face photo, for the valid parts of forms
};

std::string read_whole(const std::filesystem::path& file) {
  std::string out;
  if (FILE* f = std::fopen(file.c_str(), "rb")) {
    char buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) out.append(buffer, n);
    std::fclose(f);
  }
  return out;
}

std::filesystem::path data_root() {
  if (const char* d = std::getenv("GLASSBOX_DATA")) return d;
  return std::filesystem::path(GLASSBOX_SOURCE_DIR) / ".." / "shared" / "data";
}

// The service with accounts, an approved entry, alerts and a search, started once per process.
Service& service() {
  static Service* s = [] {
    auto* svc = new Service;
    // tmpfs when there is one: every action syncs its audit record.
    const std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    std::string pattern = (base / "glassbox-api-fuzz-XXXXXX").string();
    if (!mkdtemp(pattern.data())) fail("cannot make a data folder");
    svc->dir = pattern;
    const std::string db = (svc->dir / "glassbox.db").string();
    const UnixSeconds now = now_utc();
    {
      auto users = UserStore::open(db);
      if (!users) fail(users.error().message);
      const std::vector<std::pair<std::string, Role>> people = {{"admin", Role::kAdmin},           {"admin2", Role::kAdmin},
                                                                {"operator", Role::kOperator},     {"supervisor", Role::kSupervisor},
                                                                {"supervisor2", Role::kSupervisor}, {"auditor", Role::kAuditor},
                                                                {"victim", Role::kOperator}};
      for (const auto& [name, role] : people) {
        if (auto st = (*users)->add_user(name, name + " long passphrase 1", {role}, "bootstrap", now); !st) fail(st.error().message);
        auto token = (*users)->create_api_token(name, "fuzz", now + 30 * 86400, name, now);
        if (!token) fail(token.error().message);
        svc->tokens[name] = token->token;
      }
      // Spare tokens of an account the fuzzer may disable, revoke or log out everywhere.
      for (int i = 0; i < 3; ++i) (void)(*users)->create_api_token("victim", "spare", now + 86400, "victim", now);
    }
    {
      auto watchlist = SqlWatchlistStore::open(db, OpenMode::kReadWriteCreate);
      if (!watchlist) fail(watchlist.error().message);
      NewEntry entry{"Person A", "Warrant 2026/1", "case file photo", "operator", now + 90 * 86400};
      auto id = (*watchlist)->add_pending_entry(entry, {{"dlib_resnet", std::vector<float>(128, 0.05f), "a.jpg", "ab12"}}, now);
      if (!id) fail(id.error().message);
      if (auto st = (*watchlist)->approve_entry(*id, "supervisor", now); !st) fail(st.error().message);
      auto alerts = AlertStore::open(db);
      if (!alerts) fail(alerts.error().message);
      for (int i = 0; i < 4; ++i) {
        Alert a;
        a.entry_id = *id;
        a.subject = entry.subject;
        a.source = "gate";
        a.profile = "dlib_resnet";
        a.metric = "euclidean";
        a.score = 0.4;
        a.threshold = 0.6;
        a.timestamp_s = i;
        a.box = cv::Rect(10, 10, 80, 100);
        if (auto st = (*alerts)->record(a, {0xff, 0xd8, 0xff, 0xd9}, now, now + 86400); !st) fail(st.error().message);
      }
    }
    svc->jpeg = read_whole(data_root() / "lfw" / "images" / "George_W_Bush" / "George_W_Bush_0001.jpg");
    if (svc->jpeg.empty()) fail("no face photo under " + data_root().string() + " (set GLASSBOX_DATA)");
    ServiceConfig config;
    config.min_free_disk_mb = 0;
    config.watchlist_reload_s = 1.0;
    auto live = LiveService::create(svc->dir.string(), config);
    if (!live) fail(live.error().message);
    svc->live = std::move(*live);
    if (auto st = svc->live->start("127.0.0.1", 0); !st) fail(st.error().message);
    svc->port = svc->live->port();
    // Stopped before the process's own statics go, and the folder removed.
    std::atexit([] {
      service().live->stop();
      std::error_code ignored;
      std::filesystem::remove_all(service().dir, ignored);
    });
    return svc;
  }();
  return *s;
}

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One request on a connection of its own (Connection: close), read to the end. A reply that
// does not come within 30 s is a hang.
Reply send_request(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("socket");
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // libFuzzer's timer (SIGALRM) interrupts system calls: EINTR is tried again, never taken for
  // the server's silence (it once was, and read as "no HTTP answer").
  int connected;
  do connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  while (connected != 0 && errno == EINTR);
  if (connected != 0) fail("cannot connect to the service");
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may refuse a body early (413, 401) and close
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buffer[65536];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) fail("no answer within 30 s to: " + request.substr(0, request.find('\r')));
      break;  // reset after an early refusal: what came is the answer
    }
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  Reply reply;
  if (raw.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::atoi(raw.c_str() + 9);
  const auto head_end = raw.find("\r\n\r\n");
  const std::string head = raw.substr(0, head_end);
  reply.body = head_end == std::string::npos ? std::string() : raw.substr(head_end + 4);
  for (std::size_t at = 0; (at = head.find("\r\n", at)) != std::string::npos;) {
    at += 2;
    const auto end = head.find("\r\n", at);
    const std::string line = head.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (line.size() > 14 && (line.rfind("Content-Type:", 0) == 0 || line.rfind("content-type:", 0) == 0)) reply.content_type = line.substr(14);
    if (line.size() > 19 && (line.rfind("Transfer-Encoding:", 0) == 0 || line.rfind("transfer-encoding:", 0) == 0)) reply.body.clear();  // chunked: not parsed here
  }
  return reply;
}

// A header line's value: no CR, LF or NUL, so the fuzzer cannot split the request itself.
std::string header_safe(std::string text) {
  for (char& c : text)
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  return text;
}

// A request target: bytes that may not stand in one are percent-encoded.
std::string target_safe(const std::string& text) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (c > 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out.empty() || out[0] != '/' ? "/" + out : out;
}

std::string multipart(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& file_field, const std::string& file) {
  std::string body;
  for (const auto& [name, value] : fields)
    body += "--fuzzboundary\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  body += "--fuzzboundary\r\nContent-Disposition: form-data; name=\"" + file_field + "\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n" + file + "\r\n";
  return body + "--fuzzboundary--\r\n";
}

std::string next_line(const std::string& text, std::size_t& at) {
  const auto end = text.find('\n', at);
  std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
  at = end == std::string::npos ? text.size() : end + 1;
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Service& svc = service();
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::size_t at = 0;
  const std::string request_line = next_line(input, at);
  const std::string account = next_line(input, at);
  std::string content_type = next_line(input, at);
  std::string body = input.substr(at);

  const auto space = request_line.find(' ');
  std::string method = request_line.substr(0, space);
  std::string target = space == std::string::npos ? "/" : request_line.substr(space + 1);
  // The method as a token (the HTTP layer's own parser is Boost.Beast's, not ours to fuzz).
  std::string token_method;
  for (char c : method)
    if (c >= 'A' && c <= 'Z') token_method += c;
  if (token_method.empty()) token_method = "GET";
  // The fuzzer must not end its own credentials: those routes act on the victim account only.
  if (target.rfind("/api/me/logout-all", 0) == 0 || target.rfind("/api/me/password", 0) == 0 || target.rfind("/api/logout", 0) == 0) {
    if (account != "none") return 0;
  }
  if (target.find("/api/users/") == 0 && target.find("/disable") != std::string::npos && target.find("/api/users/victim/") != 0) return 0;
  if (target.find("/api/tokens/") == 0 && token_method == "DELETE") {
    const int id = std::atoi(target.c_str() + 12);
    if (id >= 1 && id <= 7) return 0;  // the accounts' own tokens (the victim's spares are 8 to 10)
  }

  const auto in_a_month = format_date_utc(now_utc() + 30 * 86400);
  if (content_type == "photo-patch" || content_type == "probe-patch") {
    // A real face photo (from GLASSBOX_DATA, never kept in the repository) with the body's bytes
    // written over it at the offset its first four bytes give: deep into the decoder and models.
    std::string photo = svc.jpeg;
    std::uint32_t offset = 0;
    for (std::size_t i = 0; i < 4 && i < body.size(); ++i) offset = offset << 8 | static_cast<unsigned char>(body[i]);
    const std::string patch = body.size() > 4 ? body.substr(4) : std::string();
    offset %= static_cast<std::uint32_t>(photo.size());
    photo.replace(offset, std::min(patch.size(), photo.size() - offset), patch);
    body = photo;
    content_type = content_type == "photo-patch" ? "photo" : "probe";
  }
  if (content_type == "photo") {
    token_method = "POST";
    target = "/api/entries";
    content_type = "multipart/form-data; boundary=fuzzboundary";
    body = multipart({{"subject", "Person F"}, {"legal_basis", "Warrant 2026/9"}, {"source", "case file"}, {"expires", in_a_month}}, "photo", body);
  } else if (content_type == "probe") {
    token_method = "POST";
    target = "/api/searches";
    content_type = "multipart/form-data; boundary=fuzzboundary";
    body = multipart({{"case_id", "2026-9"}, {"legal_basis", "Warrant 2026/9"}, {"cameras", "gate"},
                      {"from", format_utc(now_utc() - 7200)}, {"to", format_utc(now_utc() - 3600)}},
                     "probe", body);
  }

  std::string request = token_method + " " + target_safe(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (const auto token = svc.tokens.find(account); token != svc.tokens.end()) request += "Authorization: Bearer " + token->second + "\r\n";
  if (!content_type.empty()) request += "Content-Type: " + header_safe(content_type) + "\r\n";
  if (!body.empty() || token_method == "POST" || token_method == "PUT" || token_method == "PATCH")
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;

  const Reply reply = send_request(svc.port, request);
  static const bool verbose = std::getenv("GLASSBOX_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "api_fuzzer: %d %s %s as %s: %s\n", reply.status, token_method.c_str(), target.c_str(), account.c_str(), reply.body.substr(0, 160).c_str());
  if (reply.status == 0) fail("no HTTP answer to " + token_method + " " + target);
  if (reply.status == 500) fail("500 for " + token_method + " " + target + ": " + reply.body.substr(0, 300));
  if (reply.content_type.rfind("application/json", 0) == 0 && !reply.body.empty() && !nlohmann::json::accept(reply.body))
    fail("an answer that is not JSON for " + token_method + " " + target);

  static int requests = 0;
  if (++requests % 500 == 0) {
    const Reply health = send_request(svc.port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if (health.status != 200) fail("/health answered " + std::to_string(health.status));
  }
  return 0;
}
