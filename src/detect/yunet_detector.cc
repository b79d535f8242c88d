#include "detect/yunet_detector.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/paths.h"

namespace glassbox {

inline constexpr const char* kYuNetModel = "face_detection_yunet_2022mar.onnx";

YuNetDetector::YuNetDetector(cv::Ptr<cv::FaceDetectorYN> net, DetectorOptions options)
    : net_(std::move(net)), options_(options) {}

Result<std::unique_ptr<YuNetDetector>> YuNetDetector::create(const DetectorOptions& options) {
  auto model = find_model_file(kYuNetModel);
  if (!model) return model.error();
  try {
    auto net = cv::FaceDetectorYN::create(model->string(), "", cv::Size(320, 320), options.confidence_threshold,
                                          options.nms_threshold, options.top_k);
    if (net.empty()) return Error{model->string() + ": could not load the detector"};
    return std::unique_ptr<YuNetDetector>(new YuNetDetector(std::move(net), options));
  } catch (const cv::Exception& e) {
    return Error{model->string() + ": could not load the detector: " + e.what()};
  }
}

cv::Size YuNetDetector::input_size_for(cv::Size frame_size) const {
  const int longer = std::max(frame_size.width, frame_size.height);
  if (longer <= options_.max_side) return frame_size;
  const double scale = static_cast<double>(options_.max_side) / longer;
  // As cv::resize rounds for a scale factor, so photos are detected as before.
  return {std::max(1, static_cast<int>(std::lround(frame_size.width * scale))), std::max(1, static_cast<int>(std::lround(frame_size.height * scale)))};
}

Result<std::vector<DetectedFace>> YuNetDetector::detect(const Frame& frame) {
  if (frame.empty()) return Error{"detector needs a non-empty 8-bit BGR image"};
  const cv::Size size = input_size_for(frame.size());
  // The network halves its input five times: below this, OpenCV 4.6 computes negative layer
  // shapes (and writes out of bounds). No face the recognizer could use fits in such an image.
  if (std::min(size.width, size.height) < kMinInputSide) return std::vector<DetectedFace>{};
  cv::Mat input;
  try {
    if (size == frame.size()) {
      input = frame.bgr();
    } else {
      frame.scaled_bgr(size, scaled_);
      input = scaled_;
    }
  } catch (const cv::Exception& e) {
    return Error{std::string("cannot scale the frame for detection: ") + e.what()};
  }
  const double scale_x = static_cast<double>(size.width) / frame.width();
  const double scale_y = static_cast<double>(size.height) / frame.height();
  cv::Mat rows;
  try {
    if (input.size() != input_size_) {
      net_->setInputSize(input.size());
      input_size_ = input.size();
    }
    net_->detect(input, rows);
  } catch (const cv::Exception& e) {
    return Error{std::string("face detection failed: ") + e.what()};
  }
  std::vector<DetectedFace> faces;
  faces.reserve(static_cast<std::size_t>(rows.rows));
  const float back_x = static_cast<float>(1.0 / scale_x), back_y = static_cast<float>(1.0 / scale_y);
  for (int i = 0; i < rows.rows; ++i) {
    const float* r = rows.ptr<float>(i);
    DetectedFace face;
    face.box = cv::Rect2f(r[0] * back_x, r[1] * back_y, r[2] * back_x, r[3] * back_y);
    for (int k = 0; k < 5; ++k) face.landmarks[static_cast<std::size_t>(k)] = {r[4 + 2 * k] * back_x, r[5 + 2 * k] * back_y};
    face.confidence = r[14];
    if (!std::isfinite(face.box.width) || face.box.width <= 0 || face.box.height <= 0) continue;
    faces.push_back(face);
  }
  return faces;
}

}  // namespace glassbox
