// Tracking: faces are associated across frames by overlap; each track is embedded at its first
// recognisable view, again for a clearly better view, and for a fresh view about as good once
// a second has passed, up to a bound; tracks end after a gap.
#include <algorithm>

#include <gtest/gtest.h>

#include "track/tracker.h"

namespace glassbox {
namespace {

DetectedFace face_at(float x, float y, float size, float confidence = 0.9f) {
  DetectedFace f;
  f.box = cv::Rect2f(x, y, size, size);
  // Frontal landmarks: eyes level, nose centred.
  f.landmarks = {cv::Point2f{x + 0.3f * size, y + 0.4f * size}, {x + 0.7f * size, y + 0.4f * size},
                 {x + 0.5f * size, y + 0.6f * size}, {x + 0.35f * size, y + 0.8f * size}, {x + 0.65f * size, y + 0.8f * size}};
  f.confidence = confidence;
  return f;
}

// Quality as the frame analyser would give it, simplified: larger and more confident is better.
std::vector<float> quality_of(const std::vector<DetectedFace>& faces) {
  std::vector<float> q;
  for (const DetectedFace& f : faces) q.push_back(std::min(1.0f, f.size() / 100.0f) * f.confidence);
  return q;
}

std::vector<TrackAssignment> step(Tracker& tracker, const std::vector<DetectedFace>& faces, double t) {
  return tracker.update(faces, quality_of(faces), t);
}

TrackerOptions without_fresh_views() {
  TrackerOptions options;
  options.fresh_view_after_s = 0.0;
  return options;
}

TEST(Tracker, AFaceThatMovesALittleKeepsItsTrackAndIsEmbeddedOnce) {
  Tracker tracker(without_fresh_views());
  auto first = step(tracker, {face_at(100, 100, 80)}, 0.0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].new_track);
  EXPECT_TRUE(first[0].embed);
  for (int i = 1; i < 10; ++i) {
    auto next = step(tracker, {face_at(100 + 4.0f * i, 100, 80)}, 0.2 * i);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].track_id, first[0].track_id);
    EXPECT_FALSE(next[0].new_track);
    EXPECT_FALSE(next[0].embed) << "frame " << i << ": same view, no new embedding";
  }
  EXPECT_EQ(tracker.tracks_started(), 1u);
}

TEST(Tracker, TwoFacesKeepTheirOwnTracks) {
  Tracker tracker;
  auto a = step(tracker, {face_at(100, 100, 80), face_at(400, 120, 90)}, 0.0);
  auto b = step(tracker, {face_at(405, 118, 90), face_at(103, 101, 80)}, 0.2);  // order swapped
  EXPECT_EQ(b[0].track_id, a[1].track_id);
  EXPECT_EQ(b[1].track_id, a[0].track_id);
  EXPECT_EQ(tracker.tracks_started(), 2u);
}

TEST(Tracker, AClearlyBetterViewIsEmbeddedAgain) {
  Tracker tracker(without_fresh_views());
  step(tracker, {face_at(100, 100, 60, 0.85f)}, 0.0);
  auto slightly = step(tracker, {face_at(98, 98, 64, 0.85f)}, 0.2);
  EXPECT_FALSE(slightly[0].embed);
  auto larger = step(tracker, {face_at(90, 90, 90, 0.95f)}, 0.4);  // 1.5x the size, more confident
  EXPECT_TRUE(larger[0].embed);
  EXPECT_FALSE(larger[0].new_track);
}

TEST(Tracker, AMatchedTrackIsNotEmbeddedAgain) {
  Tracker tracker;
  auto first = step(tracker, {face_at(100, 100, 60)}, 0.0);
  tracker.mark_matched(first[0].track_id, 42);
  auto larger = step(tracker, {face_at(90, 90, 100)}, 0.2);
  EXPECT_FALSE(larger[0].embed);
  EXPECT_TRUE(larger[0].matched);
  EXPECT_EQ(larger[0].matched_entry, 42) << "the sink is told who is still in view";
}

TEST(Tracker, AnUnmatchedTrackIsEmbeddedAgainEverySecondOnAViewAboutAsGood) {
  Tracker tracker;  // fresh_view_after_s = 1, fresh_view_quality = 0.8
  std::vector<double> embedded_at;
  for (int i = 0; i < 16; ++i) {
    // Slightly worse than the first view after 1 s (still 0.8 of it), much worse after 2 s.
    const float confidence = i < 5 ? 0.9f : (i < 10 ? 0.8f : 0.6f);
    auto a = step(tracker, {face_at(100, 100, 80, confidence)}, 0.2 * i);
    if (a[0].embed) embedded_at.push_back(0.2 * i);
  }
  ASSERT_EQ(embedded_at.size(), 2u) << "the first view, and the fresh one a second later; none of the poor views after that";
  EXPECT_DOUBLE_EQ(embedded_at[0], 0.0);
  EXPECT_NEAR(embedded_at[1], 1.0, 1e-9);
  // Once matched, no fresh view is embedded.
  Tracker matched_tracker;
  auto first = step(matched_tracker, {face_at(100, 100, 80)}, 0.0);
  matched_tracker.mark_matched(first[0].track_id, 3);
  for (int i = 1; i < 20; ++i) EXPECT_FALSE(step(matched_tracker, {face_at(100, 100, 80)}, 0.2 * i)[0].embed);
}

TEST(Tracker, EmbeddingsPerTrackAreBounded) {
  TrackerOptions options;
  options.max_embeddings_per_track = 3;
  Tracker tracker(options);
  int embeddings = 0;
  float size = 40;
  for (int i = 0; i < 10; ++i, size *= 1.5f) {
    auto a = step(tracker, {face_at(100, 100, size)}, 0.2 * i);
    embeddings += a[0].embed ? 1 : 0;
  }
  EXPECT_EQ(embeddings, 3);
}

TEST(Tracker, ATrackEndsAfterTheGapAndTheFaceStartsANewOne) {
  Tracker tracker;  // max_gap_s = 2
  auto first = step(tracker, {face_at(100, 100, 80)}, 0.0);
  auto empty = step(tracker, {}, 1.0);
  EXPECT_TRUE(empty.empty());
  auto within = step(tracker, {face_at(100, 100, 80)}, 1.9);
  EXPECT_EQ(within[0].track_id, first[0].track_id);
  step(tracker, {}, 3.0);
  auto after = step(tracker, {face_at(100, 100, 80)}, 4.5);
  EXPECT_NE(after[0].track_id, first[0].track_id);
  EXPECT_TRUE(after[0].new_track);
}

TEST(Tracker, NoOverlapMeansANewTrack) {
  Tracker tracker;
  auto a = step(tracker, {face_at(100, 100, 50)}, 0.0);
  auto b = step(tracker, {face_at(300, 100, 50)}, 0.2);
  EXPECT_NE(a[0].track_id, b[0].track_id);
}

DetectedFace turned_away(float x, float y, float size) {
  DetectedFace f = face_at(x, y, size);
  // A head seen from the side: eyes bunched together, nose beyond them (as on the walking video).
  f.landmarks[0] = {x + 0.55f * size, y + 0.4f * size};
  f.landmarks[1] = {x + 0.62f * size, y + 0.4f * size};
  f.landmarks[2] = {x + 0.9f * size, y + 0.6f * size};
  return f;
}

TEST(Tracker, TurnedAwayViewsAreTrackedButNotEmbeddedUntilTheFaceTurns) {
  EXPECT_TRUE(is_recognisable(face_at(0, 0, 80), RecognitionGate{}));
  EXPECT_FALSE(is_recognisable(turned_away(0, 0, 80), RecognitionGate{}));
  Tracker tracker;
  auto first = step(tracker, {turned_away(100, 100, 80)}, 0.0);
  EXPECT_TRUE(first[0].new_track);
  EXPECT_FALSE(first[0].embed);
  auto still = step(tracker, {turned_away(102, 100, 80)}, 0.2);
  EXPECT_FALSE(still[0].embed);
  auto frontal = step(tracker, {face_at(104, 100, 80)}, 0.4);
  EXPECT_EQ(frontal[0].track_id, first[0].track_id);
  EXPECT_TRUE(frontal[0].embed);
  EXPECT_EQ(tracker.tracks_started(), 1u);
}

TEST(Tracker, TimeGoingBackwardsStartsAfresh) {
  Tracker tracker;
  auto before = step(tracker, {face_at(100, 100, 80)}, 7.8);
  auto after_loop = step(tracker, {face_at(100, 100, 80)}, 0.0);  // the file looped, the stream reconnected
  EXPECT_NE(after_loop[0].track_id, before[0].track_id);
  EXPECT_TRUE(after_loop[0].embed);
}

TEST(Tracker, ANewWatchlistRechecksUnmatchedTracksOnly) {
  Tracker tracker(without_fresh_views());
  auto first = step(tracker, {face_at(100, 100, 80), face_at(400, 100, 80)}, 0.0);
  tracker.mark_matched(first[1].track_id, 7);
  auto same = step(tracker, {face_at(101, 100, 80), face_at(401, 100, 80)}, 0.2);
  EXPECT_FALSE(same[0].embed);
  tracker.recheck_unmatched();
  auto after = step(tracker, {face_at(102, 100, 80), face_at(402, 100, 80)}, 0.4);
  EXPECT_TRUE(after[0].embed) << "checked against the new list";
  EXPECT_FALSE(after[1].embed) << "already identified";
  EXPECT_EQ(after[0].track_id, first[0].track_id);
}

TEST(Tracker, BoxIou) {
  EXPECT_FLOAT_EQ(box_iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0f);
  EXPECT_FLOAT_EQ(box_iou({0, 0, 10, 10}, {20, 20, 10, 10}), 0.0f);
  EXPECT_NEAR(box_iou({0, 0, 10, 10}, {5, 0, 10, 10}), 50.0f / 150.0f, 1e-6);
}

}  // namespace
}  // namespace glassbox
