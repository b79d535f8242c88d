#include "store/alert_store.h"

#include <algorithm>
#include <chrono>

#include "audit/audit_log.h"

namespace glassbox {
namespace {

constexpr const char* kAlertColumns =
    "SELECT a.id, a.entry_id, e.subject, a.camera, a.profile, a.score, a.threshold, a.stream_time_s, a.frame_index, a.track, "
    "a.box_x, a.box_y, a.box_w, a.box_h, a.raised_at, a.status, a.decided_by, a.decided_at, a.dismiss_reason, "
    "EXISTS (SELECT 1 FROM alert_evidence v WHERE v.alert_id = a.id), a.feed_position, a.captured_at_ms, a.estimated_fpir, a.list_templates, "
    "a.face_quality, a.face_yaw_deg, a.face_pitch_deg, a.face_sharpness, a.face_confidence "
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
  r.feed_position = s.is_null(20) ? 0 : s.int64(20);
  if (!s.is_null(21)) r.captured_at_ms = s.int64(21);
  if (!s.is_null(22)) r.estimated_fpir = s.real(22);
  if (!s.is_null(23)) r.list_templates = s.int64(23);
  if (!s.is_null(24)) {
    FaceQuality q;
    q.score = static_cast<float>(s.real(24));
    q.size_px = static_cast<float>(std::min(r.box.width, r.box.height));
    q.pose.yaw_deg = static_cast<float>(s.real(25));
    q.pose.pitch_deg = static_cast<float>(s.real(26));
    q.sharpness = static_cast<float>(s.real(27));
    q.confidence = static_cast<float>(s.real(28));
    r.quality = q;
  }
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

constexpr const char* kSuppressed = "suppressed: ";

// When the frame was captured, in the service's time in milliseconds (nullopt when not known).
std::optional<std::int64_t> captured_wall_ms(const Alert& alert) {
  if (alert.captured_at == std::chrono::steady_clock::time_point{}) return std::nullopt;
  const auto age = std::chrono::steady_clock::now() - alert.captured_at;
  return now_utc_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(age).count();
}

}  // namespace

bool AlertStore::suppressed(const Error& error) { return error.message.rfind(kSuppressed, 0) == 0; }

Result<std::int64_t> AlertStore::record(const Alert& alert, const std::vector<unsigned char>& face_jpeg, UnixSeconds raised_at,
                                        UnixSeconds purge_evidence_after, const AlertWrite& how) {
  const std::optional<WriteFence>& fence = how.fence;
  if (fence && db_->dialect() != Dialect::kPostgres) return Error{"a fenced write needs the cluster's PostgreSQL database"};
  const std::optional<std::int64_t> captured_ms = captured_wall_ms(alert);
  std::int64_t id = 0;
  std::int64_t repeat_of = 0;
  auto status = db_->transaction([&]() -> Status {
    repeat_of = 0;
    if (how.realert_s > 0) {
      // A repeat of a recent sighting (this node's, or a node's that held the camera before)
      // only extends it — under the same fence as an alert, so a node whose lease passed
      // extends nothing.
      auto extend = db_->prepare(
          "UPDATE alert_sightings SET last_seen_at = CASE WHEN last_seen_at > ?3 THEN last_seen_at ELSE ?3 END, repeats = repeats + 1 "
          "WHERE camera = ?1 AND entry_id = ?2 AND last_seen_at > ?4" +
          (fence ? " AND " + CameraLeases::fence_sql(5) : std::string()) + " RETURNING alert_id");
      extend->bind(1, alert.source);
      extend->bind(2, alert.entry_id);
      extend->bind(3, raised_at);
      extend->bind(4, raised_at - how.realert_s);  // seen after this: the same sighting
      if (fence) {
        extend->bind(5, alert.source);
        extend->bind(6, fence->node);
        extend->bind(7, fence->epoch);
      }
      auto step = extend->step();
      if (!step) return step.error().within("cannot read the sighting");
      if (*step == Step::kRow) {
        repeat_of = extend->int64(0);
        return ok_status();
      }
    }
    // The next feed position: the feed's row stays locked until this transaction ends, so
    // positions are handed out in commit order and a rolled-back alert gives its back.
    auto position = db_->prepare("UPDATE alert_feed SET position = position + 1 WHERE id = 1 RETURNING position");
    auto positioned = position->step();
    if (!positioned) return positioned.error().within("cannot take the alert's feed position");
    if (*positioned != Step::kRow) return Error{"the alert feed is missing from the database"};
    const std::int64_t feed_position = position->int64(0);
    // Fenced: the row is written only where the lease still holds, decided by the database in
    // this statement, so a node that woke up after its lease passed cannot write.
    auto insert = db_->prepare(
        std::string("INSERT INTO alerts (entry_id, camera, profile, score, threshold, stream_time_s, frame_index, track, "
                    "box_x, box_y, box_w, box_h, raised_at, feed_position, captured_at_ms, estimated_fpir, list_templates, "
                    "face_quality, face_yaw_deg, face_pitch_deg, face_sharpness, face_confidence) "
                    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22 ") +
        (fence ? "WHERE " + CameraLeases::fence_sql(23) : std::string()) + " RETURNING id");
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
    insert->bind(14, feed_position);
    if (captured_ms) {
      insert->bind(15, *captured_ms);
    } else {
      insert->bind_null(15);
    }
    if (alert.estimated_fpir) {
      insert->bind_real(16, *alert.estimated_fpir);
      insert->bind(17, static_cast<std::int64_t>(alert.list_templates));
    } else {
      insert->bind_null(16);
      insert->bind_null(17);
    }
    if (alert.quality) {
      insert->bind_real(18, std::clamp(static_cast<double>(alert.quality->score), 0.0, 1.0));
      insert->bind_real(19, alert.quality->pose.yaw_deg);
      insert->bind_real(20, alert.quality->pose.pitch_deg);
      insert->bind_real(21, std::max(0.0, static_cast<double>(alert.quality->sharpness)));
      insert->bind_real(22, alert.quality->confidence);
    } else {
      for (int column = 18; column <= 22; ++column) insert->bind_null(column);
    }
    if (fence) {
      insert->bind(23, alert.source);
      insert->bind(24, fence->node);
      insert->bind(25, fence->epoch);
    }
    auto step = insert->step();
    if (!step) return step.error().within("cannot store the alert");
    if (*step == Step::kDone) return CameraLeases::fenced_error("the alert", alert.source, fence.value_or(WriteFence{}));
    id = insert->int64(0);
    if (how.realert_s > 0) {
      auto sighting = db_->prepare(
          "INSERT INTO alert_sightings (camera, entry_id, alert_id, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4) "
          "ON CONFLICT (camera, entry_id) DO UPDATE SET alert_id = excluded.alert_id, first_seen_at = excluded.first_seen_at, "
          "last_seen_at = excluded.last_seen_at, repeats = 0");
      sighting->bind(1, alert.source);
      sighting->bind(2, alert.entry_id);
      sighting->bind(3, id);
      sighting->bind(4, raised_at);
      if (auto s = run(*sighting); !s) return s.error().within("cannot record the sighting");
    }
    for (const std::string& endpoint : how.deliver_to) {
      auto delivery = db_->prepare("INSERT INTO alert_deliveries (alert_id, endpoint, next_at_ms) VALUES (?, ?, ?)");
      delivery->bind(1, id);
      delivery->bind(2, endpoint);
      delivery->bind(3, raised_at * 1000);
      if (auto s = run(*delivery); !s) return s.error().within("cannot queue the alert's delivery to " + endpoint);
    }
    if (face_jpeg.empty()) return ok_status();
    auto evidence = db_->prepare("INSERT INTO alert_evidence (alert_id, face_jpeg, purge_after) VALUES (?, ?, ?)");
    evidence->bind(1, id);
    evidence->bind_bytes(2, face_jpeg);
    evidence->bind(3, purge_evidence_after);
    if (auto s = run(*evidence); !s) return s.error().within("cannot store the evidence");
    return ok_status();
  });
  if (!status) return status.error();
  if (repeat_of != 0)
    return Error{std::string(kSuppressed) + "entry " + std::to_string(alert.entry_id) + " is still in view of camera " + alert.source +
                 " (alert " + std::to_string(repeat_of) + "); no new alert"};
  return id;
}

Status AlertStore::seen(const std::string& camera, std::int64_t entry_id, UnixSeconds now) {
  auto extend = db_->prepare(
      "UPDATE alert_sightings SET last_seen_at = ?3 WHERE camera = ?1 AND entry_id = ?2 AND last_seen_at < ?3 RETURNING alert_id");
  extend->bind(1, camera);
  extend->bind(2, entry_id);
  extend->bind(3, now);
  auto rows = count_rows(*extend, "cannot extend the sighting of entry " + std::to_string(entry_id) + " on camera " + camera);
  if (!rows) return rows.error();
  return ok_status();
}

Result<std::vector<AlertRecord>> AlertStore::feed(std::int64_t after_position, int limit) {
  auto s = db_->prepare(std::string(kAlertColumns) + "WHERE a.feed_position > ? ORDER BY a.feed_position LIMIT ?");
  s->bind(1, after_position);
  s->bind(2, std::clamp(limit, 1, 10000));
  std::vector<AlertRecord> out;
  if (auto status = for_each_row(*s, "cannot read the alert feed", [&] { out.push_back(read_alert(*s)); return ok_status(); }); !status)
    return status.error();
  return out;
}

Result<std::int64_t> AlertStore::feed_head() { return query_int64(*db_, "SELECT position FROM alert_feed WHERE id = 1", "the alert feed's head"); }

Result<std::string> AlertStore::deployment() {
  auto s = db_->prepare("SELECT deployment FROM alert_feed WHERE id = 1");
  auto step = s->step();
  if (!step) return step.error().within("cannot read the deployment's name");
  if (*step != Step::kRow) return Error{"the alert feed is missing from the database"};
  return s->text(0);
}

Result<std::optional<AlertDelivery>> AlertStore::claim_delivery(const std::string& endpoint, const std::string& node, std::int64_t now_ms,
                                                                std::int64_t claim_ms) {
  // One autocommit statement. On PostgreSQL the row is locked by the subquery and a row another
  // node is claiming is skipped, not waited for; a claim committed meanwhile is seen when the
  // row is re-read under its lock, and the row is then passed over.
  auto claim = db_->prepare(
      std::string("UPDATE alert_deliveries SET claimed_by = ?1, claimed_until_ms = ?2 WHERE endpoint = ?3 AND alert_id = "
                  "(SELECT alert_id FROM alert_deliveries WHERE endpoint = ?3 AND state = 'pending' AND next_at_ms <= ?4 "
                  "AND (claimed_until_ms IS NULL OR claimed_until_ms <= ?4) ORDER BY alert_id LIMIT 1") +
      (db_->dialect() == Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "") + ") RETURNING alert_id, attempts");
  claim->bind(1, node);
  claim->bind(2, now_ms + claim_ms);
  claim->bind(3, endpoint);
  claim->bind(4, now_ms);
  auto step = claim->step();
  if (!step) return step.error().within("cannot claim a delivery to " + endpoint);
  if (*step != Step::kRow) return std::optional<AlertDelivery>{};
  AlertDelivery delivery;
  delivery.endpoint = endpoint;
  const std::int64_t alert_id = claim->int64(0);
  delivery.attempts = static_cast<int>(claim->int64(1));
  claim.reset();
  auto alert = get(alert_id);
  if (!alert) return alert.error();
  if (!alert->has_value()) return Error{"alert " + std::to_string(alert_id) + " of a claimed delivery is gone"};
  delivery.alert = std::move(**alert);
  return std::optional<AlertDelivery>{std::move(delivery)};
}

Result<bool> AlertStore::finish_delivery(const AlertDelivery& delivery, const std::string& node, std::int64_t now_ms, bool delivered,
                                         std::optional<std::int64_t> retry_at_ms, const std::string& error) {
  const bool pending = !delivered && retry_at_ms.has_value();
  auto finish = db_->prepare(
      "UPDATE alert_deliveries SET state = ?1, attempts = attempts + 1, next_at_ms = ?2, finished_at = ?3, last_error = ?4, "
      "claimed_by = NULL, claimed_until_ms = NULL WHERE alert_id = ?5 AND endpoint = ?6 AND claimed_by = ?7 AND state = 'pending' "
      "RETURNING alert_id");
  finish->bind(1, delivered ? "delivered" : (pending ? "pending" : "given_up"));
  finish->bind(2, pending ? *retry_at_ms : now_ms);
  if (pending) {
    finish->bind_null(3);
  } else {
    finish->bind(3, now_ms / 1000);
  }
  if (error.empty()) {
    finish->bind_null(4);
  } else {
    finish->bind(4, error.substr(0, 500));
  }
  finish->bind(5, delivery.alert.id);
  finish->bind(6, delivery.endpoint);
  finish->bind(7, node);
  auto rows = count_rows(*finish, "cannot record the delivery of alert " + std::to_string(delivery.alert.id) + " to " + delivery.endpoint);
  if (!rows) return rows.error();
  return *rows > 0;
}

Result<std::int64_t> AlertStore::pending_deliveries(const std::string& endpoint) {
  auto s = db_->prepare("SELECT count(*) FROM alert_deliveries WHERE endpoint = ? AND state = 'pending'");
  s->bind(1, endpoint);
  auto step = s->step();
  if (!step) return step.error().within("cannot count the deliveries to " + endpoint);
  return s->int64(0);
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
    // Sightings last seen before then have long stopped holding back any alert.
    auto sightings = db_->prepare("DELETE FROM alert_sightings WHERE last_seen_at < ? RETURNING alert_id");
    sightings->bind(1, raised_before);
    if (auto s = count_rows(*sightings, "cannot purge sightings"); !s) return s.error();
    purged = *deleted;
    if (purged == 0) return ok_status();
    return audit::append(*db_,
                         {"system", "alerts.purge", "alerts", {{"alerts_deleted", purged}, {"raised_before", format_utc(raised_before)}}}, now);
  });
  if (!status) return status.error();
  return purged;
}

}  // namespace glassbox
