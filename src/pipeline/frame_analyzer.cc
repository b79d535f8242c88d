#include "pipeline/frame_analyzer.h"

#include <algorithm>
#include <chrono>

#include "embed/embed_face.h"
#include "quality/face_quality.h"

namespace glassbox {

Result<FrameCounts> FrameAnalyzer::analyze(const std::string& source, const FrameHeader& header, const Frame& frame,
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
  // Each face's quality ranks the views of its track; it is kept only for a face that matches.
  std::vector<FaceQuality> qualities;
  std::vector<float> scores;
  qualities.reserve(faces.size());
  for (const DetectedFace& face : faces) {
    qualities.push_back(assess_face(frame, face));
    scores.push_back(qualities.back().score);
  }
  std::vector<TrackAssignment> to_embed;
  tracker.set_max_embeddings_per_track(options.tracker.max_embeddings_per_track);
  for (const TrackAssignment& a : tracker.update(faces, scores, header.timestamp_s)) {
    if (a.matched) {
      ++counts.matched_sightings;
      sink_.still_in_view(source, a.matched_entry);
    }
    if (a.embed) to_embed.push_back(a);
  }
  if (to_embed.empty()) {
    counts.embed_seconds = std::chrono::duration<double>(Clock::now() - embed_start).count();
    return counts;
  }
  std::vector<Landmarks> landmarks;
  landmarks.reserve(to_embed.size());
  for (const TrackAssignment& a : to_embed) landmarks.push_back(faces[a.detection].landmarks);
  auto vectors = embed_faces(embedder_, frame, landmarks);
  // The frame's templates are matched together: one pass over the watchlist for all of them.
  std::vector<std::vector<float>> templates;
  std::vector<std::size_t> embedded;  // index into to_embed of each template
  for (std::size_t i = 0; i < to_embed.size(); ++i) {
    if (!vectors[i]) {
      counts.errors.push_back(vectors[i].error().within(source));
      continue;
    }
    ++counts.faces_embedded;
    templates.push_back(std::move(*vectors[i]));
    embedded.push_back(i);
  }
  const auto matches = watchlist.best_matches(templates, options.threshold, source);
  for (std::size_t k = 0; k < embedded.size(); ++k) {
    const TrackAssignment& a = to_embed[embedded[k]];
    const DetectedFace& face = faces[a.detection];
    const auto& match = matches[k];
    if (!match) continue;
    tracker.mark_matched(a.track_id, match->entry_id);
    Alert alert;
    alert.subject = match->subject;
    alert.entry_id = match->entry_id;
    alert.score = match->score;
    alert.metric = metric_name(profile.metric);
    alert.threshold = options.threshold;
    alert.list_templates = options.list_templates;
    alert.estimated_fpir = score_meaning(options.calibration.get(), match->score, options.list_templates);
    alert.profile = profile.name;
    alert.source = source;
    alert.item = header.item;
    alert.timestamp_s = header.timestamp_s;
    alert.frame_index = header.index;
    alert.captured_at = header.captured_at;
    alert.track_id = a.track_id;
    alert.box = cv::Rect(face.box);
    alert.quality = qualities[a.detection];
    // Evidence: the face with a fifth of its size as margin, clipped to the frame, copied out.
    const int margin = std::max(alert.box.width, alert.box.height) / 5;
    const cv::Rect crop = (alert.box + cv::Size(2 * margin, 2 * margin) - cv::Point(margin, margin)) & cv::Rect(0, 0, frame.width(), frame.height());
    if (crop.area() > 0) alert.face = frame.region_bgr(crop).clone();
    ++counts.alerts;
    sink_.publish(alert);
  }
  counts.embed_seconds = std::chrono::duration<double>(Clock::now() - embed_start).count();
  return counts;
}

}  // namespace glassbox
