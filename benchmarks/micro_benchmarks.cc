// Kernels of the frame path and of matching, one by one: the 8-bit scan against the double
// precision scan it replaced, the conversions a YUV frame gets (the detector's scaled input in
// one pass against full conversion and resize, a face's region, an aligned chip), YuNet at the
// sizes used, and the recognizer one face and eight faces per pass. One thread each.
#include <map>
#include <memory>

#include <benchmark/benchmark.h>

#include <opencv2/imgproc.hpp>

#include "align/face_aligner.h"
#include "align/similarity.h"
#include "core/frame.h"
#include "detect/yunet_detector.h"
#include "quality/face_quality.h"
#include "embed/onnx_embedder.h"
#include "match/packed_scan.h"
#include "match/watchlist_matrix.h"

namespace glassbox {
namespace {

constexpr int kDim = 128;

struct Templates {
  cv::Mat rows;
  WatchlistMatrix matrix{Metric::kEuclidean, kDim};
  std::vector<std::vector<float>> probes;
};

// Synthetic dlib-like templates (a sizes' worth kept between benchmarks).
Templates& templates(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<Templates>> made;
  auto& t = made[n];
  if (!t) {
    t = std::make_unique<Templates>();
    cv::RNG rng(7);
    t->rows.create(static_cast<int>(n), kDim, CV_32F);
    rng.fill(t->rows, cv::RNG::NORMAL, 0.0, 0.056);
    t->matrix.reserve(n);
    for (int r = 0; r < t->rows.rows; ++r) (void)t->matrix.add({r, {}, std::vector<float>(t->rows.ptr<float>(r), t->rows.ptr<float>(r) + kDim)});
    for (int i = 0; i < 8; ++i) {
      cv::Mat p(1, kDim, CV_32F);
      rng.fill(p, cv::RNG::NORMAL, 0.0, 0.056);
      t->probes.emplace_back(p.ptr<float>(), p.ptr<float>() + kDim);
    }
  }
  return *t;
}

void BM_PackedScanOneProbe(benchmark::State& state) {
  auto& t = templates(static_cast<std::size_t>(state.range(0)));
  MatchWork work;
  for (auto _ : state) benchmark::DoNotOptimize(t.matrix.best_matches({t.probes[0]}, 0.42, {}, 1, &work));
  state.counters["exactly_scored"] = benchmark::Counter(static_cast<double>(work.candidates), benchmark::Counter::kAvgIterations);
  state.counters["rescans"] = benchmark::Counter(static_cast<double>(work.rescans), benchmark::Counter::kAvgIterations);
  state.SetLabel(packed::kernel_name());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PackedScanOneProbe)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

void BM_PackedScanEightProbes(benchmark::State& state) {
  auto& t = templates(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(t.matrix.best_matches(t.probes, 0.42));
  state.SetLabel(packed::kernel_name());
  state.SetItemsProcessed(state.iterations() * 8);
}
BENCHMARK(BM_PackedScanEightProbes)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

// The scan WatchlistMatrix did before the 8-bit copy: every row, in double precision.
void BM_DoubleScanOneProbe(benchmark::State& state) {
  auto& t = templates(static_cast<std::size_t>(state.range(0)));
  const auto& probe = t.probes[0];
  for (auto _ : state) {
    double best = 1e300;
    for (int r = 0; r < t.rows.rows; ++r) {
      const float* row = t.rows.ptr<float>(r);
      double dot = 0.0, sq = 0.0;
      for (int k = 0; k < kDim; ++k) {
        dot += static_cast<double>(row[k]) * probe[static_cast<std::size_t>(k)];
        sq += static_cast<double>(row[k]) * row[k];
      }
      best = std::min(best, sq - 2.0 * dot);
    }
    benchmark::DoNotOptimize(best);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DoubleScanOneProbe)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

// A 1080p YUV 4:2:0 frame of smooth noise.
struct YuvFrame {
  cv::Mat y = cv::Mat(1080, 1920, CV_8UC1), u = cv::Mat(540, 960, CV_8UC1), v = cv::Mat(540, 960, CV_8UC1);
  Frame frame;
  YuvFrame() {
    cv::RNG rng(3);
    for (cv::Mat* m : {&y, &u, &v}) {
      rng.fill(*m, cv::RNG::UNIFORM, 0, 255);
      cv::GaussianBlur(*m, *m, {9, 9}, 3);
    }
    frame = Frame::from_yuv420(y, u, v, nullptr);
  }
};
YuvFrame& yuv() {
  static YuvFrame f;
  return f;
}

void BM_ScaledBgrFromYuv1080pTo640(benchmark::State& state) {
  cv::Mat out;
  for (auto _ : state) yuv().frame.scaled_bgr({640, 360}, out);
}
BENCHMARK(BM_ScaledBgrFromYuv1080pTo640)->Unit(benchmark::kMillisecond);

// What the frame path did before: the whole frame to BGR, then an area resize.
void BM_FullBgrThenResize1080pTo640(benchmark::State& state) {
  cv::Mat out;
  for (auto _ : state) {
    const cv::Mat bgr = yuv().frame.bgr();
    cv::resize(bgr, out, {640, 360}, 0, 0, cv::INTER_AREA);
  }
}
BENCHMARK(BM_FullBgrThenResize1080pTo640)->Unit(benchmark::kMillisecond);

void BM_RegionBgr300px(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(yuv().frame.region_bgr({801, 401, 300, 300}));
}
BENCHMARK(BM_RegionBgr300px)->Unit(benchmark::kMicrosecond);

void BM_AlignFaceFromYuv(benchmark::State& state) {
  const Template5 dlib = {cv::Point2f{47.55f, 46.60f}, {100.48f, 46.60f}, {74.01f, 76.56f}, {50.41f, 103.02f}, {97.61f, 103.02f}};
  Landmarks face;
  for (std::size_t i = 0; i < 5; ++i) face[i] = {dlib[i].x * 1.5f + 900.0f, dlib[i].y * 1.5f + 500.0f};
  for (auto _ : state) benchmark::DoNotOptimize(align_face(yuv().frame, face, dlib, {150, 150}));
}
BENCHMARK(BM_AlignFaceFromYuv)->Unit(benchmark::kMicrosecond);

// The default profile's alignment (dlib_chip68): the 68-point shape predictor started from the
// box found from the five landmarks, then dlib's chip. The predictor's cascade costs the same
// whatever the pixels, so a synthetic frame measures it.
void BM_AlignFaceDlibChip68FromYuv(benchmark::State& state) {
  auto profile = load_model_profile(kDefaultProfile);
  if (!profile) return state.SkipWithError(profile.error().message.c_str());
  auto aligner = make_face_aligner(profile->alignment, profile->input_size);
  if (!aligner) return state.SkipWithError(aligner.error().message.c_str());
  const Template5& t = profile->alignment.landmark_template;
  Landmarks face;
  for (std::size_t i = 0; i < 5; ++i) face[i] = {t[i].x * 1.5f + 900.0f, t[i].y * 1.5f + 500.0f};
  for (auto _ : state) benchmark::DoNotOptimize((*aligner)->align(yuv().frame, face));
}
BENCHMARK(BM_AlignFaceDlibChip68FromYuv)->Unit(benchmark::kMicrosecond);

// Face quality, measured on every face the detector keeps: pose from the landmarks, and the
// sharpness of a 64x64 grey patch cut (and converted from YUV) from a face of the given size.
void BM_AssessFaceQualityFromYuv(benchmark::State& state) {
  const float size = static_cast<float>(state.range(0));
  DetectedFace face;
  face.box = cv::Rect2f(900.0f, 400.0f, size, size);
  face.landmarks = {cv::Point2f{900 + 0.3f * size, 400 + 0.4f * size}, {900 + 0.7f * size, 400 + 0.4f * size}, {900 + 0.5f * size, 400 + 0.6f * size},
                    {900 + 0.35f * size, 400 + 0.8f * size}, {900 + 0.65f * size, 400 + 0.8f * size}};
  face.confidence = 0.95f;
  for (auto _ : state) benchmark::DoNotOptimize(assess_face(yuv().frame, face));
}
BENCHMARK(BM_AssessFaceQualityFromYuv)->Arg(64)->Arg(300)->Unit(benchmark::kMicrosecond);

void BM_YuNetOn1080p(benchmark::State& state) {
  cv::setNumThreads(1);
  DetectorOptions options;
  options.max_side = static_cast<int>(state.range(0));
  auto detector = YuNetDetector::create(options);
  if (!detector) {
    state.SkipWithError(detector.error().message.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize((*detector)->detect(yuv().frame));
}
BENCHMARK(BM_YuNetOn1080p)->Arg(320)->Arg(480)->Arg(640)->Unit(benchmark::kMillisecond);

void BM_EmbedDlib(benchmark::State& state) {
  cv::setNumThreads(1);
  auto profile = load_model_profile(kDefaultProfile);
  auto embedder = profile ? OnnxEmbedder::create(*profile) : Result<std::unique_ptr<OnnxEmbedder>>(profile.error());
  if (!embedder) {
    state.SkipWithError(embedder.error().message.c_str());
    return;
  }
  cv::Mat chip(150, 150, CV_8UC3);
  cv::randu(chip, 0, 256);
  const std::vector<cv::Mat> chips(static_cast<std::size_t>(state.range(0)), chip);
  for (auto _ : state) benchmark::DoNotOptimize((*embedder)->embed_batch(chips));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EmbedDlib)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace glassbox

BENCHMARK_MAIN();
