// PostgresListener: one connection that LISTENs on a channel and waits for its notifications
// (docs/cluster.md, "One watchlist"): a node learns of a committed change to the shared
// watchlist within milliseconds, without polling. A dedicated connection, never a pooled one —
// LISTEN is session state, which pgbouncer in transaction mode does not keep.
// A lost connection is reported by wait(); the caller reconnects and reloads, since
// notifications sent while it was away are not kept for it.
// Thread-safety: one thread (the listener's) per instance.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/result.h"

struct pg_conn;

namespace glassbox {

class PostgresListener {
 public:
  // Connects and LISTENs on `channel` (an identifier: letters, digits, underscores).
  static Result<std::unique_ptr<PostgresListener>> listen(const std::string& conninfo, const std::string& channel);
  ~PostgresListener();
  PostgresListener(const PostgresListener&) = delete;
  PostgresListener& operator=(const PostgresListener&) = delete;

  // Waits up to `timeout` for notifications; returns how many arrived (0: none in time), or an
  // error when the connection is lost.
  Result<int> wait(std::chrono::milliseconds timeout);

 private:
  explicit PostgresListener(pg_conn* connection) : connection_(connection) {}
  pg_conn* connection_;
};

}  // namespace glassbox
