// Accounts, roles, sessions and API tokens (docs/accounts.md). Passwords are kept as libsodium
// Argon2id hashes (64 MiB, 2 passes: above OWASP's 19 MiB / 2 minimum) and must be 12 characters
// or more. An account made through the API is opened by two admins: one asks for it, another
// approves it, and each gets half of a one-time activation code that the account's holder needs
// both of to set their own password — no admin ever knows it, and no admin alone makes an
// account anyone can use. The command line on the host is the documented exception (bootstrap).
// Disabling an account is final and ends its sessions and tokens in the same transaction.
// A session is a fresh 256-bit random token (only its SHA-256 is stored) with its own CSRF
// token, ended by logout, after its idle time, or at its absolute end; API tokens expire and
// can be revoked. Every change, login (success or failure), logout and token change is audited
// in the same transaction; if the record cannot be written the action fails (a login too).
// Login throttling lives in the service (auth/login_throttle.h), not here. On either backend
// (store/database.h): SQLite version 7 and 10, PostgreSQL version 5 (docs/database-schema.md).
// Thread-safety: one instance per thread (or behind the caller's mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/dates.h"
#include "store/database.h"

namespace glassbox {

enum class Role { kOperator, kSupervisor, kAuditor, kAdmin };
const char* role_name(Role role);
Result<Role> parse_role(const std::string& name);
// Roles one account may not combine (separation of duties): an admin is not also an operator
// or supervisor; an auditor holds no other role. The error says which rule.
Status check_role_combination(const std::set<Role>& roles);

enum class AccountStatus { kPending, kApproved, kActive, kDisabled };
const char* account_status_name(AccountStatus status);

struct Principal {
  std::string name;
  std::set<Role> roles;
  bool via_session = false;  // a browser session (needs CSRF on changes), not an API token
  std::string csrf_token;    // sessions only
  // Which credential this is ("session:<16 hex digits of its hash>", "token:<id>"): live event
  // streams end with it; logs name it without revealing it.
  std::string credential;
  UnixSeconds expires_at = 0;  // the credential's end at the latest
  // How to look the credential up again (credential_valid), kept in memory only.
  std::string credential_key;
  bool has(Role r) const { return roles.count(r) > 0; }
};

struct Account {
  std::string name;
  std::set<Role> roles;
  AccountStatus status = AccountStatus::kActive;
  std::string created_by;
  UnixSeconds created_at = 0;
  std::optional<std::string> approved_by, disabled_by, disable_reason;
  std::optional<UnixSeconds> approved_at, disabled_at, activation_expires_at;
};

struct NewSession {
  std::string token;  // the cookie value; shown once
  std::string csrf_token;
  Principal principal;
};

struct TokenInfo {
  std::int64_t id = 0;
  std::string user, label;
  UnixSeconds created_at = 0, expires_at = 0;
  std::optional<UnixSeconds> revoked_at;
};

struct NewToken {
  std::string token;  // shown once
  TokenInfo info;
};

// Why a login failed, without saying which part of the credentials was wrong.
enum class LoginFailure { kBadCredentials, kInternal };
struct LoginError {
  LoginFailure kind;
  std::string message;
};

class UserStore {
 public:
  static constexpr int kMinPasswordLength = 12;
  static constexpr std::size_t kMaxActiveTokens = 10;
  static constexpr UnixSeconds kActivationSeconds = 72 * 3600;
  // A session's last use is written at most this often (reads stay reads; a failed write is
  // not fatal: a full disk or a busy database does not log anyone out).
  static constexpr UnixSeconds kTouchEverySeconds = 60;

  // The SQLite file at `path` (its audit keys beside it).
  static Result<std::unique_ptr<UserStore>> open(const std::string& path);
  // Any backend (store/database.h); the audit log's keys are the connection's node's.
  explicit UserStore(std::unique_ptr<Database> db);

  Result<bool> has_users();
  // For the connection that authenticates requests: a session's touch may wait this long for a
  // writer, then the request goes on (WAL readers never wait).
  // (SQLite only: PostgreSQL's readers never wait for a writer.)
  void set_busy_timeout(std::chrono::milliseconds timeout);
  // An active account at once: the bootstrap and the host's command line (`actor` "bootstrap"
  // or "cli"), audited as such.
  Status add_user(const std::string& name, const std::string& password, const std::set<Role>& roles, const std::string& actor,
                  UnixSeconds now);
  // Through the API: a pending account without a password; returns the asker's half of the
  // activation code (shown once).
  Result<std::string> request_account(const std::string& name, const std::set<Role>& roles, const std::string& actor, UnixSeconds now);
  // A second admin (not the asker, not the account) approves; returns the approver's half.
  Result<std::string> approve_account(const std::string& name, const std::string& approver, UnixSeconds now);
  // The holder sets their password with both halves, within kActivationSeconds of the approval.
  Status activate_account(const std::string& name, const std::string& maker_code, const std::string& checker_code,
                          const std::string& password, const std::string& client, UnixSeconds now);
  // Final: its sessions are deleted and its tokens revoked in the same transaction.
  Status disable_account(const std::string& name, const std::string& actor, const std::string& reason, UnixSeconds now);
  // Needs the old password; ends every session of the account but `keep_session` (the caller's).
  Status change_password(const std::string& name, const std::string& old_password, const std::string& new_password,
                         const std::string& keep_session, UnixSeconds now);
  // Logout everywhere: every session deleted, every token revoked.
  Status end_all_credentials(const std::string& name, const std::string& actor, UnixSeconds now);
  Result<std::vector<Account>> list_accounts();
  Result<std::optional<Account>> account(const std::string& name);
  // The number of active accounts holding `role`.
  Result<int> active_with_role(Role role);

  // Login in three steps, so the Argon2id check runs outside the caller's lock:
  struct LoginCandidate {
    bool usable = false;  // exists and is active
    std::string hash;
  };
  Result<LoginCandidate> login_candidate(const std::string& name);
  // Constant work whether the account exists or not (a dummy hash stands in).
  static bool verify_password(const LoginCandidate& candidate, const std::string& password);
  // Records the outcome (login.success or login.failure) and, on success, makes the session.
  std::variant<NewSession, LoginError> finish_login(const std::string& name, bool password_ok, const LoginCandidate& candidate,
                                                    const std::string& client, UnixSeconds now, UnixSeconds lifetime);
  // The three steps at once (the command line, tests).
  std::variant<NewSession, LoginError> login(const std::string& name, const std::string& password, const std::string& client,
                                             UnixSeconds now, UnixSeconds lifetime = 12 * 3600);

  // The session's principal if the token names a live session of an active account.
  Result<std::optional<Principal>> session(const std::string& token, UnixSeconds now, UnixSeconds idle_timeout);
  // Returns the credential id of the session ended.
  Result<std::string> logout(const std::string& token, UnixSeconds now);

  // A new API token for `user`, valid until `expires_at`; `actor` is who asked for it.
  Result<NewToken> create_api_token(const std::string& user, const std::string& label, UnixSeconds expires_at,
                                    const std::string& actor, UnixSeconds now);
  Result<std::vector<TokenInfo>> list_tokens(const std::string& user);
  Result<std::optional<TokenInfo>> token_info(std::int64_t id);
  Status revoke_token(std::int64_t id, const std::string& actor, UnixSeconds now);
  Result<std::optional<Principal>> api_token(const std::string& token, UnixSeconds now);
  // Whether the credential behind Principal::credential_key still stands (not ended, revoked or
  // expired, its account active). Idle time is not counted: a live event stream is use.
  Result<bool> credential_valid(const std::string& credential_key, UnixSeconds now);

 private:
  Result<std::optional<Principal>> active_principal(const std::string& name);
  Status end_sessions_and_tokens(const std::string& name, const std::string& actor, const std::string& keep_session, UnixSeconds now,
                                 bool revoke_tokens);
  std::unique_ptr<Database> db_;
};

// For the command line (enroll, approve, search): once accounts exist, `name` must be an active
// account holding one of `roles`; before the first account is made, the database is in its
// bootstrap state and names are taken as given.
Status check_cli_role(const std::string& database, const std::string& name, const std::set<Role>& roles, const std::string& what);

// Checks the password rules; the error says which.
Status validate_password(const std::string& password);

// The credential id of a session token ("session:" and 16 hex digits of its SHA-256).
std::string session_credential(const std::string& token);

}  // namespace glassbox
