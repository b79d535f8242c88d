// AlertStore: alerts raised by the live service, kept with their evidence (the crop of the
// matched face, purged after a retention period) until a person confirms or dismisses them.
// A decision records who and when; a dismissal needs a reason; a decided alert stays decided.
// Every alert takes the next position of the alert feed (gap-free, in commit order: live streams
// resume from it), may be a repeat of a sighting still in view (not stored again), and has its
// webhook and MQTT deliveries queued in its own transaction (the outbox, claimed by nodes).
// Schema: docs/database-schema.md (SQLite versions 2, 12, 13; PostgreSQL versions 4, 8); on
// either backend (store/database.h). Only faces that matched an active entry are ever written here.
// Thread-safety: one instance per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alert/alert.h"
#include "cluster/camera_leases.h"
#include "core/dates.h"
#include "quality/face_quality.h"
#include "store/sqlite_database.h"

namespace glassbox {

enum class AlertStatus { kOpen, kConfirmed, kDismissed };
const char* alert_status_name(AlertStatus status);

struct AlertRecord {
  std::int64_t id = 0;
  std::int64_t entry_id = 0;
  std::string subject;
  std::string camera;
  std::string profile;
  double score = 0.0;
  double threshold = 0.0;
  double stream_time_s = 0.0;
  std::int64_t frame_index = 0;
  std::int64_t track = 0;
  cv::Rect box;
  UnixSeconds raised_at = 0;
  AlertStatus status = AlertStatus::kOpen;
  std::optional<std::string> decided_by;
  std::optional<UnixSeconds> decided_at;
  std::optional<std::string> dismiss_reason;
  bool has_evidence = false;
  std::int64_t feed_position = 0;          // gap-free, in commit order (the live stream's event id)
  std::optional<std::int64_t> captured_at_ms;  // when the frame was captured (wall clock, ms), if known
  // What the score meant when raised (alert/alert.h): the predicted FPIR at it, for a list of
  // list_templates templates; unset for a profile without calibration.
  std::optional<double> estimated_fpir;
  std::optional<std::int64_t> list_templates;
  // The quality of the view that matched (size_px from the box); unset for older alerts.
  std::optional<FaceQuality> quality;
};

// How the live service writes an alert.
struct AlertWrite {
  // A cluster's node (PostgreSQL): stored only if, in the same statement, the alert's camera is
  // held by fence->node under fence->epoch and that lease is live; otherwise refused with an
  // error that CameraLeases::is_fenced() recognises (docs/cluster.md, "Fencing epoch").
  std::optional<WriteFence> fence;
  // Above 0: an alert is a sighting. While the same entry was seen on the same camera less than
  // realert_s ago (an earlier alert, or seen() since), no new alert is stored — on whichever node
  // — and the error says so (AlertStore::suppressed()); the sighting is extended instead.
  int realert_s = 0;
  // Outbox endpoints (docs/cluster.md, "Webhooks and MQTT"): a pending delivery for each is
  // written in the alert's transaction.
  std::vector<std::string> deliver_to;

  static AlertWrite under(WriteFence fence) {
    AlertWrite write;
    write.fence = std::move(fence);
    return write;
  }
};

// A claimed delivery of one alert to one endpoint, with the alert as it is now.
struct AlertDelivery {
  std::string endpoint;
  int attempts = 0;  // made before this one
  AlertRecord alert;
};

struct AlertFilter {
  std::optional<AlertStatus> status;
  std::optional<std::string> camera;
  std::optional<std::int64_t> entry_id;
  std::optional<UnixSeconds> since;  // raised at or after
  int limit = 100;
};

class AlertStore {
 public:
  // The SQLite file at `path` (its audit keys beside it).
  static Result<std::unique_ptr<AlertStore>> open(const std::string& path);
  // Any backend; the audit log's keys are the connection's node's (Database::key_base).
  explicit AlertStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  // Stores the alert and, when given, its evidence JPEG, atomically, at the next feed position.
  // Returns the alert's id. See AlertWrite for a fence, sightings and deliveries.
  Result<std::int64_t> record(const Alert& alert, const std::vector<unsigned char>& face_jpeg, UnixSeconds raised_at,
                              UnixSeconds purge_evidence_after, const AlertWrite& how = {});
  static bool suppressed(const Error& error);
  // The entry is still in view of the camera (a track that matched it goes on): its sighting,
  // if there is one, is extended to `now`.
  Status seen(const std::string& camera, std::int64_t entry_id, UnixSeconds now);

  // The feed: alerts after `position`, in position order, at most `limit`.
  Result<std::vector<AlertRecord>> feed(std::int64_t after_position, int limit);
  // The last position given out (0 before the first alert).
  Result<std::int64_t> feed_head();
  // The deployment's name, made when the schema was: the prefix of delivery keys.
  Result<std::string> deployment();

  // The outbox. Claims, for `claim_ms`, the oldest delivery to `endpoint` that is due at `now_ms`
  // and not claimed by anyone else (two nodes never claim the same one; PostgreSQL: FOR UPDATE
  // SKIP LOCKED). nullopt: nothing to do.
  Result<std::optional<AlertDelivery>> claim_delivery(const std::string& endpoint, const std::string& node, std::int64_t now_ms,
                                                      std::int64_t claim_ms);
  // The claimed delivery's outcome: delivered; or failed, tried again at retry_at_ms (nullopt:
  // given up). Nothing changes if `node`'s claim was lost in the meantime (another node took it
  // after it expired). Returns whether the claim was still ours.
  Result<bool> finish_delivery(const AlertDelivery& delivery, const std::string& node, std::int64_t now_ms, bool delivered,
                               std::optional<std::int64_t> retry_at_ms, const std::string& error);
  // Deliveries to `endpoint` still pending.
  Result<std::int64_t> pending_deliveries(const std::string& endpoint);
  Status confirm(std::int64_t alert_id, const std::string& user, UnixSeconds now);
  Status dismiss(std::int64_t alert_id, const std::string& user, const std::string& reason, UnixSeconds now);
  Result<std::optional<AlertRecord>> get(std::int64_t alert_id);
  Result<std::vector<AlertRecord>> list(const AlertFilter& filter);
  Result<std::optional<std::vector<unsigned char>>> evidence(std::int64_t alert_id);
  // Deletes evidence whose retention has passed; the alert rows stay. Returns how many.
  Result<int> purge_evidence(UnixSeconds now);
  // Deletes decided alerts raised before `raised_before`, with their evidence (audited). Open
  // alerts stay until a person decides them. Returns how many were deleted.
  Result<int> purge_alerts(UnixSeconds raised_before, UnixSeconds now);

 private:
  Status decide(std::int64_t alert_id, AlertStatus status, const std::string& user, const std::string& reason, UnixSeconds now);

  std::unique_ptr<Database> db_;
};

}  // namespace glassbox
