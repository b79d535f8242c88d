#include "eval/view_checks.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace glassbox::eval {
namespace {

double round6(double v) { return std::round(v * 1e6) / 1e6; }

// The closest entry of a list to one template: (position in the list, closeness).
struct Found {
  std::size_t entry = 0;
  double closeness = -1e300;
};

Found closest(Metric metric, const Vector& probe, const std::vector<const Vector*>& entries) {
  Found f;
  for (std::size_t e = 0; e < entries.size(); ++e) {
    const double c = eval::closeness(metric, native_score(metric, probe, *entries[e]));
    if (c > f.closeness) f = {e, c};
  }
  return f;
}

// The mean of templates, L2-normalised for cosine profiles (as the recognizer's own are).
Vector mean_of(Metric metric, const std::vector<const Vector*>& vectors) {
  Vector mean(vectors.front()->size(), 0.0f);
  for (const Vector* v : vectors)
    for (std::size_t d = 0; d < v->size(); ++d) mean[d] += (*v)[d] / static_cast<float>(vectors.size());
  if (metric == Metric::kCosine) {
    double norm = 0;
    for (float x : mean) norm += static_cast<double>(x) * x;
    for (float& x : mean) x = static_cast<float>(x / std::sqrt(std::max(norm, 1e-24)));
  }
  return mean;
}

// Counts of searches and misses in one bin.
struct Tally {
  std::size_t searches = 0, missed = 0;
  nlohmann::json to_json(const std::string& bin) const {
    return {{"bin", bin}, {"searches", searches}, {"missed", missed},
            {"fnir", searches ? round6(static_cast<double>(missed) / static_cast<double>(searches)) : 0.0}};
  }
};

std::string bin_of(double value, const std::vector<double>& edges, const std::vector<std::string>& labels) {
  for (std::size_t i = 0; i < edges.size(); ++i)
    if (value < edges[i]) return labels[i];
  return labels.back();
}

}  // namespace

nlohmann::json check_quality_bands(const ModelProfile& profile, const FalseMatchCalibration& calibration,
                                   const std::vector<Vector>& templates, const QualityCheck& check) {
  const Metric metric = profile.metric;
  const ThresholdInForce decided = decide_threshold(profile, &calibration, {check.target_fpir, std::nullopt, 1, false}, check.gallery.size());
  const double at_least = closeness(metric, decided.threshold);
  std::vector<const Vector*> entries;
  for (std::size_t photo : check.gallery) entries.push_back(&templates[photo]);

  // Probes, by their own quality: the band, and each part on its own.
  const std::vector<std::string> part_order = {"band", "yaw", "pitch", "sharpness", "size", "confidence"};
  std::map<std::string, std::map<std::string, Tally>> by_part;
  for (const auto& [photo, mate] : check.mated) {
    const Found f = closest(metric, templates[photo], entries);
    const bool missed = !(f.entry == mate && f.closeness >= at_least);
    auto count = [&](const std::string& part, const std::string& bin) {
      Tally& t = by_part[part][bin];
      ++t.searches;
      t.missed += missed;
    };
    const auto& q = check.quality[photo];
    if (!q) {
      count("band", "no face detected");
      continue;
    }
    count("band", quality_band(q->score));
    count("yaw", bin_of(std::abs(q->pose.yaw_deg), {15, 25, 35}, {"0-15°", "15-25°", "25-35°", "35° or more"}));
    count("pitch", bin_of(std::abs(q->pose.pitch_deg), {10, 25}, {"0-10°", "10-25°", "25° or more"}));
    count("sharpness", bin_of(q->sharpness, {0.06, 0.1, 0.2}, {"below 0.06", "0.06-0.10", "0.10-0.20", "0.20 or more"}));
    count("size", bin_of(q->size_px, {60, 90}, {"below 60 px", "60-90 px", "90 px or more"}));
    count("confidence", bin_of(q->confidence, {0.9, 0.99}, {"below 0.90", "0.90-0.99", "0.99 or more"}));
  }
  nlohmann::json probes = nlohmann::json::object();
  for (const std::string& part : part_order) {
    nlohmann::json bins = nlohmann::json::array();
    for (const auto& [bin, tally] : by_part[part]) bins.push_back(tally.to_json(bin));
    probes[part] = bins;
  }

  // Entries, by whether their photo passes enrolment's floor, and which part failed.
  std::vector<bool> passes(check.gallery.size());
  std::map<std::string, std::size_t> reasons;
  for (std::size_t g = 0; g < check.gallery.size(); ++g) {
    const auto& q = check.quality[check.gallery[g]];
    if (!q) {
      ++reasons["no face detected"];
      continue;
    }
    const QualityFloor& floor = check.floor;
    if (q->size_px < floor.min_size_px) ++reasons["size"];
    if (std::abs(q->pose.yaw_deg) > floor.max_abs_yaw_deg) ++reasons["yaw"];
    if (std::abs(q->pose.pitch_deg) > floor.max_abs_pitch_deg) ++reasons["pitch"];
    if (q->sharpness < floor.min_sharpness) ++reasons["sharpness"];
    if (q->confidence < floor.min_confidence) ++reasons["confidence"];
    passes[g] = quality_shortfalls(*q, floor).empty();
  }
  Tally mated_by_class[2];
  std::size_t false_matches[2] = {0, 0}, entries_in_class[2] = {0, 0};
  for (std::size_t g = 0; g < passes.size(); ++g) ++entries_in_class[passes[g]];
  for (const auto& [photo, mate] : check.mated) {
    const Found f = closest(metric, templates[photo], entries);
    Tally& t = mated_by_class[passes[mate]];
    ++t.searches;
    t.missed += !(f.entry == mate && f.closeness >= at_least);
  }
  for (std::size_t photo : check.non_mated) {
    const Found f = closest(metric, templates[photo], entries);
    if (f.closeness >= at_least) ++false_matches[passes[f.entry]];
  }
  nlohmann::json by_floor = nlohmann::json::array();
  for (int c : {1, 0}) {
    const double per_entry_search = entries_in_class[c] && !check.non_mated.empty()
                                        ? static_cast<double>(false_matches[c]) /
                                              (static_cast<double>(entries_in_class[c]) * static_cast<double>(check.non_mated.size()))
                                        : 0.0;
    nlohmann::json row = mated_by_class[c].to_json(c ? "entry photo passes the floor" : "entry photo below the floor");
    row["entries"] = entries_in_class[c];
    row["false_matches"] = false_matches[c];
    row["false_matches_per_entry_per_search"] = per_entry_search;
    by_floor.push_back(row);
  }
  return {{"target_fpir", check.target_fpir},
          {"list_size", check.gallery.size()},
          {"threshold", round6(decided.threshold)},
          {"floor",
           {{"min_size_px", check.floor.min_size_px},
            {"max_abs_yaw_deg", check.floor.max_abs_yaw_deg},
            {"max_abs_pitch_deg", check.floor.max_abs_pitch_deg},
            {"min_sharpness", check.floor.min_sharpness},
            {"min_confidence", check.floor.min_confidence}}},
          {"mated_searches_by_probe_quality", probes},
          {"entries_by_floor", by_floor},
          {"entries_below_floor_by_reason", reasons},
          {"non_mated_searches", check.non_mated.size()}};
}

nlohmann::json check_views_per_track(const ModelProfile& profile, const FalseMatchCalibration& calibration,
                                     const std::vector<Vector>& templates, const TrackViewsCheck& check) {
  const Metric metric = profile.metric;
  const std::size_t views = check.views;
  std::vector<const std::vector<std::size_t>*> listed, strangers;
  for (const auto& photos : check.people) {
    if (photos.size() < views + 1) continue;
    ((listed.size() + strangers.size()) % 2 == 0 ? listed : strangers).push_back(&photos);
  }
  nlohmann::json out = nlohmann::json::array();
  if (listed.empty() || strangers.empty()) return out;

  // A track: its views' templates in order, and the view a quality ranking picks.
  struct Track {
    std::vector<const Vector*> views;
    std::vector<Vector> running_means;  // of views 1..k, for k = 2..views
    std::size_t best_quality_view = 0;
  };
  auto make_track = [&](const std::vector<std::size_t>& photos, std::size_t first) {
    Track t;
    float best = -1.0f;
    for (std::size_t i = 0; i < views; ++i) {
      const std::size_t photo = photos[first + i];
      t.views.push_back(&templates[photo]);
      const float q = check.quality[photo] ? check.quality[photo]->score : 0.0f;
      if (q > best) best = q, t.best_quality_view = i;
    }
    for (std::size_t k = 2; k <= views; ++k) t.running_means.push_back(mean_of(metric, {t.views.begin(), t.views.begin() + static_cast<long>(k)}));
    return t;
  };
  std::vector<Track> stranger_tracks, listed_tracks;
  for (const auto* photos : strangers) stranger_tracks.push_back(make_track(*photos, 0));
  for (const auto* photos : listed) listed_tracks.push_back(make_track(*photos, 1));

  // Each track's searches against one list, in the order a camera would make them.
  struct Searches {
    std::vector<Found> views;  // each view alone
    std::vector<Found> means;  // view 1 alone, then the running means
  };
  auto search_track = [&](const Track& t, const std::vector<const Vector*>& entries) {
    Searches s;
    for (const Vector* v : t.views) s.views.push_back(closest(metric, *v, entries));
    s.means.push_back(s.views.front());
    for (const Vector& m : t.running_means) s.means.push_back(closest(metric, m, entries));
    return s;
  };

  const char* policies[] = {"first_view", "best_view_by_quality", "best_of_views", "running_mean"};
  std::vector<std::size_t> sizes;  // a size beyond the listed half is the whole half
  for (std::size_t requested : check.list_sizes) {
    const std::size_t size = std::min(requested, listed.size());
    if (size > 0 && std::find(sizes.begin(), sizes.end(), size) == sizes.end()) sizes.push_back(size);
  }
  for (std::size_t size : sizes) {
    const std::size_t lists = listed.size() / size;
    std::vector<Searches> stranger_searches, mated_searches;
    std::vector<std::size_t> mate_of;  // position of the mated track's person in its list
    std::vector<const Track*> mated_track_of;
    std::vector<const Track*> stranger_track_of;
    for (std::size_t l = 0; l < lists; ++l) {
      std::vector<const Vector*> entries;
      for (std::size_t k = l * size; k < (l + 1) * size; ++k) entries.push_back(&templates[listed[k]->front()]);
      for (const Track& t : stranger_tracks) {
        stranger_searches.push_back(search_track(t, entries));
        stranger_track_of.push_back(&t);
      }
      for (std::size_t k = l * size; k < (l + 1) * size; ++k) {
        mated_searches.push_back(search_track(listed_tracks[k], entries));
        mate_of.push_back(k - l * size);
        mated_track_of.push_back(&listed_tracks[k]);
      }
    }
    // What a policy decides for one track at a threshold: the search that alerts, if any, and
    // after how many views.
    auto decide = [&](const std::string& policy, const Searches& s, const Track& t, double at_least,
                      std::size_t views_allowed) -> std::optional<std::pair<Found, std::size_t>> {
      if (policy == "first_view") {
        if (s.views.front().closeness >= at_least) return std::make_pair(s.views.front(), std::size_t{1});
        return std::nullopt;
      }
      if (policy == "best_view_by_quality") {
        const Found& f = s.views[t.best_quality_view];
        if (f.closeness >= at_least) return std::make_pair(f, t.best_quality_view + 1);
        return std::nullopt;
      }
      const auto& sequence = policy == "best_of_views" ? s.views : s.means;
      for (std::size_t i = 0; i < std::min(sequence.size(), views_allowed); ++i)
        if (sequence[i].closeness >= at_least) return std::make_pair(sequence[i], i + 1);
      return std::nullopt;
    };
    for (double target : check.target_fpirs) {
      nlohmann::json rows = nlohmann::json::array();
      for (const char* basis : {"per_search", "per_track"}) {
        const bool per_track = std::string(basis) == "per_track";
        // Per track as deployed: the views share the target, and fewer of them where the
        // calibration cannot show a smaller share.
        const ThresholdInForce decided = decide_threshold(profile, &calibration, {target, std::nullopt, per_track ? views : 1, per_track}, size);
        const std::size_t views_allowed = per_track ? decided.searches_per_track : views;
        const double at_least = closeness(metric, decided.threshold);
        for (const char* policy : policies) {
          std::size_t false_tracks = 0, found = 0, wrong = 0, views_to_find = 0;
          for (std::size_t i = 0; i < stranger_searches.size(); ++i)
            false_tracks += decide(policy, stranger_searches[i], *stranger_track_of[i], at_least, views_allowed).has_value();
          for (std::size_t i = 0; i < mated_searches.size(); ++i) {
            const auto d = decide(policy, mated_searches[i], *mated_track_of[i], at_least, views_allowed);
            if (!d) continue;
            if (d->first.entry == mate_of[i]) {
              ++found;
              views_to_find += d->second;
            } else {
              ++wrong;
            }
          }
          const double trials = static_cast<double>(stranger_searches.size());
          rows.push_back({{"policy", policy},
                          {"threshold_basis", basis},
                          {"threshold", round6(decided.threshold)},
                          {"views_searched", views_allowed},
                          {"at_calibration_limit", decided.at_calibration_limit},
                          {"false_tracks", false_tracks},
                          {"fpir_per_track", round6(static_cast<double>(false_tracks) / trials)},
                          {"fpir_per_track_95", wilson95(false_tracks, stranger_searches.size())},
                          {"fnir", round6(1.0 - static_cast<double>(found) / static_cast<double>(mated_searches.size()))},
                          {"mated_tracks_named_wrongly", wrong},
                          {"mean_views_to_find", found ? round6(static_cast<double>(views_to_find) / static_cast<double>(found)) : 0.0}});
        }
      }
      out.push_back({{"list_size", size},
                     {"lists", lists},
                     {"target_fpir", target},
                     {"views_per_track", views},
                     {"stranger_track_searches", stranger_searches.size()},
                     {"mated_tracks", mated_searches.size()},
                     {"rows", rows}});
    }
  }
  return out;
}

}  // namespace glassbox::eval
