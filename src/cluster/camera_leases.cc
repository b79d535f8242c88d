#include "cluster/camera_leases.h"

#include <algorithm>

namespace glassbox {
namespace {

// A held camera: its row names this node and its epoch, under a lease that has not lapsed.
constexpr const char* kHeldByLiveLease =
    "SELECT 1 FROM camera_leases l JOIN nodes n ON n.node = l.node AND n.epoch = l.epoch WHERE l.camera = c.name AND n.lease_until > now()";

}  // namespace

Result<std::unique_ptr<CameraLeases>> CameraLeases::create(std::unique_ptr<Database> db, LeaseSettings settings) {
  if (db->dialect() != Dialect::kPostgres) return Error{"camera leases need PostgreSQL (the cluster's shared database)"};
  if (settings.node.empty()) return Error{"a cluster node needs a name"};
  if (settings.capacity < 0) return Error{"a node's capacity cannot be negative"};
  if (settings.lease_s < 1.0) return Error{"a lease lasts at least 1 s"};
  return std::unique_ptr<CameraLeases>(new CameraLeases(std::move(db), std::move(settings)));
}

namespace {
constexpr const char* kFenced = "fenced: ";
}  // namespace

Error CameraLeases::fenced_error(const std::string& what, const std::string& camera, const WriteFence& fence) {
  return Error{std::string(kFenced) + "node " + fence.node + " no longer holds camera " + camera + " under epoch " +
               std::to_string(fence.epoch) + "; " + what + " is not stored (the camera's new holder has it)"};
}

bool CameraLeases::is_fenced(const Error& error) { return error.message.rfind(kFenced, 0) == 0; }

std::string CameraLeases::fence_sql(int first) {
  const std::string camera = "?" + std::to_string(first), node = "?" + std::to_string(first + 1), epoch = "?" + std::to_string(first + 2);
  return "EXISTS (SELECT 1 FROM camera_leases l JOIN nodes n ON n.node = l.node AND n.epoch = l.epoch WHERE l.camera = " + camera +
         " AND l.node = " + node + " AND l.epoch = " + epoch + " AND n.lease_until > now())";
}

// A renewal is a few statements, each atomic on its own (autocommit, PostgreSQL's READ
// COMMITTED), not one SERIALIZABLE transaction: every renewal reads every node's row, so under
// SERIALIZABLE a few nodes renewing together abort one another over and over. What must be
// exact is decided inside single statements: the lease is extended only while live and of this
// epoch, and a camera is taken with an upsert whose WHERE finds it unheld on the row it has
// locked — of two nodes taking the same camera, the second finds it held and gets no row back.
// The counts that set the fair share may be a moment old; a renewal later corrects them.
Result<LeaseRenewal> CameraLeases::renew() {
  LeaseRenewal out;
  auto extend = db_->prepare(
      "UPDATE nodes SET lease_until = now() + make_interval(secs => ?), renewed_at = now(), capacity = ?, address = ? "
      "WHERE node = ? AND epoch = ? AND lease_until > now() RETURNING epoch");
  extend->bind_real(1, settings_.lease_s);
  extend->bind(2, settings_.capacity);
  extend->bind(3, settings_.address);
  extend->bind(4, settings_.node);
  extend->bind(5, epoch_);
  auto extended = next_row(*extend, "cannot renew the lease of node " + settings_.node);
  if (!extended) return extended.error();
  if (*extended) {
    out.epoch = epoch_;
  } else {
    // First start, or the lease lapsed: a new epoch, and nothing held under the old one. A
    // name whose lease is still live is not taken over: another node has it (a configuration
    // mistake), or this node before a restart, whose lease must lapse first.
    auto join = db_->prepare(
        "INSERT INTO nodes (node, epoch, capacity, address, lease_until, renewed_at, joined_at) "
        "VALUES (?, 1, ?, ?, now() + make_interval(secs => ?), now(), now()) "
        "ON CONFLICT (node) DO UPDATE SET epoch = nodes.epoch + 1, capacity = excluded.capacity, address = excluded.address, "
        "lease_until = excluded.lease_until, renewed_at = now(), joined_at = now() WHERE nodes.lease_until <= now() RETURNING epoch");
    join->bind(1, settings_.node);
    join->bind(2, settings_.capacity);
    join->bind(3, settings_.address);
    join->bind_real(4, settings_.lease_s);
    auto joined = next_row(*join, "cannot take a lease for node " + settings_.node);
    if (!joined) return joined.error();
    if (!*joined)
      return Error{"node name '" + settings_.node + "' has a live lease: another node uses the same name, or this node ran under it "
                   "until just now; waiting for that lease to lapse"};
    out.epoch = join->int64(0);
    out.rejoined = true;
    epoch_ = out.epoch;
    over_share_renewals_ = 0;
  }
  // A camera disabled (or deleted: its rows go with it) is given back.
  auto disabled = db_->prepare(
      "DELETE FROM camera_leases WHERE node = ? AND epoch = ? AND camera IN (SELECT name FROM cameras WHERE enabled = 0) RETURNING camera");
  disabled->bind(1, settings_.node);
  disabled->bind(2, out.epoch);
  if (auto s = for_each_row(*disabled, "cannot give back disabled cameras", [&] { out.released.insert(disabled->text(0)); return ok_status(); }); !s)
    return s.error();
  auto live = query_int64(*db_, "SELECT count(*) FROM nodes WHERE lease_until > now()", "cannot count the live nodes");
  if (!live) return live.error();
  auto cameras = query_int64(*db_, "SELECT count(*) FROM cameras WHERE enabled = 1", "cannot count the cameras");
  if (!cameras) return cameras.error();
  out.live_nodes = static_cast<int>(std::max<std::int64_t>(*live, 1));
  out.cameras = static_cast<int>(*cameras);
  out.share = std::min(settings_.capacity, (out.cameras + out.live_nodes - 1) / out.live_nodes);
  std::vector<std::string> held_by_age;
  auto held = db_->prepare("SELECT camera FROM camera_leases WHERE node = ? AND epoch = ? ORDER BY since, camera");
  held->bind(1, settings_.node);
  held->bind(2, out.epoch);
  if (auto s = for_each_row(*held, "cannot read the cameras held", [&] { held_by_age.push_back(held->text(0)); return ok_status(); }); !s)
    return s.error();
  const int holding = static_cast<int>(held_by_age.size());
  if (holding < out.share) {
    // Unheld cameras, in an order of this node's own (a hash of camera and node), so nodes
    // starting together mostly reach for different ones.
    auto free = db_->prepare(std::string("SELECT c.name FROM cameras c WHERE c.enabled = 1 AND NOT EXISTS (") + kHeldByLiveLease +
                             ") ORDER BY md5(c.name || ?), c.name LIMIT ?");
    free->bind(1, settings_.node);
    free->bind(2, out.share - holding);
    std::vector<std::string> candidates;
    if (auto s = for_each_row(*free, "cannot find unheld cameras", [&] { candidates.push_back(free->text(0)); return ok_status(); }); !s)
      return s.error();
    auto take = db_->prepare(
        "INSERT INTO camera_leases AS l (camera, node, epoch, since) VALUES (?, ?, ?, clock_timestamp()) "
        "ON CONFLICT (camera) DO UPDATE SET node = excluded.node, epoch = excluded.epoch, since = excluded.since "
        "WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node = l.node AND n.epoch = l.epoch AND n.lease_until > now()) "
        "RETURNING camera");
    for (const std::string& camera : candidates) {
      take->bind(1, camera);
      take->bind(2, settings_.node);
      take->bind(3, out.epoch);
      auto taken = next_row(*take, "cannot take camera " + camera);
      if (!taken) return taken.error();
      if (!*taken) continue;  // another node took it first
      out.taken.insert(camera);
      held_by_age.push_back(camera);
    }
  }
  // Hysteresis: one camera back, the most recently taken, after two renewals over share + 1.
  over_share_renewals_ = holding > out.share + 1 ? over_share_renewals_ + 1 : 0;
  if (over_share_renewals_ >= 2 && !held_by_age.empty()) {
    const std::string camera = held_by_age.back();
    auto release = db_->prepare("DELETE FROM camera_leases WHERE camera = ? AND node = ? AND epoch = ?");
    release->bind(1, camera);
    release->bind(2, settings_.node);
    release->bind(3, out.epoch);
    if (auto s = run(*release); !s) return s.error().within("cannot give back camera " + camera);
    held_by_age.pop_back();
    out.released.insert(camera);
    over_share_renewals_ = 0;
  }
  out.held.insert(held_by_age.begin(), held_by_age.end());
  return out;
}

Status CameraLeases::leave() {
  return db_->transaction([&]() -> Status {
    auto release = db_->prepare("DELETE FROM camera_leases WHERE node = ?");
    release->bind(1, settings_.node);
    if (auto s = run(*release); !s) return s.error().within("cannot give back the cameras of node " + settings_.node);
    auto end = db_->prepare("UPDATE nodes SET lease_until = now() WHERE node = ? AND epoch = ?");
    end->bind(1, settings_.node);
    end->bind(2, epoch_);
    return run(*end);
  });
}

}  // namespace glassbox
