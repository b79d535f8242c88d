// Thresholds from a target false-alert rate and the list's size (match/threshold_policy.h): the
// calibration file's arithmetic on a small hand-made table, and the shipped calibrations as a
// deployment meets them — stricter as the list grows, refused when measured for another
// alignment, and honest when a target is beyond what was measured.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>

#include "match/threshold_policy.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

// A euclidean table: 10 in a million comparisons at distance 0.3 or closer, 1 in 1,000 at 0.5,
// 1 in 10 at 0.8, all of them at 1.2.
FalseMatchCalibration small_table(double exponent = 1.0) {
  auto c = FalseMatchCalibration::make(Metric::kEuclidean, {{0.3, 1e-5}, {0.5, 1e-3}, {0.8, 1e-1}, {1.2, 1.0}}, 1000000, exponent, "test");
  EXPECT_TRUE(c) << c.error().message;
  return *c;
}

TEST(ThresholdPolicy, TheTableIsReadBothWaysAndTheyAgree) {
  const FalseMatchCalibration c = small_table();
  EXPECT_DOUBLE_EQ(c.false_match_rate(0.5), 1e-3);
  EXPECT_NEAR(c.false_match_rate(0.4), 1e-4, 1e-12) << "log-linear between 0.3 (1e-5) and 0.5 (1e-3)";
  EXPECT_DOUBLE_EQ(c.false_match_rate(0.1), 1e-5) << "stricter than measured: the lowest measured rate";
  EXPECT_DOUBLE_EQ(c.false_match_rate(2.0), 1.0);
  for (double rate : {1e-5, 3e-5, 1e-4, 5e-3, 0.1, 0.5}) {
    auto score = c.score_at(rate);
    ASSERT_TRUE(score) << rate;
    EXPECT_NEAR(c.false_match_rate(*score), rate, rate * 1e-9) << rate;
  }
  EXPECT_FALSE(c.score_at(1e-6)) << "below what was measured";
  // Cosine tables run the other way: higher is closer.
  auto cosine = FalseMatchCalibration::make(Metric::kCosine, {{0.7, 1e-4}, {0.5, 1e-2}, {-1.0, 1.0}}, 100000, 1.0, "test");
  ASSERT_TRUE(cosine) << cosine.error().message;
  EXPECT_DOUBLE_EQ(cosine->false_match_rate(0.8), 1e-4);
  EXPECT_NEAR(cosine->false_match_rate(0.6), 1e-3, 1e-12);
  // Points out of order, or rates out of range, are refused.
  EXPECT_FALSE(FalseMatchCalibration::make(Metric::kEuclidean, {{0.5, 1e-3}, {0.3, 1e-2}}, 10, 1.0, "t"));
  EXPECT_FALSE(FalseMatchCalibration::make(Metric::kEuclidean, {{0.3, 1e-2}, {0.5, 1e-3}}, 10, 1.0, "t"));
  EXPECT_FALSE(FalseMatchCalibration::make(Metric::kEuclidean, {{0.3, 0.0}}, 10, 1.0, "t"));
  EXPECT_FALSE(FalseMatchCalibration::make(Metric::kEuclidean, {{0.3, 0.1}}, 10, 1.5, "t")) << "exponent above 1";
}

TEST(ThresholdPolicy, TheFileRoundTripsAndBadFieldsAreNamed) {
  const FalseMatchCalibration c = small_table(0.9);
  auto again = FalseMatchCalibration::parse(c.to_json().dump(), "t");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->points().size(), 4u);
  EXPECT_DOUBLE_EQ(again->list_size_exponent(), 0.9);
  EXPECT_EQ(again->comparisons(), 1000000u);
  for (const char* field : {"format", "metric", "comparisons", "source", "list_size_exponent", "false_match_rate"}) {
    nlohmann::json doc = c.to_json();
    doc.erase(field);
    auto bad = FalseMatchCalibration::parse(doc.dump(), "t");
    ASSERT_FALSE(bad) << field;
    EXPECT_NE(bad.error().message.find(field), std::string::npos) << bad.error().message;
  }
  EXPECT_FALSE(FalseMatchCalibration::parse("{", "t"));
  // Fields of the wrong type are errors too, never exceptions.
  for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"format", 3}, {"metric", nlohmann::json::array()}, {"comparisons", -5}, {"source", 1}, {"list_size_exponent", "0.9"},
           {"false_match_rate", "x"}, {"false_match_rate", nlohmann::json::array({nlohmann::json::array({"a", 1})})}}) {
    nlohmann::json doc = c.to_json();
    doc[field] = value;
    auto bad = FalseMatchCalibration::parse(doc.dump(), "t");
    ASSERT_FALSE(bad) << field;
    EXPECT_NE(bad.error().message.find(field), std::string::npos) << bad.error().message;
  }
}

ModelProfile euclidean_profile() {
  ModelProfile profile;
  profile.name = "p";
  profile.metric = Metric::kEuclidean;
  profile.threshold = 0.42;
  return profile;
}

TEST(ThresholdPolicy, TheThresholdFollowsTheTargetAndTheListSize) {
  const ModelProfile profile = euclidean_profile();
  const FalseMatchCalibration c = small_table();
  // A list of one: the FPIR is the FMR.
  const ThresholdInForce one = decide_threshold(profile, &c, {1e-3, std::nullopt}, 1);
  EXPECT_EQ(one.basis, "target_fpir");
  EXPECT_NEAR(one.threshold, 0.5, 1e-4);
  EXPECT_NEAR(*one.estimated_fpir, 1e-3, 2e-5);
  EXPECT_FALSE(one.at_calibration_limit);
  // A hundred: each comparison must be a hundred times rarer, so the threshold is stricter.
  const ThresholdInForce hundred = decide_threshold(profile, &c, {1e-3, std::nullopt}, 100);
  EXPECT_NEAR(hundred.threshold, 0.3, 1e-3);
  EXPECT_NEAR(*hundred.estimated_fpir, 1e-3, 5e-5);
  EXPECT_NE(hundred.why.find("100 templates"), std::string::npos) << hundred.why;
  // Beyond what was measured: the strictest measured score, said plainly.
  const ThresholdInForce huge = decide_threshold(profile, &c, {1e-3, std::nullopt}, 100000);
  EXPECT_TRUE(huge.at_calibration_limit);
  EXPECT_DOUBLE_EQ(huge.threshold, 0.3);
  EXPECT_GT(*huge.estimated_fpir, 1e-3);
  EXPECT_NE(huge.why.find("not shown to be met"), std::string::npos) << huge.why;
  // Lists that are worth fewer independent comparisons than their size (exponent < 1) get a
  // less strict threshold for the same target.
  const FalseMatchCalibration correlated = small_table(0.8);
  EXPECT_GT(decide_threshold(profile, &correlated, {1e-3, std::nullopt}, 100).threshold, hundred.threshold);
  // A fixed threshold wins, and still says what it means for this list.
  const ThresholdInForce fixed = decide_threshold(profile, &c, {1e-3, 0.45}, 10);
  EXPECT_EQ(fixed.basis, "fixed");
  EXPECT_DOUBLE_EQ(fixed.threshold, 0.45);
  EXPECT_NEAR(*fixed.estimated_fpir, modelled_fpir(c.false_match_rate(0.45), 10), 1e-5) << "to three significant digits";
  // No calibration: the profile's own threshold, and no rate claimed.
  const ThresholdInForce none = decide_threshold(profile, nullptr, {1e-3, std::nullopt}, 10);
  EXPECT_EQ(none.basis, "profile_default");
  EXPECT_DOUBLE_EQ(none.threshold, 0.42);
  EXPECT_FALSE(none.estimated_fpir);
  EXPECT_NE(none.why.find("no calibration"), std::string::npos) << none.why;
}

TEST(ThresholdPolicy, ATracksViewsShareTheTargetAndFewerShareItWhereTheCalibrationEnds) {
  const ModelProfile profile = euclidean_profile();
  const FalseMatchCalibration c = small_table();
  // Three views of a track, one template: each search is held to a third of the target.
  const ThresholdInForce three = decide_threshold(profile, &c, {1e-3, std::nullopt, 3, true}, 1);
  EXPECT_EQ(three.searches_per_track, 3u);
  EXPECT_NEAR(c.false_match_rate(three.threshold), 1e-3 / 3, 1e-5);
  EXPECT_LT(three.threshold, decide_threshold(profile, &c, {1e-3, std::nullopt}, 1).threshold) << "stricter than for one view";
  EXPECT_NE(three.why.find("per track, shared by its up to 3 views"), std::string::npos) << three.why;
  EXPECT_EQ(three.to_json()["searches_per_track"], 3);
  // A hundred templates: a third of the target needs a rate below the table's lowest, so one
  // view carries the whole target (which the table can still show)...
  const ThresholdInForce fewer = decide_threshold(profile, &c, {1e-3, std::nullopt, 3, true}, 100);
  EXPECT_EQ(fewer.searches_per_track, 1u);
  EXPECT_FALSE(fewer.at_calibration_limit);
  // ...unless the views per track cannot be changed (a case search): then the strictest score.
  const ThresholdInForce fixed_views = decide_threshold(profile, &c, {1e-3, std::nullopt, 3, false}, 100);
  EXPECT_EQ(fixed_views.searches_per_track, 3u);
  EXPECT_TRUE(fixed_views.at_calibration_limit);
  EXPECT_DOUBLE_EQ(fixed_views.threshold, 0.3);
}

TEST(ThresholdPolicy, ShippedCalibrationsLoadAndTightenAsTheListGrows) {
  for (const char* name : {"dlib_resnet", "mobilefacenet"}) {
    SCOPED_TRACE(name);
    auto profile = load_model_profile(name);
    ASSERT_TRUE(profile) << profile.error().message;
    auto calibration = load_false_match_calibration(*profile);
    ASSERT_TRUE(calibration) << calibration.error().message;
    ASSERT_TRUE(calibration->has_value());
    const FalseMatchCalibration& c = **calibration;
    EXPECT_GT(c.comparisons(), 1000000u) << "every pair of about 2,000 people";
    EXPECT_GT(c.list_size_exponent(), 0.8);
    EXPECT_LE(c.list_size_exponent(), 1.0);
    double previous = 0;
    for (std::size_t size : {1, 10, 100, 1000}) {
      const ThresholdInForce d = decide_threshold(*profile, &c, {1e-2, std::nullopt}, size);
      EXPECT_FALSE(d.at_calibration_limit) << size;
      EXPECT_NEAR(*d.estimated_fpir, 1e-2, 1e-3) << size;
      if (size > 1) {
        EXPECT_TRUE(ModelProfile::is_better(profile->metric, d.threshold, previous)) << "stricter at " << size;
      }
      previous = d.threshold;
    }
  }
  // A calibration measured with another alignment would give scores another meaning: refused.
  auto profile = load_model_profile("dlib_resnet");
  ASSERT_TRUE(profile);
  profile->alignment.padding = 0.2;
  auto refused = load_false_match_calibration(*profile);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("measure it again"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace glassbox
