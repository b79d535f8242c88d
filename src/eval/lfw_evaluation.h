// `glassbox eval lfw`: runs both LFW protocols for one or more recognizer profiles (and their
// score-level fusion) through the production detector, alignment and recognizers, with a
// content-keyed template cache, and returns every number as JSON plus ROC and DET plots.
// Thread-safety: run_lfw_evaluation() is called from one thread; it runs its own workers.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace glassbox::eval {

struct LfwEvalOptions {
  std::filesystem::path lfw_dir;          // holds pairs.txt and images/
  std::vector<std::string> profiles;      // profile names or paths; fusion of the first two when 2+
  int folds = 10;                         // verification folds used (a slice for tests: 2 or more)
  int gallery_limit = 0;                  // identification: first N people with 2+ photos (0 = all 1,680)
  int distractor_limit = 0;               // identification: first N people with one photo (0 = all 4,069)
  int jobs = 0;                           // extraction threads (0 = cores)
  std::filesystem::path cache_path;       // template cache file; empty = none
  std::filesystem::path same_person_list; // TSV of name pairs that are one person; empty = none
  std::function<void(std::size_t done, std::size_t total, std::size_t from_cache)> on_progress;  // every few seconds
};

struct LfwEvalOutput {
  nlohmann::json results;  // an array: one object per profile, then the fusion
  nlohmann::json dataset;  // what was used: pairs, folds, gallery, probes, photos
  // Per profile: its calibration file (match/threshold_policy.h), measured on this run.
  std::vector<std::pair<std::string, nlohmann::json>> calibrations;
  std::string roc_svg;
  std::string det_svg;
  double extraction_seconds = 0.0;
  std::size_t photos_from_cache = 0;
};

Result<LfwEvalOutput> run_lfw_evaluation(const LfwEvalOptions& options);

}  // namespace glassbox::eval
