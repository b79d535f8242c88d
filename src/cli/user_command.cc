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
  std::string data_dir, db, name, label = "cli";
  std::vector<std::string> roles;
};

Result<std::string> database_path(const UserArgs& a) { return database_option(a.db, a.data_dir, /*must_exist=*/false); }

int run_add(const UserArgs& a) {
  auto fail = [](const std::string& m) {
    std::cerr << "glassbox user add: " << m << "\n";
    return kExitFailure;
  };
  auto path = database_path(a);
  if (!path) return fail(path.error().message);
  std::set<Role> roles;
  for (const auto& r : a.roles) {
    auto role = parse_role(r);
    if (!role) return fail("--role: " + role.error().message);
    roles.insert(*role);
  }
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  auto store = SqliteUserStore::open(*path);
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
  auto path = database_path(a);
  if (!path) return fail(path.error().message);
  auto store = SqliteUserStore::open(*path);
  if (!store) return fail(store.error().message);
  auto token = (*store)->create_api_token(a.name, a.label, "cli", now_utc());
  if (!token) return fail(token.error().message);
  std::cout << *token << "\n";
  std::cerr << "API token for " << a.name << " (shown once; send it as Authorization: Bearer ...)\n";
  return kExitOk;
}

}  // namespace

void add_user_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<UserArgs>();
  CLI::App* user = app.add_subcommand("user", "Accounts: add one (the first must be an admin), or make an API token");
  user->require_subcommand(1);
  CLI::App* add = user->add_subcommand("add", "Add an account; the password (12 characters or more) is read from standard input");
  add->add_option("--data-dir", args->data_dir, "The service's data folder");
  add->add_option("--db", args->db, "A database file");
  add->add_option("--name", args->name, "Account name")->required();
  add->add_option("--role", args->roles, "operator, supervisor, auditor or admin (repeat for several)")->required();
  add->callback([args, &exit_status] { exit_status = run_add(*args); });
  CLI::App* token = user->add_subcommand("token", "Make an API token for an account (machine clients, monitoring); printed once");
  token->add_option("--data-dir", args->data_dir, "The service's data folder");
  token->add_option("--db", args->db, "A database file");
  token->add_option("--name", args->name, "Account name")->required();
  token->add_option("--label", args->label, "What the token is for");
  token->callback([args, &exit_status] { exit_status = run_token(*args); });
}

}  // namespace glassbox::cli
