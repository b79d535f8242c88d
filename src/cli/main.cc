// glassbox: one binary, one subcommand per job. This file only wires the subcommands together
// and installs the interrupt handler.
#include <sys/stat.h>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace glassbox::cli {
Result<std::string> database_option(const std::string& db, const std::string& data_dir, bool must_exist) {
  if (db.empty() == data_dir.empty()) return Error{"give --db FILE or --data-dir DIR (one of them)"};
  const std::string path = db.empty() ? (std::filesystem::path(data_dir) / "glassbox.db").string() : db;
  std::error_code ec;
  if (must_exist && !std::filesystem::exists(path, ec)) return Error{path + ": no such database"};
  if (!must_exist && !data_dir.empty()) std::filesystem::create_directories(data_dir, ec);
  return path;
}

Result<DatabaseLocation> database_location_option(const std::string& db, const std::string& data_dir, bool must_exist) {
  if (is_postgres_connection(db)) {
    if (data_dir.empty()) return Error{"with a PostgreSQL --db, give --data-dir DIR: the folder with this node's keys"};
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    return database_location(data_dir, db);
  }
  auto path = database_option(db, data_dir, must_exist);
  if (!path) return path.error();
  return DatabaseLocation{*path, "", *path};
}

std::atomic<bool>& interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}
}  // namespace glassbox::cli

namespace {
extern "C" void on_signal(int) { glassbox::cli::interrupted().store(true); }
}  // namespace

int main(int argc, char** argv) {
  // Everything Glassbox writes (the database with its evidence and password hashes, keys,
  // recordings, uploads, exports) is for the account that runs it: docs/security.md.
  ::umask(077);
  CLI::App app{"Glassbox: accountable face recognition for video — watchlist alerts with a legal basis, "
               "an approver and an expiry for every entry, and no trace of anyone else."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "glassbox 0.1.0");
  int exit_status = glassbox::cli::kExitOk;
  glassbox::cli::add_enroll_commands(app, exit_status);
  glassbox::cli::add_watch_command(app, exit_status);
  glassbox::cli::add_demo_command(app, exit_status);
  glassbox::cli::add_eval_command(app, exit_status);
  glassbox::cli::add_serve_command(app, exit_status);
  glassbox::cli::add_audit_command(app, exit_status);
  glassbox::cli::add_transparency_command(app, exit_status);
  glassbox::cli::add_cluster_command(app, exit_status);
  glassbox::cli::add_user_command(app, exit_status);
  glassbox::cli::add_search_command(app, exit_status);
  glassbox::cli::add_bench_command(app, exit_status);
  glassbox::cli::add_backup_command(app, exit_status);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  // A file-size limit (RLIMIT_FSIZE, a quota) makes a write fail with EFBIG, which the store
  // reports and counts like a full disk, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : glassbox::cli::kExitUsage;
  }
  return exit_status;
}
