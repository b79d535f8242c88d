// PostgresDatabase: the PostgreSQL side of store/database.h, on libpq directly (errors as values;
// no exception crosses this adapter). One connection per instance.
//   - Statements are sent with PQexecParams: parameters travel apart from the SQL text (text
//     format, bytea in binary), nothing is prepared by name on the server, so a pgbouncer in
//     transaction mode may sit in front (docs/cluster.md).
//   - `?` and `?N` placeholders are rewritten to `$n` / `$N` outside literals, quoted
//     identifiers and comments (number_placeholders, tested on its own).
//   - transaction() runs SERIALIZABLE and runs the body again, up to twelve times in all, with
//     exponential jittered pauses, when PostgreSQL reports a serialization failure (40001) or a
//     deadlock (40P01).
//   - Results come as text: integers and reals are parsed, booleans read as 1 and 0, bytea is
//     unescaped.
//   - A lost connection (a restarted server, a primary switch, a cut network) is made again at
//     the next statement, with a backoff from 0.1 s to 5 s between tries. A session the server
//     ended and closed is seen before a statement is sent (a non-blocking read), so the
//     statement goes to the new connection; one that found it lost only by sending fails (it
//     may or may not have run). A transaction() whose body found it lost
//     is run again on the new connection (the server rolled it back), but one lost at its COMMIT
//     is not: it fails, saying its outcome is unknown. A transaction is never continued on a
//     new connection.
//   - A read-only connection (set_read_only) runs every statement in a READ ONLY transaction of
//     its own — not a session setting, which a transaction pool would hand to other clients.
//   - The only session state set is TimeZone and client_encoding at connect, which pgbouncer
//     keeps per client.
// Thread-safety: one thread at a time per instance (libpq's connection is not shared).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/database.h"

struct pg_conn;

namespace glassbox {

class PostgresDatabase final : public Database {
 public:
  // `conninfo`: a libpq connection string ("host=/run/pg dbname=glassbox") or a postgresql://
  // URI. A password belongs in a password file (passfile=), not in the string.
  // `key_base`: where this node keeps its keys (Database::key_base); "" for a connection that
  // writes nothing audited (tests of the interface itself).
  static Result<std::unique_ptr<PostgresDatabase>> connect(const std::string& conninfo, std::string key_base = "");
  ~PostgresDatabase() override;
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string describe() const override { return description_; }
  const std::string& key_base() const override { return key_base_; }
  std::unique_ptr<Statement> prepare(std::string_view sql) override;
  Status execute(std::string_view sql) override;
  Status transaction(const std::function<Status()>& body) override;

  // From now on nothing can be written through this connection: every statement, and every
  // transaction(), runs READ ONLY.
  void set_read_only() { read_only_ = true; }

  // The SQLSTATE of the last statement that failed on this connection ("" after a success).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // How many times transaction() ran a body again after a serialization failure or deadlock.
  std::uint64_t transaction_retries() const { return retries_; }
  // Connections made again after they were lost, by every PostgresDatabase of this process.
  static std::uint64_t reconnects_total();

 private:
  friend class PostgresStatement;
  PostgresDatabase(pg_conn* connection, std::string description) : connection_(connection), description_(std::move(description)) {}
  // execute() without the read-only wrapper.
  Status execute_text(const std::string& sql);
  // Makes a lost connection again (not inside a transaction, and not before its backoff ends).
  Status ensure_connected();
  bool connection_lost() const;
  Status apply_session_settings();

  pg_conn* connection_;
  std::string description_;
  std::string key_base_;
  std::string last_sqlstate_;
  std::uint64_t retries_ = 0;
  bool read_only_ = false;
  bool in_transaction_ = false;  // inside transaction(): statements need no READ ONLY wrapper
  std::chrono::steady_clock::time_point next_reconnect_{};
  std::chrono::milliseconds reconnect_backoff_{100};
};

// `?` → $1, $2, … in order; `?N` → $N; question marks inside '…' literals, "…" identifiers,
// $tag$…$tag$ bodies and comments are left alone. `highest`, when given, receives the largest
// parameter number the text uses (0 for none).
std::string number_placeholders(std::string_view sql, int* highest = nullptr);

}  // namespace glassbox
