// The live path under load, for `glassbox bench`: N cameras, each a camera-like 1080p 25 fps
// clip played in real time (looped), through the live service's own CameraIngest, bounded
// queues and shared LiveAnalyzer workers, analysed at a rate per camera for a measured window
// after a warm-up. A camera count is sustained when, over the window, no frame was dropped
// from any queue, the cameras were decoded in real time, the analysis kept its rate, and 99 % of
// the analysed frames were analysed within a second of arriving (a queue that never overflows
// can still lag: eight frames at 5 fps are 1.6 s).
// Thread-safety: run_camera_trial() from one thread (it starts and stops its own).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "embed/model_profile.h"
#include "match/watchlist_matrix.h"

namespace glassbox::bench {

struct CameraTrialOptions {
  int cameras = 8;
  double rate_fps = 5.0;
  double warmup_s = 5.0;
  double window_s = 20.0;
  int workers = 2;
  int queue_frames = 8;   // the service's default
  int detect_size = 640;  // the detector's input, longer side (the service's default)
  double stream_fps = 25.0;
  double max_p99_latency_s = 1.0;  // the mission's "an alert within a second"
};

struct CameraTrial {
  int cameras = 0;
  double window_s = 0.0;
  std::uint64_t frames_decoded = 0;   // in the window, all cameras
  std::uint64_t frames_analysed = 0;
  std::uint64_t frames_dropped = 0;
  double decoded_fps = 0.0;
  double analysed_fps = 0.0;
  bool sustained = false;
  std::string why_not;                // when not sustained
  double frame_latency_p50_ms = 0.0;  // frame due (or decoded) to analysed, every analysed frame
  double frame_latency_p99_ms = 0.0;
  std::size_t alerts = 0;
  double alert_latency_p50_ms = 0.0;  // frame due to alert published, alerts only
  double alert_latency_p99_ms = 0.0;
  double memory_mib = 0.0;            // resident memory added by the cameras
  double seconds_per_frame_busy = 0.0;  // process CPU seconds per analysed frame (decode included)
  double detect_ms_mean = 0.0;        // per analysed frame: scaling and detection
  double embed_ms_mean = 0.0;         // per analysed frame: tracking, alignment, embedding, matching
};

Result<CameraTrial> run_camera_trial(const std::vector<std::string>& clips, const ModelProfile& profile,
                                     std::shared_ptr<const WatchlistMatrix> watchlist, const CameraTrialOptions& options);

// Resident memory the live service (`glassbox serve`, this same binary, started as a child
// process with the given clips as looped cameras) holds per camera after `settle_s`: its
// resident memory with `cameras` cameras less that with none, divided by `cameras`.
Result<double> service_memory_per_camera(const std::vector<std::string>& clips, int cameras, double settle_s);

// Resident memory of this process, MiB.
double resident_mib();
// The p-th percentile (0..100) of `values` (sorted in place); 0 when empty.
double percentile(std::vector<double>& values, double p);

}  // namespace glassbox::bench
