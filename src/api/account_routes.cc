// The account routes of `serve` (docs/accounts.md): login (throttled per client address and per
// name and address, at most two password checks at a time, no lock held while hashing),
// logout here or everywhere, password change, API tokens with an expiry and their revocation,
// accounts asked for by one admin and approved by another, activated by their holder with both
// halves of the activation code, disabled for good; and the audit log's export for auditors.
// Every end of a credential ends its live event streams at once.
// Thread-safety: as LiveService (see live_service.h for which mutex guards what).
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "api/http_util.h"
#include "api/live_service.h"
#include "audit/audit_log.h"
#include "audit/export_verifier.h"
#include "core/text.h"

namespace glassbox {
using namespace glassbox::http;

namespace {

double monotonic_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

json roles_json(const std::set<Role>& roles) {
  json out = json::array();
  for (Role r : roles) out.push_back(role_name(r));
  return out;
}

json account_json(const Account& a) {
  json j = {{"name", a.name},
            {"roles", roles_json(a.roles)},
            {"status", account_status_name(a.status)},
            {"created_by", a.created_by},
            {"created_at", format_utc(a.created_at)}};
  if (a.approved_by) j["approved_by"] = *a.approved_by;
  if (a.approved_at) j["approved_at"] = format_utc(*a.approved_at);
  if (a.activation_expires_at && a.status == AccountStatus::kApproved) j["activation_expires_at"] = format_utc(*a.activation_expires_at);
  if (a.disabled_by) j["disabled_by"] = *a.disabled_by;
  if (a.disabled_at) j["disabled_at"] = format_utc(*a.disabled_at);
  if (a.disable_reason) j["disable_reason"] = *a.disable_reason;
  return j;
}

json token_json(const TokenInfo& t) {
  json j = {{"id", t.id}, {"user", t.user}, {"label", t.label}, {"created_at", format_utc(t.created_at)}, {"expires_at", format_utc(t.expires_at)}};
  if (t.revoked_at) j["revoked_at"] = format_utc(*t.revoked_at);
  return j;
}

// Releases a counting semaphore's slot when it goes out of scope.
struct Slot {
  std::counting_semaphore<>& semaphore;
  ~Slot() { semaphore.release(); }
};

}  // namespace

void LiveService::register_account_routes() {
  // Login: JSON only (a cross-site form cannot send it without a CORS preflight), from this
  // origin when the browser says where it comes from.
  open_route("POST", "/api/login", {BodyKind::kJson, kSmallJson}, [this](Request& req, Response& res) {
    auto body = parse_json_object(req);
    if (!body) return reply_error(res, 400, "send {\"name\": ..., \"password\": ...}");
    // The name is checked as a user name below (a refusal like a wrong password).
    auto name = string_member(*body, "name", true, 1024, /*printable=*/false);
    auto password = string_member(*body, "password", true, 1024, /*printable=*/false);
    if (!name || !password) return reply_error(res, 400, "send {\"name\": ..., \"password\": ...} as strings");
    const std::string origin = req.header("Origin");
    if (!origin.empty() && origin != (req.secure ? "https://" : "http://") + req.header("Host")) {
      security_log_.denial({req.client_address, req.method, req.path, "", "", "cross_origin_login", 403, 0, 0.0});
      return reply_error(res, 403, "a login must come from this service's own pages (Origin " + origin + ")");
    }
    const std::string& client = req.client_address;
    const double now_s = monotonic_s();
    if (const double wait = login_throttle_.wait_s(client, **name, now_s); wait > 0.0) {
      // One audit record per throttled episode of a client, not one per refused attempt.
      if (login_throttle_.first_refusal(client, now_s)) {
        std::lock_guard lock(audit_db_mutex_);
        (void)audit_db_->transaction([&] { return audit::append(*audit_db_, {"anonymous", "login.throttled", "client/" + client, json::object()}, now_utc()); });
      }
      security_log_.denial({client, req.method, req.path, "", "", "login_throttled", 429, 0, 0.0});
      reply_error(res, 429, "too many failed logins from this address; try again in " + std::to_string(static_cast<int>(std::ceil(wait))) + " s");
      res.set_header("Retry-After", std::to_string(static_cast<int>(std::ceil(wait))));
      return;
    }
    // A name no account can have is refused like a wrong password, without an audit record (it
    // would be the attacker's text in the log), and counts against the client all the same.
    if (!validate_user_name("name", **name)) {
      login_throttle_.failed(client, **name, now_s);
      security_log_.denial({client, req.method, req.path, "", "", "login_failed", 401, 0, 0.0});
      return reply_error(res, 401, "wrong name or password");
    }
    // Argon2id takes 64 MiB and a good part of a core: this runs on the password pool, two at a
    // time whoever asks, and never on a worker anyone else waits for.
    std::variant<NewSession, LoginError> outcome;
    {
      Result<UserStore::LoginCandidate> candidate = UserStore::LoginCandidate{};
      {
        std::lock_guard lock(users_mutex_);
        candidate = users_->login_candidate(**name);
      }
      if (!candidate) return reply_internal(res, "login", candidate.error());
      const bool password_ok = UserStore::verify_password(*candidate, **password);  // no lock held
      std::lock_guard lock(users_mutex_);
      outcome = users_->finish_login(**name, password_ok, *candidate, client, now_utc(), static_cast<UnixSeconds>(config_.session_absolute_s));
    }
    if (const auto* failure = std::get_if<LoginError>(&outcome)) {
      if (failure->kind == LoginFailure::kInternal) return reply_internal(res, "login", Error{failure->message});
      login_throttle_.failed(client, **name, now_s);
      security_log_.denial({client, req.method, req.path, **name, "", "login_failed", 401, 0, 0.0});
      return reply_error(res, 401, "wrong name or password");
    }
    login_throttle_.succeeded(client, **name, now_s);
    const NewSession& session = std::get<NewSession>(outcome);
    const bool secure = secure_transport() || config_.cookie_secure;
    res.set_header("Set-Cookie", session_cookie() + "=" + session.token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                     std::to_string(static_cast<long long>(config_.session_absolute_s)) + (secure ? "; Secure" : ""));
    reply_json(res, 200, {{"user", session.principal.name},
                          {"roles", roles_json(session.principal.roles)},
                          {"csrf_token", session.csrf_token},
                          {"expires_at", format_utc(session.principal.expires_at)}});
  }, false, kPasswordPool);
  auto clear_cookie = [this](Response& res) {
    res.set_header("Set-Cookie", session_cookie() + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
                                     std::string(secure_transport() || config_.cookie_secure ? "; Secure" : ""));
  };
  guarded("POST", "/api/logout", {BodyKind::kJson, kSmallJson}, kAnyRole, [this, clear_cookie](const Request& req, Response& res, const Principal& who) {
    if (!who.via_session) return reply_error(res, 400, "an API token is not a session; revoke it with DELETE /api/tokens/{id}");
    Result<std::string> ended = std::string();
    {
      std::lock_guard lock(users_mutex_);
      ended = users_->logout(req.cookie(session_cookie()), now_utc());
    }
    if (!ended) return reply_internal(res, "logout", ended.error());
    end_streams(who.name, *ended);
    clear_cookie(res);
    res.status = 204;
  });
  guarded("POST", "/api/me/logout-all", {BodyKind::kJson, kSmallJson}, kAnyRole, [this, clear_cookie](const Request&, Response& res, const Principal& who) {
    Status ended = ok_status();
    {
      std::lock_guard lock(users_mutex_);
      ended = users_->end_all_credentials(who.name, who.name, now_utc());
    }
    if (!ended) return reply_internal(res, "logout everywhere", ended.error());
    end_streams(who.name, "");
    clear_cookie(res);
    reply_json(res, 200, {{"user", who.name}, {"sessions", "ended"}, {"tokens", "revoked"}});
  });
  guarded("GET", "/api/me", {}, kAnyRole, [](const Request&, Response& res, const Principal& who) {
    json me = {{"user", who.name}, {"roles", roles_json(who.roles)}, {"via", who.via_session ? "session" : "token"},
               {"expires_at", format_utc(who.expires_at)}};
    // A page reloaded in the same session gets its CSRF token again: readable by this origin only
    // (no CORS), so another site cannot learn it.
    if (who.via_session) me["csrf_token"] = who.csrf_token;
    reply_json(res, 200, me);
  });
  guarded("POST", "/api/me/password", {BodyKind::kJson, kSmallJson}, kAnyRole, [this](const Request& req, Response& res, const Principal& who) {
    auto body = parse_json_object(req);
    if (!body) return reply_error(res, 400, body.error().message);
    auto old_password = string_member(*body, "old_password", true, 1024, /*printable=*/false);
    auto new_password = string_member(*body, "new_password", true, 1024, /*printable=*/false);
    if (!old_password) return reply_error(res, 400, old_password.error().message);
    if (!new_password) return reply_error(res, 400, new_password.error().message);
    // A stolen session must not become a way to guess the password: same budget as logins.
    const double now_s = monotonic_s();
    if (login_throttle_.wait_s(req.client_address, who.name, now_s) > 0.0) return reply_error(res, 429, "too many wrong passwords; try again later");
    Status changed = ok_status();
    {
      std::lock_guard lock(users_mutex_);
      changed = users_->change_password(who.name, **old_password, **new_password, who.via_session ? req.cookie(session_cookie()) : "", now_utc());
    }
    if (!changed) {
      const std::string& m = changed.error().message;
      if (m.find("old password is wrong") != std::string::npos) {
        login_throttle_.failed(req.client_address, who.name, now_s);
        return reply_error(res, 403, m);
      }
      if (m.find("password must") != std::string::npos || m.find("longer than") != std::string::npos || m.find("same as") != std::string::npos)
        return reply_error(res, 400, m);
      return reply_internal(res, "password change", changed.error());
    }
    // Every other session ended in the database; their live streams end now.
    end_streams(who.name, who.credential, /*all_but=*/true);
    reply_json(res, 200, {{"user", who.name}, {"password", "changed"}, {"other_sessions", "ended"}});
  }, kPasswordPool);

  guarded("GET", "/api/tokens", {}, kAnyRole, [this](const Request&, Response& res, const Principal& who) {
    Result<std::vector<TokenInfo>> tokens = std::vector<TokenInfo>{};
    {
      std::lock_guard lock(users_mutex_);
      tokens = users_->list_tokens(who.name);
    }
    if (!tokens) return reply_internal(res, "listing tokens", tokens.error());
    json list = json::array();
    for (const TokenInfo& t : *tokens) list.push_back(token_json(t));
    reply_json(res, 200, list);
  });
  guarded("POST", "/api/tokens", {BodyKind::kJson, kSmallJson}, kAnyRole, [this](const Request& req, Response& res, const Principal& who) {
    auto body = parse_json_object(req);
    if (!body) return reply_error(res, 400, body.error().message);
    auto label = string_member(*body, "label", true, 100);
    if (!label) return reply_error(res, 400, label.error().message);
    int days = std::min(90, config_.token_max_days);
    if (body->contains("expires_days")) {
      const json& d = (*body)["expires_days"];
      if (!d.is_number_integer() || d.get<std::int64_t>() < 1 || d.get<std::int64_t>() > config_.token_max_days)
        return reply_error(res, 400, "expires_days must be a whole number of days from 1 to " + std::to_string(config_.token_max_days));
      days = d.get<int>();
    }
    const UnixSeconds now = now_utc();
    Result<NewToken> made = NewToken{};
    {
      std::lock_guard lock(users_mutex_);
      made = users_->create_api_token(who.name, **label, now + static_cast<UnixSeconds>(days) * 86400, who.name, now);
    }
    if (!made) {
      const std::string& m = made.error().message;
      if (m.find("label") != std::string::npos || m.find("revoke one first") != std::string::npos) return reply_error(res, m.find("label") != std::string::npos ? 400 : 409, m);
      return reply_internal(res, "making a token", made.error());
    }
    json j = token_json(made->info);
    j["token"] = made->token;
    reply_json(res, 201, j);
  });
  guarded("DELETE", "/api/tokens/{int}", {}, kAnyRole, [this](const Request& req, Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no such token");
    std::string owner;
    {
      std::lock_guard lock(users_mutex_);
      auto info = users_->token_info(*id);
      if (!info) return reply_internal(res, "reading a token", info.error());
      // Someone else's token is no business of a non-admin: it does not exist for them.
      if (!info->has_value() || ((*info)->user != who.name && !who.has(Role::kAdmin))) return reply_error(res, 404, "no such token");
      owner = (*info)->user;
      if ((*info)->revoked_at) return reply_error(res, 409, "token " + std::to_string(*id) + " is revoked already");
      if (auto s = users_->revoke_token(*id, who.name, now_utc()); !s) return reply_internal(res, "revoking a token", s.error());
    }
    end_streams(owner, "token:" + std::to_string(*id));
    res.status = 204;
  });

  guarded("GET", "/api/users", {}, kAdmins, [this](const Request&, Response& res, const Principal&) {
    Result<std::vector<Account>> accounts = std::vector<Account>{};
    {
      std::lock_guard lock(users_mutex_);
      accounts = users_->list_accounts();
    }
    if (!accounts) return reply_internal(res, "listing accounts", accounts.error());
    json list = json::array();
    for (const Account& a : *accounts) list.push_back(account_json(a));
    reply_json(res, 200, list);
  });
  // An account through the API is opened by two admins; neither sets or learns its password.
  guarded("POST", "/api/users", {BodyKind::kJson, kSmallJson}, kAdmins, [this](const Request& req, Response& res, const Principal& who) {
    auto body = parse_json_object(req);
    if (!body) return reply_error(res, 400, body.error().message);
    if (body->contains("password"))
      return reply_error(res, 400, "password: the account's holder sets it at activation (POST /api/activate); no admin knows it");
    auto name = string_member(*body, "name", true, 64);
    if (!name) return reply_error(res, 400, name.error().message);
    if (!body->contains("roles") || !(*body)["roles"].is_array()) return reply_error(res, 400, "roles: a list of role names");
    std::set<Role> roles;
    for (const auto& r : (*body)["roles"]) {
      auto role = r.is_string() ? parse_role(r.get<std::string>()) : Result<Role>(Error{"roles: a list of role names"});
      if (!role) return reply_error(res, 400, role.error().message);
      roles.insert(*role);
    }
    if (auto s = validate_user_name("name", **name); !s) return reply_error(res, 400, s.error().message);
    if (auto s = check_role_combination(roles); !s) return reply_error(res, 400, s.error().message);
    Result<std::string> code = std::string();
    {
      std::lock_guard lock(users_mutex_);
      code = users_->request_account(**name, roles, who.name, now_utc());
    }
    if (!code) {
      if (code.error().message.find("exists already") != std::string::npos) return reply_error(res, 409, code.error().message);
      return reply_internal(res, "asking for an account", code.error());
    }
    reply_json(res, 201, {{"name", **name},
                          {"roles", roles_json(roles)},
                          {"status", "pending"},
                          {"activation_code_part", *code},
                          {"next", "another admin approves it (POST /api/users/" + **name + "/approve) and gets the other half"}});
  });
  guarded("POST", "/api/users/{name}/approve", {BodyKind::kJson, kSmallJson}, kAdmins, [this](const Request& req, Response& res, const Principal& who) {
    const std::string& name = req.path_params[0];
    Result<std::string> code = std::string();
    Result<std::optional<Account>> account = std::optional<Account>{};
    {
      std::lock_guard lock(users_mutex_);
      code = users_->approve_account(name, who.name, now_utc());
      if (code) account = users_->account(name);
    }
    if (!code) {
      const std::string& m = code.error().message;
      return reply_error(res, m.find("does not exist") != std::string::npos ? 404 : (m.find("other than") != std::string::npos ? 403 : 409), m);
    }
    if (!account || !account->has_value()) return reply_internal(res, "reading an account back", account ? Error{"gone"} : account.error());
    json j = account_json(**account);
    j["activation_code_part"] = *code;
    reply_json(res, 200, j);
  });
  guarded("POST", "/api/users/{name}/disable", {BodyKind::kJson, kSmallJson}, kAdmins, [this](const Request& req, Response& res, const Principal& who) {
    auto body = parse_json_object(req);
    if (!body) return reply_error(res, 400, body.error().message);
    auto reason = string_member(*body, "reason", true, 2000);
    if (!reason) return reply_error(res, 400, "disabling an account needs a reason: " + reason.error().message);
    const std::string& name = req.path_params[0];
    Status disabled = ok_status();
    Result<std::optional<Account>> account = std::optional<Account>{};
    {
      std::lock_guard lock(users_mutex_);
      disabled = users_->disable_account(name, who.name, **reason, now_utc());
      if (disabled) account = users_->account(name);
    }
    if (!disabled) {
      const std::string& m = disabled.error().message;
      if (m.find("does not exist") != std::string::npos) return reply_error(res, 404, m);
      if (m.find("needs a reason") != std::string::npos) return reply_error(res, 400, m);
      if (m.find("already") != std::string::npos || m.find("last active admin") != std::string::npos) return reply_error(res, 409, m);
      return reply_internal(res, "disabling an account", disabled.error());
    }
    end_streams(name, "");  // its sessions and tokens are gone; its live streams end now
    if (!account || !account->has_value()) return reply_internal(res, "reading an account back", account ? Error{"gone"} : account.error());
    reply_json(res, 200, account_json(**account));
  });
  // Activation by the account's holder: both halves of the code, and their own password.
  open_route("POST", "/api/activate", {BodyKind::kJson, kSmallJson}, [this](Request& req, Response& res) {
    auto body = parse_json_object(req);
    if (!body) return reply_error(res, 400, "send {\"name\", \"requester_code\", \"approver_code\", \"password\"}");
    auto name = string_member(*body, "name", true, 1024, /*printable=*/false);
    auto maker = string_member(*body, "requester_code", true, 128, /*printable=*/false);
    auto checker = string_member(*body, "approver_code", true, 128, /*printable=*/false);
    auto password = string_member(*body, "password", true, 1024, /*printable=*/false);
    if (!name || !maker || !checker || !password) return reply_error(res, 400, "send {\"name\", \"requester_code\", \"approver_code\", \"password\"} as strings");
    if (auto s = validate_password(**password); !s) return reply_error(res, 400, s.error().message);
    const double now_s = monotonic_s();
    if (const double wait = login_throttle_.wait_s(req.client_address, **name, now_s); wait > 0.0) {
      security_log_.denial({req.client_address, req.method, req.path, "", "", "activation_throttled", 429, 0, 0.0});
      return reply_error(res, 429, "too many failed attempts from this address; try again later");
    }
    if (!validate_user_name("name", **name)) {
      login_throttle_.failed(req.client_address, **name, now_s);
      return reply_error(res, 401, "the activation codes are wrong, expired or already used");
    }
    Status activated = ok_status();
    {
      std::lock_guard lock(users_mutex_);
      activated = users_->activate_account(**name, **maker, **checker, **password, req.client_address, now_utc());
    }
    if (!activated) {
      if (activated.error().message.find("activation codes") == std::string::npos) return reply_internal(res, "activation", activated.error());
      login_throttle_.failed(req.client_address, **name, now_s);
      security_log_.denial({req.client_address, req.method, req.path, "", "", "activation_failed", 401, 0, 0.0});
      return reply_error(res, 401, activated.error().message);
    }
    reply_json(res, 200, {{"name", **name}, {"status", "active"}});
  }, false, kPasswordPool);

  // The audit log for auditors: the same export as `glassbox audit export` (itself audited), on
  // a connection of its own, one at a time.
  // The auditor browsing the log: filtered, newest first, in pages; the browsing is itself on record.
  guarded("GET", "/api/audit/records", {}, kAuditors, [this](const Request& req, Response& res, const Principal& who) {
    audit::RecordFilter filter;
    for (const auto& [name, target] : std::initializer_list<std::pair<const char*, std::string*>>{
             {"actor", &filter.actor}, {"action", &filter.action}, {"object", &filter.object}, {"from", &filter.from}, {"to", &filter.to}}) {
      if (!req.has_param(name)) continue;
      *target = req.param(name);
      if (target->size() > 200 || !printable_text(*target)) return reply_error(res, 400, std::string(name) + ": at most 200 characters of text");
    }
    try {
      if (req.has_param("before")) filter.before_seq = std::stoll(req.param("before"));
      if (req.has_param("limit")) filter.limit = std::stoi(req.param("limit"));
    } catch (const std::exception&) {
      return reply_error(res, 400, "before and limit must be integers");
    }
    if (filter.limit < 1 || filter.limit > 1000) return reply_error(res, 400, "limit: 1 to 1000");
    Result<std::vector<json>> records = std::vector<json>{};
    {
      std::lock_guard lock(audit_db_mutex_);
      records = audit::query_records(*audit_db_, filter);
    }
    if (!records) return reply_internal(res, "reading the audit log", records.error());
    if (!audit_read(who, "audit.view", "audit",
                    {{"actor", filter.actor}, {"action", filter.action}, {"object", filter.object}, {"from", filter.from}, {"to", filter.to},
                     {"count", records->size()}},
                    res))
      return;
    reply_json(res, 200, {{"records", *records}, {"more", static_cast<int>(records->size()) == filter.limit}});
  });
  // Whether the log verifies: it is exported (audit.export, by the auditor) and the export is
  // checked with the public key alone, as `glassbox audit verify` does offline.
  guarded("GET", "/api/audit/verify", {}, kAuditors, [this](const Request&, Response& res, const Principal& who) {
    if (!export_slots_.try_acquire_for(std::chrono::seconds(1))) return reply_error(res, 503, "an export is running; try again when it ends");
    Slot slot{export_slots_};
    auto key = audit::read_public_key(database_.key_base + ".audit-pub");
    if (!key) return reply_internal(res, "audit verification", key.error());
    auto file = export_audit_log(who.name);
    if (!file) return reply_internal(res, "audit verification", file.error());
    auto report = audit::verify_export_file(*file, *key, std::nullopt);
    std::error_code ec;
    std::filesystem::remove(*file, ec);
    json answer = {{"public_key_file", database_.key_base + ".audit-pub"}, {"verified", static_cast<bool>(report)}};
    if (!report) {
      answer["error"] = report.error().message;
    } else {
      answer["records"] = report->records;
      answer["checkpoints"] = report->checkpoints;
      // Every record carries the signed head of the tree it ends; the newest is the log's head now.
      if (report->newest)
        answer["tree_head"] = {{"log", report->newest->log_id}, {"size", report->newest->size}, {"root", merkle::to_hex(report->newest->root)}};
    }
    reply_json(res, 200, answer);
  }, kFilePool);
  guarded("GET", "/api/audit/export", {}, kAuditors, [this](const Request&, Response& res, const Principal& who) {
    if (!export_slots_.try_acquire_for(std::chrono::seconds(1))) return reply_error(res, 503, "an export is running; try again when it ends");
    Slot slot{export_slots_};
    auto file = export_audit_log(who.name);
    if (!file) return reply_internal(res, "audit export", file.error());
    std::ifstream in(*file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::error_code ec;
    std::filesystem::remove(*file, ec);
    res.set_content(text.str(), "application/x-ndjson");
  }, kFilePool);
}

Result<std::filesystem::path> LiveService::export_audit_log(const std::string& actor) {
  auto db = connect();
  if (!db) return db.error();
  const auto file = std::filesystem::path(data_dir_) / ("audit-export-" + std::to_string(::getpid()) + "-" + std::to_string(now_utc()) + ".jsonl");
  auto n = audit::export_log(**db, actor, file.string(), now_utc());
  if (!n) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    return n.error();
  }
  return file;
}

}  // namespace glassbox
