// FaceAligner: cuts the aligned chip a recognizer expects from a detected face, by the method its
// profile names (align/alignment.h). One interface for both methods, made once per profile and
// shared by every worker: dlib's shape predictor is a 100 MB model, loaded once per process.
// Thread-safety: align() is const and safe from several threads at once.
#pragma once

#include <memory>

#include <opencv2/core.hpp>

#include "align/alignment.h"
#include "core/frame.h"
#include "core/result.h"
#include "detect/face_detector.h"

namespace glassbox {

class FaceAligner {
 public:
  virtual ~FaceAligner() = default;
  // The BGR chip of the aligner's size for the face with these five landmarks. Parts of the chip
  // outside the frame are black.
  virtual cv::Mat align(const Frame& frame, const Landmarks& landmarks) const = 0;
};

// The aligner for `spec` and chips of `chip_size`; errors name a missing or unreadable file.
Result<std::shared_ptr<const FaceAligner>> make_face_aligner(const AlignmentSpec& spec, cv::Size chip_size);

}  // namespace glassbox
