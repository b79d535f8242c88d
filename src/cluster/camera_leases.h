// CameraLeases: which node of a cluster analyses which camera (docs/cluster.md, "Nodes and camera
// leases"), kept in the shared PostgreSQL database on the database's clock, never a node's.
//   - A node holds one lease (its `nodes` row, valid until lease_until) and its cameras through
//     it (`camera_leases` rows naming the node and the node's epoch). renew() extends the lease;
//     a node whose lease lapsed (stopped, cut off) comes back with a new epoch and holds nothing:
//     its old cameras' rows name an epoch that is no longer its own.
//   - Every renewal takes unheld cameras (never leased, or held under a lapsed lease or an old
//     epoch) up to the node's fair share, ceil(cameras / live nodes), at most its capacity, and
//     gives one back when it has held more than share + 1 for two renewals in a row
//     (hysteresis: a joining node does not make cameras flap).
//   - fence_sql() is the condition every write for a camera carries in its own statement: the
//     camera is held by this node under this epoch, and the node's lease has not lapsed.
// Cameras are the rows of `cameras` (those created through the API) that are enabled; cameras of
// a node's configuration file are that node's own and are not leased.
// Thread-safety: one instance per thread (its connection is its own).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "core/result.h"
#include "store/database.h"

namespace glassbox {

struct LeaseSettings {
  std::string node;               // this node's name, unique in the cluster
  int capacity = 8;               // the most cameras it takes
  std::string address;            // where its API answers (for `cluster status`)
  double lease_s = 15.0;          // how long a renewal holds
};

struct LeaseRenewal {
  std::int64_t epoch = 0;
  bool rejoined = false;          // the lease had lapsed (or this is the first): cameras held before are gone
  std::set<std::string> held;     // the cameras this node holds now
  std::set<std::string> taken;    // taken by this renewal
  std::set<std::string> released; // given back by this renewal
  int live_nodes = 0;
  int cameras = 0;
  int share = 0;                  // the fair share it aimed at
};

// Who may write for a camera: the holder's name and epoch (AlertStore's fence).
struct WriteFence {
  std::string node;
  std::int64_t epoch = 0;
};

class CameraLeases {
 public:
  // PostgreSQL only: leases need the database's clock.
  static Result<std::unique_ptr<CameraLeases>> create(std::unique_ptr<Database> db, LeaseSettings settings);

  // Extends (or takes again) this node's lease, then takes or gives back cameras.
  Result<LeaseRenewal> renew();
  // Gives back every camera and ends the lease at once (a clean stop): others take them at their
  // next renewal instead of after the lease.
  Status leave();

  const LeaseSettings& settings() const { return settings_; }

  // The SQL condition that `camera` is held by `node` under `epoch` and the lease is live, with
  // parameters ?camera, ?node and ?epoch numbered from `first` (three parameters).
  static std::string fence_sql(int first);
  // The error of a write its fence refused (`what`: the alert, the segment), and the test for it.
  static Error fenced_error(const std::string& what, const std::string& camera, const WriteFence& fence);
  static bool is_fenced(const Error& error);

 private:
  CameraLeases(std::unique_ptr<Database> db, LeaseSettings settings) : db_(std::move(db)), settings_(std::move(settings)) {}

  std::unique_ptr<Database> db_;
  LeaseSettings settings_;
  std::int64_t epoch_ = 0;
  int over_share_renewals_ = 0;  // renewals in a row with more than share + 1 cameras
};

}  // namespace glassbox
