// Soak: `glassbox serve` with three cameras (real clips played as cameras, looped) for a bounded
// time — 60 s in the test suite, longer with GLASSBOX_SOAK_SECONDS — while memory and open file
// descriptors are sampled from /proc. After a warm-up both must stay flat, every camera must
// keep streaming, and analysis must keep going. Prints the measured numbers.
#include <httplib.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/process_memory.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

long resident_kib(int pid) { return static_cast<long>(resident_bytes(pid) / 1024); }

long open_fds(int pid) {
  long n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); ++it)
    ++n;
  return n;
}

TEST(Soak, MemoryAndFileDescriptorsStayFlatWhileThreeCamerasRun) {
  const char* env = std::getenv("GLASSBOX_SOAK_SECONDS");
  const int seconds = env ? std::max(30, std::atoi(env)) : 60;
  test::TempDir dir;
  std::string cameras;
  const char* clips[] = {"WDA_KatieHill_000_h264.mp4", "WDA_EdMarkey0_000_h264.mp4", "RD_Radio2_000_h264.mp4"};
  for (int i = 0; i < 3; ++i) {
    if (i) cameras += ",";
    cameras += R"({"name": "cam)" + std::to_string(i) + R"(", "url": ")" + test::data(std::string("video/talking_heads/") + clips[i]).string() +
               R"(", "loop": true})";
  }
  std::ofstream(dir / "config.json") << R"({"workers": 2, "cameras": [)" + cameras + "]}";
  const int port = test::free_port();
  const std::string token = test::make_account(dir.path(), "monitor", {"admin"});
  ASSERT_FALSE(token.empty());
  test::BackgroundProcess serve({GLASSBOX_BINARY, "serve", "--data-dir", dir.path().string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port), "--config", (dir / "config.json").string()});
  ASSERT_TRUE(test::wait_for_port(port, 30));
  httplib::Client http("127.0.0.1", port);
  http.set_bearer_token_auth(token);
  auto analysed = [&] {
    long total = 0;
    if (auto r = http.Get("/api/cameras"); r && r->status == 200)
      for (const auto& c : json::parse(r->body)) total += c["frames_analysed"].get<long>();
    return total;
  };

  std::this_thread::sleep_for(15s);  // warm-up: models, allocator pools, first tracks
  const long rss_start = resident_kib(serve.pid()), fds_start = open_fds(serve.pid());
  const long analysed_start = analysed();
  long rss_max = rss_start, fds_min = fds_start, fds_max = fds_start;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds - 15);
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(5s);
    rss_max = std::max(rss_max, resident_kib(serve.pid()));
    fds_min = std::min(fds_min, open_fds(serve.pid()));
    fds_max = std::max(fds_max, open_fds(serve.pid()));
  }
  const long analysed_end = analysed();
  const auto camera_list = json::parse(http.Get("/api/cameras")->body);
  long dropped = 0;
  for (const auto& c : camera_list) {
    EXPECT_EQ(c["state"], "streaming") << c["name"] << ": " << c["last_error"];
    dropped += c["frames_dropped"].get<long>();
  }
  const double rate = static_cast<double>(analysed_end - analysed_start) / (seconds - 15);
  std::cout << "soak: " << seconds << " s, 3 cameras at 5 fps: " << rate << " frames analysed per second, " << dropped
            << " frames dropped, RSS " << rss_start / 1024 << " -> " << rss_max / 1024 << " MiB (max), fds " << fds_min << ".."
            << fds_max << "\n";
  EXPECT_GT(analysed_end, analysed_start) << "analysis kept going";
  EXPECT_LT(rss_max - rss_start, 48 * 1024) << "memory grew by " << (rss_max - rss_start) / 1024 << " MiB after the warm-up";
  EXPECT_LE(fds_max - fds_min, 6) << "file descriptors are not stable";
  EXPECT_EQ(serve.stop(SIGTERM, 30), 0);
}

}  // namespace
}  // namespace glassbox
