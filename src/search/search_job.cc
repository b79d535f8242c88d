#include "search/search_job.h"

#include <atomic>
#include <chrono>

#include "embed/model_profile.h"

namespace glassbox {

Result<SearchOutcome> run_stored_search(Database& db, std::int64_t id, const TemplateKey& key, const SearchJobOptions& options,
                                        const SearchHooks& given_hooks, const SearchClaim& claim) {
  auto loaded = load_search(db, id);
  if (!loaded) return loaded.error();
  if (!loaded->has_value()) return Error{"search " + std::to_string(id) + " does not exist"};
  const StoredSearch search = std::move(**loaded);
  if (auto s = start_search(db, id, now_utc(), claim); !s) return s.error();

  auto fail = [&](const Error& e) -> Result<SearchOutcome> {
    if (auto s = fail_search(db, id, e.message, now_utc(), claim); !s) return s.error().within(e.message);
    return e;
  };
  // The run stops when the caller cancels, when a cancellation was asked through another node,
  // or when the claim is found lost; the claim is renewed from the progress hook (this thread).
  std::atomic<bool> stop{false};
  bool claim_lost = false;
  auto next_renewal = std::chrono::steady_clock::now();
  SearchHooks hooks = given_hooks;
  hooks.cancel = &stop;
  hooks.on_progress = [&](const SearchProgress& p) {
    if (given_hooks.cancel != nullptr && given_hooks.cancel->load()) stop = true;
    if (std::chrono::steady_clock::now() >= next_renewal) {
      next_renewal = std::chrono::steady_clock::now() + std::chrono::milliseconds(claim.claim_ms / 3);
      auto state = renew_search(db, id, claim);
      if (state && !state->ours) claim_lost = stop = true;
      if (state && state->cancel_requested) stop = true;
    }
    if (given_hooks.on_progress) given_hooks.on_progress(p);
  };
  auto profile = load_model_profile(search.request.profile);
  if (!profile) return fail(profile.error());
  auto probes = probe_templates(db, id, key);
  if (!probes) return fail(probes.error());
  WatchlistMatrix probe(profile->metric, profile->dimension);
  for (auto& vector : *probes) {
    if (auto s = probe.add(WatchlistTemplate{id, "probe", std::move(vector)}); !s) return fail(s.error());
  }

  std::vector<SearchRecording> recordings;
  for (const std::string& file : search.request.files) recordings.push_back(SearchRecording{file, "", file});
  if (!search.request.cameras.empty()) {
    auto segments = camera_recordings(db, search.request.cameras, search.request.window_from.value_or(0), search.request.window_to.value_or(0));
    if (!segments) return fail(segments.error());
    if (segments->empty() && recordings.empty())
      return fail(Error{"no recording of the cameras named exists inside the window"});
    for (auto& r : *segments) recordings.push_back(std::move(r));
  }

  SearchOptions run_options;
  run_options.mode = search.request.mode;
  run_options.threshold = search.request.threshold;
  run_options.workers = options.workers;
  run_options.piece_s = options.piece_s;
  run_options.visit_gap_s = options.visit_gap_s;
  run_options.min_face_px = options.min_face_px;
  run_options.detector.max_side = options.detect_size;
  auto outcome = run_search(recordings, probe, *profile, run_options, hooks);
  if (claim_lost) return Error{"search " + std::to_string(id) + ": node " + claim.node + " lost its claim (another node runs it now)"};
  if (!outcome) return fail(outcome.error());
  if (given_hooks.cancel != nullptr && given_hooks.cancel->load()) outcome->cancelled = true;
  if (auto s = finish_search(db, id, *outcome, now_utc(), claim); !s) return s.error();
  return outcome;
}

}  // namespace glassbox
