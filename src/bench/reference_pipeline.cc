#include "bench/reference_pipeline.h"

#include <chrono>
#include <cmath>

#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/paths.h"

namespace glassbox::bench {

Result<ReferencePipeline> ReferencePipeline::create(const ModelProfile& profile, const ReferenceOptions& options) {
  auto yunet = find_model_file("face_detection_yunet_2022mar.onnx");
  if (!yunet) return yunet.error();
  auto recognizer = find_model_file(profile.model_file);
  if (!recognizer) return recognizer.error();
  ReferencePipeline p(profile, options);
  try {
    p.detector_ = cv::FaceDetectorYN::create(yunet->string(), "", cv::Size(320, 320), 0.8f, 0.3f, 5000);
    p.net_ = cv::dnn::readNetFromONNX(recognizer->string());
  } catch (const cv::Exception& e) {
    return Error{std::string("reference pipeline: cannot load the models: ") + e.what()};
  }
  return p;
}

Result<std::vector<cv::Mat>> ReferencePipeline::features(const cv::Mat& frame, std::vector<cv::Rect>* boxes) {
  cv::Mat input = frame;
  double scale = 1.0;
  if (options_.detect_max_side > 0 && std::max(frame.cols, frame.rows) > options_.detect_max_side) {
    scale = static_cast<double>(options_.detect_max_side) / std::max(frame.cols, frame.rows);
    cv::resize(frame, input, cv::Size(), scale, scale);
  }
  std::vector<cv::Mat> out;
  try {
    cv::Mat faces;
    if (input.size() != detector_size_) {
      detector_->setInputSize(input.size());
      detector_size_ = input.size();
    }
    detector_->detect(input, faces);
    std::vector<cv::Point2f> destination(profile_.alignment.landmark_template.begin(), profile_.alignment.landmark_template.end());
    for (int i = 0; i < faces.rows; ++i) {
      const float* r = faces.ptr<float>(i);
      const cv::Rect box(cv::Rect2d(r[0] / scale, r[1] / scale, r[2] / scale, r[3] / scale));
      if (std::min(box.width, box.height) < options_.min_face_px) continue;
      std::vector<cv::Point2f> landmarks;
      for (int k = 0; k < 5; ++k) landmarks.emplace_back(static_cast<float>(r[4 + 2 * k] / scale), static_cast<float>(r[5 + 2 * k] / scale));
      const cv::Mat m = cv::estimateAffinePartial2D(landmarks, destination);
      if (m.empty()) continue;
      cv::Mat aligned;
      cv::warpAffine(frame, aligned, m, profile_.input_size);
      net_.setInput(cv::dnn::blobFromImage(aligned, 1.0, profile_.input_size, cv::Scalar(), profile_.rgb_input, false));
      cv::Mat feature = (profile_.output_name.empty() ? net_.forward() : net_.forward(profile_.output_name)).reshape(1, 1).clone();
      if (profile_.metric == Metric::kCosine) cv::normalize(feature, feature);
      out.push_back(feature);
      if (boxes != nullptr) boxes->push_back(box);
    }
  } catch (const cv::Exception& e) {
    return Error{std::string("reference pipeline: ") + e.what()};
  }
  return out;
}

Result<ReferenceTemplate> ReferencePipeline::enrol(const std::string& subject, const cv::Mat& photo) {
  std::vector<cv::Rect> boxes;
  auto found = features(photo, &boxes);
  if (!found) return found.error();
  if (found->empty()) return Error{"reference pipeline: no face in the photo of " + subject};
  std::size_t largest = 0;
  for (std::size_t i = 1; i < boxes.size(); ++i)
    if (boxes[i].area() > boxes[largest].area()) largest = i;
  return ReferenceTemplate{subject, (*found)[largest]};
}

Result<ReferenceResult> ReferencePipeline::run(const std::vector<std::string>& videos, const std::vector<ReferenceTemplate>& watchlist) {
  const auto started = std::chrono::steady_clock::now();
  ReferenceResult result;
  for (const std::string& video : videos) {
    cv::VideoCapture capture(video);
    if (!capture.isOpened()) return Error{video + ": the reference pipeline cannot open it"};
    const double fps = capture.get(cv::CAP_PROP_FPS);
    const int every = std::max(1, static_cast<int>(std::lround((fps > 0 ? fps : 25.0) / options_.rate_fps)));
    cv::Mat frame;
    for (std::int64_t index = 0; capture.read(frame); ++index) {
      ++result.frames_decoded;
      if (index % every != 0) continue;
      ++result.frames_analysed;
      auto found = features(frame, nullptr);
      if (!found) return found.error();
      for (const cv::Mat& feature : *found) {
        ++result.faces_embedded;
        const ReferenceTemplate* best = nullptr;
        double best_score = 0.0;
        for (const ReferenceTemplate& t : watchlist) {
          const double score = profile_.metric == Metric::kCosine ? feature.dot(t.feature) : cv::norm(feature, t.feature, cv::NORM_L2);
          if (best == nullptr || ModelProfile::is_better(profile_.metric, score, best_score)) {
            best = &t;
            best_score = score;
          }
        }
        if (best != nullptr && ModelProfile::is_match(profile_.metric, best_score, options_.threshold))
          result.hits.push_back({video, best->subject, static_cast<double>(index) / (fps > 0 ? fps : 25.0), best_score});
      }
    }
  }
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace glassbox::bench
