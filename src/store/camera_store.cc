#include "store/camera_store.h"

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "store/sqlite_statement.h"

namespace glassbox {

Result<std::unique_ptr<SqliteCameraStore>> SqliteCameraStore::open(const std::string& path) {
  auto db = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  if (!db) return db.error();
  return std::unique_ptr<SqliteCameraStore>(new SqliteCameraStore(std::move(*db)));
}

Result<std::vector<CameraConfig>> SqliteCameraStore::list() {
  SqliteStatement s(db_->handle(),
                    "SELECT name, url, rate_fps, min_face_px, enabled, loop, stall_timeout_s, record, record_retention_days FROM cameras ORDER BY name");
  if (!s.prepared()) return db_->error("cannot prepare the camera listing");
  std::vector<CameraConfig> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    CameraConfig c;
    c.name = s.text(0);
    c.url = s.text(1);
    c.rate_fps = s.real(2);
    c.min_face_px = static_cast<int>(s.int64(3));
    c.enabled = s.int64(4) != 0;
    c.loop = s.int64(5) != 0;
    c.stall_timeout_s = s.real(6);
    c.record = s.int64(7) != 0;
    c.record_retention_days = s.real(8);
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return db_->error("cannot list the cameras");
  return out;
}

Status SqliteCameraStore::insert(const CameraConfig& c, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    SqliteStatement s(db_->handle(),
                      "INSERT INTO cameras (name, url, rate_fps, min_face_px, enabled, loop, stall_timeout_s, created_at, updated_at, "
                      "record, record_retention_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s.prepared()) return db_->error("cannot prepare the camera insert");
    s.bind(1, c.name);
    s.bind(2, c.url);
    s.bind_real(3, c.rate_fps);
    s.bind(4, static_cast<std::int64_t>(c.min_face_px));
    s.bind(5, static_cast<std::int64_t>(c.enabled));
    s.bind(6, static_cast<std::int64_t>(c.loop));
    s.bind_real(7, c.stall_timeout_s);
    s.bind(8, now);
    s.bind(9, now);
    s.bind(10, static_cast<std::int64_t>(c.record));
    s.bind_real(11, c.record_retention_days);
    const int rc = s.step();
    if (rc == SQLITE_CONSTRAINT) return Error{"camera '" + c.name + "' exists already"};
    if (rc != SQLITE_DONE) return db_->error("cannot store camera '" + c.name + "'");
    return audit::append(*db_, {actor, "camera.create", "camera/" + c.name, camera_to_json(c)}, now);
  });
}

Status SqliteCameraStore::update(const CameraConfig& c, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    SqliteStatement s(db_->handle(),
                      "UPDATE cameras SET url = ?, rate_fps = ?, min_face_px = ?, enabled = ?, loop = ?, stall_timeout_s = ?, "
                      "updated_at = ?, record = ?, record_retention_days = ? WHERE name = ?");
    if (!s.prepared()) return db_->error("cannot prepare the camera update");
    s.bind(1, c.url);
    s.bind_real(2, c.rate_fps);
    s.bind(3, static_cast<std::int64_t>(c.min_face_px));
    s.bind(4, static_cast<std::int64_t>(c.enabled));
    s.bind(5, static_cast<std::int64_t>(c.loop));
    s.bind_real(6, c.stall_timeout_s);
    s.bind(7, now);
    s.bind(8, static_cast<std::int64_t>(c.record));
    s.bind_real(9, c.record_retention_days);
    s.bind(10, c.name);
    if (s.step() != SQLITE_DONE) return db_->error("cannot update camera '" + c.name + "'");
    if (sqlite3_changes(db_->handle()) == 0) return Error{"camera '" + c.name + "' does not exist"};
    return audit::append(*db_, {actor, "camera.update", "camera/" + c.name, camera_to_json(c)}, now);
  });
}

Status SqliteCameraStore::remove(const std::string& name, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    SqliteStatement s(db_->handle(), "DELETE FROM cameras WHERE name = ?");
    if (!s.prepared()) return db_->error("cannot prepare the camera removal");
    s.bind(1, name);
    if (s.step() != SQLITE_DONE) return db_->error("cannot remove camera '" + name + "'");
    if (sqlite3_changes(db_->handle()) == 0) return Error{"camera '" + name + "' does not exist"};
    return audit::append(*db_, {actor, "camera.delete", "camera/" + name, nlohmann::json::object()}, now);
  });
}

}  // namespace glassbox
