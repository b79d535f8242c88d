// The frame path on real video with the real models: VideoDecoder hands frames on as the
// decoder's YUV (by reference, valid after the decoder moves on), colours come out right for
// limited- and full-range formats, other formats fall back to BGR, and a batch of faces gives
// the templates one-by-one embedding gives.
#include <cstdlib>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "detect/yunet_detector.h"
#include "embed/embed_face.h"
#include "embed/onnx_embedder.h"
#include "ingest/image_sources.h"
#include "ingest/video_decoder.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

namespace fs = std::filesystem;

const char* kClip = "video/talking_heads/WDA_KatieHill_000_h264.mp4";

TEST(FramePath, DecodedFramesStayYuvAndOutliveTheDecodersNextFrames) {
  auto decoder = VideoDecoder::open(test::data(kClip).string(), {});
  ASSERT_TRUE(decoder) << decoder.error().message;
  EXPECT_EQ((*decoder)->info().width, 512);
  EXPECT_NEAR((*decoder)->info().fps, 25.0, 0.01);
  std::vector<Frame> kept;
  std::vector<cv::Mat> copies;
  double last = -1.0;
  int frames = 0;
  while (true) {
    auto t = (*decoder)->next();
    ASSERT_TRUE(t) << t.error().message;
    if (!t->has_value()) break;
    EXPECT_GT(**t, last) << "times increase";
    last = **t;
    ++frames;
    if (frames % 40 == 1) {
      auto f = (*decoder)->frame();
      ASSERT_TRUE(f);
      EXPECT_TRUE(f->is_yuv()) << "H.264 4:2:0 is handed on unconverted";
      kept.push_back(*f);
      copies.push_back(f->bgr().clone());
    }
  }
  EXPECT_EQ(frames, 200);
  EXPECT_NEAR(last, 199.0 / 25.0, 1e-3);
  // The decoder reused its buffers for 200 frames meanwhile; the kept frames hold their own.
  for (std::size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(cv::norm(kept[i].bgr(), copies[i], cv::NORM_INF), 0.0) << "frame " << i;
}

TEST(FramePath, KeyframesOnlyDecodesOnlyKeyframes) {
  DecoderOptions options;
  options.keyframes_only = true;
  auto decoder = VideoDecoder::open(test::data(kClip).string(), options);
  ASSERT_TRUE(decoder);
  int frames = 0;
  while (true) {
    auto t = (*decoder)->next();
    ASSERT_TRUE(t);
    if (!t->has_value()) break;
    ++frames;
  }
  EXPECT_EQ((*decoder)->counts().frames_decoded, frames);
  EXPECT_LT(frames, 20);
  EXPECT_EQ((*decoder)->counts().packets_skipped + (*decoder)->counts().packets_sent, 200);
  // The skipped packets still say how far the file was read: to its end (8 s at 25 fps), not
  // to its last keyframe, so an intact file is not mistaken for a truncated one.
  EXPECT_NEAR((*decoder)->read_up_to_s(), 8.0, 0.05);
}

// A clip of one flat colour, encoded by the ffmpeg program in `pixel_format` with `codec`.
fs::path flat_clip(const test::TempDir& dir, const std::string& name, const std::string& codec, const std::string& pixel_format) {
  const fs::path out = dir / name;
  const std::string command = "ffmpeg -loglevel error -y -f lavfi -i color=c=0x3366CC:s=320x240:d=1:r=10 -c:v " + codec +
                              " -pix_fmt " + pixel_format + " " + out.string();
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return out;
}

TEST(FramePath, ColoursComeOutRightForLimitedAndFullRangeAndOtherFormats) {
  test::TempDir dir;
  struct Case {
    std::string name, codec, format;
    bool yuv;
  };
  for (const Case& c : {Case{"limited.mp4", "libx264", "yuv420p", true}, Case{"full.mkv", "mjpeg", "yuvj420p", false},
                        Case{"444.mkv", "libx264", "yuv444p", false}}) {
    auto decoder = VideoDecoder::open(flat_clip(dir, c.name, c.codec, c.format).string(), {});
    ASSERT_TRUE(decoder) << c.name;
    ASSERT_TRUE((*decoder)->next());
    auto f = (*decoder)->frame();
    ASSERT_TRUE(f) << c.name;
    EXPECT_EQ(f->is_yuv(), c.yuv) << c.name;
    const cv::Scalar mean = cv::mean(f->bgr());
    EXPECT_NEAR(mean[0], 0xCC, 6) << c.name << " blue";
    EXPECT_NEAR(mean[1], 0x66, 6) << c.name << " green";
    EXPECT_NEAR(mean[2], 0x33, 6) << c.name << " red";
    cv::Mat scaled;
    f->scaled_bgr({160, 120}, scaled);
    EXPECT_NEAR(cv::mean(scaled)[0], 0xCC, 6) << c.name << " scaled";
  }
}

TEST(FramePath, ABatchOfFacesGivesTheTemplatesOneByOneGives) {
  auto detector = YuNetDetector::create({});
  ASSERT_TRUE(detector);
  auto image = read_image(test::data("faces/face_recognition/two_people.jpg"));
  ASSERT_TRUE(image);
  const Frame frame = Frame::from_bgr(*image);
  auto faces = (*detector)->detect(frame);
  ASSERT_TRUE(faces);
  ASSERT_GE(faces->size(), 2u);
  std::vector<Landmarks> landmarks;
  for (const auto& f : *faces) landmarks.push_back(f.landmarks);
  for (const char* name : {"dlib_resnet", "mobilefacenet"}) {
    auto profile = load_model_profile(name);
    ASSERT_TRUE(profile);
    auto embedder = OnnxEmbedder::create(*profile);
    ASSERT_TRUE(embedder);
    if (std::string(name) == "dlib_resnet") {
      EXPECT_GT((*embedder)->max_batch(), 1) << "dlib's graph runs batches";
    }
    // Repeated, so the batch is larger than a frame's faces and crosses kMaxBatch.
    std::vector<Landmarks> many;
    for (int k = 0; k < 5; ++k) many.insert(many.end(), landmarks.begin(), landmarks.end());
    const auto batched = embed_faces(**embedder, frame, many);
    ASSERT_EQ(batched.size(), many.size());
    for (std::size_t i = 0; i < many.size(); ++i) {
      auto single = embed_face(**embedder, frame, many[i]);
      ASSERT_TRUE(single && batched[i]) << name;
      double distance = 0.0;
      for (std::size_t k = 0; k < single->size(); ++k) distance += std::pow((*single)[k] - (*batched[i])[k], 2);
      EXPECT_LT(std::sqrt(distance), 1e-4) << name << " face " << i;
    }
  }
}

}  // namespace
}  // namespace glassbox
