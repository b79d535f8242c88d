// Alignment: the similarity transform recovered from landmarks, and the chip it cuts.
#include <cmath>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "align/similarity.h"
#include "embed/model_profile.h"

namespace glassbox {
namespace {

const Template5 kDlibTemplate = {cv::Point2f{47.55f, 46.60f}, {100.48f, 46.60f}, {74.01f, 76.56f}, {50.41f, 103.02f}, {97.61f, 103.02f}};

// Applies x' = s*R(theta)*x + t to every template point: landmarks as a detector would see them.
Landmarks transformed(const Template5& points, double scale, double theta, cv::Point2d shift) {
  Landmarks out;
  for (std::size_t i = 0; i < 5; ++i) {
    const double x = points[i].x, y = points[i].y;
    out[i] = cv::Point2f(static_cast<float>(scale * (std::cos(theta) * x - std::sin(theta) * y) + shift.x),
                         static_cast<float>(scale * (std::sin(theta) * x + std::cos(theta) * y) + shift.y));
  }
  return out;
}

TEST(Alignment, TemplateOntoItselfIsIdentity) {
  Landmarks same;
  std::copy(kDlibTemplate.begin(), kDlibTemplate.end(), same.begin());
  const cv::Mat m = estimate_similarity(same, kDlibTemplate);
  EXPECT_NEAR(m.at<double>(0, 0), 1.0, 1e-9);
  EXPECT_NEAR(m.at<double>(0, 1), 0.0, 1e-9);
  EXPECT_NEAR(m.at<double>(1, 0), 0.0, 1e-9);
  EXPECT_NEAR(m.at<double>(1, 1), 1.0, 1e-9);
  EXPECT_NEAR(m.at<double>(0, 2), 0.0, 1e-6);
  EXPECT_NEAR(m.at<double>(1, 2), 0.0, 1e-6);
}

TEST(Alignment, RecoversTheInverseOfAKnownSimilarity) {
  // The face appears 2.5x larger, turned 20 degrees and moved: alignment must undo exactly that.
  const double scale = 2.5, theta = 20.0 * CV_PI / 180.0;
  const Landmarks seen = transformed(kDlibTemplate, scale, theta, {310.0, -42.0});
  const cv::Mat m = estimate_similarity(seen, kDlibTemplate);
  EXPECT_NEAR(m.at<double>(0, 0), std::cos(-theta) / scale, 1e-6);
  EXPECT_NEAR(m.at<double>(1, 0), std::sin(-theta) / scale, 1e-6);
  for (std::size_t i = 0; i < 5; ++i) {
    const double x = m.at<double>(0, 0) * seen[i].x + m.at<double>(0, 1) * seen[i].y + m.at<double>(0, 2);
    const double y = m.at<double>(1, 0) * seen[i].x + m.at<double>(1, 1) * seen[i].y + m.at<double>(1, 2);
    EXPECT_NEAR(x, kDlibTemplate[i].x, 1e-3) << "point " << i;
    EXPECT_NEAR(y, kDlibTemplate[i].y, 1e-3) << "point " << i;
  }
}

TEST(Alignment, NeverReflects) {
  // Mirrored landmarks (left and right swapped) cannot be matched by a reflection: the best
  // similarity keeps a positive determinant.
  Landmarks mirrored;
  for (std::size_t i = 0; i < 5; ++i) mirrored[i] = {150.0f - kDlibTemplate[i].x, kDlibTemplate[i].y};
  const cv::Mat m = estimate_similarity(mirrored, kDlibTemplate);
  const double det = m.at<double>(0, 0) * m.at<double>(1, 1) - m.at<double>(0, 1) * m.at<double>(1, 0);
  EXPECT_GE(det, 0.0);
}

TEST(Alignment, ChipPutsMarkedPixelsWhereTheTemplateSays) {
  // Paint five dots at landmark positions of a rotated, scaled face in a large image; the
  // aligned chip must show each dot at its template position.
  cv::Mat image(600, 800, CV_8UC3, cv::Scalar(0, 0, 0));
  const Landmarks seen = transformed(kDlibTemplate, 2.0, 0.3, {250.0, 80.0});
  for (const auto& p : seen) cv::circle(image, p, 3, cv::Scalar(255, 255, 255), cv::FILLED);
  const cv::Mat chip = align_face(Frame::from_bgr(image), seen, kDlibTemplate, cv::Size(150, 150));
  ASSERT_EQ(chip.size(), cv::Size(150, 150));
  for (const auto& p : kDlibTemplate) {
    const cv::Vec3b pixel = chip.at<cv::Vec3b>(cvRound(p.y), cvRound(p.x));
    EXPECT_GT(pixel[0], 128) << "no dot at template point (" << p.x << ", " << p.y << ")";
  }
  EXPECT_EQ(chip.at<cv::Vec3b>(5, 5), cv::Vec3b(0, 0, 0));
}

}  // namespace
}  // namespace glassbox
