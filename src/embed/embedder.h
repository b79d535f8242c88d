// Embedder: turns an aligned face chip into a template (a float vector) for one model profile.
// One interface for every recognizer backend and for fakes in tests.
// Thread-safety: one thread at a time; create one per worker.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "core/result.h"
#include "embed/model_profile.h"

namespace glassbox {

class Embedder {
 public:
  virtual ~Embedder() = default;
  // `chip` is BGR, already aligned and of the profile's input size.
  virtual Result<std::vector<float>> embed(const cv::Mat& chip) = 0;
  virtual const ModelProfile& profile() const = 0;
};

}  // namespace glassbox
