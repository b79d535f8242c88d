// YuNetDetector: YuNet (face_detection_yunet_2022mar.onnx) through cv::FaceDetectorYN.
// Large frames are downscaled so that their longer side is at most `max_side` before detection
// (the main speed lever) — a video frame straight from its YUV planes, in one pass — and
// results are mapped back to full-resolution coordinates.
// Thread-safety: one thread at a time (cv::FaceDetectorYN holds per-call state).
#pragma once

#include <memory>

#include <opencv2/objdetect/face.hpp>

#include "detect/face_detector.h"

namespace glassbox {

struct DetectorOptions {
  int max_side = 640;                // longer side of the image the network sees
  float confidence_threshold = 0.8f; // YuNet score below which a candidate is not a face
  float nms_threshold = 0.3f;
  int top_k = 5000;
};

class YuNetDetector final : public FaceDetector {
 public:
  // Loads the model found through GLASSBOX_MODELS; the error says where it looked.
  static Result<std::unique_ptr<YuNetDetector>> create(const DetectorOptions& options);

  Result<std::vector<DetectedFace>> detect(const Frame& frame) override;
  // The size of the image the network sees for a frame of `frame_size`.
  cv::Size input_size_for(cv::Size frame_size) const;
  // Images with a side shorter than this (after downscaling) hold no face: nothing is detected.
  static constexpr int kMinInputSide = 32;

 private:
  YuNetDetector(cv::Ptr<cv::FaceDetectorYN> net, DetectorOptions options);

  cv::Ptr<cv::FaceDetectorYN> net_;
  DetectorOptions options_;
  cv::Size input_size_;
  cv::Mat scaled_;  // reused between calls
};

}  // namespace glassbox
