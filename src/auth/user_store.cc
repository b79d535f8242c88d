#include "auth/user_store.h"

#include <sodium.h>

#include <sstream>

#include "audit/audit_log.h"
#include "enroll/enrollment.h"
#include "store/sqlite_statement.h"

namespace glassbox {
namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// 32 random bytes as 64 hex digits.
std::string random_token() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

std::vector<unsigned char> token_hash(const std::string& token) {
  std::vector<unsigned char> out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return out;
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

Status check_cli_role(const std::string& database, const std::string& name, const std::set<Role>& roles, const std::string& what) {
  auto store = SqliteUserStore::open(database);
  if (!store) return store.error();
  auto any = (*store)->has_users();
  if (!any) return any.error();
  if (!*any) return ok_status();
  auto who = (*store)->account(name);
  if (!who) return who.error();
  if (!who->has_value()) return Error{what + ": '" + name + "' has no account"};
  for (Role r : roles)
    if ((*who)->has(r)) return ok_status();
  std::string list;
  for (Role r : roles) list += std::string(list.empty() ? "" : " or ") + role_name(r);
  return Error{what + ": '" + name + "' is not " + list};
}

Status validate_password(const std::string& password) {
  if (password.size() < static_cast<std::size_t>(SqliteUserStore::kMinPasswordLength))
    return Error{"the password must have at least " + std::to_string(SqliteUserStore::kMinPasswordLength) + " characters"};
  if (password.size() > 1024) return Error{"the password is longer than 1024 characters"};
  return ok_status();
}

Result<std::unique_ptr<SqliteUserStore>> SqliteUserStore::open(const std::string& path) {
  if (!sodium_ready()) return Error{"libsodium could not be initialised"};
  auto db = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  if (!db) return db.error();
  return std::unique_ptr<SqliteUserStore>(new SqliteUserStore(std::move(*db)));
}

Result<bool> SqliteUserStore::has_users() {
  SqliteStatement s(db_->handle(), "SELECT EXISTS (SELECT 1 FROM users)");
  if (!s.prepared() || s.step() != SQLITE_ROW) return db_->error("cannot read the accounts");
  return s.int64(0) != 0;
}

Status SqliteUserStore::add_user(const std::string& name, const std::string& password, const std::set<Role>& roles,
                                 const std::string& actor, UnixSeconds now) {
  if (auto s = validate_user_name("name", name); !s) return s;
  if (roles.empty()) return Error{"an account needs at least one role"};
  if (auto s = validate_password(password); !s) return s;
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return Error{"not enough memory to hash the password"};
  return db_->transaction([&]() -> Status {
    SqliteStatement insert(db_->handle(), "INSERT INTO users (name, password_hash, roles, created_at, created_by) VALUES (?, ?, ?, ?, ?)");
    if (!insert.prepared()) return db_->error("cannot prepare the account insert");
    insert.bind(1, name);
    insert.bind(2, std::string(hash));
    insert.bind(3, roles_text(roles));
    insert.bind(4, now);
    insert.bind(5, actor);
    const int rc = insert.step();
    if (rc == SQLITE_CONSTRAINT) return Error{"an account named '" + name + "' exists already"};
    if (rc != SQLITE_DONE) return db_->error("cannot store the account");
    return audit::append(*db_, {actor, "user.add", "user/" + name, {{"roles", roles_text(roles)}}}, now);
  });
}

Result<std::vector<Principal>> SqliteUserStore::list_users() {
  SqliteStatement s(db_->handle(), "SELECT name, roles FROM users ORDER BY name");
  if (!s.prepared()) return db_->error("cannot list the accounts");
  std::vector<Principal> out;
  while (s.step() == SQLITE_ROW) out.push_back({s.text(0), parse_roles(s.text(1)), false, {}});
  return out;
}

Result<std::optional<Principal>> SqliteUserStore::principal(const std::string& name) {
  SqliteStatement s(db_->handle(), "SELECT roles FROM users WHERE name = ?");
  if (!s.prepared()) return db_->error("cannot read the account");
  s.bind(1, name);
  if (s.step() != SQLITE_ROW) return std::optional<Principal>{};
  return std::optional<Principal>{Principal{name, parse_roles(s.text(0)), false, {}}};
}

std::variant<NewSession, LoginError> SqliteUserStore::login(const std::string& name, const std::string& password, UnixSeconds now) {
  std::string hash;
  std::int64_t failed = 0, locked_until = 0;
  bool exists = false;
  {
    SqliteStatement s(db_->handle(), "SELECT password_hash, failed_logins, locked_until FROM users WHERE name = ?");
    if (!s.prepared()) return LoginError{LoginFailure::kInternal, "cannot read the account"};
    s.bind(1, name);
    if (s.step() == SQLITE_ROW) {
      exists = true;
      hash = s.text(0);
      failed = s.int64(1);
      locked_until = s.int64(2);
    }
  }
  // The hash is computed even for an unknown name, so timing does not tell names apart.
  static const std::string dummy = [] {
    char h[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(h, "not a password", 14, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
      return std::string();  // out of memory: an empty hash never verifies
    return std::string(h);
  }();
  const bool locked = exists && locked_until > now;
  const bool password_ok = crypto_pwhash_str_verify((exists ? hash : dummy).c_str(), password.data(), password.size()) == 0;
  const bool ok = exists && password_ok && !locked;
  NewSession session;
  const auto status = db_->transaction([&]() -> Status {
    if (ok) {
      session.token = random_token();
      session.csrf_token = random_token();
      SqliteStatement reset(db_->handle(), "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE name = ?");
      reset.bind(1, name);
      if (!reset.prepared() || reset.step() != SQLITE_DONE) return db_->error("cannot update the account");
      SqliteStatement insert(db_->handle(), "INSERT INTO sessions (token_hash, user, csrf_token, created_at, last_seen) VALUES (?, ?, ?, ?, ?)");
      if (!insert.prepared()) return db_->error("cannot prepare the session");
      insert.bind_bytes(1, token_hash(session.token));
      insert.bind(2, name);
      insert.bind(3, session.csrf_token);
      insert.bind(4, now);
      insert.bind(5, now);
      if (insert.step() != SQLITE_DONE) return db_->error("cannot store the session");
      return audit::append(*db_, {name, "login.success", "user/" + name, nlohmann::json::object()}, now);
    }
    if (exists && !locked) {
      const bool lock_now = failed + 1 >= kMaxFailedLogins;
      SqliteStatement count(db_->handle(), "UPDATE users SET failed_logins = ?, locked_until = ? WHERE name = ?");
      count.bind(1, lock_now ? 0 : failed + 1);
      count.bind(2, lock_now ? now + kLockSeconds : 0);
      count.bind(3, name);
      if (!count.prepared() || count.step() != SQLITE_DONE) return db_->error("cannot update the account");
    }
    // The name tried is recorded as the object; the actor is unknown until someone logs in.
    const std::string why = !exists ? "unknown account" : (locked ? "account locked" : "wrong password");
    return audit::append(*db_, {"anonymous", "login.failure", "user/" + name, {{"reason", why}}}, now);
  });
  if (!status) return LoginError{LoginFailure::kInternal, status.error().message};
  if (ok) {
    auto p = principal(name);
    if (!p || !p->has_value()) return LoginError{LoginFailure::kInternal, "the account vanished"};
    session.principal = **p;
    session.principal.via_session = true;
    session.principal.csrf_token = session.csrf_token;
    return session;
  }
  if (locked) return LoginError{LoginFailure::kLocked, "too many failed logins; the account is locked for a while"};
  return LoginError{LoginFailure::kBadCredentials, "wrong name or password"};
}

Result<std::optional<Principal>> SqliteUserStore::session(const std::string& token, UnixSeconds now, UnixSeconds idle_timeout) {
  SqliteStatement s(db_->handle(), "SELECT user, csrf_token, last_seen FROM sessions WHERE token_hash = ?");
  if (!s.prepared()) return db_->error("cannot read the session");
  s.bind_bytes(1, token_hash(token));
  if (s.step() != SQLITE_ROW) return std::optional<Principal>{};
  const std::string user = s.text(0), csrf = s.text(1);
  if (now - s.int64(2) > idle_timeout) return std::optional<Principal>{};
  SqliteStatement touch(db_->handle(), "UPDATE sessions SET last_seen = ? WHERE token_hash = ?");
  touch.bind(1, now);
  touch.bind_bytes(2, token_hash(token));
  if (!touch.prepared() || touch.step() != SQLITE_DONE) return db_->error("cannot update the session");
  auto p = principal(user);
  if (!p) return p.error();
  if (p->has_value()) {
    (*p)->via_session = true;
    (*p)->csrf_token = csrf;
  }
  return p;
}

Status SqliteUserStore::logout(const std::string& token, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    SqliteStatement find(db_->handle(), "SELECT user FROM sessions WHERE token_hash = ?");
    find.bind_bytes(1, token_hash(token));
    if (!find.prepared() || find.step() != SQLITE_ROW) return Error{"no such session"};
    const std::string user = find.text(0);
    SqliteStatement del(db_->handle(), "DELETE FROM sessions WHERE token_hash = ?");
    del.bind_bytes(1, token_hash(token));
    if (!del.prepared() || del.step() != SQLITE_DONE) return db_->error("cannot end the session");
    return audit::append(*db_, {user, "logout", "user/" + user, nlohmann::json::object()}, now);
  });
}

Result<std::string> SqliteUserStore::create_api_token(const std::string& user, const std::string& label, const std::string& actor, UnixSeconds now) {
  if (label.empty() || label.size() > 100) return Error{"label: 1 to 100 characters"};
  const std::string token = "gbx_" + random_token();
  auto status = db_->transaction([&]() -> Status {
    SqliteStatement insert(db_->handle(), "INSERT INTO api_tokens (token_hash, user, label, created_at) SELECT ?, name, ?, ? FROM users WHERE name = ?");
    if (!insert.prepared()) return db_->error("cannot prepare the token");
    insert.bind_bytes(1, token_hash(token));
    insert.bind(2, label);
    insert.bind(3, now);
    insert.bind(4, user);
    if (insert.step() != SQLITE_DONE) return db_->error("cannot store the token");
    if (sqlite3_changes(db_->handle()) != 1) return Error{"no account named '" + user + "'"};
    return audit::append(*db_, {actor, "token.create", "user/" + user, {{"label", label}}}, now);
  });
  if (!status) return status.error();
  return token;
}

Result<std::optional<Principal>> SqliteUserStore::api_token(const std::string& token) {
  SqliteStatement s(db_->handle(), "SELECT user FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL");
  if (!s.prepared()) return db_->error("cannot read the token");
  s.bind_bytes(1, token_hash(token));
  if (s.step() != SQLITE_ROW) return std::optional<Principal>{};
  return principal(s.text(0));
}

}  // namespace glassbox
