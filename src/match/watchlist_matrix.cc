#include "match/watchlist_matrix.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace glassbox {

Status WatchlistMatrix::add(const WatchlistTemplate& row) {
  if (static_cast<int>(row.vector.size()) != dimension_) {
    return Error{"template of entry " + std::to_string(row.entry_id) + " has " + std::to_string(row.vector.size()) +
                 " values, the profile expects " + std::to_string(dimension_)};
  }
  double squared = 0.0;
  for (float v : row.vector) squared += static_cast<double>(v) * v;
  values_.insert(values_.end(), row.vector.begin(), row.vector.end());
  squared_norms_.push_back(squared);
  entry_ids_.push_back(row.entry_id);
  subjects_.push_back(row.subject);
  scopes_.push_back(row.scope);
  return ok_status();
}

std::size_t WatchlistMatrix::entries() const { return std::set<std::int64_t>(entry_ids_.begin(), entry_ids_.end()).size(); }

std::optional<MatchResult> WatchlistMatrix::closest(const std::vector<float>& probe, const std::string& camera) const {
  if (rows() == 0 || static_cast<int>(probe.size()) != dimension_) return std::nullopt;
  auto in_scope = [&](std::size_t r) {
    const auto& scope = scopes_[r];
    return camera.empty() || scope.empty() || std::find(scope.begin(), scope.end(), camera) != scope.end();
  };
  double probe_squared = 0.0;
  for (float v : probe) probe_squared += static_cast<double>(v) * v;
  std::optional<std::size_t> best_row;
  double best_score = 0.0;
  for (std::size_t r = 0; r < rows(); ++r) {
    if (!in_scope(r)) continue;
    const float* row = values_.data() + r * static_cast<std::size_t>(dimension_);
    double dot = 0.0;
    for (int k = 0; k < dimension_; ++k) dot += static_cast<double>(row[k]) * probe[static_cast<std::size_t>(k)];
    const double score = metric_ == Metric::kCosine ? dot : std::sqrt(std::max(0.0, probe_squared + squared_norms_[r] - 2.0 * dot));
    if (!best_row || ModelProfile::is_better(metric_, score, best_score)) {
      best_score = score;
      best_row = r;
    }
  }
  if (!best_row) return std::nullopt;
  return MatchResult{entry_ids_[*best_row], subjects_[*best_row], best_score};
}

std::optional<MatchResult> WatchlistMatrix::best_match(const std::vector<float>& probe, double threshold, const std::string& camera) const {
  auto best = closest(probe, camera);
  if (!best || !ModelProfile::is_match(metric_, best->score, threshold)) return std::nullopt;
  return best;
}

}  // namespace glassbox
