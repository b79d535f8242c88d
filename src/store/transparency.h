// Transparency statistics: what a deployment did in a period — frames and faces analysed by the
// live service, alerts raised, confirmed and dismissed (false alerts), entries added, approved,
// revoked and expired, searches run — from the database, in a form fit to publish (JSON and a
// readable table). Also records the live service's analysis counts per day and camera.
// On either backend (store/database.h).
// Thread-safety: functions on a connection the caller owns.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/dates.h"
#include "store/database.h"

namespace glassbox {

struct AnalysisCounts {
  std::uint64_t frames_analysed = 0;
  std::uint64_t faces_detected = 0;
  std::uint64_t faces_embedded = 0;
};

// Adds `counts` to the camera's row for the UTC day of `now`.
Status add_analysis_counts(Database& db, const std::string& camera, const AnalysisCounts& counts, UnixSeconds now);

struct TransparencyPeriod {
  UnixSeconds from = 0;  // inclusive
  UnixSeconds to = 0;    // exclusive
};

// The statistics of [from, to) for `deployment` (a label), as a JSON object.
Result<nlohmann::json> transparency_report(Database& db, const std::string& deployment, TransparencyPeriod period, UnixSeconds now);
// The same report as a plain-text table.
std::string transparency_table(const nlohmann::json& report);

}  // namespace glassbox
