// The `glassbox` subcommands. Each registers its options on the CLI11 app and runs when chosen;
// each returns the process exit status (see docs/cli.md) and reports refusals on stderr.
// Thread-safety: called from main's thread.
#pragma once

#include <atomic>
#include <string>

#include <CLI/CLI.hpp>

#include "core/result.h"
#include "store/database_location.h"

namespace glassbox::cli {

// Exit statuses shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // refused or could not run (message on stderr)
inline constexpr int kExitUsage = 2;        // bad command line (CLI11)
inline constexpr int kExitSourceErrors = 3; // watch: ran, but at least one source failed
inline constexpr int kExitInterrupted = 130;

// The database a command works on: --db FILE, or DIR/glassbox.db for --data-dir DIR (the
// service's); exactly one of them. With `must_exist`, a missing file is an error naming it.
Result<std::string> database_option(const std::string& db, const std::string& data_dir, bool must_exist);
// The same, where the command also works on a cluster's PostgreSQL database: --db may be a
// PostgreSQL connection string, given with --data-dir DIR, the node folder that holds the keys
// (DIR/cluster-node.*: docs/cluster.md).
Result<DatabaseLocation> database_location_option(const std::string& db, const std::string& data_dir, bool must_exist);

// Set by SIGINT/SIGTERM; long-running commands stop at the next frame and still report.
std::atomic<bool>& interrupted();

// HOST:PORT of a listening address (PORT 0: any free one), as `serve` and `demo --serve` take it.
struct ListenAddress {
  std::string host;
  int port = 0;
};
Result<ListenAddress> parse_listen_address(const std::string& text);

void add_enroll_commands(CLI::App& app, int& exit_status);  // enroll, approve, entries
void add_watch_command(CLI::App& app, int& exit_status);
void add_demo_command(CLI::App& app, int& exit_status);
void add_eval_command(CLI::App& app, int& exit_status);
void add_serve_command(CLI::App& app, int& exit_status);
void add_audit_command(CLI::App& app, int& exit_status);
void add_transparency_command(CLI::App& app, int& exit_status);
void add_cluster_command(CLI::App& app, int& exit_status);
void add_user_command(CLI::App& app, int& exit_status);
void add_search_command(CLI::App& app, int& exit_status);
void add_bench_command(CLI::App& app, int& exit_status);
void add_backup_command(CLI::App& app, int& exit_status);

}  // namespace glassbox::cli
