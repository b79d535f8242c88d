#include "pipeline/frame_analyzer.h"

#include <algorithm>
#include <chrono>

#include "embed/embed_face.h"

namespace glassbox {

Result<FrameCounts> FrameAnalyzer::analyze(const std::string& source, const FrameHeader& header, const cv::Mat& frame,
                                           Tracker& tracker, const WatchlistMatrix& watchlist, const AnalysisOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto detect_start = Clock::now();
  auto detected = detector_.detect(frame);
  if (!detected) return detected.error().within(source);
  FrameCounts counts;
  const auto embed_start = Clock::now();
  counts.detect_seconds = std::chrono::duration<double>(embed_start - detect_start).count();
  std::vector<DetectedFace> faces;
  faces.reserve(detected->size());
  for (const DetectedFace& face : *detected) {
    if (face.size() >= static_cast<float>(options.min_face_px)) {
      faces.push_back(face);
    } else {
      ++counts.faces_too_small;
    }
  }
  counts.faces_detected = static_cast<int>(faces.size());

  const ModelProfile& profile = embedder_.profile();
  for (const TrackAssignment& a : tracker.update(faces, header.timestamp_s)) {
    if (a.matched) ++counts.matched_sightings;
    if (!a.embed) continue;
    const DetectedFace& face = faces[a.detection];
    auto vector = embed_face(embedder_, frame, face.landmarks);
    if (!vector) {
      counts.errors.push_back(vector.error().within(source));
      continue;
    }
    ++counts.faces_embedded;
    const auto match = watchlist.best_match(*vector, options.threshold, source);
    if (!match) continue;
    tracker.mark_matched(a.track_id);
    Alert alert;
    alert.subject = match->subject;
    alert.entry_id = match->entry_id;
    alert.score = match->score;
    alert.metric = metric_name(profile.metric);
    alert.threshold = options.threshold;
    alert.profile = profile.name;
    alert.source = source;
    alert.item = header.item;
    alert.timestamp_s = header.timestamp_s;
    alert.frame_index = header.index;
    alert.track_id = a.track_id;
    alert.box = cv::Rect(face.box);
    // Evidence: the face with a fifth of its size as margin, clipped to the frame, copied out.
    const int margin = std::max(alert.box.width, alert.box.height) / 5;
    const cv::Rect crop = (alert.box + cv::Size(2 * margin, 2 * margin) - cv::Point(margin, margin)) & cv::Rect(0, 0, frame.cols, frame.rows);
    if (crop.area() > 0) alert.face = frame(crop).clone();
    ++counts.alerts;
    sink_.publish(alert);
  }
  counts.embed_seconds = std::chrono::duration<double>(Clock::now() - embed_start).count();
  return counts;
}

}  // namespace glassbox
