// Accounts, roles, sessions and API tokens (docs/accounts.md). Passwords are kept as libsodium
// Argon2id hashes (64 MiB, 2 passes: above OWASP's 19 MiB / 2 minimum) and must be 12 characters
// or more; an account is locked for 15 minutes after 5 failed logins in a row. A session is a
// fresh 256-bit random token (only its SHA-256 is stored) with its own CSRF token, ended by
// logout or after the idle time. API tokens for machine clients are shown once, stored hashed.
// Every account change, login (success or failure), logout and token creation is audited in
// the same transaction; if the record cannot be written the action fails (a login too).
// Thread-safety: one instance per thread (or behind the caller's mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <variant>
#include <string>
#include <vector>

#include "core/dates.h"
#include "store/sqlite_database.h"

namespace glassbox {

enum class Role { kOperator, kSupervisor, kAuditor, kAdmin };
const char* role_name(Role role);
Result<Role> parse_role(const std::string& name);

struct Principal {
  std::string name;
  std::set<Role> roles;
  bool via_session = false;  // a browser session (needs CSRF on changes), not an API token
  std::string csrf_token;    // sessions only
  bool has(Role r) const { return roles.count(r) > 0; }
};

struct NewSession {
  std::string token;       // the cookie value; shown once
  std::string csrf_token;
  Principal principal;
};

// Why a login failed: kept apart so the API can answer 401 or 429 without saying which part
// of the credentials was wrong.
enum class LoginFailure { kBadCredentials, kLocked, kInternal };
struct LoginError {
  LoginFailure kind;
  std::string message;
};

class SqliteUserStore {
 public:
  static constexpr int kMinPasswordLength = 12;
  static constexpr int kMaxFailedLogins = 5;
  static constexpr UnixSeconds kLockSeconds = 15 * 60;

  static Result<std::unique_ptr<SqliteUserStore>> open(const std::string& path);

  Result<bool> has_users();
  // `actor` is who creates it ("bootstrap" for the first account, made from the command line).
  Status add_user(const std::string& name, const std::string& password, const std::set<Role>& roles, const std::string& actor,
                  UnixSeconds now);
  Result<std::vector<Principal>> list_users();
  // The account's name and roles; nullopt when there is none.
  Result<std::optional<Principal>> account(const std::string& name) { return principal(name); }

  // On success a new session; failures are audited too.
  std::variant<NewSession, LoginError> login(const std::string& name, const std::string& password, UnixSeconds now);
  // The session's principal if the token names a live session (touching it), nullopt otherwise.
  Result<std::optional<Principal>> session(const std::string& token, UnixSeconds now, UnixSeconds idle_timeout);
  Status logout(const std::string& token, UnixSeconds now);

  // A new API token for `user` (shown once); `actor` is who asked for it.
  Result<std::string> create_api_token(const std::string& user, const std::string& label, const std::string& actor, UnixSeconds now);
  Result<std::optional<Principal>> api_token(const std::string& token);

 private:
  explicit SqliteUserStore(std::unique_ptr<SqliteDatabase> db) : db_(std::move(db)) {}
  Result<std::optional<Principal>> principal(const std::string& name);
  std::unique_ptr<SqliteDatabase> db_;
};

// For the command line (enroll, approve): once accounts exist, `name` must be one holding one
// of `roles`; before the first account is made, the database is in its bootstrap state and
// names are taken as given.
Status check_cli_role(const std::string& database, const std::string& name, const std::set<Role>& roles, const std::string& what);

// Checks the password rules; the error says which.
Status validate_password(const std::string& password);

}  // namespace glassbox
