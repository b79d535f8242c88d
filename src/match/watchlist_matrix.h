// WatchlistMatrix: the templates of the active, unexpired watchlist entries for one model
// profile, kept as one contiguous row-major float matrix so that matching a probe is one pass
// over memory (a GEMM when probes are batched). Scores are exact.
// Thread-safety: immutable after construction; any number of threads may call best_match().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "embed/model_profile.h"

namespace glassbox {

struct WatchlistTemplate {
  std::int64_t entry_id = 0;
  std::string subject;
  std::vector<float> vector;
  std::vector<std::string> scope = {};  // the cameras the entry may match on; empty: all of them
};

struct MatchResult {
  std::int64_t entry_id = 0;
  std::string subject;
  double score = 0.0;  // in the profile's metric: distance (euclidean) or similarity (cosine)
};

class WatchlistMatrix {
 public:
  WatchlistMatrix(Metric metric, int dimension) : metric_(metric), dimension_(dimension) {}

  // Rows whose dimension differs from the matrix's are refused with an error.
  Status add(const WatchlistTemplate& row);

  // The closest row to `probe` among the entries whose scope includes `camera` (an empty
  // camera: every row), if it passes `threshold`; nullopt otherwise or when none is in scope.
  std::optional<MatchResult> best_match(const std::vector<float>& probe, double threshold, const std::string& camera = {}) const;
  // The closest row's score whatever the threshold (nullopt only when no row is in scope).
  std::optional<MatchResult> closest(const std::vector<float>& probe, const std::string& camera = {}) const;

  std::size_t rows() const { return entry_ids_.size(); }
  std::size_t entries() const;
  Metric metric() const { return metric_; }
  int dimension() const { return dimension_; }

 private:
  Metric metric_;
  int dimension_;
  std::vector<float> values_;         // rows() x dimension_, row-major
  std::vector<double> squared_norms_; // per row, for euclidean distance via dot products
  std::vector<std::int64_t> entry_ids_;
  std::vector<std::string> subjects_;
  std::vector<std::vector<std::string>> scopes_;  // per row
};

}  // namespace glassbox
