#include "security/security_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sqlite3.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace glassbox::sectest {
namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The value after `key:` in /proc/PID/status.
long status_field(int pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return -1;
}

}  // namespace

std::string password_of(const std::string& name) { return "a long test password for " + name; }

std::string Reply::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::unique_ptr<Connection> Connection::open(int port, const ClientOptions& options) {
  std::unique_ptr<Connection> c(new Connection());
  c->fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd_ < 0) return nullptr;
  if (!options.source_ip.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, options.source_ip.c_str(), &local.sin_addr);
    if (::bind(c->fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return nullptr;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(c->fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return nullptr;
  const int one = 1;
  ::setsockopt(c->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (options.tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    c->ssl_ctx_ = ctx;
    if (!options.ca_file.empty()) {
      SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    SSL* ssl = SSL_new(ctx);
    c->ssl_ = ssl;
    SSL_set_fd(ssl, c->fd_);
    SSL_set_tlsext_host_name(ssl, "localhost");
    if (SSL_connect(ssl) != 1) return nullptr;
  }
  return c;
}

Connection::~Connection() {
  if (ssl_) {
    SSL_shutdown(static_cast<SSL*>(ssl_));
    SSL_free(static_cast<SSL*>(ssl_));
  }
  if (ssl_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
  if (fd_ >= 0) ::close(fd_);
}

std::string Connection::tls_version() const { return ssl_ ? SSL_get_version(static_cast<SSL*>(ssl_)) : ""; }

bool Connection::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n;
    if (ssl_) {
      n = SSL_write(static_cast<SSL*>(ssl_), bytes.data() + sent, static_cast<int>(bytes.size() - sent));
    } else {
      n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    }
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

int Connection::read_raw(char* buffer, std::size_t size, double timeout_s) {
  if (ssl_ && SSL_pending(static_cast<SSL*>(ssl_)) > 0) {
    const int n = SSL_read(static_cast<SSL*>(ssl_), buffer, static_cast<int>(size));
    return n > 0 ? n : -2;
  }
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(timeout_s * 1000));
  if (ready == 0) return -1;
  if (ready < 0) return -2;
  if (ssl_) {
    const int n = SSL_read(static_cast<SSL*>(ssl_), buffer, static_cast<int>(size));
    if (n > 0) return n;
    const int e = SSL_get_error(static_cast<SSL*>(ssl_), n);
    if (e == SSL_ERROR_WANT_READ) return -1;
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -2;
  }
  const ssize_t n = ::recv(fd_, buffer, size, 0);
  if (n > 0) return static_cast<int>(n);
  return n == 0 ? 0 : -2;
}

std::string Connection::read_some(double timeout_s) {
  std::string out = std::move(pending_);
  pending_.clear();
  if (!out.empty()) return out;
  char buffer[65536];
  const int n = read_raw(buffer, sizeof buffer, timeout_s);
  if (n > 0) out.assign(buffer, static_cast<std::size_t>(n));
  return out;
}

bool Connection::closed_within(double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  char buffer[65536];
  while (Clock::now() < deadline) {
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    const int n = read_raw(buffer, sizeof buffer, std::max(0.01, left));
    if (n == 0 || n == -2) return true;
    if (n == -1) return false;
  }
  return false;
}

std::optional<Reply> Connection::read_reply(double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  std::string data = std::move(pending_);
  pending_.clear();
  char buffer[65536];
  auto more = [&]() -> bool {
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    const int n = read_raw(buffer, sizeof buffer, left);
    if (n <= 0) return false;
    data.append(buffer, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t head_end;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos)
    if (!more()) return std::nullopt;
  Reply r;
  std::istringstream lines(data.substr(0, head_end));
  std::string line;
  std::getline(lines, line);
  if (line.size() < 12) return std::nullopt;
  r.status = std::stoi(line.substr(9, 3));
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[lower(line.substr(0, colon))] = value;
  }
  std::string rest = data.substr(head_end + 4);
  if (r.headers.count("content-length")) {
    const auto length = static_cast<std::size_t>(std::stoull(r.headers["content-length"]));
    while (rest.size() < length) {
      const std::size_t before = data.size();
      if (!more()) return std::nullopt;
      rest += data.substr(before);
    }
    r.body = rest.substr(0, length);
    pending_ = rest.substr(length);
  } else if (lower(r.header("Transfer-Encoding")) == "chunked") {
    std::size_t at = 0;
    while (true) {
      std::size_t eol;
      while ((eol = rest.find("\r\n", at)) == std::string::npos) {
        const std::size_t before = data.size();
        if (!more()) return std::nullopt;
        rest += data.substr(before);
      }
      const std::size_t size = std::stoul(rest.substr(at, eol - at), nullptr, 16);
      while (rest.size() < eol + 2 + size + 2) {
        const std::size_t before = data.size();
        if (!more()) return std::nullopt;
        rest += data.substr(before);
      }
      r.body += rest.substr(eol + 2, size);
      at = eol + 2 + size + 2;
      if (size == 0) break;
    }
    pending_ = rest.substr(at);
  }
  return r;
}

std::string head(const std::string& method, const std::string& path, const Headers& headers, std::size_t content_length, bool with_length) {
  std::string out = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  if (with_length) out += "Content-Length: " + std::to_string(content_length) + "\r\n";
  return out + "\r\n";
}

std::optional<Reply> request(int port, const std::string& method, const std::string& path, const Headers& headers, const std::string& body,
                             const ClientOptions& options) {
  auto c = Connection::open(port, options);
  if (!c) return std::nullopt;
  Headers all = headers;
  all.emplace_back("Connection", "close");
  if (!c->send(head(method, path, all, body.size(), !body.empty() || method == "POST" || method == "PUT" || method == "PATCH") + body))
    return std::nullopt;
  return c->read_reply(options.timeout_s);
}

std::string multipart(const std::vector<std::pair<std::string, std::string>>& fields,
                      const std::vector<std::tuple<std::string, std::string, std::string>>& files, std::string& body) {
  const std::string boundary = "glassbox-test-boundary-7d1f";
  body.clear();
  for (const auto& [name, value] : fields)
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  for (const auto& [name, filename, bytes] : files)
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename +
            "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + bytes + "\r\n";
  body += "--" + boundary + "--\r\n";
  return "multipart/form-data; boundary=" + boundary;
}

int sql(const std::string& db, const std::string& statement) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(db.c_str(), &raw) != SQLITE_OK) return -1;
  sqlite3_busy_timeout(raw, 5000);
  const int rc = sqlite3_exec(raw, statement.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  return rc;
}

std::string sql_text(const std::string& db, const std::string& query) {
  sqlite3* raw = nullptr;
  std::string out;
  if (sqlite3_open(db.c_str(), &raw) != SQLITE_OK) return out;
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(raw, query.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(raw);
  return out;
}

std::int64_t sql_count(const std::string& db, const std::string& query) {
  const std::string text = sql_text(db, query);
  return text.empty() ? -1 : std::stoll(text);
}

long rss_kib(int pid) { return status_field(pid, "VmRSS"); }
int thread_count(int pid) { return static_cast<int>(status_field(pid, "Threads")); }
int open_descriptors(int pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

HealthProbe::HealthProbe(int port, std::chrono::milliseconds interval, ClientOptions options) {
  options.timeout_s = 5.0;
  thread_ = std::thread([this, port, interval, options] {
    while (!stop_) {
      const auto started = Clock::now();
      auto r = request(port, "GET", "/health", {}, {}, options);
      const long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
      if (r && r->status == 200) {
        ++answered_;
        if (ms > slowest_ms_) slowest_ms_ = ms;
      } else {
        ++failed_;
        slowest_ms_ = std::max<long>(slowest_ms_, ms);
      }
      std::this_thread::sleep_for(interval);
    }
  });
}

HealthProbe::~HealthProbe() { stop(); }

void HealthProbe::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

Service::Service() : data_(dir_ / "data") {
  std::filesystem::create_directories(data_);
  for (const auto& [name, role] : kAccounts) {
    tokens_[name] = test::make_account(data_, name, {role});
  }
}

Service::~Service() {
  if (process_) process_->stop(SIGKILL, 5);
}

bool Service::start(const std::string& config, const std::vector<std::string>& extra, const std::string& listen_host) {
  const auto config_file = dir_ / "config.json";
  std::ofstream(config_file) << config;
  port_ = test::free_port();
  std::vector<std::string> args = {GLASSBOX_BINARY, "serve", "--data-dir", data_.string(), "--listen", listen_host + ":" + std::to_string(port_),
                                   "--config", config_file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  process_ = std::make_unique<test::BackgroundProcess>(args, (dir_ / "serve.out").string(), (dir_ / "serve.err").string());
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    if (test::read_file(dir_ / "serve.out").find("listening on") != std::string::npos) return true;
    if (!alive()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int Service::stop(int signal) {
  if (!process_) return -1;
  const int status = process_->stop(signal, 30);
  process_.reset();
  return status;
}

bool Service::alive() const { return process_ && process_->pid() > 0 && ::kill(process_->pid(), 0) == 0 && rss_kib(process_->pid()) > 0; }

std::unique_ptr<httplib::Client> Service::api(const std::string& user) const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  if (!user.empty()) c->set_bearer_token_auth(tokens_.at(user));
  c->set_read_timeout(60, 0);
  c->set_connection_timeout(10, 0);
  return c;
}

std::string Service::log() const { return test::read_file(dir_ / "serve.err"); }

std::vector<json> Service::audit_records() const {
  const auto out = dir_ / "audit-export.jsonl";
  std::filesystem::remove(out);
  const auto r = test::run_glassbox({"audit", "export", "--data-dir", data_.string(), "--out", out.string(), "--by", "test"});
  std::vector<json> records;
  if (r.exit_code != 0) return records;
  std::istringstream in(test::read_file(out));
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    records.push_back(json::parse(line.substr(0, tab)));
  }
  return records;
}

std::vector<std::string> Service::audit_trail(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const json& r : audit_records()) {
    const std::string action = r["action"];
    if (action.rfind(prefix, 0) == 0) out.push_back(action + " " + r["actor"].get<std::string>() + " " + r["object"].get<std::string>());
  }
  return out;
}

std::string still_of(const std::string& clip, const std::filesystem::path& folder) {
  const auto out = folder / (std::filesystem::path(clip).stem().string() + ".png");
  if (!std::filesystem::exists(out))
    std::system(("ffmpeg -loglevel error -y -ss 1 -i " + test::data(clip).string() + " -frames:v 1 " + out.string()).c_str());
  return out.string();
}

std::string file_bytes(const std::filesystem::path& file) { return test::read_file(file); }

}  // namespace glassbox::sectest
