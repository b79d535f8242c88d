// Face quality: the head pose recovered from five landmarks (the generic head turned by known
// angles and projected, orthographically and through a real camera's perspective); sharpness
// that falls when a real photo is blurred or shrunk; enrolment's floors and their reasons.
#include <cmath>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "detect/yunet_detector.h"
#include "ingest/image_sources.h"
#include "quality/face_quality.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

constexpr double kRadians = CV_PI / 180.0;

// The generic head turned by (yaw, pitch, roll) = Rz(roll) Ry(yaw) Rx(pitch), placed `distance`
// mm in front of a camera of focal length `focal` px (0: orthographic at 2 px per mm), as image
// landmarks (y down) around (320, 240).
Landmarks projected(double yaw_deg, double pitch_deg, double roll_deg, double focal = 0.0, double distance = 0.0) {
  const double y = yaw_deg * kRadians, p = pitch_deg * kRadians, r = roll_deg * kRadians;
  const cv::Matx33d Rx(1, 0, 0, 0, std::cos(p), -std::sin(p), 0, std::sin(p), std::cos(p));
  const cv::Matx33d Ry(std::cos(y), 0, std::sin(y), 0, 1, 0, -std::sin(y), 0, std::cos(y));
  const cv::Matx33d Rz(std::cos(r), -std::sin(r), 0, std::sin(r), std::cos(r), 0, 0, 0, 1);
  const cv::Matx33d R = Rz * Ry * Rx;
  Landmarks out;
  for (std::size_t i = 0; i < 5; ++i) {
    const cv::Point3f& h = generic_head_points()[i];
    const cv::Vec3d c = R * cv::Vec3d(h.x, h.y, h.z);
    const double scale = focal > 0 ? focal / (distance - c[2]) : 2.0;
    out[i] = cv::Point2f(static_cast<float>(320 + scale * c[0]), static_cast<float>(240 - scale * c[1]));
  }
  return out;
}

TEST(FaceQuality, HeadPoseIsRecoveredFromTheFiveLandmarks) {
  for (double yaw : {-40.0, -25.0, 0.0, 10.0, 30.0, 45.0}) {
    for (double pitch : {-20.0, 0.0, 15.0}) {
      for (double roll : {-20.0, 0.0, 12.0}) {
        const HeadPose pose = estimate_head_pose(projected(yaw, pitch, roll));
        EXPECT_NEAR(pose.yaw_deg, yaw, 0.5) << yaw << " " << pitch << " " << roll;
        EXPECT_NEAR(pose.pitch_deg, pitch, 0.5) << yaw << " " << pitch << " " << roll;
        EXPECT_NEAR(pose.roll_deg, roll, 0.5) << yaw << " " << pitch << " " << roll;
      }
    }
  }
}

TEST(FaceQuality, PoseThroughAPerspectiveCameraIsWithinAFewDegrees) {
  // A face 1.5 m from a 1080p camera with a 60° field of view (focal about 1660 px): the
  // orthographic model's error stays small.
  for (double yaw : {-35.0, 0.0, 20.0, 40.0}) {
    const HeadPose pose = estimate_head_pose(projected(yaw, 5.0, 0.0, 1660.0, 1500.0));
    EXPECT_NEAR(pose.yaw_deg, yaw, 3.0) << yaw;
    EXPECT_NEAR(pose.pitch_deg, 5.0, 3.0) << yaw;
  }
}

TEST(FaceQuality, ARealFrontalPhotoPassesTheEnrolmentFloorAndBlurOrShrinkingDoNot) {
  auto detector = YuNetDetector::create({});
  ASSERT_TRUE(detector);
  auto image = read_image(test::data("faces/face_recognition_knn/examples/knn_examples/train/obama/obama.jpg"));
  ASSERT_TRUE(image);
  auto assess = [&](const cv::Mat& picture) {
    const Frame frame = Frame::from_bgr(picture);
    auto faces = (*detector)->detect(frame);
    EXPECT_TRUE(faces && faces->size() == 1);
    return faces && !faces->empty() ? assess_face(frame, faces->front()) : FaceQuality{};
  };
  const FaceQuality sharp = assess(*image);
  EXPECT_LT(std::abs(sharp.pose.yaw_deg), 15.0f);
  EXPECT_GT(sharp.score, 0.5f);
  EXPECT_TRUE(quality_shortfalls(sharp, QualityFloor{}).empty()) << quality_shortfalls(sharp, QualityFloor{}).front();

  cv::Mat blurred;
  const double sigma = sharp.size_px / 40.0;  // a face a tenth of its size would look like this
  cv::GaussianBlur(*image, blurred, cv::Size(), sigma);
  const FaceQuality soft = assess(blurred);
  EXPECT_LT(soft.sharpness, sharp.sharpness * 0.5f);
  EXPECT_LT(soft.score, sharp.score);
  const auto reasons = quality_shortfalls(soft, QualityFloor{});
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons.front().find("blurred"), std::string::npos) << reasons.front();

  cv::Mat small;
  const double shrink = 30.0 / sharp.size_px;
  cv::resize(*image, small, cv::Size(), shrink, shrink, cv::INTER_AREA);
  const FaceQuality tiny = assess(small);
  EXPECT_LT(tiny.score, sharp.score);
  bool size_named = false;
  for (const auto& r : quality_shortfalls(tiny, QualityFloor{})) size_named |= r.find("px, need at least 40 px") != std::string::npos;
  EXPECT_TRUE(size_named);
}

TEST(FaceQuality, ShortfallsNameEachPartThatFailsWithItsFloor) {
  FaceQuality q;
  q.size_px = 120;
  q.pose.yaw_deg = -40.2f;
  q.pose.pitch_deg = 31.0f;
  q.sharpness = 0.5f;
  q.confidence = 0.99f;
  const auto reasons = quality_shortfalls(q, QualityFloor{});
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons[0], "the face is turned 40° to the side, need at most 35°");
  EXPECT_EQ(reasons[1], "the head is tilted 31° up, need at most 30°");
  EXPECT_STREQ(quality_band(0.2f), "low");
  EXPECT_STREQ(quality_band(0.5f), "medium");
  EXPECT_STREQ(quality_band(0.9f), "high");
}

}  // namespace
}  // namespace glassbox
