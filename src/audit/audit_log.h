// AuditLog: appends records to the audit log inside the caller's transaction (so the action and
// its record commit together, or neither does), signs each record's tree head, and reads the log
// back for export, inclusion proofs and standalone checkpoints. On either backend
// (store/database.h): an SQLite file, or the PostgreSQL database a cluster's nodes share, where
// appends from every node extend one log (docs/cluster.md).
// Format: docs/audit-log.md. Keys: never in the database. `key_base` names where they are:
// <key_base>.audit-key and .audit-pub — beside an SQLite file (its path), or a path each node of a
// cluster is configured with; the overloads without one take the connection's (Database::key_base).
// Thread-safety: functions on a connection the caller owns (one thread at a time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "core/dates.h"
#include "store/database.h"

namespace glassbox::audit {

struct AuditEvent {
  std::string actor;   // who acted; "system" for the service itself
  std::string action;  // e.g. "entry.approve"
  std::string object;  // e.g. "entry/12"
  nlohmann::json details = nlohmann::json::object();
};

// Appends `event` within the transaction open on `db`. An error means the action must be
// rolled back (fail closed): the key is missing, the row could not be written, ...
Status append(Database& db, const std::string& key_base, const AuditEvent& event, UnixSeconds now);
// With the keys of the node that holds `db` (Database::key_base).
inline Status append(Database& db, const AuditEvent& event, UnixSeconds now) { return append(db, db.key_base(), event, now); }

// This process never acts at a time before the log's newest record (core/service_clock.h): read
// when a process opens a deployment's database, so that a wall clock set back, or another
// process's clock behind this one, cannot revive an expired entry or put records out of order.
Status raise_clock_floor(Database& db);

// Every record's canonical bytes, in order.
Result<std::vector<std::string>> read_records(Database& db);

// Signs a checkpoint of the log as it is now (time `now`) and keeps it in audit_checkpoints.
// Refused on an empty log.
Result<Checkpoint> make_checkpoint(Database& db, const std::string& key_base, UnixSeconds now);
inline Result<Checkpoint> make_checkpoint(Database& db, UnixSeconds now) { return make_checkpoint(db, db.key_base(), now); }

// Appends an audit.export record by `actor`, then writes the export (docs/audit-log.md) to
// `out` atomically. Returns the number of records written.
Result<std::uint64_t> export_log(Database& db, const std::string& key_base, const std::string& actor, const std::string& out, UnixSeconds now);
inline Result<std::uint64_t> export_log(Database& db, const std::string& actor, const std::string& out, UnixSeconds now) {
  return export_log(db, db.key_base(), actor, out, now);
}

// Which records to read for a person browsing the log (empty strings match anything).
struct RecordFilter {
  std::string actor;
  std::string action;          // exact, or a prefix ending in "." ("entry." for every entry action)
  std::string object;          // exact ("entry/12")
  std::string from, to;        // times, YYYY-MM-DDTHH:MM:SSZ (or a prefix of one): from <= time < to
  std::int64_t before_seq = -1;  // only records older than this (paging backwards); -1: from the newest
  int limit = 100;               // 1..1000
};
// The records that match, newest first, as JSON objects.
Result<std::vector<nlohmann::json>> query_records(Database& db, const RecordFilter& filter);

// An inclusion proof for record `seq` against the newest record's checkpoint, as JSON.
Result<nlohmann::json> inclusion_proof_json(Database& db, const std::string& key_base, std::uint64_t seq);
inline Result<nlohmann::json> inclusion_proof_json(Database& db, std::uint64_t seq) { return inclusion_proof_json(db, db.key_base(), seq); }

}  // namespace glassbox::audit
