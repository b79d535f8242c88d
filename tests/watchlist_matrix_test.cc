// Matching: exact scores against a contiguous template matrix, for both metrics.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "match/packed_scan.h"
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

// The 4-bit scan with an exact re-rank (docs/PERFORMANCE.md, "Matching"): whatever the data,
// the answer must be the one an exact scan over every row gives — the bound may only save work.
namespace glassbox {
namespace {

struct Exact {
  std::optional<std::size_t> row;
  double score = 0.0;
};

// The reference: every row scored in double, the first of equal scores kept.
Exact brute_force(const std::vector<std::vector<float>>& rows, const std::vector<float>& probe, Metric metric) {
  Exact best;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    double dot = 0.0, sq = 0.0, psq = 0.0;
    for (std::size_t k = 0; k < probe.size(); ++k) {
      dot += static_cast<double>(rows[r][k]) * probe[k];
      sq += static_cast<double>(rows[r][k]) * rows[r][k];
      psq += static_cast<double>(probe[k]) * probe[k];
    }
    const double score = metric == Metric::kCosine ? dot : std::sqrt(std::max(0.0, psq + sq - 2.0 * dot));
    if (!best.row || ModelProfile::is_better(metric, score, best.score)) best = {r, score};
  }
  return best;
}

// Rows like templates: people (random directions) with several photos each (small changes).
std::vector<std::vector<float>> people(std::mt19937& rng, std::size_t count, int dim, bool normalise, int photos_each) {
  std::vector<std::vector<float>> rows;
  std::normal_distribution<float> jitter(0.0f, 0.05f);
  while (rows.size() < count) {
    const auto person = random_vector(rng, dim, normalise);
    for (int k = 0; k < photos_each && rows.size() < count; ++k) {
      auto v = person;
      for (auto& x : v) x += jitter(rng);
      rows.push_back(v);
    }
  }
  return rows;
}

void expect_exact(const WatchlistMatrix& m, const std::vector<std::vector<float>>& rows, const std::vector<std::vector<float>>& probes,
                  Metric metric, double threshold, int threads) {
  const auto closest = m.closest_all(probes, {}, threads);
  const auto matches = m.best_matches(probes, threshold, {}, threads);
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const Exact e = brute_force(rows, probes[i], metric);
    ASSERT_TRUE(closest[i].has_value());
    EXPECT_EQ(closest[i]->entry_id, static_cast<std::int64_t>(*e.row)) << "probe " << i;
    EXPECT_NEAR(closest[i]->score, e.score, 1e-6) << "probe " << i;
    EXPECT_EQ(matches[i].has_value(), ModelProfile::is_match(metric, e.score, threshold)) << "probe " << i << " score " << e.score;
    if (matches[i]) {
      EXPECT_EQ(matches[i]->entry_id, static_cast<std::int64_t>(*e.row));
    }
  }
}

class PackedScan : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!packed::use_kernel(GetParam())) GTEST_SKIP() << "this processor cannot run the " << GetParam() << " kernel";
  }
  void TearDown() override { packed::use_kernel(""); }
};

TEST_P(PackedScan, AnswersAreThoseOfAnExactScanForBothMetrics) {
  std::mt19937 rng(11);
  for (const Metric metric : {Metric::kEuclidean, Metric::kCosine}) {
    const bool cosine = metric == Metric::kCosine;
    const int dim = cosine ? 192 : 128;  // MobileFaceNet's and dlib's sizes
    const auto rows = people(rng, 3001, dim, cosine, 3);  // not a whole number of blocks
    WatchlistMatrix m(metric, dim);
    for (std::size_t r = 0; r < rows.size(); ++r) ASSERT_TRUE(m.add({static_cast<std::int64_t>(r), "s", rows[r]}));
    std::vector<std::vector<float>> probes;
    std::normal_distribution<float> noise(0.0f, 0.05f);
    for (int i = 0; i < 12; ++i) {
      auto near = rows[static_cast<std::size_t>(i * 97)];  // another photo of someone enrolled
      for (auto& x : near) x += noise(rng);
      probes.push_back(near);
      probes.push_back(random_vector(rng, dim, cosine));  // a stranger
    }
    // A threshold between mated and non-mated scores, so both answers occur.
    const double threshold = cosine ? 0.5 : 0.9;
    expect_exact(m, rows, probes, metric, threshold, 1);
  }
}

TEST_P(PackedScan, EveryKernelFindsTheSameCandidates) {
  std::mt19937 rng(5);
  const auto rows = people(rng, 500, 128, false, 2);
  WatchlistMatrix m(Metric::kEuclidean, 128);
  for (std::size_t r = 0; r < rows.size(); ++r) ASSERT_TRUE(m.add({static_cast<std::int64_t>(r), "s", rows[r]}));
  std::vector<std::vector<float>> probes;
  for (int i = 0; i < 5; ++i) probes.push_back(random_vector(rng, 128, false));
  MatchWork here, portable;
  const auto a = m.closest_all(probes, {}, 1, &here);
  ASSERT_TRUE(packed::use_kernel("portable"));
  const auto b = m.closest_all(probes, {}, 1, &portable);
  EXPECT_EQ(here.candidates, portable.candidates) << GetParam() << " and portable kept different rows";
  EXPECT_EQ(here.rescans, portable.rescans);
  for (std::size_t i = 0; i < probes.size(); ++i) EXPECT_EQ(a[i]->entry_id, b[i]->entry_id);
}

INSTANTIATE_TEST_SUITE_P(Kernels, PackedScan, ::testing::Values("portable", "avx2", "avx512-vnni"));

TEST(WatchlistMatrix, WhenTheBoundCannotDecideTheCloseRowsAreScoredExactly) {
  // Hundreds of rows almost equally close to the probe (one person enrolled many times, and
  // one photo a hair closer): the 8-bit keys cannot tell them apart, the exact scores can.
  std::mt19937 rng(3);
  const auto person = random_vector(rng, 128, false);
  std::vector<std::vector<float>> rows;
  std::normal_distribution<float> tiny(0.0f, 1e-3f);
  for (int r = 0; r < 400; ++r) {
    auto v = person;
    for (auto& x : v) x += tiny(rng);
    rows.push_back(v);
  }
  const auto probe = person;
  rows[317] = person;  // an exact copy: distance 0
  WatchlistMatrix m(Metric::kEuclidean, 128);
  for (std::size_t r = 0; r < rows.size(); ++r) ASSERT_TRUE(m.add({static_cast<std::int64_t>(r), "s", rows[r]}));
  MatchWork work;
  const auto c = m.closest_all({probe}, {}, 1, &work);
  ASSERT_TRUE(c[0]);
  EXPECT_EQ(c[0]->entry_id, 317);
  EXPECT_NEAR(c[0]->score, 0.0, 1e-6);
  EXPECT_GE(work.rescans, 1) << "the first candidates could not settle it";
}

TEST(WatchlistMatrix, EqualRowsGiveTheFirstAndBadProbesNothing) {
  WatchlistMatrix m(Metric::kCosine, 4);
  for (int r = 0; r < 40; ++r) ASSERT_TRUE(m.add({100 + r, "same", {0.5f, 0.5f, 0.5f, 0.5f}}));
  EXPECT_EQ(m.closest({0.5f, 0.5f, 0.5f, 0.5f})->entry_id, 100);
  EXPECT_FALSE(m.closest({std::nanf(""), 0.0f, 0.0f, 0.0f}).has_value());
  EXPECT_FALSE(m.add({1, "nan", {std::nanf(""), 0.0f, 0.0f, 0.0f}}).ok());
  const auto zero = m.closest({0.0f, 0.0f, 0.0f, 0.0f});
  ASSERT_TRUE(zero.has_value());
  EXPECT_NEAR(zero->score, 0.0, 1e-9);
}

TEST(WatchlistMatrix, ALargeListSplitOverThreadsGivesTheSameAnswers) {
  // Enough rows for two threads (2 x 2048 blocks of 16).
  std::mt19937 rng(9);
  const auto rows = people(rng, 70000, 128, false, 4);
  WatchlistMatrix m(Metric::kEuclidean, 128);
  m.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) ASSERT_TRUE(m.add({static_cast<std::int64_t>(r), "s", rows[r]}));
  std::vector<std::vector<float>> probes;
  std::normal_distribution<float> noise(0.0f, 0.05f);
  for (int i = 0; i < 10; ++i) {
    auto near = rows[static_cast<std::size_t>(i * 6007)];
    for (auto& x : near) x += noise(rng);
    probes.push_back(near);
    probes.push_back(random_vector(rng, 128, false));
  }
  expect_exact(m, rows, probes, Metric::kEuclidean, 0.9, 2);
}

}  // namespace
}  // namespace glassbox
