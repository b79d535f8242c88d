// HttpServer: the service's HTTP/1.1 server (Boost.Beast on Asio), bounded before anything
// else runs (docs/security.md, "The HTTP layer"):
// - one I/O thread reads and writes every connection asynchronously, so a slow or idle client
//   (slowloris, a live-event stream) holds a socket and a few kilobytes, never a thread;
// - every request head must arrive whole within `header_timeout_s` (idle keep-alive included),
//   in at most `max_header_bytes` and `max_header_fields`; a body within its route's size limit
//   whatever its framing (Content-Length, chunked), and within a deadline that grows with its
//   size; request Content-Encoding, unknown Transfer-Encodings and multiple ranges are refused;
// - a route's admission check (authentication) runs before its body is read, so a caller without
//   an account can send no more than the login form;
// - handlers run on a fixed pool of worker threads behind a bounded queue (503 when full);
//   expensive routes run on small pools of their own, so they never hold up the rest;
// - connections are capped in total and per client address; TLS 1.2+ when configured.
// Every refusal is a 4xx/5xx with a reason, counted by reason, and reported to `on_request`.
// Thread-safety: route() before start(); start() and stop() from one controlling thread;
// stats() from any thread. Handlers and admission checks run on the worker threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "http/message.h"

namespace glassbox::http {

// What a route accepts as a body; a body of another media type is refused with 415.
enum class BodyKind {
  kNone,    // no body (413 if one is sent)
  kJson,    // application/json, optional unless the handler needs one
  kForm,    // multipart/form-data, parsed into Request::form
  kBinary,  // application/octet-stream
};

struct Route {
  std::string method;   // GET (also answers HEAD), POST, PUT, PATCH, DELETE
  std::string pattern;  // see PathPattern
  BodyKind body = BodyKind::kNone;
  std::size_t max_body = 0;  // bytes, after de-chunking
  // Runs on the I/O thread: only for handlers that neither block nor take locks held for long.
  bool on_io_thread = false;
  // The pool its handler runs on: "" for the workers; another name for a pool of ServerOptions'
  // `pools`, so that expensive work (password hashing, photos) never takes a worker others need.
  std::string pool;
  // Runs on a worker before the body is read; returning false refuses the request with the
  // response it filled in (the body, if any, is never read).
  std::function<bool(Request&, Response&)> admit;
  std::function<void(Request&, Response&)> handle;
};

struct TlsSettings {
  std::string cert_file;  // PEM, the certificate chain
  std::string key_file;   // PEM, the private key (refused when others may read it)
};

struct ServerOptions {
  int workers = 8;
  std::size_t queue = 64;  // requests waiting for a worker; beyond: 503
  // Further pools, by name: threads and queue of each (Route::pool).
  struct Pool {
    int threads = 1;
    std::size_t queue = 8;
  };
  std::map<std::string, Pool> pools;
  std::size_t max_connections = 512;
  std::size_t max_connections_per_client = 32;  // per client address (trusted proxies exempt)
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_header_fields = 64;
  std::size_t max_target_bytes = 4096;
  double header_timeout_s = 10.0;  // a whole request head; also how long a kept-alive connection may idle
  double body_timeout_s = 30.0;    // a body's deadline: this plus its size at min_rate_bytes_s
  double write_timeout_s = 30.0;   // a response's deadline: this plus its size at min_rate_bytes_s
  double min_rate_bytes_s = 64.0 * 1024;
  double tls_handshake_timeout_s = 10.0;
  double event_keepalive_s = 15.0;  // a comment line on idle event streams
  std::optional<TlsSettings> tls;
  // Peers (usually the reverse proxy on loopback) whose X-Forwarded-For and X-Forwarded-Proto
  // are believed; their connections are not counted per client address.
  std::vector<std::string> trusted_proxies;
  // Called on a worker (or the I/O thread for refusals made there) for every response, to add
  // the headers every response carries.
  std::function<void(const Request&, Response&)> decorate;
  // One call per request answered, refused or timed out (access log, metrics).
  struct Record {
    std::string method, path, client, reason;  // reason: why the server refused it, "" if a route answered
    std::string principal;                     // Request::principal
    int status = 0;
    std::uint64_t body_bytes = 0;
    double seconds = 0.0;
  };
  std::function<void(const Record&)> on_request;
};

struct ServerStats {
  std::uint64_t connections_open = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t event_streams_open = 0;
  std::map<std::string, std::uint64_t> refused;  // by reason
};

class HttpServer {
 public:
  explicit HttpServer(ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void route(Route route);
  // Binds host:port (0: any free port); returns the port. TLS files are loaded here.
  Result<int> listen(const std::string& host, int port);
  void start();
  // Stops accepting, closes every connection and event stream, waits for running handlers.
  void stop();
  ServerStats stats() const;
  bool tls() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace glassbox::http
