// A search's recordings as parts that a cluster's nodes claim one at a time (docs/cluster.md,
// "Searches across nodes"; SQLite schema v15, PostgreSQL v10): the node that runs the search
// (its coordinator) writes one part per recording, with what to read and how; any node that can
// read a part claims it for a time it renews, searches it, and stores its hits — the probe's
// matches only, never another face — under that claim; a part whose claim ran out is taken by
// another node. The coordinator groups the hits of every part into visits, as one machine
// would, and the parts and their hits are deleted with the search's finish.
// Thread-safety: functions on a connection the caller owns (one thread at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/search_runner.h"
#include "store/database.h"
#include "store/search_store.h"

namespace glassbox {

// What a part reads and how: the recording, and the options that decide its hits (the same on
// every node, whatever each node's configuration says).
struct PartWork {
  SearchRecording recording;
  double piece_s = 60.0;
  int min_face_px = 32;
  int detect_size = 640;
  nlohmann::json to_json() const;
  static PartWork from_json(const nlohmann::json& j);
};

struct SearchPart {
  std::int64_t search_id = 0;
  int part = 0;  // the recording's place in the search's list
  PartWork work;
  std::string state;                  // pending, running, done
  std::optional<std::string> runner;  // the node that runs it, or ran it
  std::int64_t runner_until_ms = 0;
  int runs = 0;
  std::int64_t created_ms = 0;
};

// One part per work item, unless the search has parts already (a coordinator that took over
// from a dead one keeps what was done). Returns the search's parts.
Result<std::vector<SearchPart>> plan_search_parts(Database& db, std::int64_t id, const std::vector<PartWork>& work, std::int64_t now_ms);
Result<std::vector<SearchPart>> load_search_parts(Database& db, std::int64_t id);
// Parts that may be claimed now — pending, or running under a claim that ran out — of running
// searches (only `search`, when given): those `node` recorded first, then by search and part.
Result<std::vector<SearchPart>> claimable_search_parts(Database& db, const std::string& node, std::int64_t now_ms,
                                                       std::optional<std::int64_t> search, int limit);
// Takes a part for claim.node if it is still claimable (decided on the row); false when another
// node was first.
Result<bool> claim_search_part(Database& db, std::int64_t id, int part, const SearchClaim& claim, std::int64_t now_ms);
// Extends claim.node's claims on `parts`; false when one of them is no longer its (retaken by
// another node, or the search ended and its parts are gone).
Result<bool> renew_search_parts(Database& db, std::int64_t id, const std::vector<int>& parts, const SearchClaim& claim);
// Lets claim.node's claims on `parts` go at once (a batch stopped before its end), for any node
// to take.
Status release_search_parts(Database& db, std::int64_t id, const std::vector<int>& parts, const SearchClaim& claim);
// Stores a part's hits (crops as PNG: the evidence the coordinator picks is one machine's to the
// pixel), error and counts, and marks it done — refused, with nothing written, when the part is
// no longer claim.node's.
Status store_search_part(Database& db, std::int64_t id, int part, const RecordingHits& result, const SearchClaim& claim);
// The results of the search's done parts, by part (hits' `recording` is the part); a part not
// done yet has none.
Result<std::vector<std::optional<RecordingHits>>> search_part_results(Database& db, std::int64_t id);
// Deletes the parts and their hits (with the search's finish, failure, cancellation, expiry).
Status delete_search_parts(Database& db, std::int64_t id);
// Where a search's parts stand, read without the whole list (a camera search over weeks has
// thousands): counts by state, and the parts running now (a few per node).
struct SearchPartsSummary {
  int total = 0;
  int pending = 0;
  int done = 0;
  std::vector<SearchPart> running;
  // What GET /api/searches/{id} shows: {total, pending, done, running: [{source, runner, runs}]}.
  nlohmann::json to_json() const;
};
Result<SearchPartsSummary> summarize_search_parts(Database& db, std::int64_t id);

}  // namespace glassbox
