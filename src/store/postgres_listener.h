// PostgresListener: one connection that LISTENs on channels and waits for their notifications
// (docs/cluster.md, "One watchlist", "Alerts across the cluster"): a node learns of a committed
// change to the shared watchlist, or of another node's alert, within milliseconds, without
// polling. A dedicated connection, never a pooled one —
// LISTEN is session state, which pgbouncer in transaction mode does not keep.
// A lost connection is reported by wait(); the caller reconnects and reloads, since
// notifications sent while it was away are not kept for it.
// Thread-safety: one thread (the listener's) per instance.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"

struct pg_conn;

namespace glassbox {

class PostgresListener {
 public:
  // Connects and LISTENs on each channel (an identifier: letters, digits, underscores).
  static Result<std::unique_ptr<PostgresListener>> listen(const std::string& conninfo, const std::vector<std::string>& channels);
  ~PostgresListener();
  PostgresListener(const PostgresListener&) = delete;
  PostgresListener& operator=(const PostgresListener&) = delete;

  // Waits up to `timeout` for notifications; returns the channel of each that arrived (none in
  // time: empty), or an error when the connection is lost.
  Result<std::multiset<std::string>> wait(std::chrono::milliseconds timeout);

 private:
  explicit PostgresListener(pg_conn* connection) : connection_(connection) {}
  pg_conn* connection_;
};

}  // namespace glassbox
