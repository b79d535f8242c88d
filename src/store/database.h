// Database and Statement: the one interface through which store code runs SQL, so that the same
// store code runs on an SQLite file (one machine) and on PostgreSQL (a cluster; docs/cluster.md).
//   - SQL is written once, in the subset both engines share: `?` placeholders (the PostgreSQL
//     side rewrites them to $1, $2, …), RETURNING instead of last_insert_rowid(), ON CONFLICT.
//     Where the engines really differ, the caller asks dialect() and says both forms side by side.
//     PostgreSQL takes a parameter's type from its first use, so `(col = ?1 OR ?1 IS NULL)`,
//     never `(?1 IS NULL OR …)`.
//   - Errors are values: a statement that cannot be prepared or run says so from step(), with
//     the database, the caller's context and the engine's reason (a trigger's message included).
//   - transaction() runs a body atomically and serializably: SQLite takes the write lock
//     (BEGIN IMMEDIATE); PostgreSQL runs it SERIALIZABLE and runs the body again (up to twelve
//     times, with pauses) when the engine reports a serialization failure or a deadlock, so the
//     body must do nothing but database work (or work that may be repeated).
// Every store runs on it (docs/cluster.md, "One store, two backends"); only SQLite's own
// migrations and the evaluation's template cache (a local file) use SQLite directly.
// Thread-safety: a Database and its statements belong to one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace glassbox {

enum class Dialect { kSqlite, kPostgres };

enum class Step { kRow, kDone };

class Statement {
 public:
  virtual ~Statement() = default;
  // Parameters are numbered from 1, in the order of the `?` in the SQL text. A binding stays
  // until it is replaced; reset() keeps them.
  virtual void bind(int index, std::string_view text) = 0;
  virtual void bind(int index, std::int64_t value) = 0;
  void bind(int index, int value) { bind(index, static_cast<std::int64_t>(value)); }
  void bind(int index, const char* text) { bind(index, std::string_view(text)); }
  void bind(int index, const std::string& text) { bind(index, std::string_view(text)); }
  virtual void bind_real(int index, double value) = 0;
  virtual void bind_bytes(int index, const std::vector<unsigned char>& bytes) = 0;
  virtual void bind_null(int index) = 0;
  // Runs the statement on the first call, then moves from row to row; kDone after the last.
  virtual Result<Step> step() = 0;
  // Ready to run again (with the bindings it has, or new ones).
  virtual void reset() = 0;
  // The current row's columns, numbered from 0. Reading a NULL gives 0, 0.0, "" or no bytes.
  virtual bool is_null(int column) const = 0;
  virtual std::int64_t int64(int column) const = 0;
  virtual double real(int column) const = 0;
  virtual std::string text(int column) const = 0;
  virtual std::vector<unsigned char> bytes(int column) const = 0;
};

// Whether an error is the storage failing rather than the request: a full disk, a write or sync
// the disk refused, a file over its size limit — SQLite's "database or disk is full" and "disk
// I/O error", PostgreSQL's disk_full ("could not extend file", "No space left on device"). Such
// an action is refused whole, and may succeed later unchanged (the API answers 507).
inline bool is_storage_fault(std::string_view message) {
  for (std::string_view sign : {"database or disk is full", "disk I/O error", "No space left on device", "could not extend file"})
    if (message.find(sign) != std::string_view::npos) return true;
  return false;
}

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // What the database is, for messages: a file's path, or user@host:port/name (never a password).
  virtual std::string describe() const = 0;
  // Where the node that holds this connection keeps its keys — the audit log's signing key
  // (<key base>.audit-key) and the template key (<key base>.template-key) — never in the
  // database: an SQLite file's own path (the keys beside it); for PostgreSQL, the node's
  // configured path, given when it connects (docs/cluster.md, "The template key").
  virtual const std::string& key_base() const = 0;
  // Never null; a statement that cannot be prepared fails at its first step().
  virtual std::unique_ptr<Statement> prepare(std::string_view sql) = 0;
  // Runs SQL without parameters or results: one statement or several separated by ';'.
  virtual Status execute(std::string_view sql) = 0;
  // Runs `body` atomically (see above). The body's error, or the commit's, is returned and
  // nothing of the body stays.
  virtual Status transaction(const std::function<Status()>& body) = 0;
};

// Runs a statement that returns no rows: its error, or success.
Status run(Statement& statement);
// Steps to the statement's next row: true while there is one, false after the last; an error
// (with `what` before the engine's reason) when the statement fails.
Result<bool> next_row(Statement& statement, const std::string& what);
// The first column of the first row of a query (a count, an id): an error when it fails or
// returns no row.
Result<std::int64_t> query_int64(Database& db, const std::string& sql, const std::string& what);
// Runs a statement and counts its rows: how many a DELETE … RETURNING deleted, on either engine.
Result<int> count_rows(Statement& statement, const std::string& what);
// Calls `row()` (returning Status) for each row; the first error, the engine's or row()'s, ends it.
template <typename Row>
Status for_each_row(Statement& statement, const std::string& what, Row&& row) {
  while (true) {
    auto more = next_row(statement, what);
    if (!more) return more.error();
    if (!*more) return ok_status();
    if (Status s = row(); !s) return s;
  }
}

}  // namespace glassbox
