// The cluster's coordination load, measured without video (docs/cluster.md, "Growth and
// capacity"): simulated nodes, each a thread with its own connection and CameraLeases, renew
// every lease_s / 3 and write fenced alerts for the cameras they hold at a given rate, against a
// PostgreSQL database made for the purpose; half-way, one node stops renewing (as a SIGKILL
// would), and the time until its cameras are all held again is the failover time.
// It writes to the database (simulated cameras, one entry, alerts): it refuses a database that
// holds anything audited, so it cannot be run against a deployment.
// Thread-safety: run_simulation() runs its own threads and returns when they are done.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace glassbox {

struct SimulationSettings {
  std::string conninfo;
  int nodes = 10;
  int cameras = 1000;
  int capacity = 0;              // per node; 0: 20% above an even share
  double lease_s = 15.0;
  double seconds = 60.0;
  double alerts_per_camera_hour = 1.0;
  bool kill_one = true;          // stop one node's renewals half-way and time the failover
};

// The figures: transactions/s on the database, renewals (count, p50, p99, max ms), alerts
// written and fenced, cameras held at the end, and the failover time.
Result<nlohmann::json> run_simulation(const SimulationSettings& settings);

}  // namespace glassbox
