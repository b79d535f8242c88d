#include "search/search_job.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "embed/model_profile.h"
#include "store/search_parts.h"

namespace glassbox {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Without shared storage a node reads only what it recorded (and its own uploads).
bool readable_here(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

Result<WatchlistMatrix> open_probe(Database& db, std::int64_t id, const TemplateKey& key, const ModelProfile& profile) {
  auto probes = probe_templates(db, id, key);
  if (!probes) return probes.error();
  WatchlistMatrix probe(profile.metric, profile.dimension);
  for (auto& vector : *probes) {
    if (auto s = probe.add(WatchlistTemplate{id, "probe", std::move(vector)}); !s) return s.error();
  }
  return probe;
}

// What decides a recording's hits: the search's mode and threshold, and the piece length, face
// size and detector size it was planned with; the workers are this node's.
SearchOptions options_for(const SearchRequest& request, const PartWork& work, const SearchJobOptions& job) {
  SearchOptions o;
  o.mode = request.mode;
  o.threshold = request.threshold;
  o.workers = job.workers;
  o.piece_s = work.piece_s;
  o.visit_gap_s = job.visit_gap_s;
  o.min_face_px = work.min_face_px;
  o.detector.max_side = work.detect_size;
  return o;
}

int batch_size(const SearchJobOptions& options) {
  if (options.part_batch > 0) return options.part_batch;
  if (options.workers > 0) return options.workers;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Claims up to `limit` parts of one search (of `search`, when given) that this node can read —
// and, with `unread_after_ms`, those no node took for that long after they were planned, which
// this node searches to report what cannot be read, as one machine would.
Result<std::vector<SearchPart>> claim_parts(Database& db, const SearchClaim& claim, std::optional<std::int64_t> search, int limit,
                                            std::optional<std::int64_t> unread_after_ms = std::nullopt) {
  const std::int64_t now_ms = unix_ms_now();
  auto candidates = claimable_search_parts(db, claim.node, now_ms, search, std::max(limit, 64));
  if (!candidates) return candidates.error();
  std::vector<SearchPart> claimed;
  for (SearchPart& p : *candidates) {
    if (!claimed.empty() && p.search_id != claimed.front().search_id) continue;
    const bool overdue = unread_after_ms && p.created_ms + *unread_after_ms <= now_ms;
    if (!readable_here(p.work.recording.path) && !overdue) continue;
    auto taken = claim_search_part(db, p.search_id, p.part, claim, now_ms);
    if (!taken) return taken.error();
    if (!*taken) continue;  // another node was first
    claimed.push_back(std::move(p));
    if (static_cast<int>(claimed.size()) >= limit) break;
  }
  return claimed;
}

// Searches `parts` (this node's claims, of one search) and stores each one's hits. Stopped —
// cancelled, `keep_going` false, or a claim found lost — it stores nothing and lets the parts go.
Result<int> search_claimed_parts(Database& db, const StoredSearch& search, const ModelProfile& profile, const WatchlistMatrix& probe,
                                 const std::vector<SearchPart>& parts, const SearchJobOptions& options, const SearchHooks& given,
                                 const SearchClaim& claim, const std::function<bool()>& keep_going) {
  std::vector<SearchRecording> recordings;
  std::vector<int> numbers;
  for (const SearchPart& p : parts) {
    recordings.push_back(p.work.recording);
    numbers.push_back(p.part);
  }
  std::atomic<bool> stop{false};
  auto next_renewal = SteadyClock::now() + std::chrono::milliseconds(claim.claim_ms / 3);
  SearchHooks hooks;
  hooks.cancel = &stop;
  hooks.progress_interval_s = std::min(given.progress_interval_s, static_cast<double>(claim.claim_ms) / 3000.0);
  hooks.on_progress = [&](const SearchProgress& p) {
    if (given.cancel != nullptr && given.cancel->load()) stop = true;
    if (SteadyClock::now() >= next_renewal) {
      next_renewal = SteadyClock::now() + std::chrono::milliseconds(claim.claim_ms / 3);
      auto ours = renew_search_parts(db, search.id, numbers, claim);
      if (ours && !*ours) stop = true;
    }
    if (keep_going && !keep_going()) stop = true;
    if (given.on_progress) given.on_progress(p);
  };
  auto found = find_hits(recordings, probe, profile, options_for(search.request, parts.front().work, options), hooks);
  if (!found || stop) {
    (void)release_search_parts(db, search.id, numbers, claim);
    if (!found) return found.error();
    return 0;
  }
  int stored = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    RecordingHits& result = found->recordings[i];
    result.stats.recordings_by_node[claim.node] = 1;
    // One refused (its claim ran out while the batch ran, and another node took it) is that
    // node's; the others are stored.
    if (store_search_part(db, search.id, numbers[i], result, claim)) ++stored;
  }
  return stored;
}

// The footage a part covers, as planned (0 for a file whose length is read only when searched).
double planned_footage_s(const SearchRecording& r) { return std::max(0.0, r.to_s.value_or(r.duration_s.value_or(r.from_s)) - r.from_s); }

// The progress of a spread search, from its parts: pieces count parts here, and the footage done
// is the planned footage in proportion to the parts done.
SearchProgress parts_progress(const SearchPartsSummary& parts, double footage_total_s, SteadyClock::time_point started) {
  SearchProgress p;
  p.pieces_total = parts.total;
  p.pieces_done = parts.done;
  p.footage_total_s = footage_total_s;
  if (parts.total > 0) p.footage_done_s = footage_total_s * parts.done / parts.total;
  p.elapsed_s = std::chrono::duration<double>(SteadyClock::now() - started).count();
  if (p.pieces_done > 0)
    p.eta_s = p.elapsed_s * static_cast<double>(p.pieces_total - p.pieces_done) / static_cast<double>(p.pieces_done);
  return p;
}

}  // namespace

Result<SearchOutcome> run_stored_search(Database& db, std::int64_t id, const TemplateKey& key, const SearchJobOptions& options,
                                        const SearchHooks& given_hooks, const SearchClaim& claim) {
  auto loaded = load_search(db, id);
  if (!loaded) return loaded.error();
  if (!loaded->has_value()) return Error{"search " + std::to_string(id) + " does not exist"};
  const StoredSearch search = std::move(**loaded);
  if (auto s = start_search(db, id, now_utc(), claim); !s) return s.error();
  const auto started = SteadyClock::now();

  auto fail = [&](const Error& e) -> Result<SearchOutcome> {
    if (auto s = fail_search(db, id, e.message, now_utc(), claim); !s) return s.error().within(e.message);
    return e;
  };
  // The run stops when the caller cancels, when a cancellation was asked through another node,
  // or when the claim is found lost; the claim is renewed every claim_ms / 3 (this thread).
  std::atomic<bool> stop{false};
  bool claim_lost = false;
  auto next_renewal = SteadyClock::now();
  auto keep_claim = [&]() -> bool {
    if (given_hooks.cancel != nullptr && given_hooks.cancel->load()) stop = true;
    if (SteadyClock::now() >= next_renewal) {
      next_renewal = SteadyClock::now() + std::chrono::milliseconds(claim.claim_ms / 3);
      auto state = renew_search(db, id, claim);
      if (state && !state->ours) claim_lost = stop = true;
      if (state && state->cancel_requested) stop = true;
    }
    return !stop;
  };
  SearchHooks hooks = given_hooks;
  hooks.cancel = &stop;
  hooks.on_progress = [&](const SearchProgress& p) {
    keep_claim();
    if (given_hooks.on_progress) given_hooks.on_progress(p);
  };
  auto profile = load_model_profile(search.request.profile);
  if (!profile) return fail(profile.error());
  auto probe = open_probe(db, id, key, *profile);
  if (!probe) return fail(probe.error());

  std::vector<SearchRecording> recordings;
  for (const std::string& file : search.request.files) recordings.push_back(SearchRecording{file, "", file});
  if (!search.request.cameras.empty()) {
    auto segments = camera_recordings(db, search.request.cameras, search.request.window_from.value_or(0), search.request.window_to.value_or(0));
    if (!segments) return fail(segments.error());
    if (segments->empty() && recordings.empty())
      return fail(Error{"no recording of the cameras named exists inside the window"});
    for (auto& r : *segments) recordings.push_back(std::move(r));
  }

  Result<SearchOutcome> outcome = Error{"not run"};
  if (!options.spread) {
    PartWork planned;
    planned.piece_s = options.piece_s;
    planned.min_face_px = options.min_face_px;
    planned.detect_size = options.detect_size;
    outcome = run_search(recordings, *probe, *profile, options_for(search.request, planned, options), hooks);
  } else {
    // The parts, written once: a coordinator that took over from a dead one keeps the first
    // plan, and what was done under it.
    std::vector<PartWork> work;
    for (SearchRecording& r : recordings) work.push_back(PartWork{std::move(r), options.piece_s, options.min_face_px, options.detect_size});
    auto parts = plan_search_parts(db, id, work, unix_ms_now());
    if (!parts) return fail(parts.error());
    recordings.clear();
    double footage_total_s = 0.0;
    for (const SearchPart& p : *parts) {
      recordings.push_back(p.work.recording);
      footage_total_s += planned_footage_s(p.work.recording);
    }
    SearchHooks batch_hooks;
    batch_hooks.cancel = given_hooks.cancel;
    batch_hooks.progress_interval_s = given_hooks.progress_interval_s;
    SearchPartsSummary latest;
    batch_hooks.on_progress = [&](const SearchProgress&) {
      if (given_hooks.on_progress) given_hooks.on_progress(parts_progress(latest, footage_total_s, started));
    };
    while (keep_claim()) {
      auto state = summarize_search_parts(db, id);
      if (!state) return fail(state.error());
      latest = std::move(*state);
      if (given_hooks.on_progress) given_hooks.on_progress(parts_progress(latest, footage_total_s, started));
      if (latest.done == latest.total) break;
      auto batch = claim_parts(db, claim, id, batch_size(options), 2 * claim.claim_ms);
      if (batch && !batch->empty()) {
        if (auto done = search_claimed_parts(db, search, *profile, *probe, *batch, options, batch_hooks, claim, keep_claim); !done)
          return fail(done.error());
        continue;
      }
      // Parts other nodes run: their hits arrive in the database.
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (!claim_lost) {
      auto results = search_part_results(db, id);
      if (!results) return fail(results.error());
      SearchHits found;
      found.cancelled = stop.load();
      found.recordings.resize(recordings.size());
      for (std::size_t i = 0; i < recordings.size() && i < results->size(); ++i)
        if ((*results)[i]) found.recordings[i] = std::move(*(*results)[i]);
      for (const RecordingHits& r : found.recordings) found.stats.add(r.stats);
      found.stats.recordings = static_cast<int>(recordings.size());
      found.stats.workers = options.workers > 0 ? options.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      outcome = outcome_of(recordings, std::move(found), probe->metric(), options.visit_gap_s);
      outcome->stats.wall_s = std::chrono::duration<double>(SteadyClock::now() - started).count();
    }
  }
  if (claim_lost) return Error{"search " + std::to_string(id) + ": node " + claim.node + " lost its claim (another node runs it now)"};
  if (!outcome) return fail(outcome.error());
  if (given_hooks.cancel != nullptr && given_hooks.cancel->load()) outcome->cancelled = true;
  if (auto s = finish_search(db, id, *outcome, now_utc(), claim); !s) return s.error();
  return outcome;
}

Result<int> run_search_parts(Database& db, const TemplateKey& key, const SearchJobOptions& options, const SearchHooks& hooks,
                             const SearchClaim& claim, std::optional<std::int64_t> search) {
  auto claimed = claim_parts(db, claim, search, batch_size(options));
  if (!claimed) return claimed.error();
  if (claimed->empty()) return 0;
  const std::int64_t id = claimed->front().search_id;
  std::vector<int> numbers;
  for (const SearchPart& p : *claimed) numbers.push_back(p.part);
  // What this node cannot open (the probe under a key it was not given) goes back at once.
  auto give_back = [&](const Error& e) -> Result<int> {
    (void)release_search_parts(db, id, numbers, claim);
    return e.within("search " + std::to_string(id));
  };
  auto stored = load_search(db, id);
  if (!stored) return give_back(stored.error());
  if (!stored->has_value()) return give_back(Error{"it does not exist"});
  auto profile = load_model_profile((*stored)->request.profile);
  if (!profile) return give_back(profile.error());
  auto probe = open_probe(db, id, key, *profile);
  if (!probe) return give_back(probe.error());
  return search_claimed_parts(db, **stored, *profile, *probe, *claimed, options, hooks, claim, {});
}

}  // namespace glassbox
