// The decision threshold a deployment runs at, from the false-alert rate it accepts and the size of
// its watchlist (docs/calibration.md).
//
// A profile ships a calibration file written by `glassbox eval lfw`: its impostor score
// distribution, as the share of comparisons between photos of two different people whose score
// is at least as close as a given score (the false match rate, FMR). A search against a list of
// N templates makes N such comparisons, so the share of searches for someone not on the list that
// match someone anyway (FPIR) is modelled as 1 - (1 - FMR(t))^N; the threshold for a target FPIR
// is the score whose FMR is 1 - (1 - target)^(1/N). The model is checked on people the
// calibration never saw (docs/ACCURACY.md, "Thresholds by list size").
// Thread-safety: immutable values.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "embed/model_profile.h"

namespace glassbox {

class FalseMatchCalibration {
 public:
  // One point of the distribution: a share of impostor comparisons scored at least as close as
  // `score` (in the profile's metric).
  struct Point {
    double score = 0.0;
    double false_match_rate = 0.0;
  };

  // Points ordered from the strictest score to the most lenient, rates strictly increasing.
  static Result<FalseMatchCalibration> make(Metric metric, std::vector<Point> points, std::size_t comparisons, double list_size_exponent,
                                            std::string source);
  // The file format of docs/calibration.md; errors name the origin and the field.
  static Result<FalseMatchCalibration> parse(const std::string& json_text, const std::string& origin);
  nlohmann::json to_json() const;

  // The FMR at a score: interpolated between points (linear in the score, logarithmic in the
  // rate). A score stricter than every point gets the lowest measured rate, an upper bound; one
  // more lenient than every point gets the most lenient point's rate (the table ends at 1).
  double false_match_rate(double score) const;
  // The score whose FMR is `rate`; nullopt when the rate is below the lowest one measured.
  std::optional<double> score_at(double rate) const;
  // The lowest rate the calibration measured: one comparison in `comparisons()`.
  double lowest_rate() const { return points_.front().false_match_rate; }
  std::size_t comparisons() const { return comparisons_; }
  double list_size_exponent() const { return list_size_exponent_; }
  // How many independent comparisons a search of `templates` templates is worth: templates^g.
  double effective_comparisons(std::size_t templates) const;
  // The FPIR the model predicts for a list of `templates` at a threshold of `score`.
  double fpir(double score, std::size_t templates) const;
  const std::string& source() const { return source_; }
  Metric metric() const { return metric_; }
  const std::vector<Point>& points() const { return points_; }

 private:
  Metric metric_ = Metric::kEuclidean;
  std::vector<Point> points_;
  std::size_t comparisons_ = 0;
  double list_size_exponent_ = 1.0;
  std::string source_;  // what was measured, and the command that measured it
};

// The profile's calibration file (profiles/<calibration_file>); nullopt when it names none. A file
// measured for another profile or another alignment is refused: its scores would mean nothing.
Result<std::optional<FalseMatchCalibration>> load_false_match_calibration(const ModelProfile& profile);

// 1 - (1 - FMR)^comparisons, and its inverse: the per-comparison FMR that gives `target_fpir`.
double modelled_fpir(double false_match_rate, double comparisons);
double false_match_rate_for(double target_fpir, double comparisons);

// What a deployment asks for: a target FPIR, or a fixed threshold (--threshold) that overrides it.
// The default target: one search in a thousand for someone not on the list matches someone.
inline constexpr double kDefaultTargetFpir = 1e-3;
struct ThresholdPolicy {
  std::optional<double> target_fpir;      // per track: for someone not on the list, the chance that any view of their track matches
  std::optional<double> fixed_threshold;  // in the profile's metric
  // A track is searched on up to this many views (TrackerOptions::max_embeddings_per_track), any
  // of which may alert: each search gets target_fpir / searches_per_track, so that the track's
  // chance stays within the target (docs/calibration.md, "Several views per track").
  std::size_t searches_per_track = 1;
  // Whoever applies this threshold can also bound the views per track to what it returns
  // (serve, watch): then, where the calibration cannot show a share as small as
  // target / searches_per_track, fewer views share the target instead. A case search cannot
  // (its tracks' bound is fixed): its threshold is then the strictest measured score.
  bool may_use_fewer_views = false;
};

// The threshold in force for one list, and why.
struct ThresholdInForce {
  double threshold = 0.0;
  std::size_t templates = 0;               // the list's size it was set for (templates searched)
  std::optional<double> target_fpir;       // what was asked, per track; none for a fixed threshold
  // Views of a track searched, which share the target: those asked, fewer where the calibration
  // cannot show the smaller share (down to 1 at its limit). Trackers take it as their bound.
  std::size_t searches_per_track = 1;
  std::optional<double> estimated_fpir;    // what the calibration predicts at the threshold for this list, per search
  bool at_calibration_limit = false;       // the target needs a rate below what was measured: the strictest measured score is used
  std::string basis;                       // "target_fpir", "fixed", or "profile_default" (no calibration)
  std::string why;                         // one sentence for people

  nlohmann::json to_json() const;
};

// The threshold for a list of `templates` under `policy`. Without a calibration, a target cannot
// be met: the profile's own threshold is used, and `why` says so.
ThresholdInForce decide_threshold(const ModelProfile& profile, const FalseMatchCalibration* calibration, const ThresholdPolicy& policy,
                                  std::size_t templates);

// The meaning of one score against a list of `templates`: the FPIR the calibration predicts for a
// threshold at that score (how often someone not on the list scores this close to somebody on it).
// Rounded to three significant digits: what an estimate from a calibration can say.
std::optional<double> score_meaning(const FalseMatchCalibration* calibration, double score, std::size_t templates);

}  // namespace glassbox
