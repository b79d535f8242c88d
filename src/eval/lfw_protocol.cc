#include "eval/lfw_protocol.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <sstream>

namespace glassbox::eval {

Result<std::vector<LfwPair>> parse_pairs(const std::string& text) {
  std::istringstream in(text);
  int folds = 0, per_fold = 0;
  if (!(in >> folds >> per_fold) || folds <= 0 || per_fold <= 0 || folds > 100 || per_fold > 100000)
    return Error{"pairs.txt: first line must be '<folds> <pairs per fold>'"};
  std::string line;
  std::getline(in, line);
  std::vector<LfwPair> pairs;
  for (int fold = 0; fold < folds; ++fold) {
    for (int i = 0; i < 2 * per_fold; ++i) {
      if (!std::getline(in, line)) return Error{"pairs.txt: ends in fold " + std::to_string(fold + 1)};
      std::istringstream fields(line);
      LfwPair p;
      p.fold = fold;
      p.same = i < per_fold;
      const bool ok = p.same ? static_cast<bool>(fields >> p.name_a >> p.index_a >> p.index_b)
                             : static_cast<bool>(fields >> p.name_a >> p.index_a >> p.name_b >> p.index_b);
      if (!ok || p.index_a <= 0 || p.index_b <= 0) return Error{"pairs.txt: malformed line '" + line + "'"};
      if (p.same) p.name_b = p.name_a;
      pairs.push_back(std::move(p));
    }
  }
  return pairs;
}

std::filesystem::path lfw_photo(const std::filesystem::path& images_dir, const std::string& name, int index) {
  char number[16];
  std::snprintf(number, sizeof number, "_%04d.jpg", index);
  return images_dir / name / (name + number);
}

Result<std::map<std::string, int>> list_people(const std::filesystem::path& images_dir) {
  std::map<std::string, int> people;
  std::error_code ec;
  for (const auto& person : std::filesystem::directory_iterator(images_dir, ec)) {
    if (!person.is_directory()) continue;
    int count = 0;
    for (const auto& photo : std::filesystem::directory_iterator(person.path())) count += photo.path().extension() == ".jpg";
    if (count > 0) people[person.path().filename().string()] = count;
  }
  if (ec) return Error{images_dir.string() + ": " + ec.message()};
  if (people.empty()) return Error{images_dir.string() + ": no LFW person folders"};
  return people;
}

double best_accuracy_threshold(const std::vector<double>& scores, const std::vector<bool>& same) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Threshold below everything: every pair accepted, correct = number of genuine pairs.
  long correct = std::count(same.begin(), same.end(), true);
  long best = correct;
  double best_threshold = scores.empty() ? 0.0 : scores[order.front()] - 1e-9;
  for (std::size_t i = 0; i < order.size(); ++i) {
    // Raising the threshold to scores[order[i]] rejects this pair.
    correct += same[order[i]] ? -1 : 1;
    const bool tie_next = i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]];
    if (!tie_next && correct > best) {
      best = correct;
      best_threshold = i + 1 < order.size() ? (scores[order[i]] + scores[order[i + 1]]) / 2.0 : scores[order[i]] + 1e-9;
    }
  }
  return best_threshold;
}

KFoldResult kfold_accuracy(const std::vector<LfwPair>& pairs, int folds,
                           const std::function<std::vector<double>(int)>& scores_for_fold) {
  KFoldResult result;
  for (int k = 0; k < folds; ++k) {
    const std::vector<double> scores = scores_for_fold(k);
    std::vector<double> train_scores;
    std::vector<bool> train_same;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (pairs[i].fold == k) continue;
      train_scores.push_back(scores[i]);
      train_same.push_back(pairs[i].same);
    }
    const double threshold = best_accuracy_threshold(train_scores, train_same);
    long correct = 0, total = 0;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (pairs[i].fold != k) continue;
      ++total;
      correct += (scores[i] > threshold) == pairs[i].same;
    }
    result.fold_accuracy.push_back(total > 0 ? static_cast<double>(correct) / total : 0.0);
    result.fold_threshold.push_back(threshold);
  }
  const double n = static_cast<double>(result.fold_accuracy.size());
  result.mean = std::accumulate(result.fold_accuracy.begin(), result.fold_accuracy.end(), 0.0) / n;
  double var = 0.0;
  for (double a : result.fold_accuracy) var += (a - result.mean) * (a - result.mean);
  result.stddev = std::sqrt(var / n);
  return result;
}

namespace {

// The threshold leaving at most floor(rate * n) of `negatives` above it: the (k+1)-th highest.
std::pair<double, double> threshold_for_rate(std::vector<double> negatives, double rate) {
  std::sort(negatives.begin(), negatives.end(), std::greater<>());
  const auto allowed = static_cast<std::size_t>(std::floor(rate * static_cast<double>(negatives.size()) + 1e-9));
  if (negatives.empty()) return {0.0, 0.0};
  const double threshold = allowed < negatives.size() ? negatives[allowed] : negatives.back() - 1e-9;
  const auto above = static_cast<double>(std::count_if(negatives.begin(), negatives.end(), [&](double s) { return s > threshold; }));
  return {threshold, above / static_cast<double>(negatives.size())};
}

}  // namespace

OperatingPoint tar_at_far(const std::vector<double>& genuine, const std::vector<double>& impostor, double far) {
  const auto [threshold, achieved] = threshold_for_rate(impostor, far);
  // Copied for the lambda: clang (the fuzzing build) does not capture structured bindings.
  const double cut = threshold;
  const auto accepted = static_cast<double>(std::count_if(genuine.begin(), genuine.end(), [cut](double s) { return s > cut; }));
  return {threshold, genuine.empty() ? 0.0 : accepted / static_cast<double>(genuine.size()), achieved};
}

std::vector<CurvePoint> roc_curve(const std::vector<double>& genuine, const std::vector<double>& impostor) {
  std::vector<double> g = genuine, im = impostor;
  std::sort(g.begin(), g.end(), std::greater<>());
  std::sort(im.begin(), im.end(), std::greater<>());
  std::vector<CurvePoint> curve;
  std::size_t gi = 0;
  // Each distinct impostor score as the threshold (accept when above it): the impostors above
  // it are those before its first occurrence in descending order.
  for (std::size_t i = 0; i < im.size();) {
    const double threshold = im[i];
    while (gi < g.size() && g[gi] > threshold) ++gi;
    curve.push_back({static_cast<double>(i) / static_cast<double>(im.size()), static_cast<double>(gi) / static_cast<double>(g.size())});
    while (i < im.size() && im[i] == threshold) ++i;
  }
  return curve;
}

std::string rate_key(double rate) {
  const int exponent = static_cast<int>(std::lround(std::log10(rate)));
  return "1e" + std::to_string(exponent);
}

IdentificationResult identification_metrics(std::size_t gallery_size, const std::vector<ProbeOutcome>& mated,
                                            const std::vector<ProbeOutcome>& non_mated) {
  IdentificationResult r;
  r.gallery = gallery_size;
  r.mated = mated.size();
  r.non_mated = non_mated.size();
  if (mated.empty()) return r;
  r.rank1 = static_cast<double>(std::count_if(mated.begin(), mated.end(), [](const ProbeOutcome& p) { return p.rank1_correct; })) /
            static_cast<double>(mated.size());
  std::vector<double> non_mated_best;
  for (const auto& p : non_mated) non_mated_best.push_back(p.best_score);
  // A mated search "hits" at threshold t when its mate is rank 1 with a score above t.
  std::vector<double> hit_scores;
  for (const auto& p : mated) hit_scores.push_back(p.rank1_correct ? p.best_score : -1e300);
  auto fnir_at = [&](double threshold) {
    return static_cast<double>(std::count_if(hit_scores.begin(), hit_scores.end(), [&](double s) { return s <= threshold; })) /
           static_cast<double>(hit_scores.size());
  };
  for (double rate : {1e-1, 1e-2, 1e-3}) {
    if (non_mated_best.empty()) break;
    const auto [threshold, achieved] = threshold_for_rate(non_mated_best, rate);
    r.fnir_at_fpir[rate_key(rate)] = {threshold, fnir_at(threshold), achieved};
  }
  // DET: every non-mated best score as a threshold.
  std::vector<double> sorted = non_mated_best;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  for (std::size_t i = 0; i < sorted.size();) {
    const double threshold = sorted[i];
    r.det.push_back({static_cast<double>(i) / static_cast<double>(sorted.size()), fnir_at(threshold)});
    while (i < sorted.size() && sorted[i] == threshold) ++i;
  }
  return r;
}

}  // namespace glassbox::eval
