// What the security suite needs to attack a real `glassbox serve` from outside, as the review's
// recipes do: the service with its accounts, raw HTTP over TCP or TLS from a chosen loopback
// address (so one test can be several clients), and what the kernel says about the process
// (resident memory, threads, descriptors) while an attack runs; and a probe that keeps asking
// /health and records how long each answer took.
// Thread-safety: a Service from its test's thread; Connections one per thread; HealthProbe runs
// its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace glassbox::sectest {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

// The accounts every test has (made with the command line, as the bootstrap is): their
// passwords are password_of(name).
inline const std::vector<std::pair<std::string, std::string>> kAccounts = {
    {"root", "admin"},       {"ada", "admin"},          {"olga", "operator"}, {"oscar", "operator"},
    {"alice", "supervisor"}, {"sam", "supervisor"},     {"audrey", "auditor"}};
std::string password_of(const std::string& name);

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& name) const;
};

struct ClientOptions {
  std::string source_ip;  // a loopback address to connect from (127.0.0.2 ...): another client
  bool tls = false;
  std::string ca_file;  // with tls: verify the server against this CA (empty: no verification)
  double timeout_s = 15.0;
};
// From another loopback address; with a longer wait for the answer; over TLS verified by `ca`.
inline ClientOptions from(const std::string& source_ip) {
  ClientOptions o;
  o.source_ip = source_ip;
  return o;
}
inline ClientOptions waiting(double timeout_s) {
  ClientOptions o;
  o.timeout_s = timeout_s;
  return o;
}
inline ClientOptions tls_with(const std::string& ca, const std::string& source_ip = {}) {
  ClientOptions o;
  o.tls = true;
  o.ca_file = ca;
  o.source_ip = source_ip;
  return o;
}

// One TCP (or TLS) connection, driven byte by byte.
class Connection {
 public:
  static std::unique_ptr<Connection> open(int port, const ClientOptions& options = {});
  ~Connection();
  // False once the server has closed or reset the connection.
  bool send(const std::string& bytes);
  // One whole response (Content-Length or chunked body); nullopt on close or timeout.
  std::optional<Reply> read_reply(double timeout_s);
  // Reads whatever arrives within `timeout_s` (for streams); "" when nothing came.
  std::string read_some(double timeout_s);
  // True when the server closes the connection within `timeout_s` (read returns end or reset).
  bool closed_within(double timeout_s);
  // The TLS protocol negotiated ("TLSv1.3"), "" without TLS.
  std::string tls_version() const;

 private:
  Connection() = default;
  int read_raw(char* buffer, std::size_t size, double timeout_s);  // >0 bytes, 0 end, -1 timeout, -2 error
  int fd_ = -1;
  void* ssl_ = nullptr;      // SSL*
  void* ssl_ctx_ = nullptr;  // SSL_CTX*
  std::string pending_;      // read but not consumed
};

// A request on a fresh connection; nullopt when no response came.
std::optional<Reply> request(int port, const std::string& method, const std::string& path, const Headers& headers = {},
                             const std::string& body = {}, const ClientOptions& options = {});
// `Name: value` lines of a request head.
std::string head(const std::string& method, const std::string& path, const Headers& headers, std::size_t content_length,
                 bool with_length = true);

// A multipart/form-data body: text fields and files (name, filename, bytes); returns the
// Content-Type to send with it.
std::string multipart(const std::vector<std::pair<std::string, std::string>>& fields,
                      const std::vector<std::tuple<std::string, std::string, std::string>>& files, std::string& body);

// Straight to the database, as someone with the host's access would (or to set a test's stage):
// the statement's result code; the first column of a query's first row.
int sql(const std::string& db, const std::string& statement);
std::string sql_text(const std::string& db, const std::string& query);
std::int64_t sql_count(const std::string& db, const std::string& query);

// What the kernel says about a process.
long rss_kib(int pid);
int thread_count(int pid);
int open_descriptors(int pid);

// Asks GET /health every `interval` on fresh connections and keeps the slowest answer.
class HealthProbe {
 public:
  HealthProbe(int port, std::chrono::milliseconds interval = std::chrono::milliseconds(200), ClientOptions options = {});
  ~HealthProbe();
  void stop();
  double slowest_s() const { return slowest_ms_ / 1000.0; }
  int answered() const { return answered_; }
  int failed() const { return failed_; }  // no 200 within 5 s

 private:
  std::atomic<bool> stop_{false};
  std::atomic<long> slowest_ms_{0};
  std::atomic<int> answered_{0}, failed_{0};
  std::thread thread_;
};

// `glassbox serve` with a fresh data folder holding kAccounts and an API token for each.
class Service {
 public:
  Service();
  ~Service();
  // Starts serve with `config` (JSON text, written to a file) and extra arguments; false when it
  // does not listen within 60 s. `listen_host` is the address to bind.
  bool start(const std::string& config = "{}", const std::vector<std::string>& extra = {}, const std::string& listen_host = "127.0.0.1");
  int stop(int signal = SIGTERM);
  int port() const { return port_; }
  int pid() const { return process_ ? process_->pid() : -1; }
  bool alive() const;
  const std::filesystem::path& data_dir() const { return data_; }
  std::string db() const { return (data_ / "glassbox.db").string(); }
  std::string token(const std::string& user) const { return tokens_.at(user); }
  Headers bearer(const std::string& user) const { return {{"Authorization", "Bearer " + token(user)}}; }
  // An httplib client acting as `user` ("" for nobody).
  std::unique_ptr<httplib::Client> api(const std::string& user = "") const;
  // What serve has written on standard error so far.
  std::string log() const;
  // The audit log, exported with the command line, as records (action, actor, object, details).
  std::vector<json> audit_records() const;
  // The records whose action starts with `prefix`, as "action actor object".
  std::vector<std::string> audit_trail(const std::string& prefix) const;
  const test::TempDir& dir() const { return dir_; }

 private:
  test::TempDir dir_;
  std::filesystem::path data_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<test::BackgroundProcess> process_;
  int port_ = 0;
};

// Still frames of the shared clips (made once per process with ffmpeg): a face to enrol.
std::string still_of(const std::string& clip, const std::filesystem::path& folder);
std::string file_bytes(const std::filesystem::path& file);

}  // namespace glassbox::sectest
