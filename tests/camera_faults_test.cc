// Bad networks between cameras and `serve`: two cameras - one streamed over HTTP (MPEG-TS, a real
// clip re-encoded with a keyframe a second, sent at its own pace as a live camera would), one an
// RTSP server (GStreamer's, RTP interleaved on the RTSP connection) - reach serve each through a
// fault proxy in this test that, in turn, adds latency, stalls, resets the connection, cuts it
// short and flips bytes, to both at once. Beside them, a healthy camera is read directly.
// Checked, over two rounds of every fault:
//   - each faulty camera recovers by itself after each fault, within its stall timeout plus its
//     backoff's bound;
//   - the healthy camera goes on through every fault: frames keep coming, it never reconnects;
//   - no corrupted frame raises an alert: the faulty cameras show people who are not on the list;
//     the healthy one shows one who is, and alerts;
//   - the service's descriptors and memory are flat from the first round to the second.
// docs/reliability.md has the table this belongs to.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include <httplib.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace glassbox {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int listen_on(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Accepts connections on a loopback port and runs `serve_one` for each on a thread of its own,
// until destroyed.
class TcpServer {
 public:
  TcpServer(int port, std::function<void(int fd, const std::atomic<bool>& stop)> serve_one) : serve_one_(std::move(serve_one)) {
    listener_ = listen_on(port);
    if (listener_ >= 0) acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TcpServer() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::lock_guard lock(mutex_);
    for (auto& t : connections_) t.join();
    if (listener_ >= 0) ::close(listener_);
  }
  bool listening() const { return listener_ >= 0; }
  int accepted() const { return accepted_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted_;
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, fd] {
        serve_one_(fd, stop_);
        ::close(fd);
      });
    }
  }

  std::function<void(int, const std::atomic<bool>&)> serve_one_;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> connections_;
};

// A live camera over HTTP: an MPEG-TS file sent at its own pace from where "now" is in it, to
// every client that asks (each joins the stream live, as with a real camera).
class LiveTsCamera {
 public:
  LiveTsCamera(int port, std::string file, double duration_s)
      : bytes_(test::read_file(file)), duration_s_(duration_s), started_(Clock::now()),
        server_(port, [this](int fd, const std::atomic<bool>& stop) { stream(fd, stop); }) {}
  bool listening() const { return server_.listening(); }

 private:
  void stream(int fd, const std::atomic<bool>& stop) {
    char request[4096];
    if (::recv(fd, request, sizeof request, 0) <= 0) return;
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nConnection: close\r\n\r\n";
    if (!send_all(fd, head.data(), head.size())) return;
    const double rate = static_cast<double>(bytes_.size()) / duration_s_;
    auto position = [&] {
      const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
      const auto at = static_cast<std::size_t>(elapsed * rate) % bytes_.size();
      return at / 188 * 188;
    };
    std::size_t sent = position();
    while (!stop) {
      std::size_t due = position();
      if (due < sent) due = bytes_.size();  // the file's end: finish it, then start again
      if (due > sent && !send_all(fd, bytes_.data() + sent, due - sent)) return;
      sent = due == bytes_.size() ? 0 : due;
      std::this_thread::sleep_for(20ms);
    }
  }

  std::string bytes_;
  double duration_s_;
  Clock::time_point started_;
  TcpServer server_;
};

enum class Fault { kNone, kLatency, kStall, kReset, kTruncate, kFlip };
const char* fault_name(Fault f) {
  switch (f) {
    case Fault::kNone: return "none";
    case Fault::kLatency: return "latency (400 ms)";
    case Fault::kStall: return "stall";
    case Fault::kReset: return "reset";
    case Fault::kTruncate: return "truncated after 64 KiB";
    case Fault::kFlip: return "flipped bytes (1 in 2000)";
  }
  return "?";
}

// Relays each connection to the camera, doing to the camera's bytes what `fault` says.
class FaultProxy {
 public:
  FaultProxy(int port, int upstream_port)
      : upstream_(upstream_port), server_(port, [this](int fd, const std::atomic<bool>& stop) { relay(fd, stop); }) {}
  void set(Fault f) { fault_ = f; }
  bool listening() const { return server_.listening(); }
  int connections() const { return server_.accepted(); }

 private:
  void relay(int client, const std::atomic<bool>& stop) {
    const int camera = connect_to(upstream_);
    if (camera < 0) return;
    std::mt19937 rng(static_cast<unsigned>(client));
    std::deque<std::pair<Clock::time_point, std::string>> delayed;
    std::size_t passed_since_truncate_armed = 0;
    char buffer[16384];
    while (!stop) {
      const Fault f = fault_;
      if (f == Fault::kReset) {
        // An abortive close: the peer gets a reset, not an orderly end.
        linger abort{1, 0};
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
        break;
      }
      if (f == Fault::kStall) {  // nothing moves either way; the connections stay open
        std::this_thread::sleep_for(50ms);
        continue;
      }
      pollfd p[2] = {{client, POLLIN, 0}, {camera, POLLIN, 0}};
      if (::poll(p, 2, 20) < 0) break;
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0 || !send_all(camera, buffer, static_cast<std::size_t>(n))) break;
      }
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = ::recv(camera, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        std::string chunk(buffer, static_cast<std::size_t>(n));
        if (f == Fault::kFlip)
          for (auto& byte : chunk)
            if (rng() % 2000 == 0) byte = static_cast<char>(byte ^ (1 << (rng() % 8)));
        if (f == Fault::kTruncate) {
          passed_since_truncate_armed += chunk.size();
          if (passed_since_truncate_armed > 64 * 1024) break;  // an orderly close, mid-packet
        } else {
          passed_since_truncate_armed = 0;
        }
        delayed.emplace_back(Clock::now() + (f == Fault::kLatency ? 400ms : 0ms), std::move(chunk));
      }
      while (!delayed.empty() && delayed.front().first <= Clock::now()) {
        if (!send_all(client, delayed.front().second.data(), delayed.front().second.size())) {
          ::close(camera);
          return;
        }
        delayed.pop_front();
      }
    }
    ::close(camera);
  }

  int upstream_;
  std::atomic<Fault> fault_{Fault::kNone};
  TcpServer server_;
};

struct ProcessUse {
  int descriptors = 0;
  long rss_kib = 0;
};
ProcessUse use_of(int pid) {
  ProcessUse u;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++u.descriptors;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kib = std::atol(line.c_str() + 6);
  return u;
}

TEST(CameraFaults, EveryNetworkFaultIsSurvivedTheHealthyCameraGoesOnAndNoCorruptedFrameAlerts) {
  test::TempDir dir;
  // The listed person (the healthy camera shows her) and the faulty camera's clip (someone else).
  const auto listed_clip = test::data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string();
  const auto still = (dir / "still.png").string();
  ASSERT_EQ(std::system(("ffmpeg -loglevel error -y -ss 1 -i " + listed_clip + " -frames:v 1 " + still).c_str()), 0);
  const auto db = (dir / "glassbox.db").string();
  auto enrolled = test::run_glassbox({"enroll", "--db", db, "--subject", "Person B", "--legal-basis", "Order 7", "--source", "clip",
                                      "--expires", "2099-01-01", "--submitted-by", "alice", still});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;
  ASSERT_EQ(test::run_glassbox({"approve", "--db", db, "--entry", std::to_string(std::stoll(enrolled.out)), "--approved-by", "bob"}).exit_code, 0);
  ASSERT_FALSE(test::make_account(dir.path(), "root", {"admin"}).empty());  // the first account is an admin
  const std::string token = test::make_account(dir.path(), "olga", {"operator"});
  ASSERT_FALSE(token.empty());

  constexpr double kStreamSeconds = 150.0;  // then it starts again (a discontinuity the decoder takes)
  // Both cameras live over HTTP, each clip re-encoded with a keyframe a second (both at once).
  auto encode = [&](const std::string& clip, const std::string& out) {
    return "ffmpeg -loglevel error -y -stream_loop -1 -i " + clip + " -t " + std::to_string(kStreamSeconds) +
           " -an -vf scale=640:-2 -c:v libx264 -preset ultrafast -g 25 -f mpegts " + out;
  };
  // The third camera is an RTSP server, whose requests, answers and media (RTP interleaved) all
  // cross one TCP connection: MP4 for GStreamer's demuxer.
  auto encode_mp4 = [&](const std::string& clip, const std::string& out) {
    return "ffmpeg -loglevel error -y -stream_loop -1 -i " + clip + " -t " + std::to_string(kStreamSeconds) +
           " -an -vf scale=640:-2 -c:v libx264 -preset ultrafast -g 25 " + out;
  };
  const auto street_ts = (dir / "street.ts").string(), lobby_ts = (dir / "lobby.ts").string(), platform_mp4 = (dir / "platform.mp4").string();
  ASSERT_EQ(std::system(("(" + encode(test::data("video/talking_heads/WDA_EdMarkey0_000_h264.mp4").string(), street_ts) + ") & (" +
                         encode_mp4(test::data("video/talking_heads/RD_Radio2_000_h264.mp4").string(), platform_mp4) + ") & (" +
                         encode(listed_clip, lobby_ts) + ") && wait")
                            .c_str()),
            0);
  const int camera_port = test::free_port(), proxy_port = test::free_port(), lobby_port = test::free_port();
  LiveTsCamera camera(camera_port, street_ts, kStreamSeconds);
  LiveTsCamera lobby_camera(lobby_port, lobby_ts, kStreamSeconds);
  FaultProxy proxy(proxy_port, camera_port);
  ASSERT_TRUE(lobby_camera.listening());
  ASSERT_TRUE(camera.listening() && proxy.listening());
  const int rtsp_port = test::free_port(), rtsp_proxy_port = test::free_port();
  test::BackgroundProcess rtsp_camera({"/usr/bin/python3", std::string(GLASSBOX_SOURCE_DIR) + "/tests/support/rtsp_tcp_camera.py",
                                       std::to_string(rtsp_port), platform_mp4},
                                      (dir / "rtsp.out").string(), (dir / "rtsp.err").string());
  ASSERT_TRUE(test::wait_for_port(rtsp_port, 30)) << "the RTSP camera did not start: " << test::read_file(dir / "rtsp.err");
  FaultProxy rtsp_proxy(rtsp_proxy_port, rtsp_port);
  ASSERT_TRUE(rtsp_proxy.listening());

  constexpr double kStallTimeoutS = 2.0;
  const auto config = (dir / "config.json").string();
  json lobby = {{"name", "lobby"}, {"url", "http://127.0.0.1:" + std::to_string(lobby_port) + "/live.ts"}, {"rate", 2}};
  json street = {{"name", "street"}, {"url", "http://127.0.0.1:" + std::to_string(proxy_port) + "/live.ts"}, {"rate", 2},
                 {"stall_timeout_s", kStallTimeoutS}};
  json platform = {{"name", "platform"}, {"url", "rtsp://127.0.0.1:" + std::to_string(rtsp_proxy_port) + "/cam"}, {"rate", 2},
                   {"stall_timeout_s", kStallTimeoutS}};
  std::ofstream(config) << json{{"workers", 1}, {"cameras", json::array({lobby, street, platform})}}.dump();
  const int port = test::free_port();
  test::BackgroundProcess serve({GLASSBOX_BINARY, "serve", "--data-dir", dir.path().string(), "--listen", "127.0.0.1:" + std::to_string(port),
                                 "--config", config},
                                {}, (dir / "serve.err").string());
  ASSERT_TRUE(test::wait_for_port(port, 30)) << "serve did not start: " << test::read_file(dir / "serve.err");
  httplib::Client http("127.0.0.1", port);
  http.set_bearer_token_auth(token);
  http.set_read_timeout(30, 0);
  std::string last_api_error;
  auto cameras = [&] {
    std::map<std::string, json> by_name;
    auto r = http.Get("/api/cameras");
    if (r && r->status == 200) {
      for (const auto& c : json::parse(r->body)) by_name[c["name"].get<std::string>()] = c;
    } else {
      last_api_error = r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error());
    }
    return by_name;
  };
  auto decoded = [&](const std::string& name) {
    auto c = cameras();
    return c.count(name) ? c[name]["frames_decoded"].get<std::int64_t>() : -1;
  };
  // Delivering: at least `frames` more decoded within `limit`. Returns the seconds it took, or -1.
  auto delivers = [&](const std::string& name, std::int64_t frames, std::chrono::seconds limit) {
    const auto start = Clock::now();
    const std::int64_t from = decoded(name);
    while (Clock::now() - start < limit) {
      if (decoded(name) >= from + frames) return std::chrono::duration<double>(Clock::now() - start).count();
      std::this_thread::sleep_for(100ms);
    }
    return -1.0;
  };
  ASSERT_GE(delivers("street", 10, 60s), 0) << "the faulty camera never streamed: " << cameras()["street"].dump();
  ASSERT_GE(delivers("platform", 10, 60s), 0) << "the RTSP camera never streamed: " << cameras()["platform"].dump() << test::read_file(dir / "serve.err");
  ASSERT_GE(delivers("lobby", 10, 60s), 0);
  // Both faulty cameras at once: the seconds until each has delivered `frames` more, or -1 for
  // one that did not within `limit`.
  const std::vector<std::string> faulty = {"street", "platform"};
  auto all_deliver = [&](std::int64_t frames, std::chrono::seconds limit) {
    const auto start = Clock::now();
    std::map<std::string, std::int64_t> from;
    std::map<std::string, double> took;
    for (const auto& name : faulty) {
      from[name] = decoded(name);
      took[name] = -1.0;
    }
    while (Clock::now() - start < limit) {
      auto now = cameras();
      bool all = true;
      for (const auto& name : faulty) {
        if (took[name] < 0 && now.count(name) && now[name]["frames_decoded"].get<std::int64_t>() >= from[name] + frames)
          took[name] = std::chrono::duration<double>(Clock::now() - start).count();
        all = all && took[name] >= 0;
      }
      if (all) break;
      std::this_thread::sleep_for(100ms);
    }
    return took;
  };

  // The bound: a stall is noticed after the stall timeout; each reconnect waits at most the
  // backoff's maximum (30 s); the stream then needs a keyframe (one a second) and a few frames.
  const auto kBound = std::chrono::seconds(static_cast<int>(kStallTimeoutS) + 30 + 5);
  const std::vector<Fault> faults = {Fault::kLatency, Fault::kStall, Fault::kReset, Fault::kTruncate, Fault::kFlip};
  std::vector<ProcessUse> after_round;
  std::map<std::string, std::map<Fault, double>> worst_recovery_s;
  for (int round = 0; round < 2; ++round) {
    for (Fault f : faults) {
      SCOPED_TRACE(std::string("round ") + std::to_string(round + 1) + ", " + fault_name(f));
      const auto lobby_before = cameras()["lobby"];
      proxy.set(f);
      rtsp_proxy.set(f);
      std::this_thread::sleep_for(4s);
      proxy.set(Fault::kNone);
      rtsp_proxy.set(Fault::kNone);
      auto recovered = all_deliver(5, kBound);
      for (const auto& name : faulty) {
        ASSERT_GE(recovered[name], 0) << name << " is not streaming again within " << kBound.count() << " s: " << cameras()[name].dump()
                                      << "; serve alive: " << (::kill(serve.pid(), 0) == 0) << "; the API's last error: " << last_api_error
                                      << "; its log: " << test::read_file(dir / "serve.err");
        worst_recovery_s[name][f] = std::max(worst_recovery_s[name][f], recovered[name]);
      }
      const auto lobby_after = cameras()["lobby"];
      EXPECT_GT(lobby_after["frames_decoded"].get<std::int64_t>(), lobby_before["frames_decoded"].get<std::int64_t>() + 4)
          << "the healthy camera stopped during the fault";
      EXPECT_EQ(lobby_after["reconnects"], 0) << "the healthy camera reconnected";
      EXPECT_EQ(lobby_after["state"], "streaming");
    }
    after_round.push_back(use_of(serve.pid()));
  }
  const auto street_now = cameras()["street"];
  const auto platform_now = cameras()["platform"];
  EXPECT_GE(street_now["reconnects"].get<int>(), 4) << "stall, reset, truncation (and perhaps corruption) each made it reconnect";
  EXPECT_GE(platform_now["reconnects"].get<int>(), 4) << "stall, reset, truncation (and perhaps corruption) each made it reconnect";
  EXPECT_GE(proxy.connections(), 5);
  EXPECT_GE(rtsp_proxy.connections(), 5);

  // Alerts: the listed person on the healthy camera; none at all from the corrupted ones.
  auto alerts = json::parse(http.Get("/api/alerts?limit=1000")->body);
  int lobby_alerts = 0;
  for (const auto& a : alerts) {
    EXPECT_EQ(a["camera"], "lobby") << "an alert from the faulty camera: " << a.dump();
    lobby_alerts += a["camera"] == "lobby" ? 1 : 0;
  }
  EXPECT_GE(lobby_alerts, 1);

  // Flat: descriptors the same, memory within 16 MiB, from the first round to the second.
  ASSERT_EQ(after_round.size(), 2u);
  EXPECT_LE(std::abs(after_round[1].descriptors - after_round[0].descriptors), 2)
      << after_round[0].descriptors << " descriptors after the first round, " << after_round[1].descriptors << " after the second";
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps freed memory in quarantine (up to 256 MiB) on purpose, so resident
  // memory says nothing there; LeakSanitizer checks for leaks when serve exits instead.
  std::printf("(the memory bound is not checked under AddressSanitizer)\n");
#else
  EXPECT_LT(after_round[1].rss_kib - after_round[0].rss_kib, 16 * 1024)
      << after_round[0].rss_kib << " KiB after the first round, " << after_round[1].rss_kib << " KiB after the second";
#endif
  for (const auto& [name, by_fault] : worst_recovery_s) {
    std::printf("%s recovery, worst of two rounds:", name.c_str());
    for (const auto& [f, s] : by_fault) std::printf(" %s %.1f s;", fault_name(f), s);
    std::printf("\n");
  }
  std::printf("street reconnects %d, proxy connections %d; platform (RTSP) reconnects %d, proxy connections %d; descriptors %d -> %d; RSS %ld -> %ld KiB\n",
              street_now["reconnects"].get<int>(), proxy.connections(), platform_now["reconnects"].get<int>(), rtsp_proxy.connections(),
              after_round[0].descriptors, after_round[1].descriptors, after_round[0].rss_kib, after_round[1].rss_kib);
  EXPECT_EQ(serve.stop(SIGTERM, 20), 0);
}

}  // namespace
}  // namespace glassbox
