// The calibration of thresholds by list size (match/threshold_policy.h), measured on LFW by
// `glassbox eval lfw`, and the checks of what it promises: the impostor score distribution of one set of people, written as the
// profile's calibration file, and the check of the model on other people — lists of 1 to 1,680
// gallery people searched by one-photo people the calibration never saw.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "embed/model_profile.h"
#include "match/threshold_policy.h"

namespace glassbox::eval {

using Vector = std::vector<float>;

// The profile's score of two templates, in its own units (a distance, or a cosine).
double native_score(Metric metric, const Vector& a, const Vector& b);
// A score as "higher is closer", for either metric.
double closeness(Metric metric, double score);
// The Wilson score interval (95%) of a proportion, [low, high]: how far a rate measured from few
// events can be from the true one.
nlohmann::json wilson95(std::size_t events, std::size_t trials);

// Every pair of the given photos (one per person, all different people) is an impostor
// comparison. The table holds about 20 points per decade of rate, from ten comparisons in all of
// them (fewer say too little) to every comparison. `closest`, when given, receives the ten
// closest pairs (photo indices, closest first): where label noise (one person under two names)
// shows first.
// The list-size exponent (FalseMatchCalibration::list_size_exponent) is fitted on the same
// people: every other one forms lists of 10, 100 and 1,000, searched by the rest.
Result<FalseMatchCalibration> measure_false_match_rates(Metric metric, const std::vector<Vector>& templates, const std::vector<std::size_t>& photos,
                                                       const std::string& source,
                                                       std::vector<std::pair<std::size_t, std::size_t>>* closest = nullptr);

struct ListSizeCheck {
  std::vector<std::size_t> gallery;                        // photo of each gallery person
  std::vector<std::pair<std::size_t, std::size_t>> mated;  // (photo, gallery position)
  std::vector<std::size_t> non_mated;                      // one-photo people the calibration never saw
  std::vector<std::size_t> list_sizes;                     // lists are consecutive runs of the gallery of this many people
  std::vector<double> target_fpirs;
};

// For each list size: at each target FPIR, the threshold the calibration gives and the FPIR and
// FNIR measured over all lists of that size; and the same at the profile's fixed threshold.
nlohmann::json check_thresholds_by_list_size(const ModelProfile& profile, const FalseMatchCalibration& calibration,
                                             const std::vector<Vector>& templates, const ListSizeCheck& check);

// Entries of several photos: people with at least max_photos + 1 photos are
// enrolled from their first 1, 2, ... max_photos photos, and searched by the same probes, their
// photos after max_photos, and by the non-mated people. Two ways to score an entry of several
// templates: best-of (the closest of its templates: what the watchlist does, one row per
// template) and a mean template (the templates averaged, L2-normalised for cosine profiles).
// Each is measured at equal measured FPIR (1e-2, 1e-3: thresholds from the non-mated scores
// themselves, which compares the two fairly) and at the threshold the calibration gives a
// deployment (target 1e-3, the list counted in templates).
struct SeveralPhotosCheck {
  std::vector<std::vector<std::size_t>> people;  // each person's photos, in LFW's order
  std::vector<std::size_t> non_mated;
  std::size_t max_photos = 3;
};
nlohmann::json check_entries_of_several_photos(const ModelProfile& profile, const FalseMatchCalibration& calibration,
                                               const std::vector<Vector>& templates, const SeveralPhotosCheck& check);

}  // namespace glassbox::eval
