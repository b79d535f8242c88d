// SqliteCameraStore: the cameras created through the API, kept in the `cameras` table
// (docs/database-schema.md, version 3) so they survive a restart. Cameras of the configuration
// file are not stored here; the file stays their only source.
// Thread-safety: one instance per thread (or behind the caller's mutex).
#pragma once

#include <memory>
#include <vector>

#include "core/dates.h"
#include "ingest/camera_config.h"
#include "store/sqlite_database.h"

namespace glassbox {

class SqliteCameraStore {
 public:
  static Result<std::unique_ptr<SqliteCameraStore>> open(const std::string& path);

  Result<std::vector<CameraConfig>> list();
  // Each change is audited (by `actor`) in the same transaction.
  // Refused when a camera of that name is stored already.
  Status insert(const CameraConfig& camera, const std::string& actor, UnixSeconds now);
  // Replaces the stored camera of the same name; refused when there is none.
  Status update(const CameraConfig& camera, const std::string& actor, UnixSeconds now);
  // Refused when there is no camera of that name.
  Status remove(const std::string& name, const std::string& actor, UnixSeconds now);

 private:
  explicit SqliteCameraStore(std::unique_ptr<SqliteDatabase> db) : db_(std::move(db)) {}
  std::unique_ptr<SqliteDatabase> db_;
};

}  // namespace glassbox
