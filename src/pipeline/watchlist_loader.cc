#include "pipeline/watchlist_loader.h"

namespace glassbox {

Result<LoadedWatchlist> load_watchlist(WatchlistStore& store, const ModelProfile& profile, UnixSeconds now) {
  auto rows = store.active_templates(profile.name, now);
  if (!rows) return rows.error();
  LoadedWatchlist loaded{WatchlistMatrix(profile.metric, profile.dimension), {}};
  for (const WatchlistTemplate& row : *rows) {
    if (auto s = loaded.matrix.add(row); !s) return s.error();
  }
  auto missing = store.active_entries_without(profile.name, now);
  if (!missing) return missing.error();
  loaded.entries_without_template = std::move(*missing);
  return loaded;
}

}  // namespace glassbox
