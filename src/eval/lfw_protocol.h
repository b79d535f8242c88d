// The LFW benchmark's protocols as pure functions over scores, so they can be unit tested on
// made-up numbers: View-2 pairs (10-fold verification accuracy, TAR at fixed FAR, ROC) and a
// 1:N identification split (rank-1, FNIR at fixed FPIR, DET) in the style of NIST FRTE 1:N.
// Scores are similarities: higher means "more likely the same person" (a euclidean profile's
// distance d enters as -d).
// Thread-safety: pure functions.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace glassbox::eval {

// ---- the dataset -------------------------------------------------------------------------

struct LfwPair {
  std::string name_a;
  int index_a = 0;  // 1-based photo number, as in pairs.txt
  std::string name_b;
  int index_b = 0;
  bool same = false;
  int fold = 0;     // 0-based
};

// Parses View-2 pairs.txt: a "folds per_fold" header, then per fold `per_fold` matched lines
// (name i j) followed by `per_fold` mismatched lines (name1 i name2 j).
Result<std::vector<LfwPair>> parse_pairs(const std::string& text);

// images/<Name>/<Name>_NNNN.jpg
std::filesystem::path lfw_photo(const std::filesystem::path& images_dir, const std::string& name, int index);

// People and how many photos each has, from the images folder (names sorted).
Result<std::map<std::string, int>> list_people(const std::filesystem::path& images_dir);

// ---- verification --------------------------------------------------------------------------

struct KFoldResult {
  std::vector<double> fold_accuracy;
  std::vector<double> fold_threshold;  // chosen on the other folds
  double mean = 0.0;
  double stddev = 0.0;                 // population standard deviation over folds, as usually reported
};

// For each fold, the threshold that maximises accuracy on the other folds is applied to it.
// `scores_for_fold(k)` gives every pair's score as seen when fold k is the test fold (so a
// normalisation may be fitted on the training folds only).
KFoldResult kfold_accuracy(const std::vector<LfwPair>& pairs, int folds,
                           const std::function<std::vector<double>(int test_fold)>& scores_for_fold);

// The threshold maximising accuracy of `score > threshold` on the given scores and labels.
double best_accuracy_threshold(const std::vector<double>& scores, const std::vector<bool>& same);

struct OperatingPoint {
  double threshold = 0.0;  // accept when score > threshold
  double rate = 0.0;       // TAR (verification) or FNIR (identification)
  double achieved = 0.0;   // the FAR / FPIR actually reached (<= the target)
};

// True-accept rate at the largest threshold-defined FAR not above `far`.
OperatingPoint tar_at_far(const std::vector<double>& genuine, const std::vector<double>& impostor, double far);

struct CurvePoint {
  double x = 0.0;
  double y = 0.0;
};
// ROC: (FAR, TAR) at every distinct impostor score taken as threshold, FAR ascending.
std::vector<CurvePoint> roc_curve(const std::vector<double>& genuine, const std::vector<double>& impostor);

// ---- identification -----------------------------------------------------------------------

struct ProbeOutcome {
  double best_score = 0.0;  // highest score against the whole gallery
  bool rank1_correct = false;  // mated probes: the best gallery entry is the mate
};

struct IdentificationResult {
  std::size_t gallery = 0, mated = 0, non_mated = 0;
  double rank1 = 0.0;
  std::map<std::string, OperatingPoint> fnir_at_fpir;  // keys "1e-1", "1e-2", "1e-3"
  std::vector<CurvePoint> det;                         // (FPIR, FNIR)
};

// FNIR counts a mated search as missed unless its mate is at rank 1 with a score above the
// threshold; FPIR is the share of non-mated searches whose best score is above it.
IdentificationResult identification_metrics(std::size_t gallery_size, const std::vector<ProbeOutcome>& mated,
                                             const std::vector<ProbeOutcome>& non_mated);

// "1e-3" for 0.001.
std::string rate_key(double rate);

}  // namespace glassbox::eval
