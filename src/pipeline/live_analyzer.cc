#include "pipeline/live_analyzer.h"

#include <algorithm>
#include <chrono>
#include <optional>

namespace glassbox {

LiveAnalyzer::LiveAnalyzer(std::vector<Worker> workers, AlertSink& sink, std::shared_ptr<const WatchlistMatrix> watchlist)
    : workers_(std::move(workers)), sink_(sink), watchlist_(std::move(watchlist)) {}

LiveAnalyzer::~LiveAnalyzer() { stop(); }

LiveAnalyzer::CameraHandle LiveAnalyzer::add_camera(const std::string& name, DropOldestQueue<CapturedFrame>& queue,
                                                     AnalysisOptions options) {
  auto camera = std::make_unique<Camera>();
  camera->name = name;
  camera->queue = &queue;
  camera->options = options;
  camera->tracker = Tracker(options.tracker);
  std::lock_guard lock(mutex_);
  camera->handle = next_handle_++;
  const CameraHandle handle = camera->handle;
  cameras_.push_back(std::move(camera));
  return handle;
}

std::optional<LiveCameraStats> LiveAnalyzer::camera_stats(CameraHandle handle) const {
  std::lock_guard lock(mutex_);
  for (const auto& c : cameras_)
    if (c->handle == handle) return c->stats;
  return std::nullopt;
}

bool LiveAnalyzer::remove_camera(CameraHandle handle) {
  std::unique_lock lock(mutex_);
  auto find = [&] { return std::find_if(cameras_.begin(), cameras_.end(), [&](const auto& c) { return c->handle == handle; }); };
  if (find() == cameras_.end()) return false;
  released_.wait(lock, [&] { return !(*find())->busy; });
  cameras_.erase(find());
  if (next_camera_ >= cameras_.size()) next_camera_ = 0;
  return true;
}

void LiveAnalyzer::set_watchlist(std::shared_ptr<const WatchlistMatrix> watchlist, std::optional<double> threshold,
                                 std::optional<int> views_per_track) {
  std::lock_guard lock(mutex_);
  watchlist_ = std::move(watchlist);
  threshold_ = threshold;
  views_per_track_ = views_per_track;
  ++watchlist_generation_;
}

void LiveAnalyzer::start() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) threads_.emplace_back([this, i] { work(i); });
}

void LiveAnalyzer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  idle_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::map<std::string, LiveCameraStats> LiveAnalyzer::stats() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, LiveCameraStats> out;
  for (const auto& c : cameras_) out[c->name] = c->stats;
  return out;
}

LiveAnalyzer::Camera* LiveAnalyzer::claim_camera() {
  if (cameras_.empty()) return nullptr;
  for (std::size_t k = 0; k < cameras_.size(); ++k) {
    Camera* c = cameras_[(next_camera_ + k) % cameras_.size()].get();
    if (!c->busy && c->queue->size() > 0) {
      c->busy = true;
      next_camera_ = (next_camera_ + k + 1) % cameras_.size();
      return c;
    }
  }
  return nullptr;
}

void LiveAnalyzer::work(std::size_t worker_index) {
  Worker& worker = workers_[worker_index];
  FrameAnalyzer analyzer(*worker.detector, *worker.embedder, sink_);
  while (true) {
    Camera* camera = nullptr;
    std::shared_ptr<const WatchlistMatrix> watchlist;
    std::optional<double> threshold;
    std::optional<int> views_per_track;
    std::uint64_t generation = 0;
    {
      std::unique_lock lock(mutex_);
      // Queues do not signal this analyzer, so an idle worker looks again every few milliseconds.
      idle_.wait_for(lock, std::chrono::milliseconds(5), [&] { return stopping_ || (camera = claim_camera()) != nullptr; });
      if (stopping_) {
        if (camera != nullptr) camera->busy = false;
        released_.notify_all();
        return;
      }
      if (camera == nullptr) continue;
      watchlist = watchlist_;
      threshold = threshold_;
      views_per_track = views_per_track_;
      generation = watchlist_generation_;
    }
    // The camera is ours until busy is cleared: its tracker needs no lock.
    if (camera->watchlist_generation != generation) {
      camera->tracker.recheck_unmatched();
      camera->watchlist_generation = generation;
    }
    auto frame = camera->queue->pop(std::chrono::milliseconds(0));
    std::optional<Result<FrameCounts>> counts;
    double latency = 0.0;
    if (frame && watchlist) {
      latencies_.queued.record(std::chrono::duration<double>(std::chrono::steady_clock::now() - frame->header.captured_at).count());
      // The threshold, the views per track that share its target, and the list's size travel
      // with the list they were set for.
      AnalysisOptions options = camera->options;
      if (threshold) options.threshold = *threshold;
      if (views_per_track) options.tracker.max_embeddings_per_track = *views_per_track;
      options.list_templates = watchlist->rows();
      counts = analyzer.analyze(camera->name, frame->header, frame->image, camera->tracker, *watchlist, options);
      latency = std::chrono::duration<double>(std::chrono::steady_clock::now() - frame->header.captured_at).count();
      latencies_.total.record(latency);
      if (frame_observer_) frame_observer_(camera->name, latency);
      if (*counts) {
        latencies_.detect.record((*counts)->detect_seconds);
        latencies_.embed.record((*counts)->embed_seconds);
      }
    }
    {
      std::lock_guard lock(mutex_);
      LiveCameraStats& s = camera->stats;
      if (counts) {
        ++s.frames_analysed;
        s.latency_sum_s += latency;
        s.latency_max_s = std::max(s.latency_max_s, latency);
        if (*counts) {
          (*counts)->add_to(s);
          s.errors += (*counts)->errors.size();
        } else {
          ++s.errors;
        }
      }
      s.tracks = camera->tracker.tracks_started();
      camera->busy = false;
    }
    released_.notify_all();
    idle_.notify_one();
  }
}

}  // namespace glassbox
