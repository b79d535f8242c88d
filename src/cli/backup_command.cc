// `glassbox backup`: an online backup of the service's embedded database, taken while it runs
// (store/sqlite_backup.h; docs/reliability.md, "Backup and restore"). It names the key files that
// must be kept separately, since the backup does not hold them.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "audit/checkpoint.h"
#include "cli/commands.h"
#include "store/sqlite_backup.h"
#include "store/template_key.h"

namespace glassbox::cli {
namespace {

struct BackupArgs {
  std::string data_dir, db, out;
};

int run_backup(const BackupArgs& a) {
  auto fail = [](const std::string& m) {
    std::cerr << "glassbox backup: " << m << "\n";
    return kExitFailure;
  };
  auto database = database_option(a.db, a.data_dir, /*must_exist=*/true);
  if (!database) return fail(database.error().message);
  auto summary = backup_sqlite_database(*database, a.out);
  if (!summary) return fail(summary.error().message);
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", summary->seconds);
  std::cout << "backup of " << *database << " written to " << a.out << ": schema version " << summary->schema_version << ", "
            << summary->entries << " entries, " << summary->alerts << " alerts, " << summary->audit_records << " audit records, "
            << summary->bytes << " bytes, " << seconds << " s\n";
  std::cerr << "glassbox backup: the keys are not in the backup; keep copies of these files too, stored apart from it:\n";
  const std::filesystem::path audit_keys[] = {audit::secret_key_path(*database), audit::public_key_path(*database)};
  for (const auto& key : {TemplateKey::path_for(*database), audit_keys[0], audit_keys[1]}) {
    std::error_code ec;
    std::cerr << "  " << key.string() << (std::filesystem::exists(key, ec) ? "" : " (missing)") << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_backup_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<BackupArgs>();
  CLI::App* backup = app.add_subcommand("backup", "A consistent copy of the service's database, taken while it runs (not its keys)");
  backup->add_option("--data-dir", args->data_dir, "The service's data folder (its glassbox.db)");
  backup->add_option("--db", args->db, "A database file instead");
  backup->add_option("--out", args->out, "The backup file to write (never overwritten)")->required();
  backup->callback([args, &exit_status] { exit_status = run_backup(*args); });
}

}  // namespace glassbox::cli
