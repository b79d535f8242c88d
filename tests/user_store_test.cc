// Accounts below the API: Argon2id at or above OWASP's minimum, the password rule, sessions that
// end after their idle time, tokens and session ids stored only as hashes, the lockout.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "auth/user_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

const UnixSeconds kNow = *parse_date_utc("2026-11-29") + 8 * 3600;

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

  // Argon2id, 64 MiB, 2 passes (OWASP's minimum is 19 MiB, 2 passes); never the password.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT password_hash FROM users", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  const std::string hash = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=65536,t=2,", 0), 0u) << hash;

  auto login = (*store)->login("olga", "twelve chars", kNow);
  ASSERT_TRUE(std::holds_alternative<NewSession>(login));
  const NewSession session = std::get<NewSession>(login);
  EXPECT_EQ(session.token.size(), 64u);
  EXPECT_NE(session.token, session.csrf_token);
  auto again = std::get<NewSession>((*store)->login("olga", "twelve chars", kNow));
  EXPECT_NE(again.token, session.token) << "a fresh token at every login";

  auto live = (*store)->session(session.token, kNow + 100, 1800);
  ASSERT_TRUE(live && live->has_value());
  EXPECT_EQ((*live)->name, "olga");
  EXPECT_TRUE((*live)->has(Role::kSupervisor));
  EXPECT_TRUE((*store)->session(session.token, kNow + 100 + 1800, 1800)->has_value()) << "used at +100: idle since";
  EXPECT_FALSE((*store)->session(session.token, kNow + 100 + 1800 + 1801, 1800)->has_value()) << "idle too long";
  ASSERT_TRUE((*store)->logout(again.token, kNow));
  EXPECT_FALSE((*store)->session(again.token, kNow, 1800)->has_value()) << "logged out";

  auto token = (*store)->create_api_token("olga", "monitoring", "olga", kNow);
  ASSERT_TRUE(token);
  EXPECT_EQ((**(*store)->api_token(*token)).name, "olga");
  EXPECT_FALSE((*store)->api_token(*token + "x")->has_value());
  EXPECT_FALSE((*store)->create_api_token("nobody", "x", "olga", kNow)) << "no such account";
  // Neither the session id nor the API token is in the file.
  sqlite3_close(raw);
  for (const std::string& file : {path, path + "-wal"}) {
    const std::string bytes = test::read_file(file);
    EXPECT_EQ(bytes.find(session.token), std::string::npos) << file;
    EXPECT_EQ(bytes.find(*token), std::string::npos) << file;
    EXPECT_EQ(bytes.find("twelve chars"), std::string::npos) << file;
  }

  // Five failures in a row lock the account for 15 minutes; a success before that resets the count.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(std::get<LoginError>((*store)->login("olga", "wrong password!", kNow)).kind, LoginFailure::kBadCredentials);
  ASSERT_TRUE(std::holds_alternative<NewSession>((*store)->login("olga", "twelve chars", kNow)));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(std::get<LoginError>((*store)->login("olga", "wrong password!", kNow)).kind, LoginFailure::kBadCredentials);
  EXPECT_EQ(std::get<LoginError>((*store)->login("olga", "twelve chars", kNow + 60)).kind, LoginFailure::kLocked);
  EXPECT_TRUE(std::holds_alternative<NewSession>((*store)->login("olga", "twelve chars", kNow + SqliteUserStore::kLockSeconds + 1)));
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
}

}  // namespace
}  // namespace glassbox
