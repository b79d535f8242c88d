// The online backup of the embedded database (docs/reliability.md, "Backup and restore"): a copy
// of the SQLite file as of one commit, taken through SQLite's backup API while `serve` goes on
// writing (WAL: the copy holds one read transaction; writers never wait for it). The copy is a
// single self-contained file (rollback journal, no -wal beside it), created owner-only and never
// over an existing file, synced, and checked (integrity_check, schema version) before it is
// renamed into place: a backup either is complete and sound or is not there.
// The keys are not in it — the template key, and the audit log's signing key and public key, are
// files beside the database and are backed up separately (a copy with its keys beside it would
// open every sealed template to whoever holds it).
// Thread-safety: reentrant; opens its own connections.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace glassbox {

struct BackupSummary {
  std::int64_t schema_version = 0;
  std::int64_t bytes = 0;
  std::int64_t entries = 0;
  std::int64_t alerts = 0;
  std::int64_t audit_records = 0;
  double seconds = 0.0;
};

Result<BackupSummary> backup_sqlite_database(const std::string& source, const std::string& destination);

}  // namespace glassbox
