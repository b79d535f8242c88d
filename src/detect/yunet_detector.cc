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

Result<std::vector<DetectedFace>> YuNetDetector::detect(const cv::Mat& bgr) {
  if (bgr.empty() || bgr.type() != CV_8UC3) return Error{"detector needs a non-empty 8-bit BGR image"};
  const int longer = std::max(bgr.cols, bgr.rows);
  const double scale = longer > options_.max_side ? static_cast<double>(options_.max_side) / longer : 1.0;
  const cv::Mat* input = &bgr;
  if (scale < 1.0) {
    cv::resize(bgr, scaled_, cv::Size(), scale, scale, cv::INTER_AREA);
    input = &scaled_;
  }
  // The network halves its input five times: below this, OpenCV 4.6 computes negative layer
  // shapes (and writes out of bounds). No face the recognizer could use fits in such an image.
  if (std::min(input->cols, input->rows) < kMinInputSide) return std::vector<DetectedFace>{};
  cv::Mat rows;
  try {
    if (input->size() != input_size_) {
      net_->setInputSize(input->size());
      input_size_ = input->size();
    }
    net_->detect(*input, rows);
  } catch (const cv::Exception& e) {
    return Error{std::string("face detection failed: ") + e.what()};
  }
  std::vector<DetectedFace> faces;
  faces.reserve(static_cast<std::size_t>(rows.rows));
  const float back = static_cast<float>(1.0 / scale);
  for (int i = 0; i < rows.rows; ++i) {
    const float* r = rows.ptr<float>(i);
    DetectedFace face;
    face.box = cv::Rect2f(r[0] * back, r[1] * back, r[2] * back, r[3] * back);
    for (int k = 0; k < 5; ++k) face.landmarks[static_cast<std::size_t>(k)] = {r[4 + 2 * k] * back, r[5 + 2 * k] * back};
    face.confidence = r[14];
    if (!std::isfinite(face.box.width) || face.box.width <= 0 || face.box.height <= 0) continue;
    faces.push_back(face);
  }
  return faces;
}

}  // namespace glassbox
