// WatchlistMatrix: the templates of the active, unexpired watchlist entries for one model
// profile, and the search for a probe's closest in-scope row.
//
// Every row is kept twice: as floats (row-major, for exact scores) and as 4-bit integers in the
// scan kernel's block layout (match/packed_scan.h), an eighth of the bytes: a scan of a large
// list is bound by memory bandwidth, so bytes per row are its cost. A search reads the 4-bit
// copy once for up to eight probes, keeps the few rows that come close, and scores those
// exactly from the floats. The answer is still the exact one: the scan gives each row an upper
// bound of its true key (the quantised key plus the most the two quantisations can have moved
// it, for that row), and the rows left out are only those whose bound proves they cannot beat
// the best exact score, or cannot reach the threshold. When the bounds cannot prove it (many
// rows about equally close), every row whose bound reaches the best is scored too.
// Scores are exact; docs/PERFORMANCE.md ("Matching") has the arithmetic and the measurements.
// Thread-safety: add() while building; afterwards immutable, and any number of threads may
// search it at once.
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

// How much work a search did, for the benchmark and the tests.
struct MatchWork {
  std::int64_t candidates = 0;  // rows scored exactly
  std::int64_t rescans = 0;     // searches the bounds could not settle from the first candidates
};

class WatchlistMatrix {
 public:
  WatchlistMatrix(Metric metric, int dimension);

  // Rows whose dimension differs from the matrix's, or that hold a value that is not finite,
  // are refused with an error.
  Status add(const WatchlistTemplate& row);
  void reserve(std::size_t rows);

  // The closest row to `probe` among the entries whose scope includes `camera` (an empty
  // camera: every row), if it passes `threshold`; nullopt otherwise or when none is in scope.
  std::optional<MatchResult> best_match(const std::vector<float>& probe, double threshold, const std::string& camera = {}) const;
  // The closest row's score whatever the threshold (nullopt only when no row is in scope).
  std::optional<MatchResult> closest(const std::vector<float>& probe, const std::string& camera = {}) const;

  // best_match for several probes in one pass over the matrix (eight at a time), with the
  // matrix split over `threads` threads when it is large. One result per probe, in order.
  std::vector<std::optional<MatchResult>> best_matches(const std::vector<std::vector<float>>& probes, double threshold,
                                                       const std::string& camera = {}, int threads = 1, MatchWork* work = nullptr) const;
  std::vector<std::optional<MatchResult>> closest_all(const std::vector<std::vector<float>>& probes, const std::string& camera = {},
                                                      int threads = 1, MatchWork* work = nullptr) const;

  std::size_t rows() const { return entry_ids_.size(); }
  std::size_t entries() const;
  Metric metric() const { return metric_; }
  int dimension() const { return dimension_; }
  // Bytes held for the templates (floats, 4-bit copy, per-row factors).
  std::size_t template_bytes() const;

 private:
  struct Query;
  std::vector<std::optional<MatchResult>> search(const std::vector<std::vector<float>>& probes, std::optional<double> threshold,
                                                 const std::string& camera, int threads, MatchWork* work) const;
  void search_group(const std::vector<Query*>& queries, const std::string& camera, int threads, MatchWork& work) const;
  bool in_scope(std::size_t row, const std::string& camera) const;
  double exact_key(std::size_t row, const std::vector<float>& probe) const;

  Metric metric_;
  int dimension_;
  int dims8_;  // groups of eight dimensions in the 4-bit copy (zero-padded)
  // Exact copy.
  std::vector<float> values_;         // rows() x dimension_, row-major
  std::vector<double> squared_norms_; // per row
  // 4-bit copy (packed_scan.h's layout) and per padded row: key = dot * probe_scale * factor - term.
  std::vector<std::uint8_t> blocks_;
  std::vector<float> factor_;
  std::vector<float> term_;
  // ... and the row's quantisation slack: bound = key + probe_scale * alpha + probe_l1 / 2 * factor.
  std::vector<float> alpha_;
  double max_row_norm_ = 0.0;  // for the margin of float rounding
  // Row metadata.
  std::vector<std::int64_t> entry_ids_;
  std::vector<std::string> subjects_;
  std::vector<std::vector<std::string>> scopes_;  // per row; empty: every camera
};

}  // namespace glassbox
