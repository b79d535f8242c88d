// Frame: a video frame stays YUV and only what a stage needs is converted. These tests pin
// that the partial conversions give the same pixels as converting everything: a region is that
// region of the whole conversion, an aligned chip is the chip cut from the whole frame, and
// the detector's scaled input is an area-filtered downscale.
#include <random>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "align/similarity.h"
#include "core/frame.h"

namespace glassbox {
namespace {

const Template5 kDlibTemplate = {cv::Point2f{47.55f, 46.60f}, {100.48f, 46.60f}, {74.01f, 76.56f}, {50.41f, 103.02f}, {97.61f, 103.02f}};

// A YUV 4:2:0 frame with smooth content and noise (like a picture, unlike uniform noise, so a
// wrong offset or a chroma plane mixed up shows), its planes strided as a decoder leaves them.
struct YuvPicture {
  cv::Mat buffer;  // keeps the planes alive
  Frame frame;
};

YuvPicture make_yuv(int width, int height, unsigned seed) {
  YuvPicture p;
  const int stride = width + 32;  // rows padded, as FFmpeg's buffers are
  p.buffer = cv::Mat(height * 2, stride, CV_8UC1, cv::Scalar(0));
  cv::Mat y = p.buffer(cv::Rect(0, 0, width, height));
  cv::Mat u = p.buffer(cv::Rect(0, height, width / 2, height / 2));
  cv::Mat v = p.buffer(cv::Rect(width / 2 + 8, height, width / 2, height / 2));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-20, 20);
  for (int r = 0; r < height; ++r)
    for (int c = 0; c < width; ++c) y.at<std::uint8_t>(r, c) = cv::saturate_cast<std::uint8_t>(16 + (r * 3 + c * 2) * 200 / (3 * height + 2 * width) + noise(rng));
  for (int r = 0; r < height / 2; ++r)
    for (int c = 0; c < width / 2; ++c) {
      // Moderate colour, as pictures have: strong chroma would clip in the conversion, where the
      // two orders of work (convert then average, or average then convert) differ.
      u.at<std::uint8_t>(r, c) = cv::saturate_cast<std::uint8_t>(128 + 20 * std::sin(c * 0.05) + noise(rng) / 4);
      v.at<std::uint8_t>(r, c) = cv::saturate_cast<std::uint8_t>(128 + 20 * std::cos(r * 0.07) + noise(rng) / 4);
    }
  p.frame = Frame::from_yuv420(y, u, v, std::make_shared<int>(0));
  return p;
}

TEST(Frame, BgrFrameSharesItsPixels) {
  cv::Mat image(40, 60, CV_8UC3, cv::Scalar(1, 2, 3));
  const Frame f = Frame::from_bgr(image);
  EXPECT_EQ(f.size(), cv::Size(60, 40));
  EXPECT_FALSE(f.is_yuv());
  EXPECT_EQ(f.bgr().data, image.data);
  EXPECT_TRUE(Frame::from_bgr(cv::Mat(4, 4, CV_8UC1)).empty()) << "only 8-bit BGR is a BGR frame";
}

TEST(Frame, RegionOfAYuvFrameIsThatRegionOfTheWholeConversion) {
  const YuvPicture p = make_yuv(320, 240, 1);
  const cv::Mat whole = p.frame.bgr();
  ASSERT_EQ(whole.size(), cv::Size(320, 240));
  // Odd and even origins and sizes, at the edges, and reaching past them (clipped).
  for (const cv::Rect r : {cv::Rect(0, 0, 320, 240), cv::Rect(10, 20, 64, 48), cv::Rect(11, 21, 63, 47), cv::Rect(1, 1, 1, 1),
                           cv::Rect(300, 200, 40, 60), cv::Rect(-5, -7, 30, 30), cv::Rect(319, 239, 1, 1)}) {
    const cv::Mat region = p.frame.region_bgr(r);
    const cv::Rect clipped = r & cv::Rect(0, 0, 320, 240);
    ASSERT_EQ(region.size(), clipped.size()) << r;
    EXPECT_EQ(cv::norm(region, whole(clipped), cv::NORM_INF), 0.0) << r;
  }
  EXPECT_TRUE(p.frame.region_bgr(cv::Rect(400, 10, 20, 20)).empty());
}

TEST(Frame, YuvIsConvertedAsOpenCvConvertsI420) {
  // The reference: the planes packed into one I420 image and converted by OpenCV.
  const YuvPicture p = make_yuv(64, 32, 2);
  cv::Mat i420(48, 64, CV_8UC1);
  const cv::Mat& buffer = p.buffer;
  buffer(cv::Rect(0, 0, 64, 32)).copyTo(i420(cv::Rect(0, 0, 64, 32)));
  buffer(cv::Rect(0, 32, 32, 16)).copyTo(cv::Mat(16, 32, CV_8UC1, i420.ptr(32)));
  buffer(cv::Rect(40, 32, 32, 16)).copyTo(cv::Mat(16, 32, CV_8UC1, i420.ptr(32) + 32 * 16));
  cv::Mat expected;
  cv::cvtColor(i420, expected, cv::COLOR_YUV2BGR_I420);
  EXPECT_EQ(cv::norm(p.frame.bgr(), expected, cv::NORM_INF), 0.0);
}

TEST(Frame, ScaledInputIsAnAreaDownscaleAndNeverSharesTheFrame) {
  const YuvPicture p = make_yuv(1280, 720, 3);
  cv::Mat scaled;
  p.frame.scaled_bgr({640, 360}, scaled);
  ASSERT_EQ(scaled.size(), cv::Size(640, 360));
  cv::Mat reference, point_sampled;
  cv::resize(p.frame.bgr(), reference, {640, 360}, 0, 0, cv::INTER_AREA);
  cv::resize(p.frame.bgr(), point_sampled, {640, 360}, 0, 0, cv::INTER_NEAREST);
  // swscale's area filter and OpenCV's differ in their weights and rounding (0.8 grey levels on
  // average on a real 1080p frame), but both average the noise away, which dropping pixels does not.
  auto mean_difference = [&](const cv::Mat& a) { return cv::norm(a, reference, cv::NORM_L1) / static_cast<double>(a.total() * 3); };
  EXPECT_LT(mean_difference(scaled), 0.5 * mean_difference(point_sampled));
  const cv::Mat first = scaled;
  p.frame.scaled_bgr({640, 360}, scaled);
  EXPECT_EQ(scaled.data, first.data) << "the output buffer is reused between frames";

  // A frame already at the asked size is copied, not shared: the caller writes into its buffer.
  cv::Mat photo(100, 200, CV_8UC3, cv::Scalar(9, 9, 9));
  const Frame f = Frame::from_bgr(photo);
  cv::Mat out;
  f.scaled_bgr({200, 100}, out);
  out.setTo(cv::Scalar(0, 0, 0));
  EXPECT_EQ(photo.at<cv::Vec3b>(50, 50), cv::Vec3b(9, 9, 9));
}

// The chip as it was cut before frames stayed YUV: the whole frame warped.
cv::Mat chip_from_whole(const cv::Mat& bgr, const Landmarks& landmarks) {
  cv::Mat chip;
  cv::warpAffine(bgr, chip, estimate_similarity(landmarks, kDlibTemplate), {150, 150}, cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 cv::Scalar(0, 0, 0));
  return chip;
}

Landmarks face_at(double scale, double theta, cv::Point2d shift) {
  Landmarks out;
  for (std::size_t i = 0; i < 5; ++i) {
    const double x = kDlibTemplate[i].x, y = kDlibTemplate[i].y;
    out[i] = cv::Point2f(static_cast<float>(scale * (std::cos(theta) * x - std::sin(theta) * y) + shift.x),
                         static_cast<float>(scale * (std::sin(theta) * x + std::cos(theta) * y) + shift.y));
  }
  return out;
}

TEST(Frame, AlignedChipFromTheFacesRegionEqualsTheChipFromTheWholeFrame) {
  const YuvPicture p = make_yuv(640, 480, 4);
  const cv::Mat whole = p.frame.bgr();
  const Frame as_bgr = Frame::from_bgr(whole);
  // Faces small and large, turned, in the middle, at each edge and partly outside the frame.
  for (const Landmarks& face : {face_at(1.0, 0.0, {200, 150}), face_at(2.3, 0.4, {250.5, 80.25}), face_at(0.4, -0.7, {30, 400}),
                                face_at(1.5, 0.1, {-60, -40}), face_at(1.2, -0.2, {560, 400}), face_at(3.0, 1.2, {500, -100})}) {
    const cv::Mat expected = chip_from_whole(whole, face);
    EXPECT_EQ(cv::norm(align_face(p.frame, face, kDlibTemplate, {150, 150}), expected, cv::NORM_INF), 0.0) << face[0];
    EXPECT_EQ(cv::norm(align_face(as_bgr, face, kDlibTemplate, {150, 150}), expected, cv::NORM_INF), 0.0) << face[0];
  }
  // A face wholly outside the frame is a black chip, as a warp of the whole frame gives.
  const Landmarks outside = face_at(1.0, 0.0, {2000, 2000});
  EXPECT_EQ(cv::norm(align_face(p.frame, outside, kDlibTemplate, {150, 150}), chip_from_whole(whole, outside), cv::NORM_INF), 0.0);
}

TEST(Frame, ChipFootprintCoversOnlyTheFace) {
  const Landmarks face = face_at(1.0, 0.0, {300, 200});
  const cv::Rect r = chip_footprint(estimate_similarity(face, kDlibTemplate), {150, 150}, {1920, 1080});
  EXPECT_GE(r.x, 296);
  EXPECT_LE(r.x, 300);
  EXPECT_LE(r.width, 156);
  EXPECT_LE(r.height, 156);
}

}  // namespace
}  // namespace glassbox
