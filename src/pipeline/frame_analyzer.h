// FrameAnalyzer: one decoded frame through the recognition path — detect, drop faces below the
// minimum size, measure each face's quality, track, embed the views the tracker chooses (the
// frame's views as one batch), match, and publish one alert per matched track with the quality
// of the view that matched. Shared by `watch` (SourceAnalyzer) and the live service, so both
// behave the same. The chip, the template and the quality of a face exist only inside
// analyze(): nothing about a face that matches no entry outlives the call.
// Thread-safety: one analyzer per thread (it drives that thread's detector and embedder); the
// tracker passed in belongs to the frame's source and must not be used by two threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "alert/alert.h"
#include "detect/face_detector.h"
#include "embed/embedder.h"
#include "ingest/frame_source.h"
#include "match/threshold_policy.h"
#include "match/watchlist_matrix.h"
#include "track/tracker.h"

namespace glassbox {

struct AnalysisOptions {
  double rate_fps = 5.0;          // frames analysed per second of stream time; 0 analyses every frame
  int min_face_px = 32;           // faces smaller than this (shorter box side) are ignored: too few pixels to recognise
  double threshold = 0.0;         // decision threshold in the profile's metric (the live service sets it per watchlist)
  // What a score means against the list searched: the profile's calibration (null: no rate is
  // claimed) and the list's size in templates (the live service sets it per watchlist).
  std::shared_ptr<const FalseMatchCalibration> calibration;
  std::size_t list_templates = 0;
  int max_consecutive_frame_errors = 50;  // a video that fails this many frames in a row is abandoned
  TrackerOptions tracker;  // max_embeddings_per_track: the views that share the target (the list's ThresholdInForce)
};

struct FrameCounts {
  int faces_detected = 0;   // at or above the minimum size
  int faces_too_small = 0;
  int faces_embedded = 0;
  int alerts = 0;
  int matched_sightings = 0;  // faces of tracks identified in earlier frames, seen again here
  std::vector<Error> errors;  // faces that could not be embedded (the frame goes on)
  double detect_seconds = 0.0;  // stage times, for the latency histograms
  double embed_seconds = 0.0;   // alignment, embedding and matching of the views embedded

  // Adds this frame's face and alert counts to a running record (`watch`'s per-source stats,
  // the live service's per-camera stats): one place that knows which counters a frame moves.
  template <typename Stats>
  void add_to(Stats& stats) const {
    stats.faces_detected += faces_detected;
    stats.faces_too_small += faces_too_small;
    stats.faces_embedded += faces_embedded;
    stats.alerts += alerts;
  }
};

class FrameAnalyzer {
 public:
  FrameAnalyzer(FaceDetector& detector, Embedder& embedder, AlertSink& sink) : detector_(detector), embedder_(embedder), sink_(sink) {}

  // Fails only when detection fails on the frame.
  Result<FrameCounts> analyze(const std::string& source, const FrameHeader& header, const Frame& frame, Tracker& tracker,
                              const WatchlistMatrix& watchlist, const AnalysisOptions& options);

 private:
  FaceDetector& detector_;
  Embedder& embedder_;
  AlertSink& sink_;
};

}  // namespace glassbox
