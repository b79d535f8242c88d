// `glassbox user add` and `glassbox user token`: accounts from the command line. The first
// account is the explicit bootstrap (there is no default password); the password is read from
// standard input, never from the command line (where other users could see it).
#include <filesystem>
#include <iostream>

#include "auth/user_store.h"
#include "cli/commands.h"

namespace glassbox::cli {
namespace {

struct UserArgs {
  std::string data_dir, db, name, label = "cli", reason;
  std::vector<std::string> roles;
  int days = 90;
};

// The accounts of the database the options name (SQLite, or a cluster's PostgreSQL).
Result<std::unique_ptr<UserStore>> user_store(const UserArgs& a) {
  auto location = database_location_option(a.db, a.data_dir, /*must_exist=*/false);
  if (!location) return location.error();
  auto db = connect(*location, ConnectMode::kMigrate);
  if (!db) return db.error();
  return std::make_unique<UserStore>(std::move(*db));
}

int run_add(const UserArgs& a) {
  auto fail = [](const std::string& m) {
    std::cerr << "glassbox user add: " << m << "\n";
    return kExitFailure;
  };
  std::set<Role> roles;
  for (const auto& r : a.roles) {
    auto role = parse_role(r);
    if (!role) return fail("--role: " + role.error().message);
    roles.insert(*role);
  }
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  auto store = user_store(a);
  if (!store) return fail(store.error().message);
  auto any = (*store)->has_users();
  if (!any) return fail(any.error().message);
  if (!*any && !roles.count(Role::kAdmin)) return fail("the first account must be an admin (--role admin): it creates the others");
  if (auto s = (*store)->add_user(a.name, password, roles, *any ? "cli" : "bootstrap", now_utc()); !s) return fail(s.error().message);
  std::cerr << "account " << a.name << " created\n";
  return kExitOk;
}

int run_token(const UserArgs& a) {
  auto fail = [](const std::string& m) {
    std::cerr << "glassbox user token: " << m << "\n";
    return kExitFailure;
  };
  auto store = user_store(a);
  if (!store) return fail(store.error().message);
  if (a.days < 1 || a.days > 3650) return fail("--days: from 1 to 3650");
  const UnixSeconds now = now_utc();
  auto token = (*store)->create_api_token(a.name, a.label, now + static_cast<UnixSeconds>(a.days) * 86400, "cli", now);
  if (!token) return fail(token.error().message);
  std::cout << token->token << "\n";
  std::cerr << "API token " << token->info.id << " for " << a.name << ", valid until " << format_utc(token->info.expires_at)
            << " (shown once; send it as Authorization: Bearer ...)\n";
  return kExitOk;
}

// The host's way out when no admin can act through the API (all of them lost, or suspected).
int run_disable(const UserArgs& a) {
  auto fail = [](const std::string& m) {
    std::cerr << "glassbox user disable: " << m << "\n";
    return kExitFailure;
  };
  auto store = user_store(a);
  if (!store) return fail(store.error().message);
  if (auto s = (*store)->disable_account(a.name, "cli", a.reason, now_utc()); !s) return fail(s.error().message);
  std::cerr << "account " << a.name << " disabled; its sessions and tokens are ended (a running serve ends its live event streams "
            << "within watchlist_reload_s)\n";
  return kExitOk;
}

}  // namespace

void add_user_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<UserArgs>();
  CLI::App* user = app.add_subcommand("user", "Accounts: add one (the first must be an admin), or make an API token");
  user->require_subcommand(1);
  CLI::App* add = user->add_subcommand("add", "Add an account; the password (12 characters or more) is read from standard input");
  add->add_option("--data-dir", args->data_dir, "The service's data folder (its glassbox.db; with a PostgreSQL --db, the node folder with its keys)");
  add->add_option("--db", args->db, "A database file, or a cluster's PostgreSQL connection string (with --data-dir)");
  add->add_option("--name", args->name, "Account name")->required();
  add->add_option("--role", args->roles, "operator, supervisor, auditor or admin (repeat for several)")->required();
  add->callback([args, &exit_status] { exit_status = run_add(*args); });
  CLI::App* token = user->add_subcommand("token", "Make an API token for an account (machine clients, monitoring); printed once");
  token->add_option("--data-dir", args->data_dir, "The service's data folder (its glassbox.db; with a PostgreSQL --db, the node folder with its keys)");
  token->add_option("--db", args->db, "A database file, or a cluster's PostgreSQL connection string (with --data-dir)");
  token->add_option("--name", args->name, "Account name")->required();
  token->add_option("--label", args->label, "What the token is for");
  token->add_option("--days", args->days, "How long it is valid (1 to 3650 days)")->capture_default_str();
  token->callback([args, &exit_status] { exit_status = run_token(*args); });
  CLI::App* disable = user->add_subcommand("disable", "Disable an account for good (its sessions end, its tokens are revoked)");
  disable->add_option("--data-dir", args->data_dir, "The service's data folder (its glassbox.db; with a PostgreSQL --db, the node folder with its keys)");
  disable->add_option("--db", args->db, "A database file, or a cluster's PostgreSQL connection string (with --data-dir)");
  disable->add_option("--name", args->name, "Account name")->required();
  disable->add_option("--reason", args->reason, "Why (kept in the audit log)")->required();
  disable->callback([args, &exit_status] { exit_status = run_disable(*args); });
}

}  // namespace glassbox::cli
