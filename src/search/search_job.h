// Running a stored, approved search from start to end — the one path for `glassbox search` and
// the service's search worker: mark it running (audited), open its probes, list its recordings
// (files, or the camera segments inside its window), run it, and store the outcome (audited).
// Thread-safety: one call per connection; `db` is used only by the calling thread.
#pragma once

#include <cstdint>

#include "search/search_runner.h"
#include "store/search_store.h"

namespace glassbox {

struct SearchJobOptions {
  int workers = 0;
  double piece_s = 60.0;
  double visit_gap_s = 10.0;
  int min_face_px = 32;
  int detect_size = 640;  // longer side of the image the detector sees
};

// Fails (and marks the search failed, when it got as far as starting) only when the search could
// not run at all: not approved, no probe, models missing, no recording in its window. Runs under
// `claim`, renewed every claim_ms / 3 on `db` from the progress hook: a claim found lost (another
// node took the search) or a cancellation asked through any node stops the run; a lost claim
// stores nothing.
Result<SearchOutcome> run_stored_search(Database& db, std::int64_t id, const TemplateKey& key, const SearchJobOptions& options,
                                        const SearchHooks& hooks, const SearchClaim& claim = {});

}  // namespace glassbox
