// Accounts below the API, on both backends (store conformance, docs/cluster.md): Argon2id at or
// above OWASP's minimum, the password rule, sessions that end after their idle time and at their
// absolute end, tokens that expire and can be revoked, session ids and tokens stored only as
// hashes, accounts opened by two admins and activated by their holder, disabling that is final
// and ends every credential, separation of duties — and the schema refusing, on SQLite and on
// PostgreSQL alike, an approval by the asker or the holder, a disabled account changed, an
// account deleted. Then a session made on one node is valid on another, and ended everywhere.
#include <gtest/gtest.h>

#include "auth/user_store.h"
#include "support/backends.h"

namespace glassbox {
namespace {

using test::Backend;

const UnixSeconds kNow = *parse_date_utc("2026-11-29") + 8 * 3600;

class AccountStoreTest : public test::BackendTest {
 protected:
  // A store on a connection of its own (another node's, when called twice).
  Result<std::unique_ptr<UserStore>> store() {
    auto db = open_with_schema();
    if (db == nullptr) return Error{"no database"};
    return std::make_unique<UserStore>(std::move(db));
  }
  Status by_hand(const std::string& sql) { return open()->execute(sql); }
};

NewSession logged_in(UserStore& store, const std::string& name, const std::string& password, UnixSeconds now,
                     UnixSeconds lifetime = 12 * 3600) {
  auto outcome = store.login(name, password, "127.0.0.1", now, lifetime);
  EXPECT_TRUE(std::holds_alternative<NewSession>(outcome)) << name;
  return std::holds_alternative<NewSession>(outcome) ? std::get<NewSession>(outcome) : NewSession{};
}

TEST_P(AccountStoreTest, PasswordsSessionsAndTokens) {
  auto store = this->store();
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_FALSE(*(*store)->has_users());
  EXPECT_FALSE((*store)->add_user("olga", "eleven char", {Role::kOperator}, "bootstrap", kNow)) << "11 characters";
  EXPECT_FALSE((*store)->add_user("olga", "twelve chars", {}, "bootstrap", kNow)) << "no role";
  EXPECT_FALSE((*store)->add_user("ol ga", "twelve chars", {Role::kOperator}, "bootstrap", kNow)) << "bad name";
  ASSERT_TRUE((*store)->add_user("olga", "twelve chars", {Role::kOperator, Role::kSupervisor}, "bootstrap", kNow));
  EXPECT_TRUE(*(*store)->has_users());
  EXPECT_FALSE((*store)->add_user("OLGA", "twelve chars", {Role::kOperator}, "cli", kNow)) << "names are unique whatever their case";

  // Argon2id, 64 MiB, 2 passes (OWASP's minimum is 19 MiB, 2 passes); never the password.
  auto read_hash = db_->prepare("SELECT password_hash FROM users");
  ASSERT_EQ(*read_hash->step(), Step::kRow);
  const std::string hash = read_hash->text(0);
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
  for (std::size_t i = 0; i < UserStore::kMaxActiveTokens; ++i)
    ASSERT_TRUE((*store)->create_api_token("olga", "t" + std::to_string(i), kNow + 86400, "olga", kNow));
  EXPECT_FALSE((*store)->create_api_token("olga", "one too many", kNow + 86400, "olga", kNow));
  // Neither the session id nor the API token nor the password is stored: not in any row (both
  // engines), not in the file (SQLite).
  const std::pair<const char*, int> tables[] = {{"users", 15}, {"sessions", 6}, {"api_tokens", 8}, {"audit_records", 6}};
  for (const auto& [table, columns] : tables) {
    auto rows = db_->prepare(std::string("SELECT * FROM ") + table);
    for (auto step = rows->step(); step && *step == Step::kRow; step = rows->step()) {
      for (int c = 0; c < columns; ++c) {
        const auto bytes = rows->bytes(c);
        const std::string cell = rows->text(c) + std::string(bytes.begin(), bytes.end());
        for (const std::string& secret : {session.token, token->token, std::string("twelve chars")})
          EXPECT_EQ(cell.find(secret), std::string::npos) << table << " column " << c;
      }
    }
  }
  if (!postgres()) {
    for (const std::string& file : {key_base(), key_base() + "-wal"}) {
      const std::string bytes = test::read_file(file);
      EXPECT_EQ(bytes.find(session.token), std::string::npos) << file;
      EXPECT_EQ(bytes.find(token->token), std::string::npos) << file;
      EXPECT_EQ(bytes.find("twelve chars"), std::string::npos) << file;
    }
  }
}

TEST_P(AccountStoreTest, PasswordChangeNeedsTheOldOneAndEndsTheOtherSessions) {
  auto store = this->store();
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

TEST_P(AccountStoreTest, AnAccountIsOpenedByTwoAdminsAndActivatedByItsHolder) {
  auto store = this->store();
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
  EXPECT_FALSE((*store)->activate_account("sam", *maker, *checker, "sams passphrase", "127.0.0.1", kNow + UserStore::kActivationSeconds))
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
  ASSERT_TRUE((*store)->request_account("eve", {Role::kOperator}, "root", kNow));
  auto by_asker = by_hand("UPDATE users SET status = 'approved', approved_by = 'root', approved_at = 1 WHERE name = 'eve'");
  ASSERT_FALSE(by_asker);
  EXPECT_NE(by_asker.error().message.find("an admin other than the one who asked for it"), std::string::npos) << by_asker.error().message;
  EXPECT_FALSE(by_hand("UPDATE users SET status = 'approved', approved_by = 'eve', approved_at = 1 WHERE name = 'eve'")) << "by its holder";
  EXPECT_FALSE(by_hand("UPDATE users SET status = 'active' WHERE name = 'sam'")) << "a disabled account revived";
  EXPECT_FALSE(by_hand("DELETE FROM users WHERE name = 'sam'")) << "accounts are never deleted";
  EXPECT_TRUE(by_hand("UPDATE users SET status = 'approved', approved_by = 'ada', approved_at = 1 WHERE name = 'eve'")) << "what the store does";
}

// Two nodes, one database: a session made through one is valid through the other, a logout
// everywhere on one ends it on both, and the audit log has each event once.
TEST_P(AccountStoreTest, ASessionMadeOnOneNodeIsValidOnAnotherAndEndedEverywhere) {
  auto first = store();
  auto second = store();
  ASSERT_TRUE(first && second);
  ASSERT_TRUE((*first)->add_user("olga", "twelve chars", {Role::kOperator}, "bootstrap", kNow));
  const NewSession session = logged_in(**first, "olga", "twelve chars", kNow);
  auto seen = (*second)->session(session.token, kNow + 10, 1800);
  ASSERT_TRUE(seen && seen->has_value());
  EXPECT_EQ((*seen)->csrf_token, session.csrf_token);
  EXPECT_TRUE(*(*second)->credential_valid(session.principal.credential_key, kNow + 10));
  ASSERT_TRUE((*second)->end_all_credentials("olga", "olga", kNow + 20));
  EXPECT_FALSE((*first)->session(session.token, kNow + 30, 1800)->has_value());
  EXPECT_FALSE(*(*first)->credential_valid(session.principal.credential_key, kNow + 30));
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM audit_records"), 3) << "user.add, login.success, logout.everywhere";
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountStoreTest, test::kAllBackends, test::backend_name);

}  // namespace
}  // namespace glassbox
