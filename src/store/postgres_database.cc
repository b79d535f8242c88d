#include "store/postgres_database.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace glassbox {

std::string number_placeholders(std::string_view sql, int* highest) {
  int top = 0;
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 0;
  std::size_t i = 0;
  auto copy_until = [&](std::string_view end) {
    // Copies up to and including `end` (or to the end of the text).
    const std::size_t at = sql.find(end, i);
    const std::size_t stop = at == std::string_view::npos ? sql.size() : at + end.size();
    out.append(sql.substr(i, stop - i));
    i = stop;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'') {
      // A literal; '' inside it is an escaped quote, which the loop reads as two literals.
      out += c;
      ++i;
      copy_until("'");
    } else if (c == '"') {
      out += c;
      ++i;
      copy_until("\"");
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      copy_until("\n");
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      copy_until("*/");
    } else if (c == '$') {
      // A dollar-quoted body ($$…$$ or $tag$…$tag$); a $1 is copied as it is.
      std::size_t j = i + 1;
      while (j < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) ++j;
      if (j < sql.size() && sql[j] == '$' && !(j > i + 1 && std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
        const std::string tag(sql.substr(i, j - i + 1));
        out += tag;
        i = j + 1;
        copy_until(tag);
      } else {
        if (j > i + 1 && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) top = std::max(top, std::atoi(std::string(sql.substr(i + 1, j - i - 1)).c_str()));
        out.append(sql.substr(i, j - i));
        i = j;
      }
    } else if (c == '?') {
      std::size_t j = i + 1;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
      out += '$';
      if (j > i + 1) {
        out.append(sql.substr(i + 1, j - i - 1));
        top = std::max(top, std::atoi(std::string(sql.substr(i + 1, j - i - 1)).c_str()));
      } else {
        out += std::to_string(++next);
        top = std::max(top, next);
      }
      i = j;
    } else {
      out += c;
      ++i;
    }
  }
  if (highest != nullptr) *highest = top;
  return out;
}

namespace {

void ignore_notice(void*, const char*) {}

// 40001 serialization_failure, 40P01 deadlock_detected: the transaction may succeed if run again.
bool retryable(const std::string& sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

std::atomic<std::uint64_t> reconnects{0};

std::string trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

class PostgresStatement final : public Statement {
 public:
  // Every parameter the text names is sent, NULL unless bound: a trailing one left unbound
  // is NULL as in SQLite, not a count mismatch.
  PostgresStatement(PostgresDatabase& db, std::string_view sql) : db_(db) {
    int parameters = 0;
    sql_ = number_placeholders(sql, &parameters);
    params_.resize(static_cast<std::size_t>(parameters));
  }
  ~PostgresStatement() override { clear(); }
  PostgresStatement(const PostgresStatement&) = delete;
  PostgresStatement& operator=(const PostgresStatement&) = delete;

  void bind(int index, std::string_view text) override { slot(index) = Param{std::string(text), false}; }
  void bind(int index, std::int64_t value) override { slot(index) = Param{std::to_string(value), false}; }
  void bind_real(int index, double value) override {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", value);
    slot(index) = Param{text, false};
  }
  void bind_bytes(int index, const std::vector<unsigned char>& bytes) override {
    slot(index) = Param{std::string(bytes.begin(), bytes.end()), true};
  }
  void bind_null(int index) override { slot(index) = std::nullopt; }

  Result<Step> step() override {
    if (result_ == nullptr) {
      if (auto s = execute(); !s) return s.error();
      row_ = -1;
    }
    ++row_;
    return row_ < PQntuples(result_) ? Step::kRow : Step::kDone;
  }
  void reset() override { clear(); }

  bool is_null(int column) const override { return PQgetisnull(result_, row_, column) != 0; }
  std::int64_t int64(int column) const override {
    const char* value = PQgetvalue(result_, row_, column);
    if (value[0] == 't' && value[1] == '\0') return 1;  // a boolean
    return std::strtoll(value, nullptr, 10);
  }
  double real(int column) const override { return std::strtod(PQgetvalue(result_, row_, column), nullptr); }
  std::string text(int column) const override {
    return std::string(PQgetvalue(result_, row_, column), static_cast<std::size_t>(PQgetlength(result_, row_, column)));
  }
  std::vector<unsigned char> bytes(int column) const override {
    if (is_null(column)) return {};
    std::size_t length = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row_, column)), &length);
    if (raw == nullptr) return {};
    std::vector<unsigned char> out(raw, raw + length);
    PQfreemem(raw);
    return out;
  }

 private:
  struct Param {
    std::string value;
    bool binary;
  };

  std::optional<Param>& slot(int index) {
    clear();  // a new binding means a new run
    if (index < 1) index = 1;
    if (params_.size() < static_cast<std::size_t>(index)) params_.resize(static_cast<std::size_t>(index));
    return params_[static_cast<std::size_t>(index) - 1];
  }

  void clear() {
    if (result_ != nullptr) PQclear(result_);
    result_ = nullptr;
    row_ = -1;
  }

  Status execute() {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (const auto& p : params_) {
      values.push_back(p ? p->value.data() : nullptr);
      lengths.push_back(p ? static_cast<int>(p->value.size()) : 0);
      formats.push_back(p && p->binary ? 1 : 0);
    }
    if (auto s = db_.ensure_connected(); !s) return s;
    // A read-only connection's statement outside a transaction gets a READ ONLY one of its own.
    const bool wrap = db_.read_only_ && !db_.in_transaction_;
    if (wrap)
      if (auto s = db_.execute_text("BEGIN READ ONLY"); !s) return s;
    result_ = PQexecParams(db_.connection_, sql_.c_str(), static_cast<int>(params_.size()), nullptr, values.data(), lengths.data(),
                           formats.data(), 0);
    const ExecStatusType status = result_ != nullptr ? PQresultStatus(result_) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      db_.last_sqlstate_.clear();
      if (wrap)
        if (auto s = db_.execute_text("COMMIT"); !s) {
          clear();
          return s;
        }
      return ok_status();
    }
    const char* state = result_ != nullptr ? PQresultErrorField(result_, PG_DIAG_SQLSTATE) : nullptr;
    db_.last_sqlstate_ = state != nullptr ? state : "";
    Error error{db_.describe() + ": " + trimmed(result_ != nullptr ? PQresultErrorMessage(result_) : PQerrorMessage(db_.connection_)) +
                (db_.last_sqlstate_.empty() ? "" : " [" + db_.last_sqlstate_ + "]") + " in: " + sql_};
    clear();
    if (wrap) {
      const std::string sqlstate = db_.last_sqlstate_;
      (void)db_.execute_text("ROLLBACK");
      db_.last_sqlstate_ = sqlstate;
    }
    return error;
  }

  PostgresDatabase& db_;
  std::string sql_;
  std::vector<std::optional<Param>> params_;
  PGresult* result_ = nullptr;
  int row_ = -1;
};

Result<std::unique_ptr<PostgresDatabase>> PostgresDatabase::connect(const std::string& conninfo, std::string key_base) {
  PGconn* connection = PQconnectdb(conninfo.c_str());
  if (connection == nullptr) return Error{"PostgreSQL: out of memory opening a connection"};
  if (PQstatus(connection) != CONNECTION_OK) {
    Error error{"cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(connection))};
    PQfinish(connection);
    return error;
  }
  PQsetNoticeProcessor(connection, ignore_notice, nullptr);
  const char* host = PQhost(connection);
  std::string description = std::string("postgresql://") + PQuser(connection) + "@" + (host != nullptr ? host : "") + ":" + PQport(connection) +
                            "/" + PQdb(connection);
  std::unique_ptr<PostgresDatabase> db(new PostgresDatabase(connection, std::move(description)));
  db->key_base_ = std::move(key_base);
  if (auto s = db->apply_session_settings(); !s) return s.error();
  return db;
}

std::uint64_t PostgresDatabase::reconnects_total() { return reconnects.load(); }

Status PostgresDatabase::apply_session_settings() {
  // Times are the database's, in UTC; identifiers and text in UTF-8. (pgbouncer keeps both per
  // client, so they are safe behind a transaction pool.)
  return execute_text("SET TIME ZONE 'UTC'; SET client_encoding = 'UTF8'");
}

bool PostgresDatabase::connection_lost() const { return PQstatus(connection_) == CONNECTION_BAD; }

Status PostgresDatabase::ensure_connected() {
  // A server that ended the session (a restart, a switch, an administrator) has said so and
  // closed it: read that now, without blocking, so the statement goes to a new connection
  // instead of failing on the old one. A connection cut without a word is found by the statement.
  if (!in_transaction_) {
    // Readable while idle: the server's last words (its FATAL message, then the end of the
    // stream), which libpq takes in as many reads.
    for (int reads = 0; reads < 4 && !connection_lost(); ++reads) {
      pollfd socket{PQsocket(connection_), POLLIN, 0};
      if (socket.fd < 0 || ::poll(&socket, 1, 0) <= 0) break;
      if (PQconsumeInput(connection_) == 0) break;
    }
  }
  if (!connection_lost()) return ok_status();
  // Inside a transaction the server has rolled it back with the session: going on elsewhere
  // would commit half of it. transaction() runs its body again from the start instead.
  if (in_transaction_) return Error{description_ + ": the connection was lost inside a transaction"};
  const auto now = std::chrono::steady_clock::now();
  if (now < next_reconnect_) return Error{description_ + ": the connection to PostgreSQL is lost; trying again shortly"};
  PQreset(connection_);
  if (connection_lost()) {
    next_reconnect_ = now + reconnect_backoff_;
    reconnect_backoff_ = std::min(reconnect_backoff_ * 2, std::chrono::milliseconds(5000));
    return Error{description_ + ": the connection to PostgreSQL is lost and cannot be made again yet: " + trimmed(PQerrorMessage(connection_))};
  }
  reconnect_backoff_ = std::chrono::milliseconds(100);
  next_reconnect_ = {};
  ++reconnects;
  return apply_session_settings();
}

PostgresDatabase::~PostgresDatabase() { PQfinish(connection_); }

std::unique_ptr<Statement> PostgresDatabase::prepare(std::string_view sql) { return std::make_unique<PostgresStatement>(*this, sql); }

Status PostgresDatabase::execute(std::string_view sql) {
  if (read_only_ && !in_transaction_) {
    // One simple query: the statements inside a READ ONLY transaction of their own.
    Status outcome = execute_text("BEGIN READ ONLY; " + std::string(sql) + "; COMMIT");
    if (!outcome) {
      const std::string sqlstate = last_sqlstate_;
      (void)execute_text("ROLLBACK");
      last_sqlstate_ = sqlstate;
    }
    return outcome;
  }
  return execute_text(std::string(sql));
}

Status PostgresDatabase::execute_text(const std::string& sql) {
  if (auto s = ensure_connected(); !s) return s;
  PGresult* result = PQexec(connection_, sql.c_str());
  const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  Status outcome = ok_status();
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    last_sqlstate_.clear();
  } else {
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    last_sqlstate_ = state != nullptr ? state : "";
    outcome = Error{description_ + ": " + trimmed(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(connection_)) +
                    (last_sqlstate_.empty() ? "" : " [" + last_sqlstate_ + "]")};
  }
  PQclear(result);
  return outcome;
}

Status PostgresDatabase::transaction(const std::function<Status()>& body) {
  // Enough for a hot row (the audit log's head) shared by several nodes: with the backoff below
  // the attempts span about a second before the action is refused.
  constexpr int kAttempts = 12;
  std::minstd_rand jitter(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    if (auto s = execute_text(read_only_ ? "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY" : "BEGIN ISOLATION LEVEL SERIALIZABLE"); !s) {
      // The connection was found lost at BEGIN: nothing ran; once more on a new one.
      if (connection_lost() && attempt == 1) continue;
      return s;
    }
    in_transaction_ = true;
    Status outcome = ok_status();
    try {
      outcome = body();
    } catch (...) {
      in_transaction_ = false;
      (void)execute_text("ROLLBACK");  // a connection left inside a transaction would hold its locks
      throw;
    }
    bool at_commit = false;
    if (outcome) {
      at_commit = true;
      outcome = execute_text("COMMIT");
      if (outcome) {
        in_transaction_ = false;
        return outcome;
      }
    }
    in_transaction_ = false;
    const std::string state = last_sqlstate_;
    if (connection_lost()) {
      // Lost at COMMIT: the server may have committed before it went. Said, never retried.
      if (at_commit) return outcome.error().within("the connection was lost at COMMIT: whether the transaction committed is unknown");
      // Lost before: the server rolled it back; the body runs again on a new connection.
      if (attempt == kAttempts) return outcome;
      ++retries_;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    (void)execute_text("ROLLBACK");
    if (!retryable(state) || attempt == kAttempts) return outcome;
    ++retries_;
    // Another transaction won; the two would collide again at once without a pause. Exponential,
    // with full jitter, capped at 128 ms.
    const unsigned ceiling = 1u << std::min(attempt, 7);
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + jitter() % ceiling));
  }
}

}  // namespace glassbox
