// Which views are worth matching, measured on LFW by `glassbox eval lfw`: FNIR (and the false
// matches entries attract) by face quality — what enrolment's floor and the bands of
// docs/ACCURACY.md rest on — and tracks seen in several views, simulated with several photos of a
// person, under each way of matching them.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/threshold_calibration.h"
#include "quality/face_quality.h"

namespace glassbox::eval {

struct QualityCheck {
  std::vector<std::size_t> gallery;                        // photo of each gallery person: the entries
  std::vector<std::pair<std::size_t, std::size_t>> mated;  // (photo, gallery position)
  std::vector<std::size_t> non_mated;                      // people on no list, the calibration never saw
  std::vector<std::optional<FaceQuality>> quality;         // per photo; none where no face was detected
  double target_fpir = 1e-2;
  QualityFloor floor;
};

// At the threshold the calibration gives the whole gallery for `target_fpir`: FNIR by the
// probe's quality band and by each part (yaw, pitch, sharpness, size, confidence); and, by
// whether the entry's own photo passes enrolment's floor, the FNIR of its mated searches and the
// false matches it attracts per search of someone not on the list.
nlohmann::json check_quality_bands(const ModelProfile& profile, const FalseMatchCalibration& calibration,
                                   const std::vector<Vector>& templates, const QualityCheck& check);

// Tracks of several views, simulated: people with views + 1 photos or more, in two halves by
// name order. The first half are on the lists (their first photo enrolled; their next `views`
// photos are a track of them); the second half are strangers (their first `views` photos are a
// track). Lists are consecutive runs of the first half; every stranger's track searches every
// list. Each way of matching a track is measured at the per-search threshold of the target, and
// as deployed: at the threshold of target / views (the target then holds per track), with fewer
// views where the calibration cannot show that share (ThresholdPolicy::may_use_fewer_views):
//   first view; the best view by quality; best-of (each view searched, the first match alerts);
//   a running mean (the mean of the views so far searched after each view).
// LFW's photos of one person were taken on different days: its views differ more than a
// camera's consecutive frames, so this shows the most several views can add.
struct TrackViewsCheck {
  std::vector<std::vector<std::size_t>> people;  // each person's photos, in LFW's order
  std::vector<std::optional<FaceQuality>> quality;
  std::size_t views = 3;
  std::vector<std::size_t> list_sizes;  // one beyond the listed half's size means the whole half
  std::vector<double> target_fpirs;
};
nlohmann::json check_views_per_track(const ModelProfile& profile, const FalseMatchCalibration& calibration,
                                     const std::vector<Vector>& templates, const TrackViewsCheck& check);

}  // namespace glassbox::eval
