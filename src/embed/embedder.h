// Embedder: turns an aligned face chip into a template (a float vector) for one model profile,
// and names the aligner that cuts its chips.
// One interface for every recognizer backend and for fakes in tests.
// Thread-safety: one thread at a time; create one per worker.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "align/face_aligner.h"
#include "core/result.h"
#include "embed/model_profile.h"

namespace glassbox {

class Embedder {
 public:
  virtual ~Embedder() = default;
  // `chip` is BGR, already aligned and of the profile's input size.
  virtual Result<std::vector<float>> embed(const cv::Mat& chip) = 0;
  // Several chips at once, one result per chip in their order. The same templates as embed()
  // one by one; a backend that can run them as one batch does (less work per face).
  virtual std::vector<Result<std::vector<float>>> embed_batch(const std::vector<cv::Mat>& chips) {
    std::vector<Result<std::vector<float>>> out;
    out.reserve(chips.size());
    for (const cv::Mat& chip : chips) out.push_back(embed(chip));
    return out;
  }
  virtual const ModelProfile& profile() const = 0;
  // How this recognizer's chips are cut from a detected face (the profile's alignment).
  virtual const FaceAligner& aligner() const = 0;
};

}  // namespace glassbox
