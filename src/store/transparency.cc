#include "store/transparency.h"

#include <algorithm>
#include <iomanip>
#include <sstream>


namespace glassbox {
namespace {

// The number the query counts, with ?1 and ?2 bound to the period's ends: Unix seconds, or the
// UTC days they fall on (YYYY-MM-DD, which sorts as dates) for the per-day analysis counts.
Result<std::int64_t> count(Database& db, const char* sql, TransparencyPeriod p, bool by_day) {
  auto s = db.prepare(sql);
  if (by_day) {
    s->bind(1, format_date_utc(p.from));
    s->bind(2, format_date_utc(p.to));
  } else {
    s->bind(1, p.from);
    s->bind(2, p.to);
  }
  auto row = next_row(*s, "cannot compute the transparency statistics");
  if (!row) return row.error();
  return s->int64(0);
}

}  // namespace

Status add_analysis_counts(Database& db, const std::string& camera, const AnalysisCounts& c, UnixSeconds now) {
  if (c.frames_analysed == 0 && c.faces_detected == 0 && c.faces_embedded == 0) return ok_status();
  // The columns are the table's (analysis_stats.x): PostgreSQL would find a bare name ambiguous.
  auto s = db.prepare(
      "INSERT INTO analysis_stats (day, camera, frames_analysed, faces_detected, faces_embedded) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (day, camera) DO UPDATE SET frames_analysed = analysis_stats.frames_analysed + excluded.frames_analysed, "
      "faces_detected = analysis_stats.faces_detected + excluded.faces_detected, "
      "faces_embedded = analysis_stats.faces_embedded + excluded.faces_embedded");
  s->bind(1, format_date_utc(now));
  s->bind(2, camera);
  s->bind(3, static_cast<std::int64_t>(c.frames_analysed));
  s->bind(4, static_cast<std::int64_t>(c.faces_detected));
  s->bind(5, static_cast<std::int64_t>(c.faces_embedded));
  if (auto status = run(*s); !status) return status.error().within("cannot store the analysis counts of " + camera);
  return ok_status();
}

Result<nlohmann::json> transparency_report(Database& db, const std::string& deployment, TransparencyPeriod p, UnixSeconds now) {
  if (p.to <= p.from) return Error{"the period is empty: --to must be after --from"};
  struct Query {
    const char* key;
    const char* sql;
  };
  // Days are compared as text (YYYY-MM-DD sorts as dates; the days are computed here, not by an
  // engine's date functions); everything else as Unix seconds.
  const Query by_day[] = {
      {"frames_analysed", "SELECT coalesce(sum(frames_analysed), 0) FROM analysis_stats WHERE day >= ?1 AND day < ?2"},
      {"faces_analysed", "SELECT coalesce(sum(faces_detected), 0) FROM analysis_stats WHERE day >= ?1 AND day < ?2"},
      {"faces_embedded", "SELECT coalesce(sum(faces_embedded), 0) FROM analysis_stats WHERE day >= ?1 AND day < ?2"},
  };
  const Query queries[] = {
      {"alerts_raised", "SELECT count(*) FROM alerts WHERE raised_at >= ?1 AND raised_at < ?2"},
      {"alerts_confirmed", "SELECT count(*) FROM alerts WHERE status = 'confirmed' AND decided_at >= ?1 AND decided_at < ?2"},
      {"alerts_dismissed", "SELECT count(*) FROM alerts WHERE status = 'dismissed' AND decided_at >= ?1 AND decided_at < ?2"},
      {"alerts_open", "SELECT count(*) FROM alerts WHERE status = 'open' AND raised_at >= ?1 AND raised_at < ?2"},
      {"entries_added", "SELECT count(*) FROM watchlist_entries WHERE submitted_at >= ?1 AND submitted_at < ?2"},
      {"entries_approved", "SELECT count(*) FROM watchlist_entries WHERE approved_at >= ?1 AND approved_at < ?2"},
      {"entries_revoked", "SELECT count(*) FROM watchlist_entries WHERE revoked_at >= ?1 AND revoked_at < ?2"},
      // Expired: up to the report's time, when the period reaches past it (bound as ?2 below).
      {"entries_expired", "SELECT count(*) FROM watchlist_entries WHERE expires_at >= ?1 AND expires_at < ?2"},
      {"searches_requested", "SELECT count(*) FROM searches WHERE requested_at >= ?1 AND requested_at < ?2"},
      // Run: approved in the period and started (a search cancelled before it started has no stats).
      {"searches_run", "SELECT count(*) FROM searches WHERE approved_at >= ?1 AND approved_at < ?2 AND "
                       "(status IN ('running', 'done', 'failed') OR (status = 'cancelled' AND stats <> '{}'))"},
  };
  nlohmann::json counts = nlohmann::json::object();
  for (const Query& q : by_day) {
    auto n = count(db, q.sql, p, /*by_day=*/true);
    if (!n) return n.error();
    counts[q.key] = *n;
  }
  for (const Query& q : queries) {
    const bool until_now = std::string(q.key) == "entries_expired";
    auto n = count(db, q.sql, {p.from, until_now ? std::min(p.to, now) : p.to}, /*by_day=*/false);
    if (!n) return n.error();
    counts[q.key] = *n;
  }
  auto active_now = db.prepare("SELECT count(*) FROM watchlist_entries WHERE status = 'active' AND expires_at > ?");
  active_now->bind(1, now);
  auto row = next_row(*active_now, "cannot count the active entries");
  if (!row) return row.error();
  const std::int64_t active = active_now->int64(0);
  return nlohmann::json{{"deployment", deployment},
                        {"from", format_date_utc(p.from)},
                        {"to", format_date_utc(p.to)},
                        {"generated_at", format_utc(now)},
                        {"entries_active_now", active},
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
