// Alignment: the similarity transform recovered from landmarks, and the chip it cuts; dlib's own
// chips (dlib_chip68) on real faces, where YuNet finds the eyes of the chip where dlib's chip
// geometry puts them, whatever the face's size and roll in the picture.
#include <array>
#include <cmath>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "align/dlib_chip_aligner.h"
#include "align/face_aligner.h"
#include "align/similarity.h"
#include "detect/yunet_detector.h"
#include "ingest/image_sources.h"
#include "support/test_support.h"
#include "embed/model_profile.h"
#include "eval/photo_templates.h"

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

// dlib_chip68 on LFW photos, each also scaled up and rolled by 20 degrees: YuNet, run on the
// chip, finds the eyes within a few pixels of where the profile's template (converted from dlib's
// chip geometry) puts them, and the box the predictor starts from holds the face.
TEST(Alignment, DlibChipsPutTheEyesWhereDlibsGeometrySays) {
  auto profile = load_model_profile("dlib_resnet");
  ASSERT_TRUE(profile) << profile.error().message;
  ASSERT_EQ(profile->alignment.method, AlignmentSpec::Method::kDlibChip68);
  auto aligner = make_face_aligner(profile->alignment, profile->input_size);
  ASSERT_TRUE(aligner) << aligner.error().message;
  auto detector = YuNetDetector::create({});
  ASSERT_TRUE(detector) << detector.error().message;
  const Template5& expected = profile->alignment.landmark_template;
  int checked = 0;
  double eye_distance_sum = 0;
  std::array<cv::Point2f, 2> upright;
  for (const char* name : {"Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Angela_Merkel/Angela_Merkel_0001.jpg", "Yoko_Ono/Yoko_Ono_0001.jpg"}) {
    auto photo = read_image(test::data(std::string("lfw/images/") + name));
    ASSERT_TRUE(photo) << photo.error().message;
    for (const double roll_degrees : {0.0, 20.0}) {
      SCOPED_TRACE(std::string(name) + " rolled " + std::to_string(roll_degrees));
      // Twice the size, rolled about the centre, on a larger canvas.
      cv::Mat big;
      cv::resize(*photo, big, {}, 2.0, 2.0, cv::INTER_LINEAR);
      cv::Mat canvas(900, 900, CV_8UC3, cv::Scalar(40, 40, 40));
      big.copyTo(canvas(cv::Rect(200, 200, big.cols, big.rows)));
      cv::warpAffine(canvas, canvas, cv::getRotationMatrix2D({450, 450}, roll_degrees, 1.0), canvas.size());
      const Frame frame = Frame::from_bgr(canvas);
      auto faces = (*detector)->detect(frame);
      ASSERT_TRUE(faces);
      const int centre = eval::centre_face(*faces, canvas.size());
      ASSERT_GE(centre, 0) << "no face";
      const DetectedFace& face = (*faces)[static_cast<std::size_t>(centre)];
      const cv::Rect2f box = dlib_detector_box(face.landmarks, profile->alignment);
      EXPECT_TRUE(box.contains(face.landmarks[0]) && box.contains(face.landmarks[1]) && box.contains(face.landmarks[3])) << "the start box holds the face";
      const cv::Mat chip = (*aligner)->align(frame, face.landmarks);
      ASSERT_EQ(chip.size(), cv::Size(150, 150));
      // YuNet on the chip (with a margin, as it expects some context).
      cv::Mat padded;
      cv::copyMakeBorder(chip, padded, 75, 75, 75, 75, cv::BORDER_CONSTANT, cv::Scalar(40, 40, 40));
      auto in_chip = (*detector)->detect(Frame::from_bgr(padded));
      ASSERT_TRUE(in_chip);
      ASSERT_EQ(in_chip->size(), 1u);
      std::array<cv::Point2f, 2> eyes;
      for (std::size_t eye : {0u, 1u}) {
        eyes[eye] = in_chip->front().landmarks[eye] - cv::Point2f(75, 75);
        EXPECT_LT(cv::norm(eyes[eye] - expected[eye]), 6.0) << "eye " << eye << " at " << eyes[eye] << ", template " << expected[eye];
      }
      if (roll_degrees == 0.0) {
        upright = eyes;
      } else {
        // The roll is taken out: the same face rolled gives the same chip.
        for (std::size_t eye : {0u, 1u}) EXPECT_LT(cv::norm(eyes[eye] - upright[eye]), 2.0) << "eye " << eye << " moved with the roll";
      }
      eye_distance_sum += cv::norm(eyes[1] - eyes[0]);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
  // The scale is dlib's (padding 0.25 of a 150 px chip). The template has the eyes where dlib's
  // mean face has the centres of its six eye points, 52.9 px apart; YuNet puts its eye points
  // about 6% further apart than those centres (56.2 px measured on these chips). A padding of 0.2
  // would put them 60 px apart, 0.3 about 52.
  const double template_distance = cv::norm(expected[1] - expected[0]);
  EXPECT_NEAR(eye_distance_sum / checked, 1.06 * template_distance, 0.025 * template_distance);
}

TEST(Alignment, AMissingShapePredictorIsAClearError) {
  auto profile = load_model_profile("dlib_resnet");
  ASSERT_TRUE(profile);
  profile->alignment.shape_predictor = "no_such_predictor.dat";
  auto aligner = make_face_aligner(profile->alignment, profile->input_size);
  ASSERT_FALSE(aligner);
  EXPECT_NE(aligner.error().message.find("libdlib-data"), std::string::npos) << aligner.error().message;
}

TEST(Alignment, AFaceAtTheEdgeGetsABlackBorderNotACrash) {
  auto profile = load_model_profile("dlib_resnet");
  ASSERT_TRUE(profile);
  auto aligner = make_face_aligner(profile->alignment, profile->input_size);
  ASSERT_TRUE(aligner) << aligner.error().message;
  cv::Mat image(300, 300, CV_8UC3, cv::Scalar(200, 200, 200));
  // A face whose landmarks lie partly outside the picture (top-left corner), and one wholly outside.
  for (const cv::Point2d shift : {cv::Point2d{-60, -60}, cv::Point2d{-1000, -1000}}) {
    const cv::Mat chip = (*aligner)->align(Frame::from_bgr(image), transformed(kDlibTemplate, 1.0, 0.0, shift));
    ASSERT_EQ(chip.size(), cv::Size(150, 150));
    EXPECT_EQ(chip.type(), CV_8UC3);
  }
}

}  // namespace
}  // namespace glassbox
