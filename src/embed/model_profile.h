// ModelProfile: everything Glassbox needs to know to run a face recognizer — the ONNX file, its
// input size and channel order, how its chip is aligned, the output's name and size, how two
// outputs are compared and the default decision threshold. Profiles are small JSON files
// (profiles/*.json, format in docs/model-profiles.md), so a new model needs no code.
// Thread-safety: immutable value.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

#include "align/alignment.h"
#include "core/result.h"

namespace glassbox {

enum class Metric {
  kEuclidean,  // score = L2 distance; a match when score <= threshold
  kCosine,     // score = cosine similarity of L2-normalised vectors; a match when score >= threshold
};

const char* metric_name(Metric metric);

struct ModelProfile {
  std::string name;
  std::string model_file;       // file name inside GLASSBOX_MODELS
  cv::Size input_size;          // aligned chip size, pixels
  bool rgb_input = true;        // network expects RGB (true) or BGR
  AlignmentSpec alignment;      // how the chip is cut: the method, and its template in YuNet's landmark order
  std::string output_name;      // empty: the network's last output
  int dimension = 0;
  Metric metric = Metric::kEuclidean;
  double threshold = 0.0;       // default decision threshold, in the metric's units
  std::string threshold_source; // which measurement set the threshold
  // The profile's calibration file (profiles/<file>, format in docs/calibration.md): its impostor
  // score distribution, from which a deployment's threshold follows from the false-alert rate it
  // accepts and its list's size (match/threshold_policy.h). Empty: none.
  std::string calibration_file;

  // True when `score` (in this profile's metric) says "same person" at `threshold`.
  static bool is_match(Metric metric, double score, double threshold) {
    return metric == Metric::kEuclidean ? score <= threshold : score >= threshold;
  }
  // True when score a is a closer match than score b.
  static bool is_better(Metric metric, double a, double b) {
    return metric == Metric::kEuclidean ? a < b : a > b;
  }
};

// Parses a profile document; errors name the bad field.
Result<ModelProfile> parse_model_profile(const std::string& json_text, const std::string& origin);
// Loads profiles/<name>.json from GLASSBOX_PROFILES (or a path to a .json file).
Result<ModelProfile> load_model_profile(const std::string& name_or_path);

inline constexpr const char* kDefaultProfile = "dlib_resnet";

}  // namespace glassbox
