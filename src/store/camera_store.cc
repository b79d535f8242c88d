#include "store/camera_store.h"

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "store/sqlite_database.h"

namespace glassbox {

Result<std::unique_ptr<CameraStore>> CameraStore::open(const std::string& path) {
  auto db = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  if (!db) return db.error();
  return std::make_unique<CameraStore>(std::move(*db), path);
}

Result<std::vector<CameraConfig>> CameraStore::list() {
  auto s = db_->prepare("SELECT name, url, rate_fps, min_face_px, enabled, loop, stall_timeout_s, record, record_retention_days FROM cameras ORDER BY name");
  std::vector<CameraConfig> out;
  while (true) {
    auto step = s->step();
    if (!step) return step.error().within("cannot list the cameras");
    if (*step == Step::kDone) break;
    CameraConfig c;
    c.name = s->text(0);
    c.url = s->text(1);
    c.rate_fps = s->real(2);
    c.min_face_px = static_cast<int>(s->int64(3));
    c.enabled = s->int64(4) != 0;
    c.loop = s->int64(5) != 0;
    c.stall_timeout_s = s->real(6);
    c.record = s->int64(7) != 0;
    c.record_retention_days = s->real(8);
    out.push_back(std::move(c));
  }
  return out;
}

Status CameraStore::insert(const CameraConfig& c, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    // ON CONFLICT … RETURNING: no row back means the name is taken, on either engine, without
    // reading an engine's error code.
    auto s = db_->prepare(
        "INSERT INTO cameras (name, url, rate_fps, min_face_px, enabled, loop, stall_timeout_s, created_at, updated_at, "
        "record, record_retention_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING name");
    s->bind(1, c.name);
    s->bind(2, c.url);
    s->bind_real(3, c.rate_fps);
    s->bind(4, c.min_face_px);
    s->bind(5, static_cast<int>(c.enabled));
    s->bind(6, static_cast<int>(c.loop));
    s->bind_real(7, c.stall_timeout_s);
    s->bind(8, now);
    s->bind(9, now);
    s->bind(10, static_cast<int>(c.record));
    s->bind_real(11, c.record_retention_days);
    auto step = s->step();
    if (!step) return step.error().within("cannot store camera '" + c.name + "'");
    if (*step == Step::kDone) return Error{"camera '" + c.name + "' exists already"};
    return audit::append(*db_, audit_key_base_, {actor, "camera.create", "camera/" + c.name, camera_to_json(c)}, now);
  });
}

Status CameraStore::update(const CameraConfig& c, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    auto s = db_->prepare(
        "UPDATE cameras SET url = ?, rate_fps = ?, min_face_px = ?, enabled = ?, loop = ?, stall_timeout_s = ?, "
        "updated_at = ?, record = ?, record_retention_days = ? WHERE name = ? RETURNING name");
    s->bind(1, c.url);
    s->bind_real(2, c.rate_fps);
    s->bind(3, c.min_face_px);
    s->bind(4, static_cast<int>(c.enabled));
    s->bind(5, static_cast<int>(c.loop));
    s->bind_real(6, c.stall_timeout_s);
    s->bind(7, now);
    s->bind(8, static_cast<int>(c.record));
    s->bind_real(9, c.record_retention_days);
    s->bind(10, c.name);
    auto step = s->step();
    if (!step) return step.error().within("cannot update camera '" + c.name + "'");
    if (*step == Step::kDone) return Error{"camera '" + c.name + "' does not exist"};
    return audit::append(*db_, audit_key_base_, {actor, "camera.update", "camera/" + c.name, camera_to_json(c)}, now);
  });
}

Status CameraStore::remove(const std::string& name, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    auto s = db_->prepare("DELETE FROM cameras WHERE name = ? RETURNING name");
    s->bind(1, name);
    auto step = s->step();
    if (!step) return step.error().within("cannot remove camera '" + name + "'");
    if (*step == Step::kDone) return Error{"camera '" + name + "' does not exist"};
    return audit::append(*db_, audit_key_base_, {actor, "camera.delete", "camera/" + name, nlohmann::json::object()}, now);
  });
}

}  // namespace glassbox
