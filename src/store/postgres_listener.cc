#include "store/postgres_listener.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cctype>

namespace glassbox {

Result<std::unique_ptr<PostgresListener>> PostgresListener::listen(const std::string& conninfo, const std::vector<std::string>& channels) {
  for (const std::string& channel : channels)
    for (char c : channel)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return Error{"'" + channel + "' is not a channel name"};
  PGconn* connection = PQconnectdb(conninfo.c_str());
  if (connection == nullptr) return Error{"PostgreSQL: out of memory opening a connection"};
  std::unique_ptr<PostgresListener> listener(new PostgresListener(connection));
  if (PQstatus(connection) != CONNECTION_OK) return Error{"cannot connect to PostgreSQL to listen: " + std::string(PQerrorMessage(connection))};
  for (const std::string& channel : channels) {
    PGresult* result = PQexec(connection, ("LISTEN " + channel).c_str());
    const bool listening = result != nullptr && PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    if (!listening) return Error{"cannot LISTEN on " + channel + ": " + std::string(PQerrorMessage(connection))};
  }
  return listener;
}

PostgresListener::~PostgresListener() { PQfinish(connection_); }

Result<std::multiset<std::string>> PostgresListener::wait(std::chrono::milliseconds timeout) {
  auto drain = [&] {
    std::multiset<std::string> arrived;
    while (PGnotify* note = PQnotifies(connection_)) {
      arrived.insert(note->relname);
      PQfreemem(note);
    }
    return arrived;
  };
  if (auto already = drain(); !already.empty()) return already;
  pollfd fd{PQsocket(connection_), POLLIN, 0};
  if (fd.fd < 0) return Error{"the listening connection to PostgreSQL is closed"};
  const int ready = ::poll(&fd, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return std::multiset<std::string>{};  // nothing in time, or interrupted by a signal
  if (PQconsumeInput(connection_) == 0 || PQstatus(connection_) != CONNECTION_OK)
    return Error{"the listening connection to PostgreSQL was lost: " + std::string(PQerrorMessage(connection_))};
  return drain();
}

}  // namespace glassbox
