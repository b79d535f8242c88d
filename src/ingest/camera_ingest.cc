#include "ingest/camera_ingest.h"

#include "ingest/rate_gate.h"

namespace glassbox {

const char* camera_state_name(CameraState state) {
  switch (state) {
    case CameraState::kConnecting: return "connecting";
    case CameraState::kStreaming: return "streaming";
    case CameraState::kStalled: return "stalled";
    case CameraState::kBackingOff: return "backing_off";
    case CameraState::kDisabled: return "disabled";
    case CameraState::kStopped: break;
  }
  return "stopped";
}

CameraIngest::CameraIngest(std::string name, Opener opener, DropOldestQueue<CapturedFrame>& queue, CameraIngestOptions options)
    : name_(std::move(name)), opener_(std::move(opener)), queue_(queue), options_(options), backoff_(options.backoff) {
  status_.state = options_.enabled ? CameraState::kStopped : CameraState::kDisabled;
}

CameraIngest::~CameraIngest() { stop(); }

void CameraIngest::start() {
  if (!options_.enabled || thread_.joinable()) return;
  {
    // Connecting from now on, not once the thread gets going: a started camera is never seen
    // as stopped.
    std::lock_guard lock(mutex_);
    stop_requested_ = false;
    status_.state = CameraState::kConnecting;
  }
  thread_ = std::thread([this] { run(); });
}

void CameraIngest::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  frame_handed_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (options_.enabled) set_state(CameraState::kStopped);
}

CameraStatus CameraIngest::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void CameraIngest::set_state(CameraState state, const std::string& error) {
  std::lock_guard lock(mutex_);
  status_.state = state;
  if (!error.empty()) status_.last_error = error;
}

Result<Frame> CameraIngest::next_frame(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (status_.state == CameraState::kDisabled) return Error{name_ + ": the camera is switched off"};
  if (status_.state == CameraState::kStopped || stop_requested_) return Error{name_ + ": the camera is not running"};
  const std::uint64_t seen = frames_handed_;
  ++frame_waiters_;
  const bool got = frame_handed_.wait_for(lock, timeout, [&] { return frames_handed_ != seen || stop_requested_; }) && frames_handed_ != seen;
  Frame frame = got ? handed_frame_ : Frame{};
  // The last caller of this round lets the frame go: the camera keeps no picture of its own.
  if (--frame_waiters_ == 0) handed_frame_ = Frame{};
  if (got) return frame;
  std::string state = camera_state_name(status_.state);
  if (!status_.last_error.empty() && status_.state != CameraState::kStreaming) state += " (" + status_.last_error + ")";
  return Error{name_ + ": no frame within " + std::to_string(timeout.count()) + " ms; the camera is " + state};
}

bool CameraIngest::sleep_unless_stopped(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, duration, [&] { return stop_requested_; });
}

void CameraIngest::run() {
  using Clock = std::chrono::steady_clock;
  bool opened_before = false;
  auto stopping = [&] {
    std::lock_guard lock(mutex_);
    return stop_requested_;
  };
  auto fail = [&](CameraState state, const std::string& error) {
    {
      std::lock_guard lock(mutex_);
      ++status_.failures;
    }
    set_state(state, name_ + ": " + error);
  };

  while (!stopping()) {
    set_state(CameraState::kConnecting);
    auto source = opener_();
    if (!source) {
      fail(CameraState::kBackingOff, source.error().message);
      if (!sleep_unless_stopped(backoff_.next())) break;
      continue;
    }
    if (opened_before) {
      std::lock_guard lock(mutex_);
      ++status_.reconnects;
    }
    opened_before = true;

    // Frames are selected by stream time, as in `watch`; only those are decoded to pixels.
    RateGate gate(options_.rate_fps);
    const auto opened_at = Clock::now();
    double first_timestamp_s = -1.0;
    auto last_frame_at = Clock::now();
    bool got_frame = false;
    std::string ended_because;
    CameraState ended_state = CameraState::kBackingOff;
    while (!stopping()) {
      const auto grab_started = Clock::now();
      auto grabbed = (*source)->grab();
      const auto decoded_at = Clock::now();
      const auto since_last = decoded_at - last_frame_at;
      if (!grabbed || !grabbed->has_value()) {
        if (since_last >= options_.stall_timeout) {
          ended_state = CameraState::kStalled;
          ended_because = "no frame for " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(since_last).count()) + " s";
        } else {
          ended_because = grabbed ? "stream ended" : grabbed.error().message;
        }
        break;
      }
      last_frame_at = Clock::now();
      if (!got_frame) {
        got_frame = true;
        backoff_.reset();
        set_state(CameraState::kStreaming);
      }
      {
        std::lock_guard lock(mutex_);
        ++status_.frames_decoded;
      }
      FrameHeader header = **grabbed;
      header.captured_at = decoded_at;
      if (options_.realtime) {
        // A file stands in for a camera: hold each frame until its time comes. Its latency
        // counts from then, when a camera would have sent it, plus what decoding would have
        // added after that arrival (here the frame may have been decoded ahead of its time).
        if (first_timestamp_s < 0.0) first_timestamp_s = header.timestamp_s;
        const auto due = opened_at + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(header.timestamp_s - first_timestamp_s));
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now());
        if (wait.count() > 0 && !sleep_unless_stopped(wait)) break;
        const auto would_be_ready = std::max(due, grab_started) + (decoded_at - grab_started);
        header.captured_at = due - (would_be_ready - std::max(due, decoded_at));
        last_frame_at = Clock::now();
      }
      if (!gate.admit(header.timestamp_s)) continue;
      auto pixels = (*source)->retrieve();
      if (!pixels) continue;  // one undecodable frame; the next may be fine
      {
        std::lock_guard lock(mutex_);
        if (frame_waiters_ > 0) {
          handed_frame_ = *pixels;  // shares the pixels; no copy
          ++frames_handed_;
          frame_handed_.notify_all();
        }
      }
      if (queue_.push(CapturedFrame{name_, header, std::move(*pixels)})) {
        std::lock_guard lock(mutex_);
        ++status_.frames_queued;
      }
    }
    source->reset();
    if (stopping()) break;
    if (options_.loop && ended_because == "stream ended" && got_frame) continue;  // a test file: start it again
    // A stalled camera shows "stalled" while it waits to reconnect; any other failure "backing_off".
    fail(ended_state, ended_because);
    if (!sleep_unless_stopped(backoff_.next())) break;
  }
}

}  // namespace glassbox
