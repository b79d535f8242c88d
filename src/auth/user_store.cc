#include "auth/user_store.h"

#include <sodium.h>

#include <sstream>

#include "audit/audit_log.h"
#include "enroll/enrollment.h"
#include "store/sqlite_database.h"

namespace glassbox {
namespace {

using nlohmann::json;

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// `bytes` random bytes as hex digits.
std::string random_hex(std::size_t bytes = 32) {
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string hex(2 * bytes + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  hex.pop_back();
  return hex;
}

std::vector<unsigned char> sha256(const std::string& text) {
  std::vector<unsigned char> out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return out;
}

bool same_hash(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string roles_text(const std::set<Role>& roles) {
  std::string out;
  for (Role r : roles) out += std::string(out.empty() ? "" : ",") + role_name(r);
  return out;
}

std::set<Role> parse_roles(const std::string& text) {
  std::set<Role> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (auto r = parse_role(item); r) out.insert(*r);
  return out;
}

Result<AccountStatus> parse_status(const std::string& text) {
  for (AccountStatus s : {AccountStatus::kPending, AccountStatus::kApproved, AccountStatus::kActive, AccountStatus::kDisabled})
    if (text == account_status_name(s)) return s;
  return Error{"unknown account status '" + text + "'"};
}

Result<std::string> hash_password(const std::string& password) {
  if (!sodium_ready()) return Error{"libsodium could not be initialised"};
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return Error{"not enough memory to hash the password"};
  return std::string(hash);
}

// A label or reason: 1..max bytes of valid UTF-8 without control characters.
Status check_label(const std::string& field, const std::string& value, std::size_t max) {
  std::vector<std::string> problems;
  check_text(field, value, max, problems);
  if (!problems.empty()) return Error{problems.front()};
  return ok_status();
}

constexpr const char* kAccountColumns =
    "name, roles, status, created_by, created_at, approved_by, approved_at, disabled_by, disabled_at, disable_reason, activation_expires_at";

Account account_from_row(const Statement& s) {
  Account a;
  a.name = s.text(0);
  a.roles = parse_roles(s.text(1));
  a.status = parse_status(s.text(2)).ok() ? *parse_status(s.text(2)) : AccountStatus::kDisabled;
  a.created_by = s.text(3);
  a.created_at = s.int64(4);
  if (!s.is_null(5)) a.approved_by = s.text(5);
  if (!s.is_null(6)) a.approved_at = s.int64(6);
  if (!s.is_null(7)) a.disabled_by = s.text(7);
  if (!s.is_null(8)) a.disabled_at = s.int64(8);
  if (!s.is_null(9)) a.disable_reason = s.text(9);
  if (!s.is_null(10)) a.activation_expires_at = s.int64(10);
  return a;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kOperator: return "operator";
    case Role::kSupervisor: return "supervisor";
    case Role::kAuditor: return "auditor";
    case Role::kAdmin: return "admin";
  }
  return "?";
}

Result<Role> parse_role(const std::string& name) {
  for (Role r : {Role::kOperator, Role::kSupervisor, Role::kAuditor, Role::kAdmin})
    if (name == role_name(r)) return r;
  return Error{"'" + name + "' is not a role (operator, supervisor, auditor, admin)"};
}

Status check_role_combination(const std::set<Role>& roles) {
  if (roles.empty()) return Error{"an account needs at least one role"};
  const bool operational = roles.count(Role::kOperator) || roles.count(Role::kSupervisor);
  if (roles.count(Role::kAdmin) && operational)
    return Error{"an admin account cannot also be an operator or supervisor (whoever manages accounts and cameras does not review or approve)"};
  if (roles.count(Role::kAuditor) && roles.size() > 1) return Error{"an auditor account holds no other role (nobody audits themselves)"};
  return ok_status();
}

const char* account_status_name(AccountStatus status) {
  switch (status) {
    case AccountStatus::kPending: return "pending";
    case AccountStatus::kApproved: return "approved";
    case AccountStatus::kActive: return "active";
    case AccountStatus::kDisabled: return "disabled";
  }
  return "?";
}

std::string session_credential(const std::string& token) {
  const auto digest = sha256(token);
  char hex[17];
  sodium_bin2hex(hex, sizeof hex, digest.data(), 8);
  return std::string("session:") + hex;
}

Status check_cli_role(const std::string& database, const std::string& name, const std::set<Role>& roles, const std::string& what) {
  auto store = UserStore::open(database);
  if (!store) return store.error();
  auto any = (*store)->has_users();
  if (!any) return any.error();
  if (!*any) return ok_status();
  auto who = (*store)->account(name);
  if (!who) return who.error();
  if (!who->has_value()) return Error{what + ": '" + name + "' has no account"};
  if ((*who)->status != AccountStatus::kActive)
    return Error{what + ": the account '" + name + "' is " + account_status_name((*who)->status) + ", not active"};
  for (Role r : roles)
    if ((*who)->roles.count(r)) return ok_status();
  std::string list;
  for (Role r : roles) list += std::string(list.empty() ? "" : " or ") + role_name(r);
  return Error{what + ": '" + name + "' is not " + list};
}

Status validate_password(const std::string& password) {
  if (password.size() < static_cast<std::size_t>(UserStore::kMinPasswordLength))
    return Error{"the password must have at least " + std::to_string(UserStore::kMinPasswordLength) + " characters"};
  if (password.size() > 1024) return Error{"the password is longer than 1024 characters"};
  return ok_status();
}

Result<std::unique_ptr<UserStore>> UserStore::open(const std::string& path) {
  auto db = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  if (!db) return db.error();
  return std::make_unique<UserStore>(std::move(*db));
}

UserStore::UserStore(std::unique_ptr<Database> db) : db_(std::move(db)) {
  (void)sodium_ready();
}

void UserStore::set_busy_timeout(std::chrono::milliseconds timeout) {
  // PostgreSQL readers never wait for writers; only SQLite's lock has a wait to bound.
  if (auto* sqlite = dynamic_cast<SqliteDatabase*>(db_.get())) sqlite->set_busy_timeout(timeout);
}

Result<bool> UserStore::has_users() {
  auto s = db_->prepare("SELECT 1 FROM users LIMIT 1");
  return next_row(*s, "cannot read the accounts");
}

Status UserStore::add_user(const std::string& name, const std::string& password, const std::set<Role>& roles, const std::string& actor,
                           UnixSeconds now) {
  if (auto s = validate_user_name("name", name); !s) return s;
  if (auto s = check_role_combination(roles); !s) return s;
  if (auto s = validate_password(password); !s) return s;
  auto hash = hash_password(password);
  if (!hash) return hash.error();
  return db_->transaction([&]() -> Status {
    // DO NOTHING … RETURNING: no row back means the name (compared without case) is taken.
    auto insert = db_->prepare(
        "INSERT INTO users (name, password_hash, roles, created_at, created_by, status, password_changed_at) "
        "VALUES (?, ?, ?, ?, ?, 'active', ?) ON CONFLICT DO NOTHING RETURNING name");
    insert->bind(1, name);
    insert->bind(2, *hash);
    insert->bind(3, roles_text(roles));
    insert->bind(4, now);
    insert->bind(5, actor);
    insert->bind(6, now);
    auto stored = next_row(*insert, "cannot store the account");
    if (!stored) return stored.error();
    if (!*stored) return Error{"an account named '" + name + "' exists already (names are compared without regard to case)"};
    return audit::append(*db_, {actor, "user.add", "user/" + name, {{"roles", roles_text(roles)}, {"status", "active"}}}, now);
  });
}

Result<std::string> UserStore::request_account(const std::string& name, const std::set<Role>& roles, const std::string& actor, UnixSeconds now) {
  if (auto s = validate_user_name("name", name); !s) return s.error();
  if (auto s = check_role_combination(roles); !s) return s.error();
  const std::string code = random_hex(16);
  auto status = db_->transaction([&]() -> Status {
    // '!' is no Argon2id string: nothing verifies against it until the holder sets a password.
    auto insert = db_->prepare(
        "INSERT INTO users (name, password_hash, roles, created_at, created_by, status, activation_maker_hash) "
        "VALUES (?, '!', ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING RETURNING name");
    insert->bind(1, name);
    insert->bind(2, roles_text(roles));
    insert->bind(3, now);
    insert->bind(4, actor);
    insert->bind_bytes(5, sha256(code));
    auto stored = next_row(*insert, "cannot store the account");
    if (!stored) return stored.error();
    if (!*stored) return Error{"an account named '" + name + "' exists already (names are compared without regard to case)"};
    return audit::append(*db_, {actor, "user.add", "user/" + name, {{"roles", roles_text(roles)}, {"status", "pending"}}}, now);
  });
  if (!status) return status.error();
  return code;
}

Result<std::string> UserStore::approve_account(const std::string& name, const std::string& approver, UnixSeconds now) {
  auto found = account(name);
  if (!found) return found.error();
  if (!found->has_value()) return Error{"account " + name + " does not exist"};
  const Account& a = **found;
  if (a.status != AccountStatus::kPending) return Error{"account " + name + " is " + account_status_name(a.status) + ", not pending approval"};
  if (a.created_by == approver) return Error{"account " + name + " must be approved by an admin other than " + approver + ", who asked for it"};
  if (a.name == approver) return Error{"account " + name + " must be approved by someone other than its holder"};
  const std::string code = random_hex(16);
  auto status = db_->transaction([&]() -> Status {
    auto update = db_->prepare(
        "UPDATE users SET status = 'approved', approved_by = ?, approved_at = ?, activation_checker_hash = ?, "
        "activation_expires_at = ? WHERE name = ? AND status = 'pending' RETURNING name");
    update->bind(1, approver);
    update->bind(2, now);
    update->bind_bytes(3, sha256(code));
    update->bind(4, now + kActivationSeconds);
    update->bind(5, name);
    auto approved = next_row(*update, "cannot approve account " + name);
    if (!approved) return approved.error();
    if (!*approved) return Error{"account " + name + " is no longer pending"};
    return audit::append(*db_, {approver, "user.approve", "user/" + name, {{"roles", roles_text(a.roles)}}}, now);
  });
  if (!status) return status.error();
  return code;
}

Status UserStore::activate_account(const std::string& name, const std::string& maker_code, const std::string& checker_code,
                                   const std::string& password, const std::string& client, UnixSeconds now) {
  if (auto s = validate_password(password); !s) return s;
  std::vector<unsigned char> maker, checker;
  std::optional<UnixSeconds> expires;
  std::string status_text;
  {
    auto s = db_->prepare("SELECT status, activation_maker_hash, activation_checker_hash, activation_expires_at FROM users WHERE name = ?");
    s->bind(1, name);
    auto found = next_row(*s, "cannot read the account");
    if (!found) return found.error();
    if (*found) {
      status_text = s->text(0);
      maker = s->bytes(1);
      checker = s->bytes(2);
      if (!s->is_null(3)) expires = s->int64(3);
    }
  }
  const bool ok = status_text == "approved" && expires && now < *expires && same_hash(maker, sha256(maker_code)) &&
                  same_hash(checker, sha256(checker_code));
  const std::string refusal = "the activation codes are wrong, expired or already used";
  if (!ok) {
    auto recorded = db_->transaction([&] {
      return audit::append(*db_, {"anonymous", "user.activate.failure", "user/" + name, {{"client", client}}}, now);
    });
    if (!recorded) return recorded.error();
    return Error{refusal};
  }
  auto hash = hash_password(password);
  if (!hash) return hash.error();
  return db_->transaction([&]() -> Status {
    auto update = db_->prepare(
        "UPDATE users SET status = 'active', password_hash = ?, password_changed_at = ?, activation_maker_hash = NULL, "
        "activation_checker_hash = NULL, activation_expires_at = NULL WHERE name = ? AND status = 'approved' RETURNING name");
    update->bind(1, *hash);
    update->bind(2, now);
    update->bind(3, name);
    auto activated = next_row(*update, "cannot activate account " + name);
    if (!activated) return activated.error();
    if (!*activated) return Error{refusal};
    return audit::append(*db_, {name, "user.activate", "user/" + name, {{"client", client}}}, now);
  });
}

Status UserStore::end_sessions_and_tokens(const std::string& name, const std::string& actor, const std::string& keep_session, UnixSeconds now,
                                          bool revoke_tokens) {
  auto del = db_->prepare(keep_session.empty() ? "DELETE FROM sessions WHERE \"user\" = ?" : "DELETE FROM sessions WHERE \"user\" = ? AND token_hash <> ?");
  del->bind(1, name);
  if (!keep_session.empty()) del->bind_bytes(2, sha256(keep_session));
  if (auto s = run(*del); !s) return s.error().within("cannot end the sessions of " + name);
  if (!revoke_tokens) return ok_status();
  auto revoke = db_->prepare("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE \"user\" = ? AND revoked_at IS NULL");
  revoke->bind(1, now);
  revoke->bind(2, actor);
  revoke->bind(3, name);
  if (auto s = run(*revoke); !s) return s.error().within("cannot revoke the tokens of " + name);
  return ok_status();
}

Status UserStore::disable_account(const std::string& name, const std::string& actor, const std::string& reason, UnixSeconds now) {
  if (auto s = check_label("reason", reason, 2000); !s) return Error{"disabling an account needs a reason: " + s.error().message};
  auto found = account(name);
  if (!found) return found.error();
  if (!found->has_value()) return Error{"account " + name + " does not exist"};
  const Account& a = **found;
  if (a.status == AccountStatus::kDisabled) return Error{"account " + name + " is disabled already"};
  if (a.status == AccountStatus::kActive && a.roles.count(Role::kAdmin)) {
    auto admins = active_with_role(Role::kAdmin);
    if (!admins) return admins.error();
    if (*admins <= 1) return Error{"account " + name + " is the last active admin; make another first"};
  }
  return db_->transaction([&]() -> Status {
    auto update = db_->prepare(
        "UPDATE users SET status = 'disabled', disabled_by = ?, disabled_at = ?, disable_reason = ?, "
        "activation_maker_hash = NULL, activation_checker_hash = NULL WHERE name = ? AND status <> 'disabled'");
    update->bind(1, actor);
    update->bind(2, now);
    update->bind(3, reason);
    update->bind(4, name);
    if (auto s = run(*update); !s) return s.error().within("cannot disable account " + name);
    if (auto s = end_sessions_and_tokens(name, actor, {}, now, true); !s) return s;
    return audit::append(*db_, {actor, "user.disable", "user/" + name, {{"reason", reason}}}, now);
  });
}

Status UserStore::change_password(const std::string& name, const std::string& old_password, const std::string& new_password,
                                  const std::string& keep_session, UnixSeconds now) {
  if (auto s = validate_password(new_password); !s) return s;
  if (old_password == new_password) return Error{"the new password is the same as the old one"};
  auto candidate = login_candidate(name);
  if (!candidate) return candidate.error();
  if (!verify_password(*candidate, old_password) || !candidate->usable) return Error{"the old password is wrong"};
  auto hash = hash_password(new_password);
  if (!hash) return hash.error();
  return db_->transaction([&]() -> Status {
    auto update = db_->prepare("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ? AND status = 'active' RETURNING name");
    update->bind(1, *hash);
    update->bind(2, now);
    update->bind(3, name);
    auto changed = next_row(*update, "cannot change the password of " + name);
    if (!changed) return changed.error();
    if (!*changed) return Error{"cannot change the password of " + name + ": the account is no longer active"};
    if (auto s = end_sessions_and_tokens(name, name, keep_session, now, false); !s) return s;
    return audit::append(*db_, {name, "user.password", "user/" + name, json::object()}, now);
  });
}

Status UserStore::end_all_credentials(const std::string& name, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    if (auto s = end_sessions_and_tokens(name, actor, {}, now, true); !s) return s;
    return audit::append(*db_, {actor, "logout.everywhere", "user/" + name, json::object()}, now);
  });
}

Result<std::vector<Account>> UserStore::list_accounts() {
  auto s = db_->prepare(std::string("SELECT ") + kAccountColumns + " FROM users ORDER BY name");
  std::vector<Account> out;
  while (true) {
    auto row = next_row(*s, "cannot list the accounts");
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(account_from_row(*s));
  }
}

Result<std::optional<Account>> UserStore::account(const std::string& name) {
  auto s = db_->prepare(std::string("SELECT ") + kAccountColumns + " FROM users WHERE name = ?");
  s->bind(1, name);
  auto found = next_row(*s, "cannot read the account");
  if (!found) return found.error();
  if (!*found) return std::optional<Account>{};
  return std::optional<Account>{account_from_row(*s)};
}

Result<int> UserStore::active_with_role(Role role) {
  auto s = db_->prepare("SELECT roles FROM users WHERE status = 'active'");
  int n = 0;
  while (true) {
    auto row = next_row(*s, "cannot read the accounts");
    if (!row) return row.error();
    if (!*row) return n;
    n += parse_roles(s->text(0)).count(role) ? 1 : 0;
  }
}

Result<std::optional<Principal>> UserStore::active_principal(const std::string& name) {
  auto s = db_->prepare("SELECT roles FROM users WHERE name = ? AND status = 'active'");
  s->bind(1, name);
  auto found = next_row(*s, "cannot read the account");
  if (!found) return found.error();
  if (!*found) return std::optional<Principal>{};
  Principal p;
  p.name = name;
  p.roles = parse_roles(s->text(0));
  return std::optional<Principal>{p};
}

Result<UserStore::LoginCandidate> UserStore::login_candidate(const std::string& name) {
  auto s = db_->prepare("SELECT password_hash, status FROM users WHERE name = ?");
  s->bind(1, name);
  auto found = next_row(*s, "cannot read the account");
  if (!found) return found.error();
  LoginCandidate c;
  if (*found) {
    c.hash = s->text(0);
    c.usable = s->text(1) == "active";
  }
  return c;
}

bool UserStore::verify_password(const LoginCandidate& candidate, const std::string& password) {
  // The hash is computed even for an unknown or unusable account, so timing tells nothing.
  static const std::string dummy = [] {
    if (!sodium_ready()) return std::string();
    char h[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(h, "not a password", 14, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
      return std::string();  // out of memory: an empty hash never verifies
    return std::string(h);
  }();
  const std::string& hash = candidate.usable && candidate.hash.rfind("$argon2", 0) == 0 ? candidate.hash : dummy;
  const bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  return ok && candidate.usable && &hash != &dummy;
}

std::variant<NewSession, LoginError> UserStore::finish_login(const std::string& name, bool password_ok, const LoginCandidate& candidate,
                                                                   const std::string& client, UnixSeconds now, UnixSeconds lifetime) {
  const bool ok = password_ok && candidate.usable;
  NewSession session;
  const auto status = db_->transaction([&]() -> Status {
    if (ok) {
      session.token = random_hex();
      session.csrf_token = random_hex();
      auto insert = db_->prepare("INSERT INTO sessions (token_hash, \"user\", csrf_token, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)");
      insert->bind_bytes(1, sha256(session.token));
      insert->bind(2, name);
      insert->bind(3, session.csrf_token);
      insert->bind(4, now);
      insert->bind(5, now);
      insert->bind(6, now + lifetime);
      if (auto s = run(*insert); !s) return s.error().within("cannot store the session");
      return audit::append(*db_, {name, "login.success", "user/" + name, {{"client", client}}}, now);
    }
    // The name tried is recorded (the caller lets only user names through, so a record is
    // bounded); the actor is unknown until someone logs in.
    return audit::append(*db_, {"anonymous", "login.failure", "user/" + name, {{"client", client}}}, now);
  });
  if (!status) return LoginError{LoginFailure::kInternal, status.error().message};
  if (!ok) return LoginError{LoginFailure::kBadCredentials, "wrong name or password"};
  auto p = active_principal(name);
  if (!p || !p->has_value()) return LoginError{LoginFailure::kInternal, "the account vanished"};
  session.principal = **p;
  session.principal.via_session = true;
  session.principal.csrf_token = session.csrf_token;
  session.principal.credential = session_credential(session.token);
  session.principal.expires_at = now + lifetime;
  const auto hash = sha256(session.token);
  session.principal.credential_key = "s:" + std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
  return session;
}

std::variant<NewSession, LoginError> UserStore::login(const std::string& name, const std::string& password, const std::string& client,
                                                            UnixSeconds now, UnixSeconds lifetime) {
  auto candidate = login_candidate(name);
  if (!candidate) return LoginError{LoginFailure::kInternal, candidate.error().message};
  const bool ok = verify_password(*candidate, password);
  return finish_login(name, ok, *candidate, client, now, lifetime);
}

Result<std::optional<Principal>> UserStore::session(const std::string& token, UnixSeconds now, UnixSeconds idle_timeout) {
  const auto hash = sha256(token);
  auto s = db_->prepare(
      "SELECT s.\"user\", s.csrf_token, s.last_seen, s.expires_at, u.roles FROM sessions s JOIN users u ON u.name = s.\"user\" "
      "WHERE s.token_hash = ? AND u.status = 'active'");
  s->bind_bytes(1, hash);
  auto found = next_row(*s, "cannot read the session");
  if (!found) return found.error();
  if (!*found) return std::optional<Principal>{};
  const UnixSeconds last_seen = s->int64(2), expires_at = s->int64(3);
  if (now - last_seen > idle_timeout || now >= expires_at) return std::optional<Principal>{};
  Principal p;
  p.name = s->text(0);
  p.csrf_token = s->text(1);
  p.roles = parse_roles(s->text(4));
  p.via_session = true;
  p.credential = session_credential(token);
  p.expires_at = expires_at;
  p.credential_key = "s:" + std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
  if (now - last_seen >= kTouchEverySeconds) {
    auto touch = db_->prepare("UPDATE sessions SET last_seen = ? WHERE token_hash = ?");
    touch->bind(1, now);
    touch->bind_bytes(2, hash);
    (void)run(*touch);  // not fatal: the session stays valid until its idle time has passed
  }
  return std::optional<Principal>{p};
}

Result<std::string> UserStore::logout(const std::string& token, UnixSeconds now) {
  std::string user;
  auto status = db_->transaction([&]() -> Status {
    auto del = db_->prepare("DELETE FROM sessions WHERE token_hash = ? RETURNING \"user\"");
    del->bind_bytes(1, sha256(token));
    auto found = next_row(*del, "cannot end the session");
    if (!found) return found.error();
    if (!*found) return Error{"no such session"};
    user = del->text(0);
    return audit::append(*db_, {user, "logout", "user/" + user, json::object()}, now);
  });
  if (!status) return status.error();
  return session_credential(token);
}

Result<NewToken> UserStore::create_api_token(const std::string& user, const std::string& label, UnixSeconds expires_at, const std::string& actor,
                                             UnixSeconds now) {
  if (auto s = check_label("label", label, 100); !s) return s.error();
  if (expires_at <= now) return Error{"a token must expire in the future"};
  NewToken made;
  made.token = "gbx_" + random_hex();
  auto status = db_->transaction([&]() -> Status {
    auto active = db_->prepare("SELECT count(*) FROM api_tokens WHERE \"user\" = ? AND revoked_at IS NULL AND expires_at > ?");
    active->bind(1, user);
    active->bind(2, now);
    if (auto counted = next_row(*active, "cannot count the tokens"); !counted) return counted.error();
    if (active->int64(0) >= static_cast<std::int64_t>(kMaxActiveTokens))
      return Error{user + " has " + std::to_string(kMaxActiveTokens) + " live API tokens already; revoke one first"};
    auto insert = db_->prepare(
        "INSERT INTO api_tokens (token_hash, \"user\", label, created_at, expires_at) SELECT ?, name, ?, ?, ? FROM users "
        "WHERE name = ? AND status = 'active' RETURNING id");
    insert->bind_bytes(1, sha256(made.token));
    insert->bind(2, label);
    insert->bind(3, now);
    insert->bind(4, expires_at);
    insert->bind(5, user);
    auto stored = next_row(*insert, "cannot store the token");
    if (!stored) return stored.error();
    if (!*stored) return Error{"no active account named '" + user + "'"};
    made.info = {insert->int64(0), user, label, now, expires_at, std::nullopt};
    return audit::append(*db_,
                         {actor, "token.create", "user/" + user, {{"label", label}, {"token", made.info.id}, {"expires", format_utc(expires_at)}}}, now);
  });
  if (!status) return status.error();
  return made;
}

namespace {

constexpr const char* kTokenColumns = "SELECT id, \"user\", label, created_at, expires_at, revoked_at FROM api_tokens ";

TokenInfo token_from_row(const Statement& s) {
  TokenInfo t{s.int64(0), s.text(1), s.text(2), s.int64(3), s.int64(4), std::nullopt};
  if (!s.is_null(5)) t.revoked_at = s.int64(5);
  return t;
}

}  // namespace

Result<std::vector<TokenInfo>> UserStore::list_tokens(const std::string& user) {
  auto s = db_->prepare(std::string(kTokenColumns) + "WHERE \"user\" = ? ORDER BY id");
  s->bind(1, user);
  std::vector<TokenInfo> out;
  while (true) {
    auto row = next_row(*s, "cannot list the tokens");
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(token_from_row(*s));
  }
}

Result<std::optional<TokenInfo>> UserStore::token_info(std::int64_t id) {
  auto s = db_->prepare(std::string(kTokenColumns) + "WHERE id = ?");
  s->bind(1, id);
  auto found = next_row(*s, "cannot read the token");
  if (!found) return found.error();
  if (!*found) return std::optional<TokenInfo>{};
  return std::optional<TokenInfo>{token_from_row(*s)};
}

Status UserStore::revoke_token(std::int64_t id, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    auto update = db_->prepare("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL RETURNING \"user\"");
    update->bind(1, now);
    update->bind(2, actor);
    update->bind(3, id);
    auto revoked = next_row(*update, "cannot revoke token " + std::to_string(id));
    if (!revoked) return revoked.error();
    if (!*revoked) return Error{"token " + std::to_string(id) + " does not exist or is revoked already"};
    return audit::append(*db_, {actor, "token.revoke", "user/" + update->text(0), {{"token", id}}}, now);
  });
}

Result<std::optional<Principal>> UserStore::api_token(const std::string& token, UnixSeconds now) {
  auto s = db_->prepare(
      "SELECT t.id, t.\"user\", t.expires_at, u.roles FROM api_tokens t JOIN users u ON u.name = t.\"user\" "
      "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.status = 'active'");
  s->bind_bytes(1, sha256(token));
  auto found = next_row(*s, "cannot read the token");
  if (!found) return found.error();
  if (!*found || now >= s->int64(2)) return std::optional<Principal>{};
  Principal p;
  p.name = s->text(1);
  p.roles = parse_roles(s->text(3));
  p.credential = "token:" + std::to_string(s->int64(0));
  p.expires_at = s->int64(2);
  p.credential_key = "t:" + std::to_string(s->int64(0));
  return std::optional<Principal>{p};
}

Result<bool> UserStore::credential_valid(const std::string& key, UnixSeconds now) {
  if (key.rfind("s:", 0) == 0) {
    const std::string raw = key.substr(2);
    auto s = db_->prepare(
        "SELECT 1 FROM sessions s JOIN users u ON u.name = s.\"user\" WHERE s.token_hash = ? AND s.expires_at > ? AND u.status = 'active'");
    s->bind_bytes(1, std::vector<unsigned char>(raw.begin(), raw.end()));
    s->bind(2, now);
    return next_row(*s, "cannot read the session");
  }
  if (key.rfind("t:", 0) == 0) {
    std::int64_t id = 0;
    try {
      id = std::stoll(key.substr(2));
    } catch (const std::exception&) {
      return false;
    }
    auto s = db_->prepare(
        "SELECT 1 FROM api_tokens t JOIN users u ON u.name = t.\"user\" WHERE t.id = ? AND t.revoked_at IS NULL AND t.expires_at > ? "
        "AND u.status = 'active'");
    s->bind(1, id);
    s->bind(2, now);
    return next_row(*s, "cannot read the token");
  }
  return false;
}

}  // namespace glassbox
