// The cluster as its database sees it (docs/cluster.md, "Operating it"): every node ever seen
// with its epoch, capacity, address, lease and whether it is live, the cameras each holds, and
// the cameras no live node holds — what `glassbox cluster status` prints and GET /api/cluster
// returns. Read-only.
// Thread-safety: a function on a connection the caller owns.
#pragma once

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "store/database.h"

namespace glassbox {

// On SQLite (one machine, no leases): {"cluster": false}.
Result<nlohmann::json> cluster_status(Database& db);

// The same as a readable table.
std::string cluster_status_table(const nlohmann::json& status);

}  // namespace glassbox
