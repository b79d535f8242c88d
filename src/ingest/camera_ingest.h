// CameraIngest: keeps one live camera flowing into a bounded queue for as long as the service
// runs. It opens the camera, decodes the frames its analysis rate selects and pushes them
// (dropping the oldest when analysis falls behind, counted by the queue). When the camera
// fails, ends, or sends nothing for `stall_timeout`, it reconnects after an exponential backoff
// with jitter; other cameras are unaffected because each has its own thread. State, last error
// and counters are readable at any time. On request it hands out the next frame it admits, for
// a person aiming the camera; nothing is kept once the request is answered.
// Thread-safety: start()/stop() from one controlling thread; status() and next_frame() from any
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ingest/backoff.h"
#include "ingest/bounded_queue.h"
#include "ingest/frame_source.h"

namespace glassbox {

enum class CameraState { kStopped, kConnecting, kStreaming, kStalled, kBackingOff, kDisabled };
const char* camera_state_name(CameraState state);

struct CapturedFrame {
  std::string camera;
  FrameHeader header;  // header.captured_at: when it was decoded, for frame-to-alert latency
  Frame image;
};

struct CameraIngestOptions {
  double rate_fps = 5.0;                                // frames decoded to pixels per second of stream
  std::chrono::milliseconds stall_timeout{10000};       // no frame for this long: the camera has stalled
  BackoffPolicy backoff;
  bool loop = false;                                    // a file looped for testing: reopen at its end, no failure
  bool realtime = false;                                // a file played as a camera: no faster than its own clock
  bool enabled = true;
};

struct CameraStatus {
  CameraState state = CameraState::kStopped;
  std::string last_error;
  std::uint64_t frames_decoded = 0;   // frames read from the stream
  std::uint64_t frames_queued = 0;    // frames handed to analysis (the queue counts its own drops)
  std::uint64_t reconnects = 0;       // successful opens after the first
  std::uint64_t failures = 0;         // failed opens, errors, stalls and unexpected ends
};

class CameraIngest {
 public:
  using Opener = std::function<Result<std::unique_ptr<FrameSource>>()>;

  CameraIngest(std::string name, Opener opener, DropOldestQueue<CapturedFrame>& queue, CameraIngestOptions options);
  ~CameraIngest();
  CameraIngest(const CameraIngest&) = delete;
  CameraIngest& operator=(const CameraIngest&) = delete;

  void start();
  // Stops at the next frame or wake-up; waits for the thread. A blocked read ends within the
  // source's own read timeout.
  void stop();
  CameraStatus status() const;
  const std::string& name() const { return name_; }
  // The next frame the camera admits for analysis (the picture shares the decoder's pixels),
  // waiting up to `timeout`; an error naming the camera's state when none comes. The frame is
  // held only until every caller waiting at that moment has it.
  Result<Frame> next_frame(std::chrono::milliseconds timeout);

 private:
  void run();
  void set_state(CameraState state, const std::string& error = {});
  // Sleeps up to `duration`; returns false when stop() was called meanwhile.
  bool sleep_unless_stopped(std::chrono::milliseconds duration);

  const std::string name_;
  const Opener opener_;
  DropOldestQueue<CapturedFrame>& queue_;
  const CameraIngestOptions options_;
  ExponentialBackoff backoff_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  CameraStatus status_;            // guarded by mutex_
  bool stop_requested_ = false;    // guarded by mutex_
  // next_frame(): callers waiting, the frame handed to them and how many frames were handed out.
  int frame_waiters_ = 0;             // guarded by mutex_
  Frame handed_frame_;                // guarded by mutex_
  std::uint64_t frames_handed_ = 0;   // guarded by mutex_
  std::condition_variable frame_handed_;
  std::thread thread_;
};

}  // namespace glassbox
