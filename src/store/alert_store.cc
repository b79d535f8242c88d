#include "store/alert_store.h"

#include <algorithm>

#include "audit/audit_log.h"

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

AlertRecord read_alert(const Statement& s) {
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

Result<std::unique_ptr<AlertStore>> AlertStore::open(const std::string& path) {
  auto db = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  if (!db) return db.error();
  return std::make_unique<AlertStore>(std::move(*db));
}

namespace {

constexpr const char* kFenced = "fenced: ";

}  // namespace

bool AlertStore::fenced(const Error& error) { return error.message.rfind(kFenced, 0) == 0; }

Result<std::int64_t> AlertStore::record(const Alert& alert, const std::vector<unsigned char>& face_jpeg, UnixSeconds raised_at,
                                        UnixSeconds purge_evidence_after, const std::optional<WriteFence>& fence) {
  if (fence && db_->dialect() != Dialect::kPostgres) return Error{"a fenced write needs the cluster's PostgreSQL database"};
  std::int64_t id = 0;
  auto status = db_->transaction([&]() -> Status {
    // Fenced: the row is written only where the lease still holds, decided by the database in
    // this statement, so a node that woke up after its lease passed cannot write.
    auto insert = db_->prepare(
        std::string("INSERT INTO alerts (entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, "
                    "box_x, box_y, box_w, box_h, raised_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13 ") +
        (fence ? "WHERE " + CameraLeases::fence_sql(14) : std::string()) + " RETURNING id");
    insert->bind(1, alert.entry_id);
    insert->bind(2, alert.source);
    insert->bind(3, alert.profile);
    insert->bind_real(4, alert.score);
    insert->bind_real(5, alert.threshold);
    insert->bind_real(6, alert.timestamp_s);
    insert->bind(7, alert.frame_index);
    insert->bind(8, static_cast<std::int64_t>(alert.track_id));
    insert->bind(9, alert.box.x);
    insert->bind(10, alert.box.y);
    insert->bind(11, alert.box.width);
    insert->bind(12, alert.box.height);
    insert->bind(13, raised_at);
    if (fence) {
      insert->bind(14, alert.source);
      insert->bind(15, fence->node);
      insert->bind(16, fence->epoch);
    }
    auto step = insert->step();
    if (!step) return step.error().within("cannot store the alert");
    if (*step == Step::kDone)
      return Error{std::string(kFenced) + "node " + (fence ? fence->node : "?") + " no longer holds camera " + alert.source + " under epoch " +
                   std::to_string(fence ? fence->epoch : 0) + "; the alert is not stored (the camera's new holder analyses it)"};
    id = insert->int64(0);
    if (face_jpeg.empty()) return ok_status();
    auto evidence = db_->prepare("INSERT INTO alert_evidence (alert_id, face_jpeg, purge_after) VALUES (?, ?, ?)");
    evidence->bind(1, id);
    evidence->bind_bytes(2, face_jpeg);
    evidence->bind(3, purge_evidence_after);
    if (auto s = run(*evidence); !s) return s.error().within("cannot store the evidence");
    return ok_status();
  });
  if (!status) return status.error();
  return id;
}

Status AlertStore::decide(std::int64_t alert_id, AlertStatus status, const std::string& user, const std::string& reason, UnixSeconds now) {
  if (user.empty()) return Error{"a decision needs the name of the person making it"};
  if (status == AlertStatus::kDismissed && reason.find_first_not_of(" \t\r\n") == std::string::npos)
    return Error{"dismissing alert " + std::to_string(alert_id) + " needs a reason"};
  bool decided = false;
  auto s = db_->transaction([&]() -> Status {
    // Only an open alert is decided: of two reviewers at once, one updates the row and the other
    // finds it decided (on PostgreSQL the second transaction waits for the first's row lock, then
    // sees the row no longer open).
    auto update = db_->prepare(
        "UPDATE alerts SET status = ?, decided_by = ?, decided_at = ?, dismiss_reason = ? WHERE id = ? AND status = 'open' RETURNING id");
    update->bind(1, alert_status_name(status));
    update->bind(2, user);
    update->bind(3, now);
    if (status == AlertStatus::kDismissed) {
      update->bind(4, reason);
    } else {
      update->bind_null(4);
    }
    update->bind(5, alert_id);
    auto step = update->step();
    if (!step) return step.error().within("cannot record the decision on alert " + std::to_string(alert_id));
    decided = *step == Step::kRow;
    if (!decided) return ok_status();
    nlohmann::json details = nlohmann::json::object();
    if (status == AlertStatus::kDismissed) details["reason"] = reason;
    return audit::append(*db_,
                         {user, status == AlertStatus::kConfirmed ? "alert.confirm" : "alert.dismiss", "alert/" + std::to_string(alert_id), details}, now);
  });
  if (!s) return s;
  if (decided) return ok_status();
  auto existing = get(alert_id);
  if (!existing) return existing.error();
  if (!existing->has_value()) return Error{"alert " + std::to_string(alert_id) + " does not exist"};
  return Error{"alert " + std::to_string(alert_id) + " was already " + alert_status_name((*existing)->status) + " by " +
               (*existing)->decided_by.value_or("?")};
}

Status AlertStore::confirm(std::int64_t alert_id, const std::string& user, UnixSeconds now) {
  return decide(alert_id, AlertStatus::kConfirmed, user, {}, now);
}

Status AlertStore::dismiss(std::int64_t alert_id, const std::string& user, const std::string& reason, UnixSeconds now) {
  return decide(alert_id, AlertStatus::kDismissed, user, reason, now);
}

Result<std::optional<AlertRecord>> AlertStore::get(std::int64_t alert_id) {
  auto s = db_->prepare(std::string(kAlertColumns) + "WHERE a.id = ?");
  s->bind(1, alert_id);
  auto step = s->step();
  if (!step) return step.error().within("cannot read alert " + std::to_string(alert_id));
  if (*step == Step::kDone) return std::optional<AlertRecord>{};
  return std::optional<AlertRecord>{read_alert(*s)};
}

Result<std::vector<AlertRecord>> AlertStore::list(const AlertFilter& filter) {
  // Every filter is a bound parameter; an absent one (NULL) matches everything. Each is compared
  // with its column before it is tested for NULL: PostgreSQL takes a parameter's type from its
  // first use.
  auto s = db_->prepare(std::string(kAlertColumns) +
                        "WHERE (a.status = ?1 OR ?1 IS NULL) AND (a.camera = ?2 OR ?2 IS NULL) AND (a.entry_id = ?3 OR ?3 IS NULL) "
                        "AND (a.raised_at >= ?4 OR ?4 IS NULL) ORDER BY a.id DESC LIMIT ?5");
  for (int i = 1; i <= 4; ++i) s->bind_null(i);
  if (filter.status) s->bind(1, alert_status_name(*filter.status));
  if (filter.camera) s->bind(2, *filter.camera);
  if (filter.entry_id) s->bind(3, *filter.entry_id);
  if (filter.since) s->bind(4, *filter.since);
  s->bind(5, std::clamp(filter.limit, 1, 10000));
  std::vector<AlertRecord> out;
  if (auto status = for_each_row(*s, "cannot list alerts", [&] { out.push_back(read_alert(*s)); return ok_status(); }); !status)
    return status.error();
  return out;
}

Result<std::optional<std::vector<unsigned char>>> AlertStore::evidence(std::int64_t alert_id) {
  auto s = db_->prepare("SELECT face_jpeg FROM alert_evidence WHERE alert_id = ?");
  s->bind(1, alert_id);
  auto step = s->step();
  if (!step) return step.error().within("cannot read the evidence of alert " + std::to_string(alert_id));
  if (*step == Step::kDone) return std::optional<std::vector<unsigned char>>{};
  return std::optional<std::vector<unsigned char>>{s->bytes(0)};
}

Result<int> AlertStore::purge_evidence(UnixSeconds now) {
  int purged = 0;
  auto status = db_->transaction([&]() -> Status {
    auto purge = db_->prepare("DELETE FROM alert_evidence WHERE purge_after <= ? RETURNING alert_id");
    purge->bind(1, now);
    auto deleted = count_rows(*purge, "cannot purge evidence");
    if (!deleted) return deleted.error();
    purged = *deleted;
    if (purged == 0) return ok_status();
    return audit::append(*db_, {"system", "evidence.purge", "evidence", {{"crops_deleted", purged}}}, now);
  });
  if (!status) return status.error();
  return purged;
}

Result<int> AlertStore::purge_alerts(UnixSeconds raised_before, UnixSeconds now) {
  int purged = 0;
  auto status = db_->transaction([&]() -> Status {
    auto purge = db_->prepare("DELETE FROM alerts WHERE raised_at < ? AND status <> 'open' RETURNING id");
    purge->bind(1, raised_before);
    auto deleted = count_rows(*purge, "cannot purge alerts");
    if (!deleted) return deleted.error();
    purged = *deleted;
    if (purged == 0) return ok_status();
    return audit::append(*db_,
                         {"system", "alerts.purge", "alerts", {{"alerts_deleted", purged}, {"raised_before", format_utc(raised_before)}}}, now);
  });
  if (!status) return status.error();
  return purged;
}

}  // namespace glassbox
