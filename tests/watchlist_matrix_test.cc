// Matching: exact scores against a contiguous template matrix, for both metrics.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "match/watchlist_matrix.h"

namespace glassbox {
namespace {

std::vector<float> random_vector(std::mt19937& rng, int dim, bool normalise) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<std::size_t>(dim));
  for (auto& x : v) x = normal(rng);
  if (normalise) {
    double n = 0;
    for (float x : v) n += x * x;
    for (auto& x : v) x = static_cast<float>(x / std::sqrt(n));
  }
  return v;
}

double euclidean(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

TEST(WatchlistMatrix, EuclideanScoresAreExactAndTheClosestRowWins) {
  std::mt19937 rng(7);
  WatchlistMatrix m(Metric::kEuclidean, 128);
  std::vector<std::vector<float>> rows;
  for (int i = 0; i < 200; ++i) {
    rows.push_back(random_vector(rng, 128, false));
    ASSERT_TRUE(m.add({100 + i, "s" + std::to_string(i), rows.back()}));
  }
  for (int trial = 0; trial < 20; ++trial) {
    const auto probe = random_vector(rng, 128, false);
    double best = 1e9;
    int best_i = -1;
    for (int i = 0; i < 200; ++i) {
      const double d = euclidean(probe, rows[static_cast<std::size_t>(i)]);
      if (d < best) best = d, best_i = i;
    }
    const auto c = m.closest(probe);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->entry_id, 100 + best_i);
    EXPECT_NEAR(c->score, best, 1e-4);
  }
}

TEST(WatchlistMatrix, ThresholdDecidesForBothMetrics) {
  WatchlistMatrix e(Metric::kEuclidean, 2);
  ASSERT_TRUE(e.add({1, "a", {0.0f, 0.0f}}));
  EXPECT_TRUE(e.best_match({0.3f, 0.4f}, 0.6).has_value());   // distance 0.5
  EXPECT_FALSE(e.best_match({0.3f, 0.4f}, 0.4).has_value());
  WatchlistMatrix c(Metric::kCosine, 2);
  ASSERT_TRUE(c.add({1, "a", {1.0f, 0.0f}}));
  ASSERT_TRUE(c.add({2, "b", {0.0f, 1.0f}}));
  const auto m = c.best_match({0.8f, 0.6f}, 0.5);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->entry_id, 1);
  EXPECT_NEAR(m->score, 0.8, 1e-6);
  EXPECT_FALSE(c.best_match({0.8f, 0.6f}, 0.9).has_value());
}

TEST(WatchlistMatrix, EmptyMatchesNothingAndWrongDimensionsAreRefused) {
  WatchlistMatrix m(Metric::kCosine, 4);
  EXPECT_FALSE(m.closest({1, 0, 0, 0}).has_value());
  EXPECT_FALSE(m.add({1, "a", {1, 0, 0}}).ok());
  ASSERT_TRUE(m.add({1, "a", {1, 0, 0, 0}}));
  EXPECT_FALSE(m.closest({1, 0, 0}).has_value());
}

TEST(WatchlistMatrix, SeveralTemplatesOfOneEntryCountAsOneEntry) {
  WatchlistMatrix m(Metric::kCosine, 2);
  ASSERT_TRUE(m.add({5, "a", {1, 0}}));
  ASSERT_TRUE(m.add({5, "a", {0, 1}}));
  ASSERT_TRUE(m.add({6, "b", {-1, 0}}));
  EXPECT_EQ(m.rows(), 3u);
  EXPECT_EQ(m.entries(), 2u);
  EXPECT_EQ(m.closest({0.1f, 0.99f})->entry_id, 5);
}

}  // namespace
}  // namespace glassbox

namespace glassbox {
namespace {

// An entry scoped to cameras matches only there; the closest row is chosen among those in scope.
TEST(WatchlistMatrix, ScopedEntriesMatchOnlyOnTheirCameras) {
  WatchlistMatrix m(Metric::kEuclidean, 2);
  ASSERT_TRUE(m.add({1, "gate only", {0.0f, 0.0f}, {"gate"}}));
  ASSERT_TRUE(m.add({2, "everywhere", {1.0f, 0.0f}, {}}));
  ASSERT_TRUE(m.add({3, "door and hall", {0.0f, 1.0f}, {"door", "hall"}}));
  EXPECT_EQ(m.closest({0.1f, 0.0f}, "gate")->entry_id, 1);
  EXPECT_EQ(m.closest({0.1f, 0.0f}, "lobby")->entry_id, 2) << "entry 1 is out of scope on lobby";
  EXPECT_EQ(m.closest({0.0f, 0.9f}, "hall")->entry_id, 3);
  EXPECT_EQ(m.closest({0.0f, 0.9f}, "gate")->entry_id, 1);
  EXPECT_FALSE(m.best_match({0.1f, 0.0f}, 0.2, "lobby").has_value()) << "the only close entry is out of scope";
  EXPECT_TRUE(m.best_match({0.1f, 0.0f}, 0.2, "gate").has_value());
  WatchlistMatrix only_scoped(Metric::kEuclidean, 2);
  ASSERT_TRUE(only_scoped.add({1, "gate only", {0.0f, 0.0f}, {"gate"}}));
  EXPECT_FALSE(only_scoped.closest({0.0f, 0.0f}, "lobby").has_value()) << "nothing in scope";
}

}  // namespace
}  // namespace glassbox
