#include "bench/camera_load.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/process_memory.h"
#include "ingest/camera_ingest.h"
#include "ingest/video_source.h"
#include "pipeline/live_analyzer.h"
#include "pipeline/recognizers.h"

extern char** environ;

namespace glassbox::bench {
namespace {

using Clock = std::chrono::steady_clock;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Alerts of the window with their frame-to-alert latency; nothing else is kept.
class LatencySink final : public AlertSink {
 public:
  void publish(const Alert& alert) override {
    const double latency = std::chrono::duration<double>(Clock::now() - alert.captured_at).count();
    std::lock_guard lock(mutex_);
    if (measuring_) latencies_.push_back(latency);
  }
  void measure(bool on) {
    std::lock_guard lock(mutex_);
    measuring_ = on;
  }
  std::vector<double> latencies() const {
    std::lock_guard lock(mutex_);
    return latencies_;
  }

 private:
  mutable std::mutex mutex_;
  bool measuring_ = false;
  std::vector<double> latencies_;
};

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

double resident_mib_of(pid_t pid) { return static_cast<double>(resident_bytes(static_cast<int>(pid))) / (1024.0 * 1024.0); }

// Starts `glassbox serve` with `cameras` of the clips, waits for it to answer and then
// `settle_s`, and returns its resident memory (MiB); the service is stopped before returning.
Result<double> serve_resident_mib(const std::vector<std::string>& clips, int cameras, double settle_s, const std::filesystem::path& dir) {
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < cameras; ++i)
    list.push_back({{"name", "cam" + std::to_string(i + 1)}, {"url", clips[static_cast<std::size_t>(i) % clips.size()]}, {"loop", true}});
  const std::filesystem::path data = dir / ("data-" + std::to_string(cameras)), config = dir / ("config-" + std::to_string(cameras) + ".json");
  std::filesystem::create_directories(data);
  std::ofstream(config) << nlohmann::json{{"cameras", list}}.dump();
  const int port = free_loopback_port();
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> argv = {self, "serve", "--data-dir", data.string(), "--listen", "127.0.0.1:" + std::to_string(port),
                                   "--config", config.string()};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = (dir / ("serve-" + std::to_string(cameras) + ".log")).string();
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, self.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return Error{"cannot start " + self + " serve"};
  httplib::Client client("127.0.0.1", port);
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    up = static_cast<bool>(client.Get("/health"));
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (up) std::this_thread::sleep_for(std::chrono::duration<double>(settle_s));
  const double rss = resident_mib_of(pid);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!up) return Error{"glassbox serve did not answer on 127.0.0.1:" + std::to_string(port) + " (see " + log + ")"};
  return rss;
}

}  // namespace

Result<double> service_memory_per_camera(const std::vector<std::string>& clips, int cameras, double settle_s) {
  if (clips.empty() || cameras <= 0) return Error{"no camera to measure"};
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("glassbox-bench-memory-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir, ec);
  auto none = serve_resident_mib(clips, 0, settle_s, dir);
  auto with = none ? serve_resident_mib(clips, cameras, settle_s, dir) : none;
  std::filesystem::remove_all(dir, ec);
  if (!none) return none.error();
  if (!with) return with.error();
  return (*with - *none) / cameras;
}

double resident_mib() { return static_cast<double>(resident_bytes()) / (1024.0 * 1024.0); }

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto low = static_cast<std::size_t>(std::floor(rank));
  const std::size_t high = std::min(values.size() - 1, low + 1);
  return values[low] + (values[high] - values[low]) * (rank - static_cast<double>(low));
}

Result<CameraTrial> run_camera_trial(const std::vector<std::string>& clips, const ModelProfile& profile,
                                     std::shared_ptr<const WatchlistMatrix> watchlist, const CameraTrialOptions& options) {
  if (clips.empty()) return Error{"no clip to play as a camera"};
  DetectorOptions detector;
  detector.max_side = options.detect_size;
  auto recognizers = load_recognizers(options.workers, profile, detector);
  if (!recognizers) return recognizers.error();
  std::vector<LiveAnalyzer::Worker> workers;
  for (Recognizer& r : *recognizers) workers.push_back({std::move(r.detector), std::move(r.embedder)});
  LatencySink sink;
  LiveAnalyzer analyzer(std::move(workers), sink, std::move(watchlist));
  std::mutex latency_mutex;
  std::vector<double> frame_latencies;
  bool measuring = false;  // guarded by latency_mutex
  analyzer.set_frame_observer([&](const std::string&, double latency) {
    std::lock_guard lock(latency_mutex);
    if (measuring) frame_latencies.push_back(latency);
  });

  const double memory_before = resident_mib();
  std::vector<std::unique_ptr<DropOldestQueue<CapturedFrame>>> queues;
  std::vector<std::unique_ptr<CameraIngest>> ingests;
  AnalysisOptions analysis;
  analysis.threshold = profile.threshold;
  CameraIngestOptions ingest;
  ingest.rate_fps = options.rate_fps;
  ingest.loop = true;
  ingest.realtime = true;
  for (int i = 0; i < options.cameras; ++i) {
    const std::string name = "cam" + std::to_string(i + 1);
    const std::string clip = clips[static_cast<std::size_t>(i) % clips.size()];
    queues.push_back(std::make_unique<DropOldestQueue<CapturedFrame>>(static_cast<std::size_t>(options.queue_frames)));
    analyzer.add_camera(name, *queues.back(), analysis);
    ingests.push_back(std::make_unique<CameraIngest>(name, [clip] { return VideoSource::open(clip, {}); }, *queues.back(), ingest));
  }
  analyzer.start();
  for (auto& c : ingests) c->start();

  struct Sample {
    std::uint64_t decoded = 0, analysed = 0, dropped = 0;
  };
  auto sample = [&] {
    Sample s;
    for (auto& c : ingests) s.decoded += c->status().frames_decoded;
    for (auto& q : queues) s.dropped += q->dropped();
    for (const auto& [name, stats] : analyzer.stats()) s.analysed += stats.frames_analysed;
    return s;
  };
  std::this_thread::sleep_for(std::chrono::duration<double>(options.warmup_s));
  const Sample start = sample();
  const double cpu_start = cpu_seconds();
  const auto& stages = analyzer.latencies();
  const double detect_start = stages.detect.sum(), embed_start = stages.embed.sum();
  const auto stage_count_start = stages.detect.count();
  {
    std::lock_guard lock(latency_mutex);
    measuring = true;
  }
  sink.measure(true);
  const auto window_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(options.window_s));
  const Sample end = sample();
  const double window = std::chrono::duration<double>(Clock::now() - window_start).count();
  const double cpu_used = cpu_seconds() - cpu_start;
  const auto stage_frames = static_cast<double>(std::max<std::uint64_t>(1, stages.detect.count() - stage_count_start));
  const double detect_ms = 1000.0 * (stages.detect.sum() - detect_start) / stage_frames;
  const double embed_ms = 1000.0 * (stages.embed.sum() - embed_start) / stage_frames;
  sink.measure(false);
  {
    std::lock_guard lock(latency_mutex);
    measuring = false;
  }
  const double memory_after = resident_mib();
  for (auto& c : ingests) c->stop();
  analyzer.stop();

  CameraTrial t;
  t.cameras = options.cameras;
  t.window_s = window;
  t.frames_decoded = end.decoded - start.decoded;
  t.frames_analysed = end.analysed - start.analysed;
  t.frames_dropped = end.dropped - start.dropped;
  t.decoded_fps = static_cast<double>(t.frames_decoded) / window;
  t.analysed_fps = static_cast<double>(t.frames_analysed) / window;
  t.memory_mib = memory_after - memory_before;
  t.seconds_per_frame_busy = t.frames_analysed > 0 ? cpu_used / static_cast<double>(t.frames_analysed) : 0.0;
  t.detect_ms_mean = detect_ms;
  t.embed_ms_mean = embed_ms;
  // Real time within 3 % (a looped clip's restart costs a few frames), the analysis rate
  // within 5 % (the gate's cadence restarts at each loop), and not one frame dropped.
  const double want_decoded = options.stream_fps * options.cameras, want_analysed = options.rate_fps * options.cameras;
  if (t.frames_dropped > 0) {
    t.why_not = std::to_string(t.frames_dropped) + " frames dropped";
  } else if (t.decoded_fps < 0.97 * want_decoded) {
    t.why_not = "decoding fell behind real time";
  } else if (t.analysed_fps < 0.95 * want_analysed) {
    t.why_not = "analysis fell behind its rate";
  }
  {
    std::lock_guard lock(latency_mutex);
    t.frame_latency_p50_ms = 1000.0 * percentile(frame_latencies, 50.0);
    t.frame_latency_p99_ms = 1000.0 * percentile(frame_latencies, 99.0);
  }
  if (t.why_not.empty() && t.frame_latency_p99_ms > 1000.0 * options.max_p99_latency_s) {
    char text[96];
    std::snprintf(text, sizeof text, "analysis lags: 99 %% of frames within %.2f s, more than %.2f s", t.frame_latency_p99_ms / 1000.0,
                  options.max_p99_latency_s);
    t.why_not = text;
  }
  t.sustained = t.why_not.empty();
  auto alerts = sink.latencies();
  t.alerts = alerts.size();
  t.alert_latency_p50_ms = 1000.0 * percentile(alerts, 50.0);
  t.alert_latency_p99_ms = 1000.0 * percentile(alerts, 99.0);
  return t;
}

}  // namespace glassbox::bench
