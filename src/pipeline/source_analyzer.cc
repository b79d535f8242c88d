#include "pipeline/source_analyzer.h"

#include <chrono>

#include "embed/embed_face.h"

namespace glassbox {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Decides which frames to analyse so that about `rate` frames per second of stream time are,
// evenly spaced, whatever the source's frame rate.
class RateGate {
 public:
  explicit RateGate(double rate_fps) : period_(rate_fps > 0.0 ? 1.0 / rate_fps : 0.0) {}
  bool admit(double timestamp_s) {
    if (period_ <= 0.0) return true;
    if (!started_ || timestamp_s + 1e-6 >= next_s_) {
      next_s_ = started_ ? next_s_ + period_ : timestamp_s + period_;
      if (next_s_ <= timestamp_s) next_s_ = timestamp_s + period_;  // after a gap, restart the cadence
      started_ = true;
      return true;
    }
    return false;
  }

 private:
  double period_;
  double next_s_ = 0.0;
  bool started_ = false;
};

}  // namespace

SourceOutcome SourceAnalyzer::run(FrameSource& source, const AnalyzerHooks& hooks) {
  SourceOutcome outcome;
  SourceStats& stats = outcome.stats;
  const auto started = Clock::now();
  auto last_progress = started;
  const bool independent = source.independent_frames();
  RateGate gate(independent ? 0.0 : options_.rate_fps);
  Tracker tracker(options_.tracker);
  const ModelProfile& profile = embedder_.profile();
  int consecutive_errors = 0;

  auto finish = [&]() -> SourceOutcome& {
    stats.tracks = static_cast<std::int64_t>(tracker.tracks_started());
    stats.wall_seconds = seconds_since(started);
    return outcome;
  };

  while (true) {
    if (hooks.cancel != nullptr && hooks.cancel->load(std::memory_order_relaxed)) {
      outcome.cancelled = true;
      break;
    }
    auto grabbed = source.grab();
    if (!grabbed) {
      outcome.error = grabbed.error();
      break;
    }
    if (!grabbed->has_value()) break;  // end of source
    const FrameHeader header = **grabbed;
    ++stats.frames_decoded;
    stats.stream_seconds = independent ? static_cast<double>(stats.frames_decoded) : header.timestamp_s;

    if (hooks.on_progress && seconds_since(last_progress) >= hooks.progress_interval_s) {
      last_progress = Clock::now();
      stats.tracks = static_cast<std::int64_t>(tracker.tracks_started());
      stats.wall_seconds = seconds_since(started);
      hooks.on_progress(stats);
    }
    if (!gate.admit(header.timestamp_s)) continue;

    auto pixels = source.retrieve();
    if (!pixels) {
      ++stats.frame_errors;
      if (hooks.on_item_error) hooks.on_item_error(header.item, pixels.error());
      if (!independent && ++consecutive_errors >= options_.max_consecutive_frame_errors) {
        outcome.error = Error{source.name() + ": " + std::to_string(consecutive_errors) +
                              " frames in a row could not be decoded; giving up on this source"};
        break;
      }
      continue;
    }
    consecutive_errors = 0;
    ++stats.frames_analysed;
    const cv::Mat& frame = *pixels;

    auto detected = detector_.detect(frame);
    if (!detected) {
      ++stats.frame_errors;
      if (hooks.on_item_error) hooks.on_item_error(header.item, detected.error().within(source.name()));
      continue;
    }
    std::vector<DetectedFace> faces;
    faces.reserve(detected->size());
    for (const DetectedFace& face : *detected) {
      if (face.size() >= static_cast<float>(options_.min_face_px)) {
        faces.push_back(face);
      } else {
        ++stats.faces_too_small;
      }
    }
    stats.faces_detected += static_cast<std::int64_t>(faces.size());

    if (independent) tracker.reset();  // unrelated photos share no tracks
    const auto assignments = tracker.update(faces, header.timestamp_s);
    for (const TrackAssignment& a : assignments) {
      if (!a.embed) continue;
      const DetectedFace& face = faces[a.detection];
      // The chip and the template exist only for this comparison.
      auto vector = embed_face(embedder_, frame, face.landmarks);
      if (!vector) {
        if (hooks.on_item_error) hooks.on_item_error(header.item, vector.error().within(source.name()));
        continue;
      }
      ++stats.faces_embedded;
      const auto match = watchlist_.best_match(*vector, options_.threshold);
      if (!match) continue;
      tracker.mark_matched(a.track_id);
      Alert alert;
      alert.subject = match->subject;
      alert.entry_id = match->entry_id;
      alert.score = match->score;
      alert.metric = metric_name(profile.metric);
      alert.threshold = options_.threshold;
      alert.profile = profile.name;
      alert.source = source.name();
      alert.item = header.item;
      alert.timestamp_s = header.timestamp_s;
      alert.frame_index = header.index;
      alert.track_id = a.track_id;
      alert.box = cv::Rect(face.box);
      ++stats.alerts;
      sink_.publish(alert);
    }
  }
  if (!outcome.error && !outcome.cancelled && stats.frames_decoded == 0) {
    outcome.error = Error{source.name() + ": no frame could be decoded (empty, truncated or not a video)"};
  } else if (!outcome.error && !outcome.cancelled && stats.frames_analysed == 0 && stats.frame_errors > 0) {
    outcome.error = Error{source.name() + ": none of its " + std::to_string(stats.frame_errors) +
                          (independent ? " images" : " frames") + " could be decoded"};
  }
  return finish();
}

}  // namespace glassbox
