// Credentials and the four-eyes rule under attack (docs/security.md, "Credentials", "No
// one-person four eyes"): the review's findings C-04, C-07, C-08, C-12, C-25, C-26 and S-05
// run against a real `glassbox serve`, as black-box requests from several loopback addresses.
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "security/security_support.h"
#include "store/template_key.h"

namespace glassbox::sectest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::optional<Reply> login(const Service& s, const std::string& name, const std::string& password, const ClientOptions& from = {}) {
  return request(s.port(), "POST", "/api/login", {{"Content-Type", "application/json"}},
                 json{{"name", name}, {"password", password}}.dump(), from);
}

// A browser session: its cookie header and CSRF token.
struct Session {
  std::string cookie, csrf;
  Headers headers(bool change = false) const {
    Headers h = {{"Cookie", cookie}};
    if (change) h.emplace_back("X-CSRF-Token", csrf);
    return h;
  }
};

std::optional<Session> session_of(const Service& s, const std::string& name, const std::string& password = {}) {
  auto r = login(s, name, password.empty() ? password_of(name) : password);
  if (!r || r->status != 200) return std::nullopt;
  const std::string set = r->header("Set-Cookie");
  return Session{set.substr(0, set.find(';')), json::parse(r->body)["csrf_token"]};
}

// A live event stream as `headers` allow; true while it is open.
class Stream {
 public:
  Stream(int port, const Headers& headers) : c_(Connection::open(port)) {
    c_->send(head("GET", "/api/events", headers, 0, false));
    opened_ = c_->read_some(5).find("200 OK") != std::string::npos;
  }
  bool opened() const { return opened_; }
  // True when the server ends the stream within `timeout_s` (its last chunk, or the close).
  bool ended_within(double timeout_s) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (Clock::now() < deadline) {
      const std::string got = c_->read_some(0.2);
      if (got.find("0\r\n\r\n") != std::string::npos) return true;
      if (got.empty() && c_->closed_within(0.05)) return true;
    }
    return false;
  }

 private:
  std::unique_ptr<Connection> c_;
  bool opened_ = false;
};

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    ASSERT_TRUE(service_.start(R"({"workers": 1, "watchlist_reload_s": 1, "http": {"event_keepalive_s": 1}})")) << service_.log();
  }
  void TearDown() override { EXPECT_TRUE(service_.alive()) << service_.log(); }
  std::vector<std::string> actions(const std::string& prefix) const { return service_.audit_trail(prefix); }
  Service service_;
};

// C-04: a stranger cannot fill the disk or the audit log through the login form: the form is
// 4 KiB, a name that cannot be an account leaves no record, and a client's failures stop at its
// budget (one record for the episode after that).
TEST_F(CredentialsTest, C04_FailedLoginsCannotFloodTheAuditLog) {
  auto huge = request(service_.port(), "POST", "/api/login", {{"Content-Type", "application/json"}},
                      json{{"name", std::string(60 << 10, 'x')}, {"password", "y"}}.dump());
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  const std::int64_t records_before = sql_count(service_.db(), "SELECT count(*) FROM audit_records");
  const std::int64_t bytes_before = sql_count(service_.db(), "SELECT sum(length(record)) FROM audit_records");
  auto long_name = login(service_, std::string(1000, 'x'), "whatever it is");
  ASSERT_TRUE(long_name);
  EXPECT_EQ(long_name->status, 401);
  auto odd_name = login(service_, "x\xe2\x80\xae\x01y", "whatever it is");
  ASSERT_TRUE(odd_name);
  EXPECT_EQ(odd_name->status, 401);
  EXPECT_EQ(sql_count(service_.db(), "SELECT count(*) FROM audit_records"), records_before) << "a name no account can have is not recorded";
  // 200 attempts with names an account could have, from one address.
  int throttled = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = login(service_, "guess" + std::to_string(i), "not the password at all", from("127.0.0.7"));
    ASSERT_TRUE(r);
    throttled += r->status == 429;
    if (r->status == 429) {
      EXPECT_FALSE(r->header("Retry-After").empty());
    }
  }
  EXPECT_GE(throttled, 160) << "a client's failures stop at its budget";
  const std::int64_t added = sql_count(service_.db(), "SELECT count(*) FROM audit_records") - records_before;
  EXPECT_LE(added, 32) << "30 failures and one record of the throttling";
  EXPECT_GE(added, 30);
  const std::int64_t grown = sql_count(service_.db(), "SELECT sum(length(record)) FROM audit_records") - bytes_before;
  EXPECT_LT(grown, added * 400) << "each record is small: the name is at most 64 characters";
  EXPECT_EQ(actions("login.throttled").size(), 1u);
  EXPECT_NE(service_.log().find("reason=login_throttled"), std::string::npos);
}

// C-07: credentials have a life: a password change ends the other sessions; logout and logout
// everywhere, token revocation and disabling end credentials and their live streams at once;
// an expired credential ends its stream within the maintenance period.
TEST_F(CredentialsTest, C07_CredentialsAndTheirStreamsCanBeEnded) {
  // Logout ends the session and its stream at once.
  auto a = session_of(service_, "olga");
  ASSERT_TRUE(a);
  Stream a_stream(service_.port(), a->headers());
  ASSERT_TRUE(a_stream.opened());
  auto me = request(service_.port(), "GET", "/api/me", a->headers());
  ASSERT_TRUE(me);
  EXPECT_FALSE(json::parse(me->body)["expires_at"].get<std::string>().empty()) << "a session says when it ends at the latest";
  auto out = request(service_.port(), "POST", "/api/logout", a->headers(true));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 204);
  EXPECT_TRUE(a_stream.ended_within(2)) << "the stream outlived the logout";
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", a->headers())->status, 401);

  // A token made from a session; revoked, it stops at once, its stream too.
  auto b = session_of(service_, "olga");
  auto made = request(service_.port(), "POST", "/api/tokens", [&] {
    auto h = b->headers(true);
    h.emplace_back("Content-Type", "application/json");
    return h;
  }(), R"({"label": "script", "expires_days": 7})");
  ASSERT_TRUE(made);
  ASSERT_EQ(made->status, 201) << made->body;
  const json token = json::parse(made->body);
  const Headers with_token = {{"Authorization", "Bearer " + token["token"].get<std::string>()}};
  Stream token_stream(service_.port(), with_token);
  ASSERT_TRUE(token_stream.opened());
  auto listed = request(service_.port(), "GET", "/api/tokens", with_token);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->body.find(token["token"].get<std::string>()), std::string::npos) << "never shown again";
  auto too_long = request(service_.port(), "POST", "/api/tokens", {{"Authorization", "Bearer " + service_.token("olga")}, {"Content-Type", "application/json"}},
                          R"({"label": "forever", "expires_days": 100000})");
  EXPECT_EQ(too_long->status, 400) << "tokens expire";
  auto not_mine = request(service_.port(), "DELETE", "/api/tokens/" + std::to_string(token["id"].get<int>()), service_.bearer("oscar"));
  EXPECT_EQ(not_mine->status, 404) << "another's token does not exist for oscar";
  auto revoked = request(service_.port(), "DELETE", "/api/tokens/" + std::to_string(token["id"].get<int>()), with_token);
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->status, 204);
  EXPECT_TRUE(token_stream.ended_within(2));
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", with_token)->status, 401);

  // A password change needs the old one and ends every other session (and its stream).
  auto c = session_of(service_, "olga");
  Stream c_stream(service_.port(), c->headers());
  ASSERT_TRUE(c_stream.opened());
  Headers change = b->headers(true);
  change.emplace_back("Content-Type", "application/json");
  auto wrong = request(service_.port(), "POST", "/api/me/password", change, json{{"old_password", "not it at all"}, {"new_password", "olga's new passphrase"}}.dump());
  EXPECT_EQ(wrong->status, 403);
  auto changed = request(service_.port(), "POST", "/api/me/password", change,
                         json{{"old_password", password_of("olga")}, {"new_password", "olga's new passphrase"}}.dump());
  ASSERT_TRUE(changed);
  ASSERT_EQ(changed->status, 200) << changed->body;
  EXPECT_TRUE(c_stream.ended_within(2)) << "another session's stream outlived the password change";
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", c->headers())->status, 401);
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", b->headers())->status, 200) << "the session that changed it goes on";
  EXPECT_EQ(login(service_, "olga", password_of("olga"))->status, 401);
  EXPECT_EQ(login(service_, "olga", "olga's new passphrase")->status, 200);

  // Logout everywhere: every session and every token of the account.
  Stream olga_token_stream(service_.port(), service_.bearer("olga"));
  auto everywhere = request(service_.port(), "POST", "/api/me/logout-all", b->headers(true));
  ASSERT_TRUE(everywhere);
  EXPECT_EQ(everywhere->status, 200);
  EXPECT_TRUE(olga_token_stream.ended_within(2));
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", service_.bearer("olga"))->status, 401);
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", b->headers())->status, 401);

  // Disabling an account (an admin, with a reason) ends all of its credentials at once.
  auto oscar = session_of(service_, "oscar");
  Stream oscar_stream(service_.port(), oscar->headers());
  ASSERT_TRUE(oscar_stream.opened());
  Headers root_json = service_.bearer("root");
  root_json.emplace_back("Content-Type", "application/json");
  EXPECT_EQ(request(service_.port(), "POST", "/api/users/oscar/disable", root_json, "{}")->status, 400) << "a reason is needed";
  auto disabled = request(service_.port(), "POST", "/api/users/oscar/disable", root_json, R"({"reason": "left the unit"})");
  ASSERT_TRUE(disabled);
  EXPECT_EQ(disabled->status, 200) << disabled->body;
  EXPECT_TRUE(oscar_stream.ended_within(2));
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", service_.bearer("oscar"))->status, 401);
  EXPECT_EQ(login(service_, "oscar", password_of("oscar"))->status, 401);

  // A credential that ends behind the service's back (its expiry reached; another process) ends
  // its stream within watchlist_reload_s.
  auto d = session_of(service_, "alice");
  Stream d_stream(service_.port(), d->headers());
  ASSERT_TRUE(d_stream.opened());
  ASSERT_EQ(sql(service_.db(), "UPDATE sessions SET expires_at = 1 WHERE user = 'alice'"), SQLITE_OK);
  EXPECT_TRUE(d_stream.ended_within(4)) << "an expired session's stream went on";
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", d->headers())->status, 401);
  Stream sam_stream(service_.port(), service_.bearer("sam"));
  ASSERT_TRUE(sam_stream.opened());
  ASSERT_EQ(test::run_glassbox({"user", "disable", "--data-dir", service_.data_dir().string(), "--name", "sam", "--reason", "test"}).exit_code, 0);
  EXPECT_TRUE(sam_stream.ended_within(4)) << "disabled from the command line, the stream went on";
  ASSERT_EQ(sql(service_.db(), "UPDATE api_tokens SET expires_at = 1 WHERE user = 'audrey'"), SQLITE_OK);
  EXPECT_EQ(request(service_.port(), "GET", "/api/me", service_.bearer("audrey"))->status, 401) << "an expired token";

  for (const char* action : {"logout olga", "token.revoke olga", "user.password olga", "logout.everywhere olga", "user.disable root", "user.disable cli"})
    EXPECT_FALSE(actions(std::string(action).substr(0, std::string(action).find(' '))).empty()) << action << " not audited";
}

// C-08: no single person, with any number of accounts they can make alone, can both submit and
// approve an entry: an account through the API needs a second admin and its holder.
TEST_F(CredentialsTest, C08_NoSinglePersonCanSubmitAndApprove) {
  Headers root = service_.bearer("root");
  root.emplace_back("Content-Type", "application/json");
  Headers ada = service_.bearer("ada");
  ada.emplace_back("Content-Type", "application/json");
  // root, alone, makes two accounts for himself.
  auto op = request(service_.port(), "POST", "/api/users", root, R"({"name": "root-op", "roles": ["operator"]})");
  auto sup = request(service_.port(), "POST", "/api/users", root, R"({"name": "root-sup", "roles": ["supervisor"]})");
  ASSERT_EQ(op->status, 201) << op->body;
  ASSERT_EQ(sup->status, 201) << sup->body;
  EXPECT_EQ(json::parse(op->body)["status"], "pending");
  EXPECT_EQ(request(service_.port(), "POST", "/api/users", root, R"({"name": "root-x", "roles": ["operator"], "password": "i know this one"})")->status, 400)
      << "no admin sets a password";
  EXPECT_EQ(request(service_.port(), "POST", "/api/users", root, R"({"name": "root-both", "roles": ["admin", "supervisor"]})")->status, 400)
      << "an admin is never also a supervisor";
  EXPECT_EQ(request(service_.port(), "POST", "/api/users", root, R"({"name": "ROOT-OP", "roles": ["operator"]})")->status, 409) << "look-alike by case";
  // He cannot approve them, log in as them, or mint a token for them through any route.
  EXPECT_EQ(request(service_.port(), "POST", "/api/users/root-op/approve", root, "")->status, 403);
  EXPECT_EQ(login(service_, "root-op", "anything at all here")->status, 401);
  const std::string maker = json::parse(op->body)["activation_code_part"];
  auto alone = request(service_.port(), "POST", "/api/activate", {{"Content-Type", "application/json"}},
                       json{{"name", "root-op"}, {"requester_code", maker}, {"approver_code", maker}, {"password", "root's own passphrase"}}.dump());
  EXPECT_EQ(alone->status, 401) << "the asker's half alone activates nothing";
  EXPECT_NE(test::run_glassbox({"user", "token", "--data-dir", service_.data_dir().string(), "--name", "root-op"}).exit_code, 0)
      << "nothing works for an account not yet active";
  // As an admin he may not review, submit or approve at all.
  EXPECT_EQ(request(service_.port(), "GET", "/api/entries", service_.bearer("root"))->status, 403);
  EXPECT_EQ(request(service_.port(), "POST", "/api/entries/1/approve", root, "")->status, 403);

  // With a second admin and the holder, the account opens; root still lacks the approver's half.
  auto approved = request(service_.port(), "POST", "/api/users/root-op/approve", ada, "");
  ASSERT_EQ(approved->status, 200) << approved->body;
  const std::string checker = json::parse(approved->body)["activation_code_part"];
  EXPECT_EQ(json::parse(approved->body)["status"], "approved");
  EXPECT_EQ(request(service_.port(), "POST", "/api/activate", {{"Content-Type", "application/json"}},
                    json{{"name", "root-op"}, {"requester_code", maker}, {"approver_code", maker + "0"}, {"password", "root's own passphrase"}}.dump())
                ->status,
            401);
  auto activated = request(service_.port(), "POST", "/api/activate", {{"Content-Type", "application/json"}},
                           json{{"name", "root-op"}, {"requester_code", maker}, {"approver_code", checker}, {"password", "the holder's passphrase"}}.dump());
  ASSERT_EQ(activated->status, 200) << activated->body;
  EXPECT_EQ(login(service_, "root-op", "the holder's passphrase")->status, 200);
  // Every step is on the record.
  const auto adds = actions("user.");
  for (const char* expected : {"user.add root user/root-op", "user.approve ada user/root-op", "user.activate root-op user/root-op"})
    EXPECT_NE(std::find(adds.begin(), adds.end(), expected), adds.end()) << expected;
}

// C-12: failures from one address never lock an account for its user elsewhere, and an
// existing name is throttled exactly like one that does not exist.
TEST_F(CredentialsTest, C12_NoLockoutAndNoOracle) {
  std::vector<int> alice, nobody;
  for (int i = 0; i < 7; ++i) alice.push_back(login(service_, "alice", "wrong password here", from("127.0.0.9"))->status);
  for (int i = 0; i < 7; ++i) nobody.push_back(login(service_, "nosuchuser", "wrong password here", from("127.0.0.9"))->status);
  EXPECT_EQ(alice, nobody) << "the answers tell which names exist";
  EXPECT_EQ(alice, (std::vector<int>{401, 401, 401, 401, 401, 429, 429}));
  EXPECT_EQ(login(service_, "alice", password_of("alice"), from("127.0.0.9"))->status, 429) << "throttled from that address";
  EXPECT_EQ(login(service_, "alice", password_of("alice"), from("127.0.0.10"))->status, 200) << "alice herself, elsewhere, is not locked out";
  EXPECT_EQ(login(service_, "alice", password_of("alice"))->status, 200);
}

// C-25: the template key is made once even when the first entries and searches arrive together.
TEST_F(CredentialsTest, C25_TheTemplateKeyIsMadeOnceUnderARace) {
  const std::string still = still_of("video/talking_heads/WDA_KatieHill_000_h264.mp4", service_.dir().path());
  std::string entry_body, search_body;
  const std::string entry_type = multipart({{"subject", "Person K"}, {"legal_basis", "Order 1"}, {"source", "clip"}, {"expires", test::date_in_days(100)}},
                                           {{"photo", "k.png", file_bytes(still)}}, entry_body);
  const std::string search_type = multipart({{"case_id", "K-1"}, {"legal_basis", "Order 1"}, {"cameras", "gate"}, {"from", "2026-01-01T00:00:00Z"},
                                             {"to", "2026-01-02T00:00:00Z"}},
                                            {{"probe", "k.png", file_bytes(still)}}, search_body);
  std::vector<std::thread> first;
  std::atomic<int> created{0};
  for (int i = 0; i < 10; ++i)
    first.emplace_back([&, i] {
      Headers h = service_.bearer(i % 2 ? "olga" : "alice");
      h.emplace_back("Content-Type", i % 2 ? entry_type : search_type);
      auto r = request(service_.port(), "POST", i % 2 ? "/api/entries" : "/api/searches", h, i % 2 ? entry_body : search_body, waiting(60));
      created += r && r->status == 201;
    });
  for (auto& t : first) t.join();
  EXPECT_GE(created.load(), 4) << "(some may be told 503 while photos are processed for others)";
  const std::string key = test::read_file(service_.db() + ".template-key");
  ASSERT_EQ(key.size(), 65u);
  const std::int64_t keys_used =
      sql_count(service_.db(), "SELECT count(DISTINCT key_id) FROM (SELECT key_id FROM entry_templates UNION ALL SELECT key_id FROM search_probes)");
  EXPECT_EQ(keys_used, 1) << "templates sealed under a key that lost the race";
  int key_files = 0;
  for (const auto& f : std::filesystem::directory_iterator(service_.data_dir())) key_files += f.path().string().find("template-key") != std::string::npos;
  EXPECT_EQ(key_files, 1);

  // The race itself, where it is decided: many first users of a database at once.
  for (int round = 0; round < 20; ++round) {
    test::TempDir fresh;
    const std::string db = (fresh / "g.db").string();
    std::vector<std::string> ids(16);
    std::vector<std::thread> users;
    for (int i = 0; i < 16; ++i)
      users.emplace_back([&, i] {
        auto k = TemplateKey::load(db, /*create_if_missing=*/true);
        ids[i] = k ? k->id() : "failed: " + k.error().message;
      });
    for (auto& t : users) t.join();
    for (const auto& id : ids) ASSERT_EQ(id, ids[0]) << "round " << round << ": two keys were made";
    auto kept = TemplateKey::load(db, false);
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->id(), ids[0]);
    int files = 0;
    for (const auto& f : std::filesystem::directory_iterator(fresh.path())) files += f.path().string().find("template-key") != std::string::npos;
    EXPECT_EQ(files, 1) << "temporary files left";
  }
}

// C-26: the command line is the host's boundary: it trusts names, and every act is on the
// record as the command line's; but it makes nothing work for an account that is not active.
TEST_F(CredentialsTest, C26_TheCommandLineIsAuditedAsTheHost) {
  ASSERT_EQ(test::run_glassbox({"user", "disable", "--data-dir", service_.data_dir().string(), "--name", "oscar", "--reason", "test"}).exit_code, 0);
  EXPECT_NE(test::run_glassbox({"user", "token", "--data-dir", service_.data_dir().string(), "--name", "oscar"}).exit_code, 0);
  const auto made = test::run_glassbox({"user", "token", "--data-dir", service_.data_dir().string(), "--name", "olga", "--days", "1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto records = actions("token.create");
  EXPECT_NE(std::find(records.begin(), records.end(), "token.create cli user/olga"), records.end()) << "acts of the host are recorded as cli";
  EXPECT_NE(test::run_glassbox({"user", "token", "--data-dir", service_.data_dir().string(), "--name", "olga", "--days", "99999"}).exit_code, 0);
}

// S-05 (busy): a session keeps working while another process holds the database's write lock:
// its last use is written at most once a minute, and a write that cannot happen is not fatal.
TEST_F(CredentialsTest, S05_SessionsSurviveABusyDatabase) {
  auto s = session_of(service_, "olga");
  ASSERT_TRUE(s);
  ASSERT_EQ(sql(service_.db(), "UPDATE sessions SET last_seen = last_seen - 300"), SQLITE_OK);  // due for a touch
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(service_.db().c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE; UPDATE users SET password_changed_at = password_changed_at WHERE name = 'root'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  for (const Headers& who : {s->headers(), service_.bearer("alice")}) {
    const auto started = Clock::now();
    auto me = request(service_.port(), "GET", "/api/me", who);
    const double took = std::chrono::duration<double>(Clock::now() - started).count();
    ASSERT_TRUE(me);
    EXPECT_EQ(me->status, 200) << "a busy database logged someone out";
    EXPECT_LT(took, 1.0);
  }
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
}

// S-05 (disk full): on a full file system, reads with a session or a token keep working, uploads
// are refused before SQLite fails (507, and the gauge says so), actions that must be audited fail
// closed with a clear answer, and with space back all of it works again without a restart.
TEST(CredentialsDisk, S05_AFullDiskRefusesCleanlyAndRecoversWithoutARestart) {
  ::signal(SIGPIPE, SIG_IGN);
  test::TempDir mount_point;
  if (::mount("tmpfs", mount_point.path().c_str(), "tmpfs", 0, "size=48m,mode=0700") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN): " << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point.path().string()};
  Service service;
  // The service's data folder moves onto the small file system, accounts and keys with it.
  const auto data = mount_point / "data";
  std::filesystem::copy(service.data_dir(), data, std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(service.data_dir());
  std::filesystem::create_directory_symlink(data, service.data_dir());
  ASSERT_TRUE(service.start(R"({"workers": 1, "min_free_disk_mb": 16})")) << service.log();
  auto s = session_of(service, "olga");
  ASSERT_TRUE(s);
  // Fill it: 4 MiB left, under the 16 MiB floor.
  const auto filler = mount_point / "filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(1 << 20, 'f');
    while (std::filesystem::space(mount_point.path()).available > (std::uintmax_t{4} << 20) && out.write(block.data(), block.size())) {
    }
  }
  Headers olga_json = service.bearer("olga");
  olga_json.emplace_back("Content-Type", "application/json");
  auto upload = request(service.port(), "POST", "/api/uploads", olga_json, R"({"name": "a.mp4"})");
  ASSERT_TRUE(upload);
  EXPECT_EQ(upload->status, 507) << upload->body;
  auto metrics = request(service.port(), "GET", "/metrics", service.bearer("olga"));
  EXPECT_NE(metrics->body.find("glassbox_disk_below_floor 1"), std::string::npos);
  // Now completely full.
  {
    std::ofstream out(filler, std::ios::binary | std::ios::app);
    const std::string block(1 << 16, 'f');
    while (out.write(block.data(), block.size())) {
    }
  }
  EXPECT_EQ(request(service.port(), "GET", "/api/me", s->headers())->status, 200) << "a session read on a full disk";
  EXPECT_EQ(request(service.port(), "GET", "/api/me", service.bearer("alice"))->status, 200) << "a token read on a full disk";
  auto full_login = login(service, "alice", password_of("alice"));
  ASSERT_TRUE(full_login);
  // Refused as the storage's failure (507: nothing changed, try again), or it fitted in what was left.
  EXPECT_TRUE(full_login->status == 507 || full_login->status == 200) << full_login->status;
  if (full_login->status == 507) {
    EXPECT_NE(full_login->body.find("incident"), std::string::npos);
    EXPECT_NE(full_login->body.find("nothing was changed"), std::string::npos) << full_login->body;
  }
  EXPECT_TRUE(service.alive());
  // Space back: everything works, without a restart.
  std::filesystem::remove(filler);
  auto after = login(service, "alice", password_of("alice"));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
  auto upload_after = request(service.port(), "POST", "/api/uploads", olga_json, R"({"name": "a.mp4"})");
  EXPECT_EQ(upload_after->status, 201);
  service.stop();
  const auto out = mount_point / "audit.jsonl";
  ASSERT_EQ(test::run_glassbox({"audit", "export", "--data-dir", data.string(), "--out", out.string(), "--by", "test"}).exit_code, 0);
  EXPECT_EQ(test::run_glassbox({"audit", "verify", "--public-key", (data / "glassbox.db.audit-pub").string(), out.string()}).exit_code, 0)
      << "the audit log verifies after the full disk";
}

}  // namespace
}  // namespace glassbox::sectest
