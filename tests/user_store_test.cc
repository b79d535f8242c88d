// The command line's role checks on an SQLite file, and the login throttle. The account store's
// own suite runs on both backends in account_store_test.cc.
#include <gtest/gtest.h>

#include "auth/login_throttle.h"
#include "auth/user_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

const UnixSeconds kNow = *parse_date_utc("2026-11-29") + 8 * 3600;

TEST(UserStore, TheCommandLineChecksRolesOnceAccountsExist) {
  test::TempDir dir;
  const std::string path = (dir / "u.db").string();
  EXPECT_TRUE(check_cli_role(path, "anyone", {Role::kSupervisor}, "--approved-by")) << "bootstrap state: no accounts yet";
  auto store = UserStore::open(path);
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
