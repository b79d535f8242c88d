// The live path end to end with real models: two cameras (real clips, looped) feed bounded
// queues; two shared inference workers analyse them. The watchlist is swapped in while running,
// alerts come only for the camera that shows the enrolled person, and every frame handed to
// analysis is either analysed, still queued, or counted as dropped.
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "detect/yunet_detector.h"
#include "embed/embed_face.h"
#include "embed/onnx_embedder.h"
#include "ingest/image_sources.h"
#include "ingest/video_source.h"
#include "pipeline/live_analyzer.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

using namespace std::chrono_literals;

TEST(LivePipeline, SharedWorkersServeTwoCamerasAndPickUpANewWatchlistWithoutRestart) {
  auto profile = load_model_profile(kDefaultProfile);
  ASSERT_TRUE(profile);
  const auto katie = test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string();
  const auto ed = test::data("video/talking_heads/WDA_EdMarkey0_000_h264.mp4").string();

  // The enrolled template: a still 1 s into one clip.
  test::TempDir dir;
  ASSERT_EQ(std::system(("ffmpeg -loglevel error -y -ss 1 -i " + katie + " -frames:v 1 " + (dir / "still.png").string()).c_str()), 0);
  auto detector = YuNetDetector::create({});
  auto embedder = OnnxEmbedder::create(*profile);
  ASSERT_TRUE(detector && embedder);
  auto still = read_image(dir / "still.png");
  const Frame still_frame = Frame::from_bgr(*still);
  auto faces = (*detector)->detect(still_frame);
  ASSERT_TRUE(faces && faces->size() == 1u);
  auto vector = embed_face(**embedder, still_frame, faces->front().landmarks);
  ASSERT_TRUE(vector);
  auto watchlist = std::make_shared<WatchlistMatrix>(profile->metric, profile->dimension);
  ASSERT_TRUE(watchlist->add({7, "Person B", *vector}));

  std::vector<LiveAnalyzer::Worker> workers;
  for (int i = 0; i < 2; ++i) {
    auto d = YuNetDetector::create({});
    auto e = OnnxEmbedder::create(*profile);
    ASSERT_TRUE(d && e);
    workers.push_back({std::move(*d), std::move(*e)});
  }
  CollectingAlertSink sink;
  LiveAnalyzer analyzer(std::move(workers), sink, std::make_shared<WatchlistMatrix>(profile->metric, profile->dimension));
  DropOldestQueue<CapturedFrame> katie_queue(8), ed_queue(8);
  AnalysisOptions analysis;
  analysis.threshold = profile->threshold;
  analyzer.add_camera("cam-katie", katie_queue, analysis);
  analyzer.add_camera("cam-ed", ed_queue, analysis);
  CameraIngestOptions ingest;
  ingest.rate_fps = 5.0;
  ingest.loop = true;
  CameraIngest cam_katie("cam-katie", [&] { return VideoSource::open(katie, {}); }, katie_queue, ingest);
  CameraIngest cam_ed("cam-ed", [&] { return VideoSource::open(ed, {}); }, ed_queue, ingest);
  analyzer.start();
  cam_katie.start();
  cam_ed.start();

  // Empty watchlist: faces are analysed, nobody is alerted.
  auto analysed = [&](const std::string& camera) { return analyzer.stats()[camera].frames_analysed; };
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while ((analysed("cam-katie") < 15 || analysed("cam-ed") < 15) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(sink.alerts().empty());

  // Approval takes effect while running: tracks already embedded without a match are checked
  // again against the new list, so the person in view is found without waiting for a new track.
  analyzer.set_watchlist(watchlist);
  while (sink.alerts().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  cam_katie.stop();
  cam_ed.stop();
  analyzer.stop();

  const auto alerts = sink.alerts();
  ASSERT_FALSE(alerts.empty()) << "no alert within 60 s";
  for (const Alert& a : alerts) {
    EXPECT_EQ(a.source, "cam-katie");
    EXPECT_EQ(a.entry_id, 7);
  }
  const auto stats = analyzer.stats();
  for (const auto& [name, queue, ingest_status] : {std::tuple{"cam-katie", &katie_queue, cam_katie.status()},
                                                   std::tuple{"cam-ed", &ed_queue, cam_ed.status()}}) {
    const LiveCameraStats& s = stats.at(name);
    EXPECT_GE(s.frames_analysed, 15u) << name;
    EXPECT_GE(s.faces_detected, s.frames_analysed / 2) << name << ": one speaker in view";
    EXPECT_LT(s.faces_embedded, s.frames_analysed) << name << ": embedded per track, not per frame";
    // Every frame handed over is analysed, still queued, or counted as dropped.
    EXPECT_EQ(ingest_status.frames_queued, s.frames_analysed + queue->size() + queue->dropped()) << name;
    EXPECT_GT(s.latency_sum_s, 0.0);
  }
}

}  // namespace
}  // namespace glassbox
