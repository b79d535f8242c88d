// AlertStore: alerts raised by the live service, kept with their evidence (the crop of the
// matched face, purged after a retention period) until a person confirms or dismisses them.
// A decision records who and when; a dismissal needs a reason; a decided alert stays decided.
// Schema: docs/database-schema.md (SQLite version 2, PostgreSQL version 4); on either backend
// (store/database.h). Only faces that matched an active entry are ever written here.
// Thread-safety: one instance per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alert/alert.h"
#include "core/dates.h"
#include "cluster/camera_leases.h"
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

  // Stores the alert and, when given, its evidence JPEG, atomically. Returns the alert's id.
  // With `fence` (a cluster's node, PostgreSQL): stored only if, in the same statement, the
  // alert's camera is held by fence->node under fence->epoch and that lease is live; otherwise
  // refused with an error that fenced() recognises (docs/cluster.md, "Fencing epoch").
  Result<std::int64_t> record(const Alert& alert, const std::vector<unsigned char>& face_jpeg, UnixSeconds raised_at,
                              UnixSeconds purge_evidence_after, const std::optional<WriteFence>& fence = std::nullopt);
  static bool fenced(const Error& error);
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
