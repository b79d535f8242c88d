#include "store/alert_store.h"

#include <algorithm>

#include "audit/audit_log.h"
#include "store/sqlite_statement.h"

namespace glassbox {
namespace {

constexpr const char* kAlertColumns =
    "SELECT a.id, a.entry_id, e.subject, a.camera, a.profile, a.score, a.threshold, a.stream_time_s, a.frame_index, a.track, "
    "a.box_x, a.box_y, a.box_w, a.box_h, a.raised_at, a.status, a.decided_by, a.decided_at, a.dismiss_reason, "
    "EXISTS (SELECT 1 FROM alert_evidence v WHERE v.alert_id = a.id) "
    "FROM alerts a JOIN watchlist_entries e ON e.id = a.entry_id ";

AlertStatus parse_alert_status(const std::string& s) {
  if (s == "confirmed") return AlertStatus::kConfirmed;
  if (s == "dismissed") return AlertStatus::kDismissed;
  return AlertStatus::kOpen;
}

AlertRecord read_alert(const SqliteStatement& s) {
  AlertRecord r;
  r.id = s.int64(0);
  r.entry_id = s.int64(1);
  r.subject = s.text(2);
  r.camera = s.text(3);
  r.profile = s.text(4);
  r.score = s.real(5);
  r.threshold = s.real(6);
  r.stream_time_s = s.real(7);
  r.frame_index = s.int64(8);
  r.track = s.int64(9);
  r.box = cv::Rect(static_cast<int>(s.int64(10)), static_cast<int>(s.int64(11)), static_cast<int>(s.int64(12)), static_cast<int>(s.int64(13)));
  r.raised_at = s.int64(14);
  r.status = parse_alert_status(s.text(15));
  if (!s.is_null(16)) r.decided_by = s.text(16);
  if (!s.is_null(17)) r.decided_at = s.int64(17);
  if (!s.is_null(18)) r.dismiss_reason = s.text(18);
  r.has_evidence = s.int64(19) != 0;
  return r;
}

}  // namespace

const char* alert_status_name(AlertStatus status) {
  switch (status) {
    case AlertStatus::kConfirmed: return "confirmed";
    case AlertStatus::kDismissed: return "dismissed";
    case AlertStatus::kOpen: break;
  }
  return "open";
}

Result<std::unique_ptr<SqliteAlertStore>> SqliteAlertStore::open(const std::string& path) {
  auto db = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  if (!db) return db.error();
  return std::unique_ptr<SqliteAlertStore>(new SqliteAlertStore(std::move(*db)));
}

Result<std::int64_t> SqliteAlertStore::record(const Alert& alert, const std::vector<unsigned char>& face_jpeg,
                                              UnixSeconds raised_at, UnixSeconds purge_evidence_after) {
  if (auto s = db_->exec("BEGIN IMMEDIATE"); !s) return s.error();
  auto abort_with = [&](Error e) {
    db_->rollback();
    return e;
  };
  SqliteStatement insert(db_->handle(),
                         "INSERT INTO alerts (entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, "
                         "box_x, box_y, box_w, box_h, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!insert.prepared()) return abort_with(db_->error("cannot prepare alert insert"));
  insert.bind(1, alert.entry_id);
  insert.bind(2, alert.source);
  insert.bind(3, alert.profile);
  insert.bind_real(4, alert.score);
  insert.bind_real(5, alert.threshold);
  insert.bind_real(6, alert.timestamp_s);
  insert.bind(7, alert.frame_index);
  insert.bind(8, static_cast<std::int64_t>(alert.track_id));
  insert.bind(9, static_cast<std::int64_t>(alert.box.x));
  insert.bind(10, static_cast<std::int64_t>(alert.box.y));
  insert.bind(11, static_cast<std::int64_t>(alert.box.width));
  insert.bind(12, static_cast<std::int64_t>(alert.box.height));
  insert.bind(13, raised_at);
  if (insert.step() != SQLITE_DONE) return abort_with(db_->error("cannot store the alert"));
  const std::int64_t id = sqlite3_last_insert_rowid(db_->handle());
  if (!face_jpeg.empty()) {
    SqliteStatement evidence(db_->handle(), "INSERT INTO alert_evidence (alert_id, face_jpeg, purge_after) VALUES (?, ?, ?)");
    if (!evidence.prepared()) return abort_with(db_->error("cannot prepare evidence insert"));
    evidence.bind(1, id);
    evidence.bind_bytes(2, face_jpeg);
    evidence.bind(3, purge_evidence_after);
    if (evidence.step() != SQLITE_DONE) return abort_with(db_->error("cannot store the evidence"));
  }
  if (auto s = db_->exec("COMMIT"); !s) return abort_with(s.error());
  return id;
}

Status SqliteAlertStore::decide(std::int64_t alert_id, AlertStatus status, const std::string& user, const std::string& reason,
                                UnixSeconds now) {
  if (user.empty()) return Error{"a decision needs the name of the person making it"};
  if (status == AlertStatus::kDismissed && reason.find_first_not_of(" \t\r\n") == std::string::npos)
    return Error{"dismissing alert " + std::to_string(alert_id) + " needs a reason"};
  bool decided = false;
  auto s = db_->transaction([&]() -> Status {
    SqliteStatement update(db_->handle(),
                           "UPDATE alerts SET status = ?, decided_by = ?, decided_at = ?, dismiss_reason = ? WHERE id = ? AND status = 'open'");
    if (!update.prepared()) return db_->error("cannot prepare the decision");
    update.bind(1, std::string(alert_status_name(status)));
    update.bind(2, user);
    update.bind(3, now);
    if (status == AlertStatus::kDismissed) update.bind(4, reason);
    update.bind(5, alert_id);
    if (update.step() != SQLITE_DONE) return db_->error("cannot record the decision");
    decided = sqlite3_changes(db_->handle()) == 1;
    if (!decided) return ok_status();
    nlohmann::json details = nlohmann::json::object();
    if (status == AlertStatus::kDismissed) details["reason"] = reason;
    return audit::append(*db_, {user, status == AlertStatus::kConfirmed ? "alert.confirm" : "alert.dismiss", "alert/" + std::to_string(alert_id), details}, now);
  });
  if (!s) return s;
  if (decided) return ok_status();
  auto existing = get(alert_id);
  if (!existing) return existing.error();
  if (!existing->has_value()) return Error{"alert " + std::to_string(alert_id) + " does not exist"};
  return Error{"alert " + std::to_string(alert_id) + " was already " + alert_status_name((*existing)->status) + " by " +
               (*existing)->decided_by.value_or("?")};
}

Status SqliteAlertStore::confirm(std::int64_t alert_id, const std::string& user, UnixSeconds now) {
  return decide(alert_id, AlertStatus::kConfirmed, user, {}, now);
}

Status SqliteAlertStore::dismiss(std::int64_t alert_id, const std::string& user, const std::string& reason, UnixSeconds now) {
  return decide(alert_id, AlertStatus::kDismissed, user, reason, now);
}

Result<std::optional<AlertRecord>> SqliteAlertStore::get(std::int64_t alert_id) {
  const std::string sql = std::string(kAlertColumns) + "WHERE a.id = ?";
  SqliteStatement s(db_->handle(), sql.c_str());
  if (!s.prepared()) return db_->error("cannot prepare alert lookup");
  s.bind(1, alert_id);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<AlertRecord>{};
  if (rc != SQLITE_ROW) return db_->error("cannot read the alert");
  return std::optional<AlertRecord>{read_alert(s)};
}

Result<std::vector<AlertRecord>> SqliteAlertStore::list(const AlertFilter& filter) {
  // Every filter is a bound parameter; an absent one matches everything.
  const std::string sql = std::string(kAlertColumns) +
                          "WHERE (?1 IS NULL OR a.status = ?1) AND (?2 IS NULL OR a.camera = ?2) AND (?3 IS NULL OR a.entry_id = ?3) "
                          "AND (?4 IS NULL OR a.raised_at >= ?4) ORDER BY a.id DESC LIMIT ?5";
  SqliteStatement s(db_->handle(), sql.c_str());
  if (!s.prepared()) return db_->error("cannot prepare alert listing");
  if (filter.status) s.bind(1, std::string(alert_status_name(*filter.status)));
  if (filter.camera) s.bind(2, *filter.camera);
  if (filter.entry_id) s.bind(3, *filter.entry_id);
  if (filter.since) s.bind(4, *filter.since);
  s.bind(5, static_cast<std::int64_t>(std::clamp(filter.limit, 1, 10000)));
  std::vector<AlertRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_alert(s));
  if (rc != SQLITE_DONE) return db_->error("cannot list alerts");
  return out;
}

Result<std::optional<std::vector<unsigned char>>> SqliteAlertStore::evidence(std::int64_t alert_id) {
  SqliteStatement s(db_->handle(), "SELECT face_jpeg FROM alert_evidence WHERE alert_id = ?");
  if (!s.prepared()) return db_->error("cannot prepare evidence lookup");
  s.bind(1, alert_id);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<std::vector<unsigned char>>{};
  if (rc != SQLITE_ROW) return db_->error("cannot read evidence");
  return std::optional<std::vector<unsigned char>>{s.bytes(0)};
}

Result<int> SqliteAlertStore::purge_evidence(UnixSeconds now) {
  int purged = 0;
  auto status = db_->transaction([&]() -> Status {
    SqliteStatement s(db_->handle(), "DELETE FROM alert_evidence WHERE purge_after <= ?");
    if (!s.prepared()) return db_->error("cannot prepare evidence purge");
    s.bind(1, now);
    if (s.step() != SQLITE_DONE) return db_->error("cannot purge evidence");
    purged = sqlite3_changes(db_->handle());
    if (purged == 0) return ok_status();
    return audit::append(*db_, {"system", "evidence.purge", "evidence", {{"crops_deleted", purged}}}, now);
  });
  if (!status) return status.error();
  return purged;
}

Result<int> SqliteAlertStore::purge_alerts(UnixSeconds raised_before, UnixSeconds now) {
  int purged = 0;
  auto status = db_->transaction([&]() -> Status {
    SqliteStatement s(db_->handle(), "DELETE FROM alerts WHERE raised_at < ? AND status <> 'open'");
    if (!s.prepared()) return db_->error("cannot prepare the alert purge");
    s.bind(1, raised_before);
    if (s.step() != SQLITE_DONE) return db_->error("cannot purge alerts");
    purged = sqlite3_changes(db_->handle());
    if (purged == 0) return ok_status();
    return audit::append(*db_, {"system", "alerts.purge", "alerts", {{"alerts_deleted", purged}, {"raised_before", format_utc(raised_before)}}}, now);
  });
  if (!status) return status.error();
  return purged;
}

}  // namespace glassbox
