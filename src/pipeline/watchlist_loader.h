// Loads the watchlist that may match right now — active, unexpired entries with a template for
// the profile — into a WatchlistMatrix, and says which active entries cannot match with this
// profile because they were enrolled with another one.
// Thread-safety: uses the caller's store on the caller's thread.
#pragma once

#include <vector>

#include "embed/model_profile.h"
#include "match/watchlist_matrix.h"
#include "store/watchlist_store.h"

namespace glassbox {

struct LoadedWatchlist {
  WatchlistMatrix matrix;
  std::vector<std::int64_t> entries_without_template;  // active entries the profile cannot match
};

Result<LoadedWatchlist> load_watchlist(WatchlistStore& store, const ModelProfile& profile, UnixSeconds now);

}  // namespace glassbox
