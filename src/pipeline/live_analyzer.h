// LiveAnalyzer: the analysis side of the live service. A small pool of inference workers, each
// owning a detector and a recognizer, is shared by all cameras: a worker takes the next frame
// from any camera whose queue has one and that no other worker is analysing (so each camera's
// frames are analysed in order, with its own tracker). Cameras never wait for analysis: their
// queues drop the oldest frame when workers fall behind, and the queue counts it.
// The watchlist can be replaced while running (approvals, revocations, expiry).
// Cameras can be added and removed while it runs.
// Thread-safety: every public member may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/histogram.h"
#include "ingest/camera_ingest.h"
#include "pipeline/frame_analyzer.h"

namespace glassbox {

struct LiveCameraStats {
  std::uint64_t frames_analysed = 0;
  std::uint64_t faces_detected = 0;
  std::uint64_t faces_too_small = 0;
  std::uint64_t faces_embedded = 0;
  std::uint64_t tracks = 0;
  std::uint64_t alerts = 0;
  std::uint64_t errors = 0;
  double latency_sum_s = 0.0;   // capture to end of analysis, summed over analysed frames
  double latency_max_s = 0.0;
};

class LiveAnalyzer {
 public:
  struct Worker {
    std::unique_ptr<FaceDetector> detector;
    std::unique_ptr<Embedder> embedder;
  };

  LiveAnalyzer(std::vector<Worker> workers, AlertSink& sink, std::shared_ptr<const WatchlistMatrix> watchlist);
  ~LiveAnalyzer();
  LiveAnalyzer(const LiveAnalyzer&) = delete;
  LiveAnalyzer& operator=(const LiveAnalyzer&) = delete;

  // Identifies one camera while it is analysed here (names can be reused after a removal).
  using CameraHandle = std::uint64_t;
  // The queue must outlive the camera's membership (until remove_camera() returns).
  CameraHandle add_camera(const std::string& name, DropOldestQueue<CapturedFrame>& queue, AnalysisOptions options);
  // Waits for a frame of this camera in analysis to finish, then forgets the camera (its
  // tracks and counters). False when there is no such camera.
  bool remove_camera(CameraHandle camera);
  std::optional<LiveCameraStats> camera_stats(CameraHandle camera) const;
  // The list and the threshold in force for it (a camera's own AnalysisOptions::threshold until
  // one is given); every camera's analysis switches to both at once.
  void set_watchlist(std::shared_ptr<const WatchlistMatrix> watchlist, std::optional<double> threshold = std::nullopt,
                     std::optional<int> views_per_track = std::nullopt);
  // Called from the worker after each analysed frame with its camera and capture-to-analysed
  // latency (glassbox bench takes exact percentiles from it). Set before start().
  using FrameObserver = std::function<void(const std::string& camera, double latency_s)>;
  void set_frame_observer(FrameObserver observer) { frame_observer_ = std::move(observer); }
  void start();
  // Finishes the frames being analysed, then stops; frames still queued are left in the queues.
  void stop();
  std::map<std::string, LiveCameraStats> stats() const;

  // Stage latencies over all cameras: waiting in the queue, detection, embedding and matching,
  // and capture to the end of analysis (which bounds frame-to-alert).
  struct Latencies {
    LatencyHistogram queued, detect, embed, total;
  };
  const Latencies& latencies() const { return latencies_; }

 private:
  struct Camera {
    CameraHandle handle = 0;
    std::string name;
    DropOldestQueue<CapturedFrame>* queue = nullptr;
    AnalysisOptions options;
    Tracker tracker;
    std::uint64_t watchlist_generation = 0;  // the list its tracks were last checked against
    bool busy = false;          // guarded by mutex_
    LiveCameraStats stats;      // guarded by mutex_
  };

  void work(std::size_t worker_index);
  // A camera with a queued frame that no worker holds, marked busy; nullptr when none.
  Camera* claim_camera();

  std::vector<Worker> workers_;
  AlertSink& sink_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Camera>> cameras_;  // guarded by mutex_
  std::condition_variable idle_;
  std::condition_variable released_;  // a camera stopped being busy
  std::shared_ptr<const WatchlistMatrix> watchlist_;  // guarded by mutex_
  std::optional<double> threshold_;                   // guarded by mutex_: the one set with watchlist_
  std::optional<int> views_per_track_;                // guarded by mutex_: the one set with watchlist_
  std::uint64_t watchlist_generation_ = 0;            // guarded by mutex_: bumped by set_watchlist()
  std::size_t next_camera_ = 0;                       // guarded by mutex_: round robin
  CameraHandle next_handle_ = 1;                      // guarded by mutex_
  bool stopping_ = false;                             // guarded by mutex_
  std::vector<std::thread> threads_;
  Latencies latencies_;
  FrameObserver frame_observer_;  // set before start(), then only read
};

}  // namespace glassbox
