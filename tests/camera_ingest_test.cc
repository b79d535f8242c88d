// The live ingest path with scripted sources: drop-oldest queues count every drop, backoff
// stays within its bounds, and a camera that fails, ends or stalls is reconnected while its
// state and last error stay visible.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "ingest/camera_config.h"
#include "ingest/camera_ingest.h"
#include "support/fake_frame_source.h"

namespace glassbox {
namespace {

using namespace std::chrono_literals;
using test::FakeFrameSource;
using test::FakeStep;

TEST(DropOldestQueue, KeepsTheNewestAndCountsEveryDrop) {
  DropOldestQueue<int> q(3);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(q.push(i));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.dropped(), 7u);
  EXPECT_EQ(q.pushed(), 10u);
  EXPECT_EQ(q.pop(0ms), 7);
  EXPECT_EQ(q.pop(0ms), 8);
  EXPECT_EQ(q.pop(0ms), 9);
  EXPECT_FALSE(q.pop(1ms).has_value());
}

TEST(DropOldestQueue, CloseWakesConsumersAndRefusesProducers) {
  DropOldestQueue<int> q(2);
  std::atomic<bool> woke{false};
  std::thread consumer([&] {
    EXPECT_FALSE(q.pop(10s).has_value());
    woke = true;
  });
  std::this_thread::sleep_for(20ms);
  q.close();
  consumer.join();
  EXPECT_TRUE(woke);
  EXPECT_FALSE(q.push(1));
}

TEST(DropOldestQueue, ManyProducersNothingLostButTheCountedDrops) {
  DropOldestQueue<int> q(64);
  std::atomic<int> popped{0};
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    while (!done || q.size() > 0)
      if (q.pop(1ms)) ++popped;
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p)
    producers.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) q.push(i);
    });
  for (auto& t : producers) t.join();
  done = true;
  consumer.join();
  EXPECT_EQ(static_cast<std::uint64_t>(popped.load()) + q.dropped(), 20000u);
}

TEST(ExponentialBackoff, DoublesWithJitterUpToTheMaximumAndResets) {
  ExponentialBackoff b({1000ms, 30000ms, 2.0}, 42);
  const std::int64_t steps[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  for (std::int64_t step : steps) {
    const auto wait = b.next().count();
    EXPECT_GE(wait, step / 2);
    EXPECT_LE(wait, step);
  }
  b.reset();
  EXPECT_LE(b.next().count(), 1000);
  // Jitter: two cameras failing together do not wait the same.
  ExponentialBackoff a({1000ms, 30000ms, 2.0}, 1), c({1000ms, 30000ms, 2.0}, 2);
  EXPECT_NE(a.next(), c.next());
}

CameraIngestOptions fast_options() {
  CameraIngestOptions o;
  o.rate_fps = 0.0;  // every frame
  o.stall_timeout = 150ms;
  o.backoff = {5ms, 20ms, 2.0};
  return o;
}

// Opens a new scripted source on each call, from a list; then sources that fail to open.
CameraIngest::Opener scripted(std::vector<std::vector<FakeStep>> scripts, std::atomic<int>& opens) {
  auto shared = std::make_shared<std::vector<std::vector<FakeStep>>>(std::move(scripts));
  return [shared, &opens]() -> Result<std::unique_ptr<FrameSource>> {
    const int i = opens++;
    if (i >= static_cast<int>(shared->size()) || (*shared)[static_cast<std::size_t>(i)].empty())
      return Error{"fake camera: connection refused"};
    return std::unique_ptr<FrameSource>(new FakeFrameSource((*shared)[static_cast<std::size_t>(i)]));
  };
}

template <typename Predicate>
bool eventually(Predicate p, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return p();
}

TEST(CameraIngest, ReconnectsAfterErrorsAndRefusalsAndKeepsDelivering) {
  std::atomic<int> opens{0};
  auto frames_then_error = FakeFrameSource::frames(5);
  frames_then_error.push_back({FakeStep::kError});
  DropOldestQueue<CapturedFrame> queue(1000);
  // open ok (5 frames, error) -> refused -> open ok (5 frames, error) -> refused forever
  CameraIngest camera("cam1", scripted({frames_then_error, {}, frames_then_error}, opens), queue, fast_options());
  camera.start();
  ASSERT_TRUE(eventually([&] { return queue.pushed() == 10 && opens.load() >= 4; }));
  const CameraStatus s = camera.status();
  EXPECT_EQ(s.frames_decoded, 10u);
  EXPECT_EQ(s.frames_queued, 10u);
  EXPECT_EQ(s.reconnects, 1u);
  EXPECT_GE(s.failures, 3u);
  EXPECT_NE(s.last_error.find("cam1"), std::string::npos);
  EXPECT_TRUE(s.state == CameraState::kBackingOff || s.state == CameraState::kConnecting) << camera_state_name(s.state);
  camera.stop();
  EXPECT_EQ(camera.status().state, CameraState::kStopped);
}

TEST(CameraIngest, AStalledCameraIsReportedAndReconnected) {
  std::atomic<int> opens{0};
  auto stalls = FakeFrameSource::frames(3);
  stalls.push_back({FakeStep::kDelay, 300});  // longer than the 150 ms stall timeout
  stalls.push_back({FakeStep::kEnd});
  DropOldestQueue<CapturedFrame> queue(100);
  auto options = fast_options();
  options.backoff = {400ms, 400ms, 1.0};  // long enough to observe the stalled state
  CameraIngest camera("cam2", scripted({stalls, FakeFrameSource::frames(2)}, opens), queue, options);
  camera.start();
  ASSERT_TRUE(eventually([&] { return camera.status().state == CameraState::kStalled; }));
  EXPECT_NE(camera.status().last_error.find("no frame for"), std::string::npos) << camera.status().last_error;
  ASSERT_TRUE(eventually([&] { return camera.status().frames_decoded == 5; }));
  EXPECT_EQ(camera.status().reconnects, 1u);
  camera.stop();
}

TEST(CameraIngest, AFullQueueDropsTheOldestWithoutBlockingTheCamera) {
  std::atomic<int> opens{0};
  DropOldestQueue<CapturedFrame> queue(4);
  CameraIngest camera("cam3", scripted({FakeFrameSource::frames(200)}, opens), queue, fast_options());
  camera.start();
  ASSERT_TRUE(eventually([&] { return camera.status().frames_decoded == 200; }));
  camera.stop();
  EXPECT_EQ(queue.size(), 4u);
  EXPECT_EQ(queue.dropped(), 196u);
  EXPECT_EQ(queue.pop(0ms)->header.index, 196) << "the newest frames are kept";
}

TEST(CameraIngest, TheAnalysisRateSelectsFramesByStreamTime) {
  std::atomic<int> opens{0};
  DropOldestQueue<CapturedFrame> queue(1000);
  auto options = fast_options();
  options.rate_fps = 5.0;  // of a 25 fps fake stream: every 5th frame
  CameraIngest camera("cam4", scripted({FakeFrameSource::frames(100)}, opens), queue, options);
  camera.start();
  ASSERT_TRUE(eventually([&] { return camera.status().frames_decoded == 100; }));
  camera.stop();
  EXPECT_EQ(queue.pushed(), 20u);
}

TEST(CameraIngest, LoopedFilesRestartWithoutCountingAFailure) {
  std::atomic<int> opens{0};
  auto clip = FakeFrameSource::frames(10);
  clip.push_back({FakeStep::kEnd});
  DropOldestQueue<CapturedFrame> queue(1000);
  auto options = fast_options();
  options.loop = true;
  CameraIngest camera("cam5", scripted({clip, clip, clip}, opens), queue, options);
  camera.start();
  ASSERT_TRUE(eventually([&] { return camera.status().frames_decoded == 30; }));
  camera.stop();
  EXPECT_EQ(camera.status().reconnects, 2u);
}

TEST(CameraIngest, StopIsPromptEvenWhileBackingOffAndDisabledCamerasNeverStart) {
  std::atomic<int> opens{0};
  DropOldestQueue<CapturedFrame> queue(10);
  auto options = fast_options();
  options.backoff = {60000ms, 60000ms, 1.0};
  CameraIngest camera("cam6", scripted({}, opens), queue, options);
  camera.start();
  ASSERT_TRUE(eventually([&] { return camera.status().state == CameraState::kBackingOff; }));
  const auto before = std::chrono::steady_clock::now();
  camera.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);

  options.enabled = false;
  std::atomic<int> never{0};
  CameraIngest disabled("cam7", scripted({FakeFrameSource::frames(5)}, never), queue, options);
  disabled.start();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(disabled.status().state, CameraState::kDisabled);
  EXPECT_EQ(never.load(), 0);
}

TEST(CameraIngest, NextFrameHandsOutAFrameOnlyWhenAskedAndSaysWhyNot) {
  std::atomic<int> opens{0};
  DropOldestQueue<CapturedFrame> queue(4);
  std::vector<FakeStep> slow;  // a camera at about 50 fps for two seconds, then silent for a while
  for (int i = 0; i < 100; ++i) {
    slow.push_back({FakeStep::kDelay, 20});
    slow.push_back({});
  }
  slow.push_back({FakeStep::kDelay, 400});
  CameraIngest camera("cam8", scripted({slow}, opens), queue, fast_options());
  auto not_started = camera.next_frame(10ms);
  ASSERT_FALSE(not_started);
  EXPECT_NE(not_started.error().message.find("not running"), std::string::npos) << not_started.error().message;
  camera.start();
  // Two people asking at once both get a picture; it is the camera's, at its size.
  Result<Frame> first = Error{"not asked"}, second = Error{"not asked"};
  std::thread other([&] { second = camera.next_frame(2000ms); });
  first = camera.next_frame(2000ms);
  other.join();
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(first->width(), 8);
  EXPECT_EQ(second->height(), 8);
  // Once the camera falls silent, a request times out naming the camera and its state.
  ASSERT_TRUE(eventually([&] { return camera.status().frames_decoded == 100; }));
  auto silent = camera.next_frame(50ms);
  ASSERT_FALSE(silent);
  EXPECT_NE(silent.error().message.find("cam8: no frame within 50 ms; the camera is streaming"), std::string::npos) << silent.error().message;
  camera.stop();

  auto options = fast_options();
  options.enabled = false;
  CameraIngest disabled("cam9", scripted({FakeFrameSource::frames(5)}, opens), queue, options);
  auto off = disabled.next_frame(10ms);
  ASSERT_FALSE(off);
  EXPECT_NE(off.error().message.find("switched off"), std::string::npos);
}

// A camera's error as the API shows it: the URL's credentials and query hidden wherever the
// library repeated it — and a URL with nothing to hide left as it is (the API once looped
// forever on one, replacing it with itself; tests/camera_faults_test.cc found it).
TEST(CameraUrl, ALibrarysMessageShowsTheUrlWithoutItsCredentialsWhereverItRepeatsIt) {
  EXPECT_EQ(with_url_redacted("rtsp://ann:secret@cam/live?token=1: timeout; retrying rtsp://ann:secret@cam/live?token=1",
                              "rtsp://ann:secret@cam/live?token=1"),
            "rtsp://***@cam/live?***: timeout; retrying rtsp://***@cam/live?***");
  EXPECT_EQ(with_url_redacted("http://127.0.0.1:8554/live.ts: Connection reset by peer (http://127.0.0.1:8554/live.ts)", "http://127.0.0.1:8554/live.ts"),
            "http://127.0.0.1:8554/live.ts: Connection reset by peer (http://127.0.0.1:8554/live.ts)");
  EXPECT_EQ(with_url_redacted("/videos/a.mp4: end of file", "/videos/a.mp4"), "/videos/a.mp4: end of file");
  EXPECT_EQ(with_url_redacted("no URL here", ""), "no URL here");
}

}  // namespace
}  // namespace glassbox
