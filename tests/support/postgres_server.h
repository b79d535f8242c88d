// A throwaway PostgreSQL server for the tests: `initdb` and `pg_ctl` (Debian's postgresql-15,
// found under /usr/lib/postgresql/*/bin, or $GLASSBOX_PG_BIN) in a fresh folder under /tmp,
// listening on a Unix socket in that folder only (no TCP port), trusting local connections, and
// stopped and deleted with this object. Run as root (CI), the server runs as the `postgres`
// user, since PostgreSQL refuses to run as root. fsync is off: the tests kill clients, never
// this server, and a test suite has no power failures to survive. PgBouncer may be started in
// front of it.
// Thread-safety: start and stop from one thread; connections are the callers' own.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace glassbox::test {

class PostgresServer {
 public:
  // Starts a server, or returns null and says why in `why` (no PostgreSQL installed, initdb or
  // start failed: its log's tail).
  static std::unique_ptr<PostgresServer> start(std::string& why);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A libpq connection string for database `name` (user glassbox, a superuser).
  std::string conninfo(const std::string& name = "postgres") const;
  // PgBouncer (Debian's pgbouncer) in front of this server, in transaction pooling mode — the
  // mode in which nothing may rely on a session (docs/cluster.md, "Connection pooling") — on a
  // Unix socket in the same folder, every database passed through; started on first call,
  // stopped with the server. False (and why) when it cannot start.
  bool start_pgbouncer(std::string& why);
  // A connection string for database `name` through PgBouncer.
  std::string pooled_conninfo(const std::string& name = "postgres") const;
  // Creates an empty database; false (with the reason in `why`) when it cannot.
  bool create_database(const std::string& name, std::string& why) const;
  const std::filesystem::path& folder() const { return folder_; }
  // The server gone at once, as by a crash or the loss of its machine (`pg_ctl stop -m
  // immediate`: every client's connection cut, nothing shut down cleanly), and started again on
  // the same data and socket — what its clients see of a primary switch.
  bool stop_now();
  bool start_again(std::string& why);
  // A streaming replica of this server (pg_basebackup -R), in a folder and on a socket of its
  // own, running as a standby; promote() makes it a primary, as Patroni would after a failure.
  std::unique_ptr<PostgresServer> start_replica(std::string& why) const;
  bool promote(std::string& why);

 private:
  // A fresh folder the server's user owns, and the programs to run in it.
  static std::unique_ptr<PostgresServer> make_folder(std::string& why);
  PostgresServer(std::filesystem::path folder, std::filesystem::path bin, std::string run_as)
      : folder_(std::move(folder)), bin_(std::move(bin)), run_as_(std::move(run_as)) {}

  std::filesystem::path folder_;
  std::filesystem::path bin_;
  std::string run_as_;  // "runuser -u postgres -- " when root, else ""
  bool pgbouncer_ = false;
};

}  // namespace glassbox::test
