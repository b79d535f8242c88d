// The reference pipeline of `glassbox bench`: face recognition on video written the
// straightforward way with OpenCV's documented API, as its face-detection tutorial and samples
// show (samples/dnn/face_detect.cpp), for the same job Glassbox does. Everything here is what
// Glassbox does differently:
//   - cv::VideoCapture::read for every frame: every frame decoded and converted to BGR;
//   - every Nth frame analysed (N = fps / rate), FaceDetectorYN at the frame's own size (the
//     sample's default scale of 1; `detect_max_side` resizes first, for a second comparison);
//   - every face of every analysed frame aligned (cv::estimateAffinePartial2D onto the
//     profile's template, cv::warpAffine) and embedded by cv::dnn, one face per forward pass;
//   - the face compared with every template one by one (cv::norm), the closest kept.
// No tracking, no batching, no 4-bit matrix, OpenCV's default threads. The same models, the
// same minimum face size and threshold, so both should find the same people.
// Thread-safety: one call at a time (OpenCV's networks are per call).
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/objdetect/face.hpp>

#include "core/result.h"
#include "embed/model_profile.h"

namespace glassbox::bench {

struct ReferenceOptions {
  double rate_fps = 5.0;
  int min_face_px = 32;
  double threshold = 0.0;
  int detect_max_side = 0;  // 0: the frame's own size
};

struct ReferenceTemplate {
  std::string subject;
  cv::Mat feature;  // 1 x dimension, CV_32F
};

struct ReferenceHit {
  std::string source;
  std::string subject;
  double t = 0.0;
  double score = 0.0;
};

struct ReferenceResult {
  std::vector<ReferenceHit> hits;  // one per matched face per analysed frame
  std::int64_t frames_decoded = 0;
  std::int64_t frames_analysed = 0;
  std::int64_t faces_embedded = 0;
  double wall_s = 0.0;
};

class ReferencePipeline {
 public:
  static Result<ReferencePipeline> create(const ModelProfile& profile, const ReferenceOptions& options);

  // The template of the one largest face of a BGR photo, computed the reference's way.
  Result<ReferenceTemplate> enrol(const std::string& subject, const cv::Mat& photo);
  // The videos one after another.
  Result<ReferenceResult> run(const std::vector<std::string>& videos, const std::vector<ReferenceTemplate>& watchlist);

 private:
  ReferencePipeline(ModelProfile profile, ReferenceOptions options) : profile_(std::move(profile)), options_(options) {}
  // Faces (rows of 15 as FaceDetectorYN gives) and their features, in the frame's pixels.
  Result<std::vector<cv::Mat>> features(const cv::Mat& frame, std::vector<cv::Rect>* boxes);

  ModelProfile profile_;
  ReferenceOptions options_;
  cv::Ptr<cv::FaceDetectorYN> detector_;
  cv::Size detector_size_;
  cv::dnn::Net net_;
};

}  // namespace glassbox::bench
