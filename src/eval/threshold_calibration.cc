#include "eval/threshold_calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>

namespace glassbox::eval {
namespace {

double round6(double v) { return std::round(v * 1e6) / 1e6; }

}  // namespace

double closeness(Metric metric, double score) { return metric == Metric::kEuclidean ? -score : score; }

nlohmann::json wilson95(std::size_t events, std::size_t trials) {
  if (trials == 0) return nlohmann::json::array({0.0, 1.0});
  const double z = 1.959964, n = static_cast<double>(trials), p = static_cast<double>(events) / n;
  const double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
  return nlohmann::json::array({round6(std::max(0.0, centre - half)), round6(std::min(1.0, centre + half))});
}

double native_score(Metric metric, const Vector& a, const Vector& b) {
  double dot = 0.0, squared = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    const double d = static_cast<double>(a[i]) - b[i];
    squared += d * d;
  }
  return metric == Metric::kCosine ? dot : std::sqrt(squared);
}

Result<FalseMatchCalibration> measure_false_match_rates(Metric metric, const std::vector<Vector>& templates, const std::vector<std::size_t>& photos,
                                                       const std::string& source, std::vector<std::pair<std::size_t, std::size_t>>* closest) {
  if (photos.size() < 2) return Error{"a calibration needs at least two people"};
  struct Pair {
    double close;  // closeness, higher is closer
    std::uint32_t a, b;
  };
  std::vector<Pair> pairs;
  pairs.reserve(photos.size() * (photos.size() - 1) / 2);
  for (std::size_t i = 0; i < photos.size(); ++i)
    for (std::size_t j = i + 1; j < photos.size(); ++j)
      pairs.push_back({closeness(metric, native_score(metric, templates[photos[i]], templates[photos[j]])), static_cast<std::uint32_t>(i),
                       static_cast<std::uint32_t>(j)});
  std::sort(pairs.begin(), pairs.end(), [](const Pair& x, const Pair& y) { return x.close > y.close; });
  if (closest != nullptr) {
    closest->clear();
    for (std::size_t k = 0; k < std::min<std::size_t>(10, pairs.size()); ++k) closest->emplace_back(photos[pairs[k].a], photos[pairs[k].b]);
  }
  const std::size_t n = pairs.size();
  // A rate is estimated from the comparisons that reach it; from fewer than ten its relative
  // error is over 30%, and the first few are where label noise sits: the table starts at ten.
  constexpr std::size_t kFewestComparisons = 10;
  if (n < kFewestComparisons) return Error{"a calibration needs at least " + std::to_string(kFewestComparisons) + " comparisons"};
  std::vector<FalseMatchCalibration::Point> points;
  std::size_t previous = 0;
  for (int step = 0;; ++step) {
    const std::size_t k = std::min(n, static_cast<std::size_t>(std::llround(std::pow(10.0, step / 20.0))));
    if (k > previous && k >= kFewestComparisons) {
      // The k closest comparisons are at least as close as the k-th; ties beyond it count too.
      std::size_t at_least = k;
      while (at_least < n && pairs[at_least].close == pairs[k - 1].close) ++at_least;
      if (points.empty() || static_cast<double>(at_least) / static_cast<double>(n) > points.back().false_match_rate)
        points.push_back({closeness(metric, pairs[k - 1].close), static_cast<double>(at_least) / static_cast<double>(n)});
      previous = k;
    }
    if (k == n) break;
  }
  auto table = FalseMatchCalibration::make(metric, points, n, 1.0, source);
  if (!table) return table.error();

  // The exponent: every other person forms lists, the rest search them. For each list size, the
  // threshold at which 1 in 100 searches matches someone is found; there the FMR says how many
  // independent comparisons the list was worth, and log(worth) = g log(size) is fitted.
  std::vector<std::size_t> listed, searching;
  for (std::size_t i = 0; i < photos.size(); ++i) (i % 2 == 0 ? listed : searching).push_back(photos[i]);
  constexpr double kLevel = 1e-2;
  double sum_xy = 0, sum_xx = 0;
  for (std::size_t size : {std::size_t{10}, std::size_t{100}, std::size_t{1000}}) {
    const std::size_t lists = listed.size() / size;
    if (lists == 0) continue;
    std::vector<double> best;  // closeness of each search's best in its list
    for (std::size_t l = 0; l < lists; ++l)
      for (std::size_t p : searching) {
        double b = -1e300;
        for (std::size_t k = l * size; k < (l + 1) * size; ++k) b = std::max(b, closeness(metric, native_score(metric, templates[p], templates[listed[k]])));
        best.push_back(b);
      }
    const std::size_t at = static_cast<std::size_t>(kLevel * static_cast<double>(best.size()));
    if (at < 5) continue;  // too few false matches to place the level
    std::nth_element(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(at), best.end(), std::greater<>());
    const double rate = table->false_match_rate(closeness(metric, best[at]));
    const double worth = std::log1p(-kLevel) / std::log1p(-rate);
    sum_xy += std::log(std::max(worth, 1.0)) * std::log(static_cast<double>(size));
    sum_xx += std::log(static_cast<double>(size)) * std::log(static_cast<double>(size));
  }
  const double exponent = sum_xx > 0 ? std::clamp(sum_xy / sum_xx, 0.5, 1.0) : 1.0;
  return FalseMatchCalibration::make(metric, std::move(points), n, exponent, source);
}

nlohmann::json check_thresholds_by_list_size(const ModelProfile& profile, const FalseMatchCalibration& calibration,
                                             const std::vector<Vector>& templates, const ListSizeCheck& check) {
  const Metric metric = profile.metric;
  const std::size_t g = check.gallery.size();
  // Every search's score against every gallery person, once.
  auto scores_against_gallery = [&](std::size_t photo) {
    std::vector<double> s(g);
    for (std::size_t k = 0; k < g; ++k) s[k] = native_score(metric, templates[photo], templates[check.gallery[k]]);
    return s;
  };
  std::vector<std::vector<double>> non_mated, mated;
  for (std::size_t photo : check.non_mated) non_mated.push_back(scores_against_gallery(photo));
  for (const auto& [photo, mate] : check.mated) mated.push_back(scores_against_gallery(photo));

  nlohmann::json sizes = nlohmann::json::array();
  for (std::size_t size : check.list_sizes) {
    if (size == 0 || size > g) continue;
    const std::size_t lists = g / size;
    // Per list and search: the best score in the list, and for mated searches whether it is the mate's.
    struct Best {
      double score;
      bool is_mate;
    };
    std::vector<Best> non_mated_best, mated_best;
    for (std::size_t l = 0; l < lists; ++l) {
      const std::size_t first = l * size, last = first + size;
      auto best_in = [&](const std::vector<double>& s) {
        std::size_t best = first;
        for (std::size_t k = first + 1; k < last; ++k)
          if (closeness(metric, s[k]) > closeness(metric, s[best])) best = k;
        return best;
      };
      for (const auto& s : non_mated) non_mated_best.push_back({s[best_in(s)], false});
      for (std::size_t m = 0; m < mated.size(); ++m) {
        const std::size_t mate = check.mated[m].second;
        if (mate < first || mate >= last) continue;
        const std::size_t best = best_in(mated[m]);
        mated_best.push_back({mated[m][best], best == mate});
      }
    }
    auto measure = [&](double threshold) {
      std::size_t false_matches = 0, missed = 0;
      for (const Best& b : non_mated_best) false_matches += ModelProfile::is_match(metric, b.score, threshold);
      for (const Best& b : mated_best) missed += !(b.is_mate && ModelProfile::is_match(metric, b.score, threshold));
      const double fpir = non_mated_best.empty() ? 0.0 : static_cast<double>(false_matches) / static_cast<double>(non_mated_best.size());
      const double fnir = mated_best.empty() ? 0.0 : static_cast<double>(missed) / static_cast<double>(mated_best.size());
      return nlohmann::json{{"threshold", round6(threshold)},
                            {"false_matches", false_matches},
                            {"fpir_measured", round6(fpir)},
                            {"fpir_measured_95", wilson95(false_matches, non_mated_best.size())},
                            {"predicted_fpir", round6(calibration.fpir(threshold, size))},
                            {"missed", missed},
                            {"fnir", round6(fnir)}};
    };
    nlohmann::json targets = nlohmann::json::array();
    for (double target : check.target_fpirs) {
      const ThresholdInForce decided = decide_threshold(profile, &calibration, {target, std::nullopt, 1, false}, size);
      nlohmann::json row = measure(decided.threshold);
      row["target_fpir"] = target;
      row["at_calibration_limit"] = decided.at_calibration_limit;
      row["measured_over_target"] = round6(row["fpir_measured"].get<double>() / target);
      targets.push_back(row);
    }
    sizes.push_back({{"list_size", size},
                     {"lists", lists},
                     {"non_mated_searches", non_mated_best.size()},
                     {"mated_searches", mated_best.size()},
                     {"at_target", targets},
                     {"at_fixed_threshold", measure(profile.threshold)}});
  }
  return sizes;
}

nlohmann::json check_entries_of_several_photos(const ModelProfile& profile, const FalseMatchCalibration& calibration,
                                               const std::vector<Vector>& templates, const SeveralPhotosCheck& check) {
  const Metric metric = profile.metric;
  std::vector<const std::vector<std::size_t>*> people;
  for (const auto& photos : check.people)
    if (photos.size() > check.max_photos) people.push_back(&photos);
  nlohmann::json rows = nlohmann::json::array();
  if (people.empty()) return rows;

  for (std::size_t k = 1; k <= check.max_photos; ++k) {
    for (const char* method : {"best_of", "mean_template"}) {
      const bool mean = std::string(method) == "mean_template";
      if (mean && k == 1) continue;  // one photo: the two are the same
      // Each entry's templates: its k photos, or their mean.
      std::vector<std::vector<Vector>> entries;
      for (const auto* photos : people) {
        std::vector<Vector> rows_of_entry;
        for (std::size_t i = 0; i < k; ++i) rows_of_entry.push_back(templates[(*photos)[i]]);
        if (mean) {
          Vector average(rows_of_entry.front().size(), 0.0f);
          for (const Vector& v : rows_of_entry)
            for (std::size_t d = 0; d < v.size(); ++d) average[d] += v[d] / static_cast<float>(k);
          if (metric == Metric::kCosine) {
            double norm = 0;
            for (float x : average) norm += static_cast<double>(x) * x;
            for (float& x : average) x = static_cast<float>(x / std::sqrt(std::max(norm, 1e-24)));
          }
          rows_of_entry = {average};
        }
        entries.push_back(std::move(rows_of_entry));
      }
      std::size_t list_templates = 0;
      for (const auto& e : entries) list_templates += e.size();
      // A search's best entry and score.
      auto search = [&](std::size_t photo) {
        std::size_t best_entry = 0;
        double best = -1e300;
        for (std::size_t e = 0; e < entries.size(); ++e)
          for (const Vector& v : entries[e]) {
            const double c = closeness(metric, native_score(metric, templates[photo], v));
            if (c > best) best = c, best_entry = e;
          }
        return std::make_pair(best_entry, best);
      };
      std::vector<double> non_mated_best;
      for (std::size_t photo : check.non_mated) non_mated_best.push_back(search(photo).second);
      std::vector<std::pair<bool, double>> mated_best;  // (rank-1 is the mate, closeness)
      for (std::size_t e = 0; e < people.size(); ++e)
        for (std::size_t i = check.max_photos; i < people[e]->size(); ++i) {
          const auto [entry, best] = search((*people[e])[i]);
          mated_best.emplace_back(entry == e, best);
        }
      auto fnir_at = [&](double closeness_threshold) {
        std::size_t missed = 0;
        for (const auto& [is_mate, c] : mated_best) missed += !(is_mate && c >= closeness_threshold);
        return static_cast<double>(missed) / static_cast<double>(mated_best.size());
      };
      nlohmann::json at_measured = nlohmann::json::object();
      std::vector<double> sorted = non_mated_best;
      std::sort(sorted.begin(), sorted.end(), std::greater<>());
      for (double fpir : {1e-2, 1e-3}) {
        // The threshold just above the (fpir * n)-th closest non-mated search: at most that share passes.
        const std::size_t allowed = static_cast<std::size_t>(fpir * static_cast<double>(sorted.size()));
        const double t = allowed < sorted.size() ? std::nextafter(sorted[allowed], 1e300) : -1e300;
        at_measured[fpir == 1e-2 ? "1e-2" : "1e-3"] = round6(fnir_at(t));
      }
      const ThresholdInForce deployed = decide_threshold(profile, &calibration, {1e-3, std::nullopt, 1, false}, list_templates);
      const double t = closeness(metric, deployed.threshold);
      std::size_t false_matches = 0;
      for (double c : non_mated_best) false_matches += c >= t;
      rows.push_back({{"photos_per_entry", k},
                      {"method", method},
                      {"entries", entries.size()},
                      {"list_templates", list_templates},
                      {"mated_searches", mated_best.size()},
                      {"non_mated_searches", non_mated_best.size()},
                      {"fnir_at_measured_fpir", at_measured},
                      {"at_target_1e-3",
                       {{"threshold", deployed.threshold},
                        {"at_calibration_limit", deployed.at_calibration_limit},
                        {"fpir_measured", round6(static_cast<double>(false_matches) / static_cast<double>(non_mated_best.size()))},
                        {"fnir", round6(fnir_at(t))}}}});
    }
  }
  return rows;
}

}  // namespace glassbox::eval
