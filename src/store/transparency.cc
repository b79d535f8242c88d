#include "store/transparency.h"

#include <iomanip>
#include <sstream>

#include "store/sqlite_statement.h"

namespace glassbox {
namespace {

Result<std::int64_t> count(SqliteDatabase& db, const char* sql, UnixSeconds from, UnixSeconds to, std::int64_t extra = 0) {
  SqliteStatement s(db.handle(), sql);
  if (!s.prepared()) return db.error("cannot prepare a transparency query");
  s.bind(1, from);
  s.bind(2, to);
  if (extra != 0) s.bind(3, extra);
  if (s.step() != SQLITE_ROW) return db.error("cannot compute the transparency statistics");
  return s.int64(0);
}

}  // namespace

Status add_analysis_counts(SqliteDatabase& db, const std::string& camera, const AnalysisCounts& c, UnixSeconds now) {
  if (c.frames_analysed == 0 && c.faces_detected == 0 && c.faces_embedded == 0) return ok_status();
  SqliteStatement s(db.handle(),
                    "INSERT INTO analysis_stats (day, camera, frames_analysed, faces_detected, faces_embedded) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (day, camera) DO UPDATE SET frames_analysed = frames_analysed + excluded.frames_analysed, "
                    "faces_detected = faces_detected + excluded.faces_detected, faces_embedded = faces_embedded + excluded.faces_embedded");
  if (!s.prepared()) return db.error("cannot prepare the analysis counts");
  s.bind(1, format_date_utc(now));
  s.bind(2, camera);
  s.bind(3, static_cast<std::int64_t>(c.frames_analysed));
  s.bind(4, static_cast<std::int64_t>(c.faces_detected));
  s.bind(5, static_cast<std::int64_t>(c.faces_embedded));
  if (s.step() != SQLITE_DONE) return db.error("cannot store the analysis counts");
  return ok_status();
}

Result<nlohmann::json> transparency_report(SqliteDatabase& db, const std::string& deployment, TransparencyPeriod p, UnixSeconds now) {
  if (p.to <= p.from) return Error{"the period is empty: --to must be after --from"};
  struct Query {
    const char* key;
    const char* sql;
  };
  // Days are compared as text (YYYY-MM-DD sorts as dates); everything else as Unix seconds.
  const Query queries[] = {
      {"frames_analysed", "SELECT coalesce(sum(frames_analysed), 0) FROM analysis_stats WHERE day >= date(?1, 'unixepoch') AND day < date(?2, 'unixepoch')"},
      {"faces_analysed", "SELECT coalesce(sum(faces_detected), 0) FROM analysis_stats WHERE day >= date(?1, 'unixepoch') AND day < date(?2, 'unixepoch')"},
      {"faces_embedded", "SELECT coalesce(sum(faces_embedded), 0) FROM analysis_stats WHERE day >= date(?1, 'unixepoch') AND day < date(?2, 'unixepoch')"},
      {"alerts_raised", "SELECT count(*) FROM alerts WHERE raised_at >= ?1 AND raised_at < ?2"},
      {"alerts_confirmed", "SELECT count(*) FROM alerts WHERE status = 'confirmed' AND decided_at >= ?1 AND decided_at < ?2"},
      {"alerts_dismissed", "SELECT count(*) FROM alerts WHERE status = 'dismissed' AND decided_at >= ?1 AND decided_at < ?2"},
      {"alerts_open", "SELECT count(*) FROM alerts WHERE status = 'open' AND raised_at >= ?1 AND raised_at < ?2"},
      {"entries_added", "SELECT count(*) FROM watchlist_entries WHERE submitted_at >= ?1 AND submitted_at < ?2"},
      {"entries_approved", "SELECT count(*) FROM watchlist_entries WHERE approved_at >= ?1 AND approved_at < ?2"},
      {"entries_revoked", "SELECT count(*) FROM watchlist_entries WHERE revoked_at >= ?1 AND revoked_at < ?2"},
      {"entries_expired", "SELECT count(*) FROM watchlist_entries WHERE expires_at >= ?1 AND expires_at < min(?2, ?3)"},
      {"searches_requested", "SELECT count(*) FROM searches WHERE requested_at >= ?1 AND requested_at < ?2"},
      // Run: approved in the period and started (a search cancelled before it started has no stats).
      {"searches_run", "SELECT count(*) FROM searches WHERE approved_at >= ?1 AND approved_at < ?2 AND "
                       "(status IN ('running', 'done', 'failed') OR (status = 'cancelled' AND stats <> '{}'))"},
  };
  nlohmann::json counts = nlohmann::json::object();
  for (const Query& q : queries) {
    auto n = count(db, q.sql, p.from, p.to, std::string(q.key) == "entries_expired" ? now : 0);
    if (!n) return n.error();
    counts[q.key] = *n;
  }
  auto active = count(db, "SELECT count(*) FROM watchlist_entries WHERE status = 'active' AND expires_at > ?1 AND ?2 > 0", now, 1);
  if (!active) return active.error();
  return nlohmann::json{{"deployment", deployment},
                        {"from", format_date_utc(p.from)},
                        {"to", format_date_utc(p.to)},
                        {"generated_at", format_utc(now)},
                        {"entries_active_now", *active},
                        {"counts", counts}};
}

std::string transparency_table(const nlohmann::json& r) {
  std::ostringstream out;
  out << "Glassbox transparency report — deployment " << r.value("deployment", "") << ", " << r.value("from", "") << " to "
      << r.value("to", "") << " (end exclusive), generated " << r.value("generated_at", "") << "\n\n";
  const std::pair<const char*, const char*> rows[] = {
      {"frames_analysed", "Frames analysed by the live service"},
      {"faces_analysed", "Faces analysed (at or above the minimum size)"},
      {"faces_embedded", "Face views compared with the watchlist"},
      {"alerts_raised", "Alerts raised"},
      {"alerts_confirmed", "Alerts confirmed by a reviewer"},
      {"alerts_dismissed", "Alerts dismissed (false alerts)"},
      {"alerts_open", "Alerts raised in the period, still undecided"},
      {"entries_added", "Watchlist entries submitted"},
      {"entries_approved", "Watchlist entries approved"},
      {"entries_revoked", "Watchlist entries revoked"},
      {"entries_expired", "Watchlist entries expired"},
      {"searches_requested", "Searches of recordings requested"},
      {"searches_run", "Searches of recordings run (approved by a second person)"},
  };
  for (const auto& [key, label] : rows)
    out << std::left << std::setw(50) << label << std::right << std::setw(12) << r["counts"].value(key, std::int64_t{0}) << "\n";
  out << std::left << std::setw(50) << "Watchlist entries active at the time of the report" << std::right << std::setw(12)
      << r.value("entries_active_now", std::int64_t{0}) << "\n";
  return out.str();
}

}  // namespace glassbox
