// Accounts below the API: Argon2id at or above OWASP's minimum, the password rule, sessions that
// end after their idle time and at their absolute end, tokens that expire and can be revoked,
// session ids and tokens stored only as hashes, accounts opened by two admins and activated by
// their holder, disabling that is final and ends every credential, separation of duties.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "auth/login_throttle.h"
#include "auth/user_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

const UnixSeconds kNow = *parse_date_utc("2026-11-29") + 8 * 3600;

NewSession logged_in(SqliteUserStore& store, const std::string& name, const std::string& password, UnixSeconds now,
                     UnixSeconds lifetime = 12 * 3600) {
  auto outcome = store.login(name, password, "127.0.0.1", now, lifetime);
  EXPECT_TRUE(std::holds_alternative<NewSession>(outcome)) << name;
  return std::holds_alternative<NewSession>(outcome) ? std::get<NewSession>(outcome) : NewSession{};
}

TEST(UserStore, PasswordsSessionsAndTokens) {
  test::TempDir dir;
  const std::string path = (dir / "u.db").string();
  auto store = SqliteUserStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_FALSE(*(*store)->has_users());
  EXPECT_FALSE((*store)->add_user("olga", "eleven char", {Role::kOperator}, "bootstrap", kNow)) << "11 characters";
  EXPECT_FALSE((*store)->add_user("olga", "twelve chars", {}, "bootstrap", kNow)) << "no role";
  EXPECT_FALSE((*store)->add_user("ol ga", "twelve chars", {Role::kOperator}, "bootstrap", kNow)) << "bad name";
  ASSERT_TRUE((*store)->add_user("olga", "twelve chars", {Role::kOperator, Role::kSupervisor}, "bootstrap", kNow));
  EXPECT_TRUE(*(*store)->has_users());
  EXPECT_FALSE((*store)->add_user("OLGA", "twelve chars", {Role::kOperator}, "cli", kNow)) << "names are unique whatever their case";

  // Argon2id, 64 MiB, 2 passes (OWASP's minimum is 19 MiB, 2 passes); never the password.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT password_hash FROM users", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  const std::string hash = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=65536,t=2,", 0), 0u) << hash;

  const NewSession session = logged_in(**store, "olga", "twelve chars", kNow);
  EXPECT_EQ(session.token.size(), 64u);
  EXPECT_NE(session.token, session.csrf_token);
  const NewSession again = logged_in(**store, "olga", "twelve chars", kNow);
  EXPECT_NE(again.token, session.token) << "a fresh token at every login";
  EXPECT_EQ(std::get<LoginError>((*store)->login("olga", "wrong password", "127.0.0.1", kNow)).kind, LoginFailure::kBadCredentials);
  EXPECT_EQ(std::get<LoginError>((*store)->login("nobody", "twelve chars", "127.0.0.1", kNow)).kind, LoginFailure::kBadCredentials)
      << "an unknown name fails the same way";

  auto live = (*store)->session(session.token, kNow + 100, 1800);
  ASSERT_TRUE(live && live->has_value());
  EXPECT_EQ((*live)->name, "olga");
  EXPECT_TRUE((*live)->has(Role::kSupervisor));
  EXPECT_EQ((*live)->credential, session_credential(session.token));
  EXPECT_EQ((*live)->expires_at, kNow + 12 * 3600);
  EXPECT_TRUE((*store)->session(session.token, kNow + 100 + 1800, 1800)->has_value()) << "used at +100: idle since";
  EXPECT_FALSE((*store)->session(session.token, kNow + 100 + 1800 + 1801, 1800)->has_value()) << "idle too long";
  // The absolute end: a session kept busy still ends 12 hours after its login.
  const NewSession busy = logged_in(**store, "olga", "twelve chars", kNow);
  for (UnixSeconds t = kNow; t < kNow + 12 * 3600; t += 1200) ASSERT_TRUE((*store)->session(busy.token, t, 1800)->has_value()) << t - kNow;
  EXPECT_FALSE((*store)->session(busy.token, kNow + 12 * 3600, 1800)->has_value()) << "past its absolute lifetime";
  ASSERT_TRUE((*store)->logout(again.token, kNow));
  EXPECT_FALSE((*store)->session(again.token, kNow, 1800)->has_value()) << "logged out";

  // Tokens expire, can be revoked, and are limited in number per account.
  auto token = (*store)->create_api_token("olga", "monitoring", kNow + 86400, "olga", kNow);
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ((**(*store)->api_token(token->token, kNow)).name, "olga");
  EXPECT_EQ((**(*store)->api_token(token->token, kNow)).credential, "token:" + std::to_string(token->info.id));
  EXPECT_FALSE((*store)->api_token(token->token + "x", kNow)->has_value());
  EXPECT_FALSE((*store)->api_token(token->token, kNow + 86400)->has_value()) << "expired";
  EXPECT_FALSE((*store)->create_api_token("nobody", "x", kNow + 60, "olga", kNow)) << "no such account";
  EXPECT_FALSE((*store)->create_api_token("olga", "bad\x01label", kNow + 60, "olga", kNow)) << "control characters";
  EXPECT_FALSE((*store)->create_api_token("olga", "past", kNow, "olga", kNow)) << "an expiry in the past";
  ASSERT_TRUE((*store)->revoke_token(token->info.id, "olga", kNow));
  EXPECT_FALSE((*store)->api_token(token->token, kNow)->has_value()) << "revoked";
  EXPECT_FALSE((*store)->revoke_token(token->info.id, "olga", kNow)) << "revoked once";
  for (std::size_t i = 0; i < SqliteUserStore::kMaxActiveTokens; ++i)
    ASSERT_TRUE((*store)->create_api_token("olga", "t" + std::to_string(i), kNow + 86400, "olga", kNow));
  EXPECT_FALSE((*store)->create_api_token("olga", "one too many", kNow + 86400, "olga", kNow));
  // Neither the session id nor the API token is in the file.
  sqlite3_close(raw);
  for (const std::string& file : {path, path + "-wal"}) {
    const std::string bytes = test::read_file(file);
    EXPECT_EQ(bytes.find(session.token), std::string::npos) << file;
    EXPECT_EQ(bytes.find(token->token), std::string::npos) << file;
    EXPECT_EQ(bytes.find("twelve chars"), std::string::npos) << file;
  }
}

TEST(UserStore, PasswordChangeNeedsTheOldOneAndEndsTheOtherSessions) {
  test::TempDir dir;
  auto store = SqliteUserStore::open((dir / "u.db").string());
  ASSERT_TRUE((*store)->add_user("olga", "twelve chars", {Role::kOperator}, "bootstrap", kNow));
  const NewSession mine = logged_in(**store, "olga", "twelve chars", kNow);
  const NewSession other = logged_in(**store, "olga", "twelve chars", kNow);
  auto token = (*store)->create_api_token("olga", "script", kNow + 86400, "olga", kNow);
  EXPECT_FALSE((*store)->change_password("olga", "wrong password", "a new passphrase", mine.token, kNow)) << "the old password is needed";
  EXPECT_FALSE((*store)->change_password("olga", "twelve chars", "short", mine.token, kNow)) << "the rule holds";
  ASSERT_TRUE((*store)->change_password("olga", "twelve chars", "a new passphrase", mine.token, kNow));
  EXPECT_TRUE((*store)->session(mine.token, kNow, 1800)->has_value()) << "the session that changed it goes on";
  EXPECT_FALSE((*store)->session(other.token, kNow, 1800)->has_value()) << "every other session ended";
  EXPECT_TRUE((*store)->api_token(token->token, kNow)->has_value()) << "tokens are ended apart (logout everywhere)";
  EXPECT_TRUE(std::holds_alternative<LoginError>((*store)->login("olga", "twelve chars", "127.0.0.1", kNow)));
  logged_in(**store, "olga", "a new passphrase", kNow);
  // Logout everywhere: sessions and tokens.
  ASSERT_TRUE((*store)->end_all_credentials("olga", "olga", kNow));
  EXPECT_FALSE((*store)->session(mine.token, kNow, 1800)->has_value());
  EXPECT_FALSE((*store)->api_token(token->token, kNow)->has_value());
}

TEST(UserStore, AnAccountIsOpenedByTwoAdminsAndActivatedByItsHolder) {
  test::TempDir dir;
  auto store = SqliteUserStore::open((dir / "u.db").string());
  ASSERT_TRUE((*store)->add_user("root", "twelve chars", {Role::kAdmin}, "bootstrap", kNow));
  ASSERT_TRUE((*store)->add_user("ada", "twelve chars", {Role::kAdmin}, "cli", kNow));
  EXPECT_FALSE((*store)->request_account("mixed", {Role::kAdmin, Role::kSupervisor}, "root", kNow)) << "an admin does not review";
  EXPECT_FALSE((*store)->request_account("mixed", {Role::kAuditor, Role::kOperator}, "root", kNow)) << "an auditor audits only";
  auto maker = (*store)->request_account("sam", {Role::kSupervisor}, "root", kNow);
  ASSERT_TRUE(maker) << maker.error().message;
  EXPECT_EQ((**(*store)->account("sam")).status, AccountStatus::kPending);
  EXPECT_TRUE(std::holds_alternative<LoginError>((*store)->login("sam", "anything at all", "127.0.0.1", kNow))) << "no password yet";
  EXPECT_FALSE((*store)->create_api_token("sam", "x", kNow + 60, "cli", kNow)) << "nothing works for a pending account";
  auto self = (*store)->approve_account("sam", "root", kNow);
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().message.find("other than root"), std::string::npos) << self.error().message;
  auto checker = (*store)->approve_account("sam", "ada", kNow);
  ASSERT_TRUE(checker) << checker.error().message;
  EXPECT_NE(*maker, *checker);
  EXPECT_EQ((**(*store)->account("sam")).status, AccountStatus::kApproved);
  // The holder needs both halves; neither admin alone has them.
  EXPECT_FALSE((*store)->activate_account("sam", *maker, *maker, "sams passphrase", "127.0.0.1", kNow));
  EXPECT_FALSE((*store)->activate_account("sam", *checker, *checker, "sams passphrase", "127.0.0.1", kNow));
  EXPECT_FALSE((*store)->activate_account("sam", *maker, *checker, "sams passphrase", "127.0.0.1", kNow + SqliteUserStore::kActivationSeconds))
      << "too late";
  ASSERT_TRUE((*store)->activate_account("sam", *maker, *checker, "sams passphrase", "127.0.0.1", kNow + 60));
  EXPECT_FALSE((*store)->activate_account("sam", *maker, *checker, "other passphrase", "127.0.0.1", kNow + 60)) << "once";
  const NewSession sam = logged_in(**store, "sam", "sams passphrase", kNow + 120);
  EXPECT_TRUE(sam.principal.has(Role::kSupervisor));

  // Disabling is final, ends every credential, and never leaves no admin.
  auto token = (*store)->create_api_token("sam", "x", kNow + 86400, "sam", kNow);
  EXPECT_FALSE((*store)->disable_account("sam", "ada", "", kNow)) << "a reason is needed";
  ASSERT_TRUE((*store)->disable_account("sam", "ada", "left the unit", kNow + 200));
  EXPECT_FALSE((*store)->session(sam.token, kNow + 200, 1800)->has_value());
  EXPECT_FALSE((*store)->api_token(token->token, kNow + 200)->has_value());
  EXPECT_FALSE((*store)->credential_valid(sam.principal.credential_key, kNow + 200).value());
  EXPECT_TRUE(std::holds_alternative<LoginError>((*store)->login("sam", "sams passphrase", "127.0.0.1", kNow + 300)));
  EXPECT_FALSE((*store)->disable_account("sam", "ada", "again", kNow + 300)) << "disabled once";
  ASSERT_TRUE((*store)->disable_account("ada", "root", "test", kNow + 300));
  auto last = (*store)->disable_account("root", "root", "test", kNow + 300);
  ASSERT_FALSE(last);
  EXPECT_NE(last.error().message.find("last active admin"), std::string::npos) << last.error().message;

  // The schema holds the rules too: an approval by the asker, or a disabled account revived.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "u.db").c_str(), &raw), SQLITE_OK);
  ASSERT_TRUE((*store)->request_account("eve", {Role::kOperator}, "root", kNow));
  EXPECT_NE(sqlite3_exec(raw, "UPDATE users SET status = 'approved', approved_by = 'root', approved_at = 1 WHERE name = 'eve'", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(raw, "UPDATE users SET status = 'active' WHERE name = 'sam'", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(raw, "DELETE FROM users WHERE name = 'sam'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
}

TEST(UserStore, TheCommandLineChecksRolesOnceAccountsExist) {
  test::TempDir dir;
  const std::string path = (dir / "u.db").string();
  EXPECT_TRUE(check_cli_role(path, "anyone", {Role::kSupervisor}, "--approved-by")) << "bootstrap state: no accounts yet";
  auto store = SqliteUserStore::open(path);
  ASSERT_TRUE((*store)->add_user("root", "twelve chars", {Role::kAdmin}, "bootstrap", kNow));
  ASSERT_TRUE((*store)->add_user("bob", "twelve chars", {Role::kSupervisor}, "root", kNow));
  EXPECT_TRUE(check_cli_role(path, "bob", {Role::kSupervisor}, "--approved-by"));
  auto admin = check_cli_role(path, "root", {Role::kSupervisor}, "--approved-by");
  ASSERT_FALSE(admin);
  EXPECT_NE(admin.error().message.find("'root' is not supervisor"), std::string::npos) << admin.error().message;
  EXPECT_FALSE(check_cli_role(path, "nobody", {Role::kSupervisor}, "--approved-by"));
  ASSERT_TRUE((*store)->disable_account("bob", "cli", "left", kNow));
  EXPECT_FALSE(check_cli_role(path, "bob", {Role::kSupervisor}, "--approved-by")) << "a disabled account approves nothing";
}

// The throttle: a client's guesses are limited per name and in all; another client (the real
// user elsewhere) is never held up by them; names that exist and names that do not are alike.
TEST(LoginThrottle, LimitsGuessesPerClientWithoutLockingAnyoneElseOut) {
  LoginThrottle throttle;
  const LoginThrottle::Limits limits;
  double t = 1000.0;
  for (int i = 0; i < static_cast<int>(limits.per_name); ++i) {
    ASSERT_EQ(throttle.wait_s("203.0.113.9", "root", t), 0.0) << i;
    throttle.failed("203.0.113.9", "root", t);
  }
  EXPECT_GT(throttle.wait_s("203.0.113.9", "root", t), 0.0) << "five wrong passwords for root from one address";
  EXPECT_GT(throttle.wait_s("203.0.113.9", "ROOT", t), 0.0) << "the name's case changes nothing";
  EXPECT_EQ(throttle.wait_s("198.51.100.7", "root", t), 0.0) << "root himself, from elsewhere, is not locked out";
  EXPECT_EQ(throttle.wait_s("203.0.113.9", "nosuchuser", t), 0.0) << "another name from the same address still has tries";
  // The address's own budget: spraying many names runs out too.
  for (int i = 0; i < static_cast<int>(limits.per_client); ++i) throttle.failed("203.0.113.9", "name" + std::to_string(i), t);
  EXPECT_GT(throttle.wait_s("203.0.113.9", "fresh-name", t), 0.0);
  EXPECT_TRUE(throttle.first_refusal("203.0.113.9", t));
  EXPECT_FALSE(throttle.first_refusal("203.0.113.9", t)) << "one record per throttled episode";
  // Tokens come back with time.
  EXPECT_EQ(throttle.wait_s("203.0.113.9", "fresh-name", t + 2 * limits.per_client_refill_s), 0.0);
  EXPECT_EQ(throttle.wait_s("203.0.113.9", "root", t + limits.per_name_refill_s + 1), 0.0);
  // An IPv6 client is one /64.
  EXPECT_EQ(LoginThrottle::client_key("2001:db8:1:2:aaaa::1"), LoginThrottle::client_key("2001:db8:1:2:bbbb::9"));
  EXPECT_NE(LoginThrottle::client_key("2001:db8:1:3::1"), LoginThrottle::client_key("2001:db8:1:2::1"));
  // Memory stays bounded whatever the number of addresses and names.
  LoginThrottle small({5, 10, 3, 10, 100});
  for (int i = 0; i < 10000; ++i) small.failed("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), "x" + std::to_string(i), t);
  EXPECT_LE(small.tracked(), 100u);
}

}  // namespace
}  // namespace glassbox
