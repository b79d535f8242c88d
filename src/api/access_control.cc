// Who may do what through `serve`'s HTTP API (docs/accounts.md, docs/security.md): the
// authentication of every guarded request, its role and CSRF checks before its body is read,
// the headers every response carries, audit records of reads of biometric data, generic 500s
// whose detail stays in the log, the camera URL policy, and the free-space floor.
// Thread-safety: as LiveService (see live_service.h for which mutex guards what).
#include <sodium.h>
#include <sys/statvfs.h>

#include "api/http_util.h"
#include "api/live_service.h"
#include "audit/audit_log.h"
#include "core/network.h"

namespace glassbox {
using namespace glassbox::http;

bool LiveService::tls() const { return !config_.tls_cert_file.empty(); }

std::optional<Principal> LiveService::authenticate(const Request& req) {
  const std::string authorization = req.header("Authorization");
  const UnixSeconds now = now_utc();
  if (authorization.rfind("Bearer ", 0) == 0) {
    const std::string token = authorization.substr(7);
    if (token.empty() || token.size() > 128) return std::nullopt;
    std::lock_guard lock(auth_mutex_);
    auto p = auth_users_->api_token(token, now);
    return p && p->has_value() ? std::optional<Principal>(**p) : std::nullopt;
  }
  const std::string session = req.cookie(session_cookie());
  if (session.empty() || session.size() > 128) return std::nullopt;
  std::lock_guard lock(auth_mutex_);
  auto p = auth_users_->session(session, now, static_cast<UnixSeconds>(config_.session_idle_s));
  return p && p->has_value() ? std::optional<Principal>(**p) : std::nullopt;
}

bool LiveService::secure_transport() const { return tls() || config_.behind_tls_proxy; }

std::string LiveService::session_cookie() const {
  // __Host-: only ever set by this host over TLS, for the whole path (a sibling subdomain
  // cannot plant one). Without TLS (loopback only) browsers would refuse the prefix.
  return secure_transport() || config_.cookie_secure ? "__Host-glassbox_session" : "glassbox_session";
}

namespace {

http::Route route_for(const char* method, const char* pattern, http::BodyKind body, std::size_t max_body, const char* pool) {
  http::Route route;
  route.method = method;
  route.pattern = pattern;
  route.body = body;
  route.max_body = max_body;
  route.pool = pool;
  return route;
}

}  // namespace

void LiveService::guarded(const char* method, const char* pattern, BodyLimit body, std::set<Role> allowed, GuardedHandler handler,
                          const char* pool) {
  http::Route route = route_for(method, pattern, body.kind, body.max_bytes, pool);
  route.admit = [this, allowed = std::move(allowed)](Request& req, Response& res) {
    const auto who = authenticate(req);
    auto deny = [&](int status, const std::string& message, const char* reason) {
      reply_error(res, status, message);
      if (status == 401) res.set_header("WWW-Authenticate", "Bearer");
      security_log_.denial({req.client_address, req.method, req.path, who ? who->name : "", who ? who->credential : "", reason, status, 0, 0.0});
      return false;
    };
    if (!who) return deny(401, "log in (POST /api/login) or send an API token (Authorization: Bearer ...)", "no_credentials");
    if (!allowed.empty() && std::none_of(allowed.begin(), allowed.end(), [&](Role r) { return who->has(r); })) {
      std::string roles;
      for (Role r : allowed) roles += std::string(roles.empty() ? "" : ", ") + role_name(r);
      return deny(403, who->name + " may not do this (it needs: " + roles + ")", "role");
    }
    // A browser session changing something must echo its CSRF token (API tokens are not sent by
    // browsers on their own, so they need none). Compared in constant time.
    if (who->via_session && req.method != "GET" && req.method != "HEAD") {
      const std::string given = req.header("X-CSRF-Token");
      if (given.size() != who->csrf_token.size() || given.empty() ||
          sodium_memcmp(given.data(), who->csrf_token.data(), given.size()) != 0)
        return deny(403, "missing or wrong X-CSRF-Token (given at login)", "csrf");
    }
    req.principal = who->name + " " + who->credential;
    req.context = *who;
    return true;
  };
  route.handle = [handler = std::move(handler)](Request& req, Response& res) {
    handler(req, res, std::any_cast<const Principal&>(req.context));
  };
  http_->route(std::move(route));
}

void LiveService::open_route(const char* method, const char* pattern, BodyLimit body, std::function<void(Request&, Response&)> handler,
                             bool on_io_thread, const char* pool) {
  http::Route route = route_for(method, pattern, body.kind, body.max_bytes, pool);
  route.on_io_thread = on_io_thread;
  route.handle = std::move(handler);
  http_->route(std::move(route));
}

void LiveService::decorate(const Request&, Response& res) const {
  // Biometric data and everything else: never cached by browsers or proxies.
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cross-Origin-Resource-Policy", "same-origin");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  // Pages of the operators' console load only their own scripts, styles and images; every other
  // response is data and may load nothing. Neither may be framed.
  const bool page = res.header("Content-Type").rfind("text/html", 0) == 0;
  res.set_header("Content-Security-Policy", page ? "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; "
                                                   "form-action 'self'; frame-ancestors 'none'"
                                                 : "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  if (secure_transport()) res.set_header("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
}

void LiveService::reply_internal(Response& res, const std::string& what, const Error& error) {
  const auto incident = security_log_.internal_error(what + ": " + error.message);
  if (is_storage_fault(error.message)) {
    // Nothing was changed, and the same request may succeed once the disk takes writes again.
    ++storage_refusals_;
    return reply_error(res, 507, what + " was refused: the database cannot be written just now (disk full or failing); nothing was changed, "
                                 "try again later (incident " + std::to_string(incident) + ")");
  }
  reply_error(res, 500, what + " failed (incident " + std::to_string(incident) + "; the service's log has the detail)");
}

void LiveService::reply_refusal(Response& res, const Error& error) {
  if (is_storage_fault(error.message)) return reply_internal(res, "the change", error);
  reply_error(res, refusal_status(error.message), error.message);
}

bool LiveService::audit_read(const Principal& who, const std::string& action, const std::string& object, const nlohmann::json& details,
                             Response& res) {
  std::lock_guard lock(audit_db_mutex_);
  const auto recorded = audit_db_->transaction([&] { return audit::append(*audit_db_, {who.name, action, object, details}, now_utc()); });
  if (recorded) return true;
  const auto incident = security_log_.internal_error("audit record " + action + " " + object + ": " + recorded.error().message);
  const bool disk = is_storage_fault(recorded.error().message);
  if (disk) ++storage_refusals_;
  reply_error(res, disk ? 507 : 503, "this read could not be recorded in the audit log, so it is refused (incident " + std::to_string(incident) + ")");
  return false;
}

void LiveService::end_streams(const std::string& user, const std::string& credential, bool all_but) {
  broadcaster_.end_streams(user, credential, all_but);
}

Status LiveService::check_api_camera_url(const std::string& url) const {
  const auto scheme_end = url.find("://");
  std::string scheme = scheme_end == std::string::npos ? "file" : url.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto& allowed = config_.api_camera_schemes;
  if (std::find(allowed.begin(), allowed.end(), scheme) == allowed.end()) {
    std::string list;
    for (const auto& s : allowed) list += (list.empty() ? "" : ", ") + s;
    return Error{"url: cameras created through the API may use " + list +
                 (scheme == "file" ? " (a local file or folder is for the configuration file)" : "; not " + scheme)};
  }
  if (scheme == "file") return ok_status();
  // The host, without user:password@, port and IPv6 brackets.
  const std::size_t authority = scheme_end + 3;
  std::string host = url.substr(authority, url.find_first_of("/?#", authority) - authority);
  if (const auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  if (host.empty()) return Error{"url: names no host"};
  auto addresses = resolve_host(host);
  if (!addresses) return Error{"url: " + addresses.error().message};
  for (const std::string& address : *addresses)
    for (const std::string& text : config_.api_camera_blocked_networks) {
      const auto network = parse_network(text);
      if (network && address_in(address, *network))
        return Error{"url: the camera's host " + host + " is " + address + ", in " + text +
                     ", which cameras created through the API may not reach (api_camera_blocked_networks)"};
    }
  return ok_status();
}

std::int64_t LiveService::free_disk_bytes() const {
  struct statvfs fs {};
  if (::statvfs(data_dir_.c_str(), &fs) != 0) return -1;
  return static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
}

bool LiveService::below_disk_floor() const {
  const std::int64_t free = free_disk_bytes();
  return free >= 0 && free < config_.min_free_disk_mb * (std::int64_t{1} << 20);
}

}  // namespace glassbox
