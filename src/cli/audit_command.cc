// `glassbox audit export | verify | prove | checkpoint`: the audit log for auditors
// (docs/audit-log.md). verify needs nothing but the export and the public key.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "audit/export_verifier.h"
#include "cli/commands.h"
#include "enroll/enrollment.h"

namespace glassbox::cli {
namespace {

struct AuditArgs {
  std::string data_dir, db, out, by = "cli", public_key, checkpoint, inclusion, export_file;
  std::uint64_t seq = 0;
};

// The log of the database the options name (SQLite, or a cluster's PostgreSQL).
Result<std::unique_ptr<Database>> log_database(const AuditArgs& a, ConnectMode mode) {
  auto location = database_location_option(a.db, a.data_dir, /*must_exist=*/true);
  if (!location) return location.error();
  return connect(*location, mode);
}

int fail(const std::string& command, const std::string& message) {
  std::cerr << "glassbox audit " << command << ": " << message << "\n";
  return kExitFailure;
}

int run_export(const AuditArgs& a) {
  if (auto s = validate_user_name("--by", a.by); !s) return fail("export", s.error().message);
  auto db = log_database(a, ConnectMode::kMigrate);
  if (!db) return fail("export", db.error().message);
  auto n = audit::export_log(**db, a.by, a.out, now_utc());
  if (!n) return fail("export", n.error().message);
  std::cerr << "exported " << *n << " records to " << a.out << " (verify with: glassbox audit verify --public-key "
            << audit::public_key_path((*db)->key_base()).string() << " " << a.out << ")\n";
  return kExitOk;
}

int run_checkpoint(const AuditArgs& a) {
  auto db = log_database(a, ConnectMode::kMigrate);
  if (!db) return fail("checkpoint", db.error().message);
  auto c = audit::make_checkpoint(**db, now_utc());
  if (!c) return fail("checkpoint", c.error().message);
  const std::string text = c->to_json().dump() + "\n";
  if (a.out.empty()) {
    std::cout << text;
  } else {
    std::ofstream out(a.out, std::ios::trunc);
    out << text;
    if (!out) return fail("checkpoint", a.out + ": cannot write");
  }
  return kExitOk;
}

int run_prove(const AuditArgs& a) {
  auto db = log_database(a, ConnectMode::kReadOnly);
  if (!db) return fail("prove", db.error().message);
  auto proof = audit::inclusion_proof_json(**db, a.seq);
  if (!proof) return fail("prove", proof.error().message);
  std::cout << proof->dump() << "\n";
  return kExitOk;
}

int run_verify(const AuditArgs& a) {
  auto key = audit::read_public_key(a.public_key);
  if (!key) {
    std::cerr << "glassbox audit verify: " << key.error().message << "\n";
    return kExitUsage;
  }
  if (!a.inclusion.empty()) {
    std::ifstream in(a.inclusion);
    if (!in) {
      std::cerr << "glassbox audit verify: " << a.inclusion << ": cannot read\n";
      return kExitUsage;
    }
    std::stringstream text;
    text << in.rdbuf();
    if (auto s = audit::verify_inclusion_document(text.str(), *key); !s) return fail("verify", "FAILED: " + s.error().message);
    std::cout << "OK: the record is included in the signed tree\n";
    return kExitOk;
  }
  if (a.export_file.empty()) {
    std::cerr << "glassbox audit verify: give an export file (or --inclusion PROOF)\n";
    return kExitUsage;
  }
  std::optional<audit::Checkpoint> kept;
  if (!a.checkpoint.empty()) {
    auto c = audit::read_checkpoint_file(a.checkpoint);
    if (!c) {
      std::cerr << "glassbox audit verify: " << c.error().message << "\n";
      return kExitUsage;
    }
    kept = *c;
  }
  std::error_code ec;
  if (!std::filesystem::exists(a.export_file, ec)) {
    std::cerr << "glassbox audit verify: " << a.export_file << ": no such file\n";
    return kExitUsage;
  }
  auto report = audit::verify_export_file(a.export_file, *key, kept);
  if (!report) return fail("verify", "FAILED: " + report.error().message);
  std::cout << "OK: " << report->records << " records and " << report->checkpoints << " checkpoints verify";
  if (report->newest) std::cout << "; tree head " << merkle::to_hex(report->newest->root) << " at size " << report->newest->size;
  if (report->auditor_checkpoint_consistent) std::cout << "; consistent with the kept checkpoint of size " << kept->size;
  std::cout << "\n";
  return kExitOk;
}

}  // namespace

void add_audit_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<AuditArgs>();
  CLI::App* audit = app.add_subcommand("audit", "The tamper-evident audit log: export it, verify an export offline, prove a record's inclusion");
  audit->require_subcommand(1);
  auto database_options = [&](CLI::App* c) {
    c->add_option("--data-dir", args->data_dir, "The service's data folder (its glassbox.db; with a PostgreSQL --db, the node folder with its keys)");
    c->add_option("--db", args->db, "A database file, or a cluster's PostgreSQL connection string (with --data-dir)");
  };
  CLI::App* exp = audit->add_subcommand("export", "Write the log, its checkpoints and a fresh signed head to a file (itself audited)");
  database_options(exp);
  exp->add_option("--out", args->out, "Export file")->required();
  exp->add_option("--by", args->by, "Who exports (recorded in the log; default: cli)");
  exp->callback([args, &exit_status] { exit_status = run_export(*args); });

  CLI::App* verify = audit->add_subcommand("verify", "Check an export offline with the public key; names the first record that fails");
  verify->add_option("--public-key", args->public_key, "The log's public key file (<database>.audit-pub)")->required();
  verify->add_option("--checkpoint", args->checkpoint, "A checkpoint kept from earlier: the export must extend it");
  verify->add_option("--inclusion", args->inclusion, "Check an inclusion proof (from `audit prove`) instead of an export");
  verify->add_option("export", args->export_file, "The export file");
  verify->callback([args, &exit_status] { exit_status = run_verify(*args); });

  CLI::App* prove = audit->add_subcommand("prove", "Print an inclusion proof for one record against the newest signed head");
  database_options(prove);
  prove->add_option("--seq", args->seq, "The record's sequence number")->required();
  prove->callback([args, &exit_status] { exit_status = run_prove(*args); });

  CLI::App* checkpoint = audit->add_subcommand("checkpoint", "Sign the log's current head now; print it (or write it with --out) for an auditor to keep");
  database_options(checkpoint);
  checkpoint->add_option("--out", args->out, "Write the checkpoint to this file");
  checkpoint->callback([args, &exit_status] { exit_status = run_checkpoint(*args); });
}

}  // namespace glassbox::cli
