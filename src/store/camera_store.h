// CameraStore: the cameras created through the API, kept in the `cameras` table
// (docs/database-schema.md: SQLite version 3, PostgreSQL version 2) so they survive a restart,
// on either backend (store/database.h). Cameras of the configuration file are not stored here;
// the file stays their only source. Every change is audited in its own transaction.
// Thread-safety: one instance per thread (or behind the caller's mutex).
#pragma once

#include <memory>
#include <vector>

#include "core/dates.h"
#include "ingest/camera_config.h"
#include "store/database.h"

namespace glassbox {

class CameraStore {
 public:
  // The SQLite file at `path` (its audit keys beside it).
  static Result<std::unique_ptr<CameraStore>> open(const std::string& path);
  // Any backend; the audit log's keys are the connection's node's (Database::key_base).
  explicit CameraStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  Result<std::vector<CameraConfig>> list();
  // Each change is audited (by `actor`) in the same transaction.
  // Refused when a camera of that name is stored already.
  Status insert(const CameraConfig& camera, const std::string& actor, UnixSeconds now);
  // Replaces the stored camera of the same name; refused when there is none.
  Status update(const CameraConfig& camera, const std::string& actor, UnixSeconds now);
  // Refused when there is no camera of that name.
  Status remove(const std::string& name, const std::string& actor, UnixSeconds now);

 private:
  std::unique_ptr<Database> db_;
};

}  // namespace glassbox
