// FaceDetector: finds faces (box, five landmarks, confidence) in a frame. One interface for
// every detector backend and for the fakes in tests. Coordinates are in the frame's
// full-resolution pixels, whatever size the detector looked at.
// Thread-safety: an instance is used by one thread at a time; create one per worker.
#pragma once

#include <array>
#include <vector>

#include <opencv2/core.hpp>

#include "core/frame.h"
#include "core/result.h"

namespace glassbox {

// Landmark order, as seen in the image (image-left first): right eye, left eye, nose tip,
// right mouth corner, left mouth corner — YuNet's order and the order of the profiles' templates.
using Landmarks = std::array<cv::Point2f, 5>;

struct DetectedFace {
  cv::Rect2f box;
  Landmarks landmarks;
  float confidence = 0.0f;

  // The face's size in pixels: the shorter side of its box.
  float size() const { return std::min(box.width, box.height); }
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  virtual Result<std::vector<DetectedFace>> detect(const Frame& frame) = 0;
};

}  // namespace glassbox
