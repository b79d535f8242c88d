#include "store/camera_store.h"

#include <string>

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "store/sqlite_database.h"

namespace glassbox {
namespace {

// A camera's settings, the same columns in the same order in the insert and the update: bound
// from `first` on (eight parameters).
constexpr const char* kSettingColumns = "url, rate_fps, min_face_px, enabled, loop, stall_timeout_s, record, record_retention_days";

void bind_settings(Statement& s, int first, const CameraConfig& c) {
  s.bind(first, c.url);
  s.bind_real(first + 1, c.rate_fps);
  s.bind(first + 2, c.min_face_px);
  s.bind(first + 3, static_cast<int>(c.enabled));
  s.bind(first + 4, static_cast<int>(c.loop));
  s.bind_real(first + 5, c.stall_timeout_s);
  s.bind(first + 6, static_cast<int>(c.record));
  s.bind_real(first + 7, c.record_retention_days);
}

}  // namespace

Result<std::unique_ptr<CameraStore>> CameraStore::open(const std::string& path) {
  auto db = SqliteDatabase::open(path, OpenMode::kReadWriteCreate);
  if (!db) return db.error();
  return std::make_unique<CameraStore>(std::move(*db));
}

Result<std::vector<CameraConfig>> CameraStore::list() {
  auto s = db_->prepare(std::string("SELECT name, ") + kSettingColumns + " FROM cameras ORDER BY name");
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
    auto s = db_->prepare(std::string("INSERT INTO cameras (name, ") + kSettingColumns +
                          ", created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING name");
    s->bind(1, c.name);
    bind_settings(*s, 2, c);
    s->bind(10, now);
    s->bind(11, now);
    auto step = s->step();
    if (!step) return step.error().within("cannot store camera '" + c.name + "'");
    if (*step == Step::kDone) return Error{"camera '" + c.name + "' exists already"};
    return audit::append(*db_, {actor, "camera.create", "camera/" + c.name, camera_to_json(c)}, now);
  });
}

Status CameraStore::update(const CameraConfig& c, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    // The columns' order is kSettingColumns'.
    auto s = db_->prepare(
        "UPDATE cameras SET url = ?, rate_fps = ?, min_face_px = ?, enabled = ?, loop = ?, stall_timeout_s = ?, "
        "record = ?, record_retention_days = ?, updated_at = ? WHERE name = ? RETURNING name");
    bind_settings(*s, 1, c);
    s->bind(9, now);
    s->bind(10, c.name);
    auto step = s->step();
    if (!step) return step.error().within("cannot update camera '" + c.name + "'");
    if (*step == Step::kDone) return Error{"camera '" + c.name + "' does not exist"};
    return audit::append(*db_, {actor, "camera.update", "camera/" + c.name, camera_to_json(c)}, now);
  });
}

Status CameraStore::remove(const std::string& name, const std::string& actor, UnixSeconds now) {
  return db_->transaction([&]() -> Status {
    auto s = db_->prepare("DELETE FROM cameras WHERE name = ? RETURNING name");
    s->bind(1, name);
    auto step = s->step();
    if (!step) return step.error().within("cannot remove camera '" + name + "'");
    if (*step == Step::kDone) return Error{"camera '" + name + "' does not exist"};
    return audit::append(*db_, {actor, "camera.delete", "camera/" + name, nlohmann::json::object()}, now);
  });
}

}  // namespace glassbox
