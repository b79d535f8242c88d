#include "quality/face_quality.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

namespace glassbox {

namespace {

constexpr float kDegrees = 180.0f / static_cast<float>(CV_PI);

// Each part's factor in the score: 1 where the part no longer limits recognition, falling to 0
// where the face is useless for it.
float size_factor(float size_px) { return std::clamp((size_px - 24.0f) / (80.0f - 24.0f), 0.0f, 1.0f); }
float pose_factor(const HeadPose& pose) {
  const float yaw = std::cos(pose.yaw_deg / kDegrees), pitch = std::cos(pose.pitch_deg / kDegrees);
  return std::clamp(yaw * yaw * pitch * pitch, 0.0f, 1.0f);
}
float sharpness_factor(float sharpness) { return std::clamp(sharpness / 0.2f, 0.0f, 1.0f); }
float confidence_factor(float confidence) { return std::clamp((confidence - 0.5f) / (0.95f - 0.5f), 0.0f, 1.0f); }

std::string degrees(float value) {
  char text[16];
  std::snprintf(text, sizeof text, "%.0f°", static_cast<double>(std::abs(value)));
  return text;
}

std::string decimal(float value, int places) {
  char text[24];
  std::snprintf(text, sizeof text, "%.*f", places, static_cast<double>(value));
  return text;
}

}  // namespace

const std::array<cv::Point3f, 5>& generic_head_points() {
  // Proportions of the average face as YuNet marks it: the mean of its landmarks on LFW
  // (eval/photo_templates.cc, centred_landmarks) scaled to pupils 63 mm apart, so that LFW's
  // average face reads as frontal: eyes 37.5 mm above the nose tip, mouth corners 54 mm apart
  // and 28.5 mm below it. Depth, which five points in one photo cannot give, is from average
  // adult anatomy: the nose tip 30 mm in front of the eyes and 25 mm in front of the mouth
  // corners; it sets the yaw and pitch scales. Landmark order: image-left eye, image-right eye,
  // nose tip, image-left mouth corner, image-right mouth corner.
  static const std::array<cv::Point3f, 5> points = {
      cv::Point3f(-31.5f, 37.5f, -30.0f), cv::Point3f(31.5f, 37.5f, -30.0f), cv::Point3f(0.0f, 0.0f, 0.0f),
      cv::Point3f(-27.0f, -28.5f, -25.0f), cv::Point3f(27.0f, -28.5f, -25.0f)};
  return points;
}

HeadPose estimate_head_pose(const Landmarks& landmarks) {
  // Scaled orthographic projection: image = M * head + t, M = s * (the first two rows of the
  // head's rotation). M is the least-squares fit over the five points (centred, so t drops out);
  // its rows, made orthonormal, and their cross product are the rotation.
  const auto& head = generic_head_points();
  cv::Point3f head_mean(0, 0, 0);
  cv::Point2f image_mean(0, 0);
  for (std::size_t i = 0; i < 5; ++i) {
    head_mean += head[i];
    image_mean += landmarks[i];
  }
  head_mean *= 0.2f;
  image_mean *= 0.2f;
  cv::Mat A(5, 3, CV_64F), B(5, 2, CV_64F);
  for (int i = 0; i < 5; ++i) {
    const cv::Point3f h = head[static_cast<std::size_t>(i)] - head_mean;
    const cv::Point2f p = landmarks[static_cast<std::size_t>(i)] - image_mean;
    A.at<double>(i, 0) = h.x;
    A.at<double>(i, 1) = h.y;
    A.at<double>(i, 2) = h.z;
    B.at<double>(i, 0) = p.x;
    B.at<double>(i, 1) = -p.y;  // image y grows downwards; the head's y grows upwards
  }
  cv::Mat M;  // 3x2: A * M = B
  if (!cv::solve(A, B, M, cv::DECOMP_SVD)) return {};
  cv::Vec3d r1(M.at<double>(0, 0), M.at<double>(1, 0), M.at<double>(2, 0));
  cv::Vec3d r2(M.at<double>(0, 1), M.at<double>(1, 1), M.at<double>(2, 1));
  if (cv::norm(r1) < 1e-9 || cv::norm(r2) < 1e-9) return {};
  r1 /= cv::norm(r1);
  r2 -= r2.dot(r1) * r1;
  if (cv::norm(r2) < 1e-9) return {};
  r2 /= cv::norm(r2);
  const cv::Vec3d r3 = r1.cross(r2);
  // R = Rz(roll) * Ry(yaw) * Rx(pitch), rows r1, r2, r3.
  HeadPose pose;
  pose.yaw_deg = static_cast<float>(std::asin(std::clamp(-r3[0], -1.0, 1.0))) * kDegrees;
  pose.pitch_deg = static_cast<float>(std::atan2(r3[1], r3[2])) * kDegrees;
  // Yaw > 0 turns the head's front (+z) towards +x, the image's right. Roll > 0 turns +x towards
  // +y: anticlockwise with y up, clockwise on the screen, whose y points down.
  pose.roll_deg = static_cast<float>(std::atan2(r2[0], r1[0])) * kDegrees;
  return pose;
}

FaceQuality assess_face(const Frame& frame, const DetectedFace& face) {
  FaceQuality q;
  q.size_px = face.size();
  q.confidence = face.confidence;
  q.pose = estimate_head_pose(face.landmarks);
  // Sharpness is measured on the middle of the face (the box shrunk to 70%, so hair and
  // background edges do not count), resampled to 64x64 so that faces of any size are compared
  // at the scale a recognizer sees them: the Laplacian's variance relative to the patch's own
  // variance. Blur and upscaled small faces lose the fine detail and score low; the ratio does
  // not depend on the light's level or contrast.
  const cv::Rect2f inner(face.box.x + 0.15f * face.box.width, face.box.y + 0.15f * face.box.height, 0.7f * face.box.width,
                         0.7f * face.box.height);
  const cv::Mat bgr = frame.region_bgr(cv::Rect(inner));
  if (bgr.cols >= 4 && bgr.rows >= 4) {
    cv::Mat grey, patch, laplacian;
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    const bool shrink = grey.cols > 64;
    cv::resize(grey, patch, cv::Size(64, 64), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    patch.convertTo(patch, CV_32F);
    cv::Laplacian(patch, laplacian, CV_32F);
    cv::Scalar mean, deviation, lap_mean, lap_deviation;
    cv::meanStdDev(patch, mean, deviation);
    cv::meanStdDev(laplacian, lap_mean, lap_deviation);
    const double variance = deviation[0] * deviation[0];
    if (variance > 1.0) q.sharpness = static_cast<float>(lap_deviation[0] * lap_deviation[0] / variance);
  }
  q.score = size_factor(q.size_px) * pose_factor(q.pose) * sharpness_factor(q.sharpness) * confidence_factor(q.confidence);
  return q;
}

std::vector<std::string> quality_shortfalls(const FaceQuality& quality, const QualityFloor& floor) {
  std::vector<std::string> reasons;
  if (quality.size_px < floor.min_size_px)
    reasons.push_back("the face is " + std::to_string(static_cast<int>(quality.size_px)) + " px, need at least " +
                      std::to_string(static_cast<int>(floor.min_size_px)) + " px");
  if (std::abs(quality.pose.yaw_deg) > floor.max_abs_yaw_deg)
    reasons.push_back("the face is turned " + degrees(quality.pose.yaw_deg) + " to the side, need at most " + degrees(floor.max_abs_yaw_deg));
  if (std::abs(quality.pose.pitch_deg) > floor.max_abs_pitch_deg)
    reasons.push_back(std::string("the head is tilted ") + degrees(quality.pose.pitch_deg) + (quality.pose.pitch_deg > 0 ? " up" : " down") +
                      ", need at most " + degrees(floor.max_abs_pitch_deg));
  if (quality.sharpness < floor.min_sharpness)
    reasons.push_back("the face is blurred (sharpness " + decimal(quality.sharpness, 3) + ", need at least " + decimal(floor.min_sharpness, 3) + ")");
  if (quality.confidence < floor.min_confidence)
    reasons.push_back("the face is unclear to the detector (confidence " + decimal(quality.confidence, 2) + ", need at least " +
                      decimal(floor.min_confidence, 2) + ")");
  return reasons;
}

const char* quality_band(float score) {
  if (score < 0.4f) return "low";
  if (score < 0.7f) return "medium";
  return "high";
}

nlohmann::json face_quality_json(const FaceQuality& q) {
  // Division by the inverse keeps the nearest double: 0.1 steps print as 12.3, not 12.299999.
  auto rounded = [](float value, double inverse_unit) { return std::round(static_cast<double>(value) * inverse_unit) / inverse_unit; };
  return {{"score", rounded(q.score, 1e3)},
          {"band", quality_band(q.score)},
          {"size_px", rounded(q.size_px, 1.0)},
          {"yaw_deg", rounded(q.pose.yaw_deg, 10.0)},
          {"pitch_deg", rounded(q.pose.pitch_deg, 10.0)},
          {"sharpness", rounded(q.sharpness, 1e3)},
          {"confidence", rounded(q.confidence, 1e3)}};
}

}  // namespace glassbox
