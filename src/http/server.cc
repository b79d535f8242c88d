#include "http/server.h"

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <cassert>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "http/multipart.h"
#include "http/router.h"

namespace glassbox::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds duration(double seconds) { return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0)); }

// A fixed set of threads behind a bounded queue: a request either gets a place or a 503.
class WorkerPool {
 public:
  WorkerPool(int threads, std::size_t capacity) : capacity_(capacity) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~WorkerPool() { stop(); }
  bool try_post(std::function<void()> job) {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= capacity_) return false;
    jobs_.push_back(std::move(job));
    wake_.notify_one();
    return true;
  }
  // Jobs not started are dropped; running ones finish.
  void stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      dropped.swap(jobs_);
    }
    wake_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  void run() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::vector<std::thread> threads_;
};

Response error_response(int status, const std::string& message) {
  Response r;
  r.status = status;
  // Built by hand (no JSON library here): the message is ours, plain ASCII without quotes.
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    escaped.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  }
  r.set_content("{\"error\": \"" + escaped + "\"}", "application/json");
  return r;
}

bool accepts_media(const std::string& media, BodyKind kind) {
  switch (kind) {
    case BodyKind::kNone: return false;
    case BodyKind::kJson: return media == "application/json";
    case BodyKind::kForm: return media == "multipart/form-data";
    case BodyKind::kBinary: return media == "application/octet-stream";
  }
  return false;
}

const char* media_name(BodyKind kind) {
  switch (kind) {
    case BodyKind::kNone: return "none";
    case BodyKind::kJson: return "application/json";
    case BodyKind::kForm: return "multipart/form-data";
    case BodyKind::kBinary: return "application/octet-stream";
  }
  return "";
}

}  // namespace

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void abort() = 0;  // on the I/O thread
};

struct HttpServer::Impl {
  explicit Impl(ServerOptions o) : options(std::move(o)) {}

  struct CompiledRoute {
    Route route;
    PathPattern pattern;
  };

  ServerOptions options;
  std::vector<CompiledRoute> routes;
  std::vector<net::ip::address> trusted;
  bool started = false;
  bool stopping = false;  // I/O thread only

  // Declared before the I/O context: handlers still queued in it when it is destroyed release
  // sessions, whose destructors reach these.
  std::atomic<std::uint64_t> open{0}, accepted{0}, requests{0}, streams{0};
  mutable std::mutex mutex;  // guards the three below
  std::map<std::string, std::uint64_t> refused;
  std::map<std::string, std::size_t> per_client;
  std::map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  std::unique_ptr<net::ssl::context> tls;  // outlives the sessions' TLS streams

  net::io_context io{1};
  tcp::acceptor acceptor{io};
  net::steady_timer accept_pause{io};
  std::unique_ptr<WorkerPool> pool;
  std::map<std::string, std::unique_ptr<WorkerPool>> named_pools;
  std::thread io_thread;

  void count_refusal(const std::string& reason) {
    std::lock_guard lock(mutex);
    ++refused[reason];
  }
  bool trusted_peer(const net::ip::address& a) const {
    for (const auto& t : trusted)
      if (t == a) return true;
    return false;
  }
  void forget(SessionBase* s, const std::string& client, bool counted) {
    std::lock_guard lock(mutex);
    sessions.erase(s);
    if (counted) {
      auto it = per_client.find(client);
      if (it != per_client.end() && --it->second == 0) per_client.erase(it);
    }
    --open;
  }
  // The route for a method and raw path: nullptr with `status` 404 or 405 (and `allow`).
  const CompiledRoute* find(const std::string& method, std::string_view raw_path, std::vector<std::string>& params, int& status,
                            std::string& allow) const {
    const std::string wanted = method == "HEAD" ? "GET" : method;
    bool path_known = false;
    for (const auto& r : routes) {
      auto matched = r.pattern.match(raw_path);
      if (!matched) continue;
      path_known = true;
      allow += std::string(allow.empty() ? "" : ", ") + r.route.method + (r.route.method == "GET" ? ", HEAD" : "");
      if (r.route.method == wanted) {
        params = std::move(*matched);
        return &r;
      }
    }
    status = path_known ? 405 : 404;
    return nullptr;
  }
  void report(const ServerOptions::Record& record) {
    ++requests;
    if (options.on_request) options.on_request(record);
  }

  void accept();
  void on_accept(tcp::socket socket);
};

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(HttpServer::Impl& server, Stream stream, std::string peer, bool counted)
      : server_(server), stream_(std::move(stream)), peer_(std::move(peer)), counted_(counted),
        keepalive_(server.io), watchdog_(server.io) {
    buffer_.max_size(server_.options.max_header_bytes + 64 * 1024);
  }
  ~Session() override {
    if (events_) {
      events_->close();
      --server_.streams;
    }
    server_.forget(this, peer_, counted_);
  }

  void start() {
    if constexpr (kTls) {
      lowest().expires_after(duration(server_.options.tls_handshake_timeout_s));
      stream_.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          self->server_.count_refusal("tls_handshake");
          return self->abort();
        }
        self->read_head();
      });
    } else {
      read_head();
    }
  }

  void abort() override {
    if (closed_) return;
    closed_ = true;
    keepalive_.cancel();
    watchdog_.cancel();
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const ServerOptions& options() const { return server_.options; }

  void read_head() {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    // The route's limit is checked against Content-Length once the head is in, and set on the
    // parser before the body is read (Beast's default of 1 MiB would refuse an upload chunk
    // while still reading the head).
    parser_->body_limit(boost::none);
    request_ = Request{};  // a refusal of this head must not report the previous request
    route_ = nullptr;
    body_pending_ = false;
    expect_continue_ = false;
    lowest().expires_after(duration(options().header_timeout_s));
    bhttp::async_read_header(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_head(ec);
    });
  }

  void on_head(beast::error_code ec) {
    if (closed_) return;
    started_ = Clock::now();
    if (ec) {
      if (ec == beast::error::timeout) {
        // The stream closed the socket; a kept-alive connection that merely idled is no refusal.
        if (parser_->got_some() || buffer_.size() > 0) {
          server_.count_refusal("header_timeout");
          server_.report({"", "", client_(), "header_timeout", "", 408, 0, options().header_timeout_s});
        }
        return abort();
      }
      if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
          ec == net::ssl::error::stream_truncated || ec == net::error::operation_aborted)
        return abort();
      if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
        return refuse(431, "header_too_large", "the request head is larger than " + std::to_string(options().max_header_bytes) + " bytes");
      return refuse(400, "bad_request", "malformed request (" + ec.message() + ")");
    }
    const auto& head = parser_->get();
    request_ = Request{};
    request_.method = std::string(head.method_string());
    request_.target = std::string(head.target());
    std::size_t fields = 0;
    for (const auto& f : head) {
      if (++fields > options().max_header_fields)
        return refuse(431, "too_many_header_fields", "more than " + std::to_string(options().max_header_fields) + " header fields");
      request_.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    head_request_ = request_.method == "HEAD";
    keep_alive_ = head.keep_alive();
    // Who is asking: the peer, or what a trusted proxy says about its client.
    beast::error_code peer_ec;
    const auto peer_address = lowest().socket().remote_endpoint(peer_ec).address();
    request_.client_address = peer_;
    request_.secure = kTls;
    if (!peer_ec && server_.trusted_peer(peer_address)) {
      // The proxy (deploy/nginx) replaces X-Forwarded-For with the address it saw; the last
      // item is the one it added in any case.
      std::string forwarded = request_.header("X-Forwarded-For");
      forwarded = forwarded.substr(forwarded.find_last_of(',') == std::string::npos ? 0 : forwarded.find_last_of(',') + 1);
      forwarded.erase(0, std::min(forwarded.size(), forwarded.find_first_not_of(' ')));
      forwarded.erase(forwarded.find_last_not_of(' ') + 1);
      beast::error_code parse_ec;
      const auto client = net::ip::make_address(forwarded, parse_ec);
      if (!forwarded.empty() && !parse_ec) request_.client_address = client.to_string();
      if (iequals(request_.header("X-Forwarded-Proto"), "https")) request_.secure = true;
    }
    if (request_.target.size() > options().max_target_bytes)
      return refuse(414, "target_too_long", "the request target is longer than " + std::to_string(options().max_target_bytes) + " bytes");
    if (request_.target.empty() || request_.target.front() != '/') return refuse(400, "bad_request", "the request target must be a path");
    if (head.version() >= 11 && request_.header_count("Host") != 1) return refuse(400, "bad_request", "an HTTP/1.1 request needs exactly one Host header");
    const auto question = request_.target.find('?');
    const std::string raw_path = request_.target.substr(0, question);
    auto path = percent_decode(raw_path, false);
    auto query = parse_query(question == std::string::npos ? std::string_view() : std::string_view(request_.target).substr(question + 1));
    if (!path || !query) return refuse(400, "bad_request", "malformed percent-encoding in the request target");
    request_.path = std::move(*path);
    request_.query = std::move(*query);
    // Framing and encodings the service does not take.
    if (request_.has_header("Transfer-Encoding") &&
        (request_.header_count("Transfer-Encoding") != 1 || !iequals(request_.header("Transfer-Encoding"), "chunked")))
      return refuse(400, "transfer_encoding", "Transfer-Encoding: only 'chunked' is accepted");
    if (request_.has_header("Content-Encoding") && !iequals(request_.header("Content-Encoding"), "identity"))
      return refuse(415, "content_encoding", "compressed request bodies (Content-Encoding) are not accepted");
    if (request_.header_count("Range") > 1 || request_.header("Range").find(',') != std::string::npos)
      return refuse(416, "ranges", "at most one range per request");
    // Ranges are not served: a single Range is ignored and the whole response sent (RFC 9110 14.2).
    int status = 0;
    std::string allow;
    route_ = server_.find(request_.method, raw_path, request_.path_params, status, allow);
    has_body_ = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    body_pending_ = has_body_;
    if (!route_) {
      Response r = error_response(status, status == 404 ? "no such route" : "method not allowed here");
      if (status == 405) r.set_header("Allow", allow);
      return refuse(std::move(r), status == 404 ? "not_found" : "method_not_allowed");
    }
    const Route& route = route_->route;
    if (has_body_) {
      if (route.body == BodyKind::kNone || route.max_body == 0) return refuse(413, "body_too_large", "this request takes no body");
      if (parser_->content_length() && *parser_->content_length() > route.max_body)
        return refuse(413, "body_too_large", "the body is larger than the " + std::to_string(route.max_body) + " bytes this request takes");
    }
    if (request_.has_header("Expect")) {
      if (!iequals(request_.header("Expect"), "100-continue")) return refuse(417, "bad_request", "only Expect: 100-continue is understood");
      expect_continue_ = has_body_;
    }
    if (route.on_io_thread) {
      Response r;
      run_handler(route, request_, r);
      return write(std::move(r), false);
    }
    if (!route.admit) return admitted();
    // Admission (authentication) may read the database: on a worker, before any body byte.
    auto self = this->shared_from_this();
    const bool queued = server_.pool->try_post([self, &route] {
      auto r = std::make_shared<Response>();
      bool ok = false;
      try {
        ok = route.admit(self->request_, *r);
      } catch (const std::exception&) {
        *r = error_response(500, "internal error");
      }
      net::post(self->server_.io, [self, ok, r] {
        if (self->closed_) return;
        if (!ok) return self->refuse(std::move(*r), "");
        self->admitted();
      });
    });
    if (!queued) return refuse(503, "busy", "the service is busy; try again in a moment");
  }

  std::string client_() const { return request_.client_address.empty() ? peer_ : request_.client_address; }

  void admitted() {
    if (!has_body_) return dispatch();
    // After the admission check: a caller without an account learns only that (401).
    if (!accepts_media(request_.media_type(), route_->route.body))
      return refuse(415, "media_type", std::string("send the body as ") + media_name(route_->route.body));
    if (expect_continue_) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      lowest().expires_after(duration(options().write_timeout_s));
      bhttp::async_write(stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code ec, std::size_t) {
        if (ec) return self->abort();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    const Route& route = route_->route;
    parser_->body_limit(route.max_body);
    const double bytes = static_cast<double>(parser_->content_length().value_or(route.max_body));
    lowest().expires_after(duration(options().body_timeout_s + bytes / options().min_rate_bytes_s));
    bhttp::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_body(ec);
    });
  }

  void on_body(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec == beast::error::timeout) {
        server_.count_refusal("body_timeout");
        server_.report({request_.method, request_.path, client_(), "body_timeout", request_.principal, 408, 0, seconds()});
        return abort();
      }
      if (ec == bhttp::error::body_limit)
        return refuse(413, "body_too_large", "the body is larger than the " + std::to_string(route_->route.max_body) + " bytes this request takes");
      if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
          ec == net::error::operation_aborted || ec == net::ssl::error::stream_truncated)
        return abort();
      return refuse(400, "bad_request", "malformed request body (" + ec.message() + ")");
    }
    body_pending_ = false;
    request_.body = std::move(parser_->get().body());
    dispatch();
  }

  static void run_handler(const Route& route, Request& request, Response& response) {
    try {
      route.handle(request, response);
    } catch (const std::exception&) {
      // The detail stays on the server side (the route's own logging); the client learns only
      // that it failed.
      response = error_response(500, "internal error");
    }
  }

  void dispatch() {
    auto self = this->shared_from_this();
    const Route& route = route_->route;
    WorkerPool& pool = route.pool.empty() ? *server_.pool : *server_.named_pools.at(route.pool);
    const bool queued = pool.try_post([self, &route] {
      auto r = std::make_shared<Response>();
      Request& req = self->request_;
      bool form_ok = true;
      if (route.body == BodyKind::kForm && !req.body.empty()) {
        auto parts = parse_multipart(req.header("Content-Type"), req.body);
        if (!parts) {
          *r = error_response(400, parts.error().message);
          form_ok = false;
        } else {
          req.form = std::move(*parts);
          req.body.clear();
        }
      }
      if (form_ok) run_handler(route, req, *r);
      net::post(self->server_.io, [self, r] { self->write(std::move(*r), false); });
    });
    if (!queued) refuse(503, "busy", "the service is busy; try again in a moment", /*close=*/false);
  }

  double seconds() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

  void refuse(int status, const std::string& reason, const std::string& message, bool close = true) {
    Response r = error_response(status, message);
    if (status == 503) r.set_header("Retry-After", "1");
    refuse(std::move(r), reason, close);
  }
  // `reason` empty: a refusal by the route's admission check (counted by the caller's metrics).
  void refuse(Response r, const std::string& reason, bool close = true) {
    if (!reason.empty()) server_.count_refusal(reason);
    refusal_reason_ = reason;
    // A body that was not read cannot be skipped reliably: the connection ends after the answer.
    write(std::move(r), close || body_pending_);
  }

  void write(Response res, bool close) {
    if (closed_) return;
    if (server_.options.decorate) server_.options.decorate(request_, res);
    if (res.stream && res.status == 200) return start_stream(std::move(res));
    if (res.stream) res.stream->close();  // a stream that is not sent must still let go of its source
    const bool keep = keep_alive_ && !close && !body_pending_;
    server_.report({request_.method, request_.path, client_(), refusal_reason_, request_.principal, res.status, res.body.size(), seconds()});
    refusal_reason_.clear();
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
    message->result(static_cast<unsigned>(res.status));
    message->version(11);
    for (const auto& [name, value] : res.headers) message->insert(name, value);
    const std::size_t size = res.body.size();
    message->body() = std::move(res.body);
    message->keep_alive(keep);
    message->prepare_payload();
    lowest().expires_after(duration(options().write_timeout_s + static_cast<double>(size) / options().min_rate_bytes_s));
    auto done = [self = this->shared_from_this(), keep](beast::error_code ec) {
      if (ec) return self->abort();
      if (keep) return self->read_head();
      self->finish();
    };
    if (head_request_) {
      // The same head, without the body.
      auto header = std::make_shared<bhttp::response<bhttp::empty_body>>(message->base());
      header->content_length(size);
      bhttp::async_write(stream_, *header, [header, done](beast::error_code ec, std::size_t) { done(ec); });
    } else {
      bhttp::async_write(stream_, *message, [message, done](beast::error_code ec, std::size_t) { done(ec); });
    }
  }

  // The answer is out: close our side, and read what the client may still be sending for a
  // moment (so a refused upload sees the refusal rather than a reset), then close.
  void finish() {
    if (closed_) return;
    if constexpr (kTls) {
      lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->abort(); });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      lowest().expires_after(std::chrono::seconds(2));
      drain(1 << 20);
    }
  }
  void drain(std::size_t left) {
    lowest().async_read_some(net::buffer(scratch_), [self = this->shared_from_this(), left](beast::error_code ec, std::size_t n) {
      if (ec || n >= left) return self->abort();
      self->drain(left - n);
    });
  }

  // --- Server-Sent Events ---------------------------------------------------------------
  void start_stream(Response res) {
    events_ = std::move(res.stream);
    ++server_.streams;
    server_.report({request_.method, request_.path, client_(), "", request_.principal, 200, 0, seconds()});
    auto message = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, 11);
    for (const auto& [name, value] : res.headers) message->insert(name, value);
    message->chunked(true);
    message->keep_alive(false);
    auto serializer = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*message);
    lowest().expires_after(duration(options().write_timeout_s));
    bhttp::async_write_header(stream_, *serializer, [self = this->shared_from_this(), message, serializer](beast::error_code ec, std::size_t) {
      if (ec) return self->abort();
      // From here the stream's own expiry is off: writes have their watchdog, reads none.
      self->lowest().expires_never();
      self->watch_disconnect();
      std::weak_ptr<Session> weak = self;
      net::io_context& io = self->server_.io;
      self->events_->set_waker([weak, &io] {
        net::post(io, [weak] {
          if (auto s = weak.lock()) s->pump();
        });
      });
      self->arm_keepalive();
      self->pump();
    });
  }
  // The client sends nothing on an event stream: any byte, or the end, closes it.
  void watch_disconnect() {
    stream_.async_read_some(net::buffer(scratch_), [self = this->shared_from_this()](beast::error_code, std::size_t) { self->abort(); });
  }
  void arm_keepalive() {
    keepalive_.expires_after(duration(options().event_keepalive_s));
    keepalive_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      self->keepalive_due_ = true;
      self->pump();
      self->arm_keepalive();
    });
  }
  void pump() {
    if (closed_ || stream_over_) return;
    if (writing_) {
      pump_again_ = true;
      return;
    }
    auto data = events_->poll();
    if (!data) {
      stream_over_ = true;
      writing_ = true;
      arm_watchdog();
      net::async_write(stream_, bhttp::make_chunk_last(), [self = this->shared_from_this()](beast::error_code, std::size_t) {
        self->watchdog_.cancel();
        self->abort();
      });
      return;
    }
    if (data->empty()) {
      if (!keepalive_due_) return;
      *data = ": keep-alive\n\n";
    }
    keepalive_due_ = false;
    chunk_ = std::move(*data);
    writing_ = true;
    arm_watchdog();
    net::async_write(stream_, bhttp::make_chunk(net::buffer(chunk_)), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->watchdog_.cancel();
      self->writing_ = false;
      if (ec) return self->abort();
      // Poll again at once: a stream holds more than one write's worth after a resume, and
      // events may have arrived while this one was written.
      self->pump_again_ = false;
      self->pump();
    });
  }
  // A client that stops reading is dropped once a write has waited this long.
  void arm_watchdog() {
    watchdog_.expires_after(duration(options().write_timeout_s));
    watchdog_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->server_.count_refusal("write_timeout");
      self->abort();
    });
  }

  HttpServer::Impl& server_;
  Stream stream_;
  const std::string peer_;
  const bool counted_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  const HttpServer::Impl::CompiledRoute* route_ = nullptr;
  Clock::time_point started_ = Clock::now();
  bool head_request_ = false;
  bool keep_alive_ = false;
  bool has_body_ = false;
  bool body_pending_ = false;  // a body announced and not (yet) read
  bool expect_continue_ = false;
  bool closed_ = false;
  std::string refusal_reason_;
  // Event streams.
  std::shared_ptr<EventStream> events_;
  std::string chunk_;
  bool writing_ = false, pump_again_ = false, stream_over_ = false, keepalive_due_ = false;
  net::steady_timer keepalive_, watchdog_;
  char scratch_[4096];
};

void HttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (ec) {
      // Out of descriptors or memory: pause rather than spin, then accept again.
      count_refusal("accept_failed");
      accept_pause.expires_after(std::chrono::milliseconds(100));
      accept_pause.async_wait([this](beast::error_code) {
        if (!stopping) accept();
      });
      return;
    }
    on_accept(std::move(socket));
    accept();
  });
}

void HttpServer::Impl::on_accept(tcp::socket socket) {
  ++accepted;
  beast::error_code ec;
  const auto peer = socket.remote_endpoint(ec).address();
  if (ec) return;
  const std::string client = peer.to_string();
  const bool counted = !trusted_peer(peer);
  // A canned answer for connections over the limits, written without waiting: the socket is
  // fresh, its send buffer empty.
  auto turn_away = [&](const char* reason, const char* status_line) {
    count_refusal(reason);
    const std::string answer = std::string(status_line) + "\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 45\r\n\r\n" +
                               "{\"error\": \"too many connections; try again\"}\n";
    socket.non_blocking(true, ec);
    socket.write_some(net::buffer(answer), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  };
  {
    std::unique_lock lock(mutex);
    if (open >= options.max_connections) {
      lock.unlock();
      return turn_away("connection_limit", "HTTP/1.1 503 Service Unavailable");
    }
    if (counted && per_client[client] >= options.max_connections_per_client) {
      lock.unlock();
      return turn_away("client_connection_limit", "HTTP/1.1 429 Too Many Requests");
    }
    if (counted) ++per_client[client];
    ++open;
  }
  socket.set_option(tcp::no_delay(true), ec);
  std::shared_ptr<SessionBase> session;
  if (tls) {
    auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls),
                                                                             client, counted);
    session = s;
    {
      std::lock_guard lock(mutex);
      sessions[s.get()] = s;
    }
    s->start();
  } else {
    auto s = std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)), client, counted);
    session = s;
    {
      std::lock_guard lock(mutex);
      sessions[s.get()] = s;
    }
    s->start();
  }
}

HttpServer::HttpServer(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(Route route) {
  assert(route.pool.empty() || impl_->options.pools.count(route.pool));
  PathPattern pattern(route.pattern);
  impl_->routes.push_back({std::move(route), std::move(pattern)});
}

bool HttpServer::tls() const { return impl_->tls != nullptr; }

Result<int> HttpServer::listen(const std::string& host, int port) {
  Impl& s = *impl_;
  for (const std::string& proxy : s.options.trusted_proxies) {
    beast::error_code ec;
    auto address = net::ip::make_address(proxy, ec);
    if (ec) return Error{"trusted_proxies: '" + proxy + "' is not an IP address"};
    s.trusted.push_back(address);
  }
  if (s.options.tls) {
    const TlsSettings& files = *s.options.tls;
    struct stat key_stat {};
    if (::stat(files.key_file.c_str(), &key_stat) != 0) return Error{"tls_key_file " + files.key_file + ": no such file"};
    if ((key_stat.st_mode & (S_IROTH | S_IWOTH)) != 0)
      return Error{"tls_key_file " + files.key_file + ": other users may read or write the private key; chmod o-rw it"};
    s.tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    s.tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3 |
                       net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use |
                       net::ssl::context::no_compression);
    SSL_CTX* native = s.tls->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    // TLS 1.2: forward-secret AEAD suites only (TLS 1.3's suites are all such).
    SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20");
    beast::error_code ec;
    s.tls->use_certificate_chain_file(files.cert_file, ec);
    if (ec) return Error{"tls_cert_file " + files.cert_file + ": cannot load the certificate chain (" + ec.message() + ")"};
    s.tls->use_private_key_file(files.key_file, net::ssl::context::pem, ec);
    if (ec) return Error{"tls_key_file " + files.key_file + ": cannot load the private key (" + ec.message() + ")"};
    if (SSL_CTX_check_private_key(native) != 1) return Error{"tls_key_file " + files.key_file + " does not belong to the certificate in " + files.cert_file};
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Error{host + ": not an IP address to listen on"};
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  // The kernel's queue of connections not yet accepted; beyond it clients wait or are refused.
  if (!ec) s.acceptor.listen(128, ec);
  if (ec) return Error{host + ":" + std::to_string(port) + ": cannot listen (" + ec.message() + ")"};
  return static_cast<int>(s.acceptor.local_endpoint().port());
}

void HttpServer::start() {
  Impl& s = *impl_;
  if (s.started) return;
  s.started = true;
  s.pool = std::make_unique<WorkerPool>(s.options.workers, s.options.queue);
  for (const auto& [name, p] : s.options.pools) s.named_pools[name] = std::make_unique<WorkerPool>(p.threads, p.queue);
  s.accept();
  s.io_thread = std::thread([&s] { s.io.run(); });
}

void HttpServer::stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  std::promise<void> closed;
  net::post(s.io, [&s, &closed] {
    s.stopping = true;
    beast::error_code ec;
    s.acceptor.close(ec);
    s.accept_pause.cancel();
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard lock(s.mutex);
      for (auto& [key, weak] : s.sessions)
        if (auto session = weak.lock()) live.push_back(session);
    }
    for (auto& session : live) session->abort();
    closed.set_value();
  });
  closed.get_future().wait();
  s.pool->stop();  // handlers in progress finish; their answers find closed connections
  for (auto& [name, pool] : s.named_pools) pool->stop();
  s.io.stop();
  if (s.io_thread.joinable()) s.io_thread.join();
  s.pool.reset();
  s.named_pools.clear();
}

ServerStats HttpServer::stats() const {
  const Impl& s = *impl_;
  ServerStats out;
  out.connections_open = s.open;
  out.connections_accepted = s.accepted;
  out.requests = s.requests;
  out.event_streams_open = s.streams;
  std::lock_guard lock(s.mutex);
  out.refused = s.refused;
  return out;
}

}  // namespace glassbox::http
