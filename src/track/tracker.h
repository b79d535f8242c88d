// Tracker: associates the faces of consecutive analysed frames of one source (greedy, by box
// overlap) so that a person is alerted once per track, not once per frame, and chooses which of
// a track's views are embedded and matched: its first recognisable view, then — while it is
// unmatched — a clearly better view (by face quality), or a fresh view about as good as the best
// so far once some time has passed, up to a bound. Each view is matched on its own (best-of): a
// track holds geometry and bookkeeping only, never a template or pixels.
// Thread-safety: one instance per source, used by that source's thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "detect/face_detector.h"

namespace glassbox {

// Which views are worth embedding at all. Turned heads (profile and back-of-head views, where
// the landmarks collapse) give templates that sit close to everyone's and caused the false
// alerts seen on the walking video; such a face is tracked but waits for a frontal view.
struct RecognitionGate {
  float max_yaw = 0.35f;           // |nose - eyes' midpoint| / eye distance
  float min_eye_to_width = 0.25f;  // eye distance / box width; small when the head is turned
};

// Views of one track searched at most, by default: they share the target FPIR (ThresholdPolicy).
inline constexpr std::size_t kDefaultViewsPerTrack = 3;

struct TrackerOptions {
  RecognitionGate gate;
  float min_iou = 0.2f;                 // overlap needed to continue a track
  double max_gap_s = 2.0;               // a track unseen for longer than this ends
  float better_view_gain = 1.3f;        // embed again when quality exceeds the best embedded so far by this factor
  // Several views: once this long has passed since a track's last embedding, a view of at least
  // fresh_view_quality times the best embedded quality is embedded too (0 turns this off).
  double fresh_view_after_s = 1.0;
  float fresh_view_quality = 0.8f;
  int max_embeddings_per_track = static_cast<int>(kDefaultViewsPerTrack);  // bound on work, and on a stranger's chances, per track
};

// True when the view passes the gate: a face seen from the front closely enough to recognise.
bool is_recognisable(const DetectedFace& face, const RecognitionGate& gate);

// Intersection over union of two boxes, 0 when they do not overlap.
float box_iou(const cv::Rect2f& a, const cv::Rect2f& b);

struct TrackAssignment {
  std::size_t detection = 0;  // index into the faces passed to update()
  std::uint64_t track_id = 0;
  bool new_track = false;
  bool embed = false;         // this view should be embedded and matched
  bool matched = false;       // the track's person was identified earlier (mark_matched)
  std::int64_t matched_entry = 0;  // as which watchlist entry (when matched)
};

class Tracker {
 public:
  explicit Tracker(TrackerOptions options = {}) : options_(options) {}

  // Associates this frame's faces with live tracks, opens new tracks for the rest, ends tracks
  // unseen for longer than max_gap_s. `quality` holds each face's quality score
  // (quality/face_quality.h), in the faces' order. One assignment per face, in the faces' order.
  // Time going backwards (a looped file, a reconnected stream) starts afresh: no track spans it.
  std::vector<TrackAssignment> update(const std::vector<DetectedFace>& faces, const std::vector<float>& quality, double timestamp_s);

  // The track's person has been identified as `entry_id`: it needs no further embeddings.
  void mark_matched(std::uint64_t track_id, std::int64_t entry_id);
  // The watchlist changed: every unmatched track is embedded again at its next recognisable
  // view, so a person already in view is checked against the new list.
  void recheck_unmatched();
  // The bound on views embedded per track from now on (the list in force may allow fewer or more
  // than the options said: ThresholdInForce::searches_per_track).
  void set_max_embeddings_per_track(int views) { options_.max_embeddings_per_track = std::max(views, 1); }
  // Ends every track (between unrelated photos).
  void reset() { tracks_.clear(); }

  std::uint64_t tracks_started() const { return next_id_ - 1; }
  std::size_t live_tracks() const { return tracks_.size(); }

 private:
  struct Track {
    std::uint64_t id = 0;
    cv::Rect2f box;
    double last_seen_s = 0.0;
    float best_embedded_quality = 0.0f;
    double last_embedded_s = 0.0;
    int embeddings = 0;
    bool matched = false;
    std::int64_t matched_entry = 0;  // an entry's id, never a template
  };

  TrackerOptions options_;
  std::vector<Track> tracks_;
  std::uint64_t next_id_ = 1;
  double last_timestamp_s_ = 0.0;
};

}  // namespace glassbox
