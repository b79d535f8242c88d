// Running a stored, approved search from start to end — the one path for `glassbox search` and
// the service's search worker: mark it running (audited), open its probes, list its recordings
// (files, or the camera segments inside its window), run it, and store the outcome (audited).
// In a cluster the recordings are spread over the nodes as parts (store/search_parts.h): the
// node that runs the search coordinates, every node searches the parts it can read, and the
// coordinator groups their hits into visits as one machine would (docs/cluster.md).
// Thread-safety: one call per connection; `db` is used only by the calling thread.
#pragma once

#include <cstdint>
#include <optional>

#include "search/search_runner.h"
#include "store/search_store.h"

namespace glassbox {

struct SearchJobOptions {
  int workers = 0;
  double piece_s = 60.0;
  double visit_gap_s = 10.0;
  int min_face_px = 32;
  int detect_size = 640;  // longer side of the image the detector sees
  // Spread the search's recordings over a cluster's nodes as parts; this node claims at most
  // `part_batch` parts at a time (0: as many as it has workers).
  bool spread = false;
  int part_batch = 0;
};

// Fails (and marks the search failed, when it got as far as starting) only when the search could
// not run at all: not approved, no probe, models missing, no recording in its window. Runs under
// `claim`, renewed every claim_ms / 3 on `db` from the progress hook: a claim found lost (another
// node took the search) or a cancellation asked through any node stops the run; a lost claim
// stores nothing.
// With options.spread, the search's parts are written (or, for a search taken over, kept), and
// this node searches the parts it can read while other nodes search theirs; a part no node
// claimed for two claims' time is searched here, reporting what cannot be read, as one machine
// would.
Result<SearchOutcome> run_stored_search(Database& db, std::int64_t id, const TemplateKey& key, const SearchJobOptions& options,
                                        const SearchHooks& hooks, const SearchClaim& claim = {});

// A node's share of other nodes' searches: claims up to options.part_batch parts it can read
// (of `search`, when given), searches them under claims renewed every claim_ms / 3, and stores
// their hits. A part whose claim is found lost, or a batch cancelled, stores nothing and lets
// its parts go at once. Returns how many parts it stored (0: none to do).
Result<int> run_search_parts(Database& db, const TemplateKey& key, const SearchJobOptions& options, const SearchHooks& hooks,
                             const SearchClaim& claim, std::optional<std::int64_t> search = std::nullopt);

}  // namespace glassbox
