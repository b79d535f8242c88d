// SourceAnalyzer: one source from start to end — decode every frame on a thread of its own,
// a few frames ahead, hand on only those the analysis rate selects, and analyse each with the
// FrameAnalyzer (detect, track, embed, match, alert) and this source's tracker; count
// everything and report progress.
// Thread-safety: one analyzer per thread (run() starts and joins its decoding thread, which
// alone touches the source); the detector and embedder are that thread's own; the matrix is
// shared read-only; the sink must be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "alert/alert.h"
#include "detect/face_detector.h"
#include "embed/embedder.h"
#include "ingest/frame_source.h"
#include "match/watchlist_matrix.h"
#include "pipeline/frame_analyzer.h"
#include "track/tracker.h"

namespace glassbox {

struct SourceStats {
  std::int64_t frames_decoded = 0;
  std::int64_t frames_analysed = 0;
  std::int64_t frame_errors = 0;     // frames (or images) that could not be decoded
  std::int64_t faces_detected = 0;   // at or above the minimum size
  std::int64_t faces_too_small = 0;
  std::int64_t faces_embedded = 0;
  std::int64_t tracks = 0;
  std::int64_t alerts = 0;
  double stream_seconds = 0.0;       // stream time covered (video), images seen (folders)
  double wall_seconds = 0.0;

  // Sums every counter and the stream time; wall time is left to the caller (runs overlap).
  SourceStats& operator+=(const SourceStats& other) {
    frames_decoded += other.frames_decoded;
    frames_analysed += other.frames_analysed;
    frame_errors += other.frame_errors;
    faces_detected += other.faces_detected;
    faces_too_small += other.faces_too_small;
    faces_embedded += other.faces_embedded;
    tracks += other.tracks;
    alerts += other.alerts;
    stream_seconds += other.stream_seconds;
    return *this;
  }
};

struct SourceOutcome {
  SourceStats stats;
  std::optional<Error> error;  // the source ended early, or never produced a frame
  bool cancelled = false;
};

struct AnalyzerHooks {
  // A frame or image that could not be decoded (the source goes on).
  std::function<void(const std::string& item, const Error& error)> on_item_error;
  // Called from the analyzer's thread about every `progress_interval_s` of wall time.
  std::function<void(const SourceStats& stats)> on_progress;
  double progress_interval_s = 5.0;
  const std::atomic<bool>* cancel = nullptr;  // checked between frames
};

class SourceAnalyzer {
 public:
  SourceAnalyzer(FaceDetector& detector, Embedder& embedder, const WatchlistMatrix& watchlist, AlertSink& sink,
                 AnalysisOptions options)
      : detector_(detector), embedder_(embedder), watchlist_(watchlist), sink_(sink), options_(options) {}

  SourceOutcome run(FrameSource& source, const AnalyzerHooks& hooks = {});

 private:
  FaceDetector& detector_;
  Embedder& embedder_;
  const WatchlistMatrix& watchlist_;
  AlertSink& sink_;
  AnalysisOptions options_;
};

}  // namespace glassbox
