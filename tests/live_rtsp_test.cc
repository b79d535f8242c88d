// A live camera over real RTSP (Debian's rtsp-server-perl on loopback, fed by ffmpeg): the
// server is stopped mid-stream and started again; the camera's ingest must notice, back off,
// reconnect and deliver frames again within the backoff bound, while another camera goes on.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "ingest/camera_ingest.h"
#include "ingest/video_source.h"
#include "support/fake_frame_source.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The RTSP server and the camera feeding it, started together and killed together.
class RtspCamera {
 public:
  RtspCamera(int client_port, int source_port, int rtp_ports) {
    server_ = std::make_unique<test::BackgroundProcess>(std::vector<std::string>{
        "rtsp-server-perl", "--clientport", std::to_string(client_port), "--serverport", std::to_string(source_port),
        "--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1", "--rtp_start_port",
        std::to_string(rtp_ports)});
    ready_ = test::wait_for_port(source_port, 10);
    // An endless camera: the clip looped, keyframe every second.
    camera_ = std::make_unique<test::BackgroundProcess>(std::vector<std::string>{
        "ffmpeg", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i",
        test::data("video/talking_heads/WDA_EdMarkey0_000_h264.mp4").string(), "-an", "-c:v", "libx264", "-preset",
        "ultrafast", "-tune", "zerolatency", "-g", "25", "-f", "rtsp", "-rtsp_transport", "udp",
        "rtsp://127.0.0.1:" + std::to_string(source_port) + "/cam"});
  }
  bool ready() const { return ready_; }

 private:
  std::unique_ptr<test::BackgroundProcess> server_, camera_;
  bool ready_ = false;
};

template <typename Predicate>
bool eventually(Predicate p, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return p();
}

TEST(LiveRtsp, AServerRestartIsSurvivedWithinTheBackoffBoundAndOtherCamerasGoOn) {
  // The test server speaks RTP over UDP only: each connection is refused over TCP and taken over UDP.
  const int client_port = test::free_port(), source_port = test::free_port();
  const int rtp_ports = 40000 + static_cast<int>(getpid() % 2000) * 10;
  const std::string url = "rtsp://127.0.0.1:" + std::to_string(client_port) + "/cam";

  DropOldestQueue<CapturedFrame> queue(64);
  CameraIngestOptions options;
  options.rate_fps = 5.0;
  options.stall_timeout = 3000ms;
  options.backoff = {250ms, 2000ms, 2.0};
  SourceOptions source_options;
  source_options.open_timeout_s = 3.0;
  source_options.read_timeout_s = 3.0;
  CameraIngest live("live", [&] { return VideoSource::open(url, source_options); }, queue, options);

  // Another camera that must not notice anything: a fake stream at its own pace.
  DropOldestQueue<CapturedFrame> other_queue(8);
  CameraIngestOptions other_options;
  other_options.rate_fps = 0.0;
  other_options.loop = true;
  CameraIngest other("other", [] {
    auto steps = test::FakeFrameSource::frames(50);
    steps.insert(steps.begin(), test::FakeStep{test::FakeStep::kDelay, 100});
    steps.push_back({test::FakeStep::kEnd});
    return Result<std::unique_ptr<FrameSource>>(std::unique_ptr<FrameSource>(new test::FakeFrameSource(steps)));
  }, other_queue, other_options);

  auto server = std::make_unique<RtspCamera>(client_port, source_port, rtp_ports);
  ASSERT_TRUE(server->ready()) << "rtsp-server-perl did not start";
  std::this_thread::sleep_for(1500ms);  // the camera announces its stream
  live.start();
  other.start();
  ASSERT_TRUE(eventually([&] { return live.status().frames_queued >= 10; }, 20s)) << live.status().last_error;
  EXPECT_EQ(live.status().state, CameraState::kStreaming);

  // Stop the server mid-stream.
  server.reset();
  const auto other_before = other.status().frames_decoded;
  ASSERT_TRUE(eventually([&] { return live.status().failures >= 1; }, 15s)) << "the outage was not noticed";
  const auto during = live.status();
  EXPECT_NE(during.state, CameraState::kStreaming) << camera_state_name(during.state);
  EXPECT_FALSE(during.last_error.empty());

  // Start it again: frames must resume within the backoff bound plus a connect and a keyframe.
  server = std::make_unique<RtspCamera>(client_port, source_port, rtp_ports);
  ASSERT_TRUE(server->ready());
  const auto restarted = Clock::now();
  const auto queued_before = live.status().frames_queued;
  const auto bound = options.backoff.maximum + std::chrono::milliseconds(static_cast<int>(source_options.open_timeout_s * 1000)) + 6000ms;
  ASSERT_TRUE(eventually([&] { return live.status().frames_queued > queued_before + 5; }, bound))
      << "no frames " << std::chrono::duration_cast<std::chrono::milliseconds>(bound).count() << " ms after the restart; "
      << camera_state_name(live.status().state) << ": " << live.status().last_error;
  const auto resumed_after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restarted);
  std::cout << "frames resumed " << resumed_after.count() << " ms after the server came back\n";
  EXPECT_EQ(live.status().state, CameraState::kStreaming);
  EXPECT_GE(live.status().reconnects, 1u);
  EXPECT_GT(other.status().frames_decoded, other_before + 50) << "the other camera kept going through the outage";
  EXPECT_EQ(other.status().failures, 0u);
  live.stop();
  other.stop();
}

}  // namespace
}  // namespace glassbox
