#include "track/tracker.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace glassbox {

namespace {

float eye_distance(const DetectedFace& face) { return static_cast<float>(cv::norm(face.landmarks[1] - face.landmarks[0])); }

// How far the nose sits from the eyes' midpoint, in eye distances: about 0 for a frontal face.
float yaw_proxy(const DetectedFace& face) {
  const float eyes = eye_distance(face);
  if (eyes < 1e-3f) return 1e3f;
  const cv::Point2f eye_mid = (face.landmarks[0] + face.landmarks[1]) * 0.5f;
  return std::abs(face.landmarks[2].x - eye_mid.x) / eyes;
}

}  // namespace

bool is_recognisable(const DetectedFace& face, const RecognitionGate& gate) {
  if (face.box.width <= 0.0f) return false;
  return yaw_proxy(face) <= gate.max_yaw && eye_distance(face) / face.box.width >= gate.min_eye_to_width;
}

float box_iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float overlap = (a & b).area();
  const float united = a.area() + b.area() - overlap;
  return united > 0.0f ? overlap / united : 0.0f;
}

std::vector<TrackAssignment> Tracker::update(const std::vector<DetectedFace>& faces, const std::vector<float>& quality, double timestamp_s) {
  if (timestamp_s < last_timestamp_s_) tracks_.clear();
  last_timestamp_s_ = timestamp_s;
  // End tracks that have not been seen for too long.
  std::erase_if(tracks_, [&](const Track& t) { return timestamp_s - t.last_seen_s > options_.max_gap_s; });

  // Greedy association: highest overlap first, each track and face used once.
  std::vector<std::tuple<float, std::size_t, std::size_t>> pairs;
  for (std::size_t f = 0; f < faces.size(); ++f) {
    for (std::size_t t = 0; t < tracks_.size(); ++t) {
      const float iou = box_iou(faces[f].box, tracks_[t].box);
      if (iou >= options_.min_iou) pairs.emplace_back(iou, f, t);
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  std::vector<int> track_of_face(faces.size(), -1);
  std::vector<bool> track_taken(tracks_.size(), false);
  for (const auto& [iou, f, t] : pairs) {
    if (track_of_face[f] >= 0 || track_taken[t]) continue;
    track_of_face[f] = static_cast<int>(t);
    track_taken[t] = true;
  }

  std::vector<TrackAssignment> assignments(faces.size());
  for (std::size_t f = 0; f < faces.size(); ++f) {
    TrackAssignment& a = assignments[f];
    a.detection = f;
    const float view_quality = f < quality.size() ? quality[f] : 0.0f;
    const bool recognisable = is_recognisable(faces[f], options_.gate);
    if (track_of_face[f] < 0) {
      Track track;
      track.id = next_id_++;
      track.box = faces[f].box;
      track.last_seen_s = timestamp_s;
      if (recognisable) {
        track.best_embedded_quality = view_quality;
        track.last_embedded_s = timestamp_s;
        track.embeddings = 1;
      }
      tracks_.push_back(track);
      a.track_id = track.id;
      a.new_track = true;
      a.embed = recognisable;
      continue;
    }
    Track& track = tracks_[static_cast<std::size_t>(track_of_face[f])];
    track.box = faces[f].box;
    track.last_seen_s = timestamp_s;
    a.track_id = track.id;
    a.matched = track.matched;
    a.matched_entry = track.matched_entry;
    if (!recognisable || track.matched || track.embeddings >= options_.max_embeddings_per_track) continue;
    const bool first = track.embeddings == 0;
    const bool better = view_quality >= track.best_embedded_quality * options_.better_view_gain;
    const bool fresh = options_.fresh_view_after_s > 0.0 && timestamp_s - track.last_embedded_s >= options_.fresh_view_after_s &&
                       view_quality >= track.best_embedded_quality * options_.fresh_view_quality;
    if (first || better || fresh) {
      a.embed = true;
      track.best_embedded_quality = std::max(track.best_embedded_quality, view_quality);
      track.last_embedded_s = timestamp_s;
      ++track.embeddings;
    }
  }
  return assignments;
}

void Tracker::recheck_unmatched() {
  for (Track& t : tracks_) {
    if (t.matched) continue;
    t.best_embedded_quality = 0.0f;
    t.embeddings = 0;
  }
}

void Tracker::mark_matched(std::uint64_t track_id, std::int64_t entry_id) {
  for (Track& t : tracks_) {
    if (t.id != track_id) continue;
    t.matched = true;
    t.matched_entry = entry_id;
  }
}

}  // namespace glassbox
