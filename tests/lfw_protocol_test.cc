// The LFW protocol arithmetic on small made-up inputs whose answers can be worked out by hand.
#include <gtest/gtest.h>

#include "eval/lfw_protocol.h"

namespace glassbox::eval {
namespace {

TEST(LfwProtocol, ParsesViewTwoPairs) {
  const std::string text = "2\t2\nAnn\t1\t2\nBob\t1\t3\nAnn\t1\tBob\t2\nCid\t4\tDee\t1\n"
                           "Eve\t1\t2\nFay\t2\t3\nEve\t1\tFay\t1\nGus\t1\tAnn\t2\n";
  auto pairs = parse_pairs(text);
  ASSERT_TRUE(pairs) << pairs.error().message;
  ASSERT_EQ(pairs->size(), 8u);
  EXPECT_TRUE((*pairs)[0].same);
  EXPECT_EQ((*pairs)[0].name_b, "Ann");
  EXPECT_EQ((*pairs)[0].index_b, 2);
  EXPECT_FALSE((*pairs)[2].same);
  EXPECT_EQ((*pairs)[3].name_b, "Dee");
  EXPECT_EQ((*pairs)[3].fold, 0);
  EXPECT_EQ((*pairs)[4].fold, 1);
  EXPECT_FALSE(parse_pairs("2\t2\nAnn\t1\t2\n"));         // truncated
  EXPECT_FALSE(parse_pairs("x\n"));                      // no header
  EXPECT_FALSE(parse_pairs("1\t1\nAnn\tone\ttwo\nA\t1\tB\t1\n"));  // not numbers
  EXPECT_EQ(lfw_photo("/i", "Ann_Lee", 7), std::filesystem::path("/i/Ann_Lee/Ann_Lee_0007.jpg"));
}

TEST(LfwProtocol, BestThresholdSeparatesWhatCanBeSeparated) {
  const std::vector<double> scores = {0.1, 0.2, 0.3, 0.7, 0.8, 0.9};
  const std::vector<bool> same = {false, false, false, true, true, true};
  const double t = best_accuracy_threshold(scores, same);
  EXPECT_GT(t, 0.3);
  EXPECT_LT(t, 0.7);
  // One genuine pair below every impostor: the best threshold still misclassifies only it.
  const std::vector<double> s2 = {0.05, 0.2, 0.3, 0.7, 0.8, 0.9};
  const std::vector<bool> l2 = {true, false, false, true, true, false};
  const double t2 = best_accuracy_threshold(s2, l2);
  int correct = 0;
  for (std::size_t i = 0; i < s2.size(); ++i) correct += (s2[i] > t2) == l2[i];
  EXPECT_EQ(correct, 4);
}

TEST(LfwProtocol, KFoldTestsEachFoldWithAThresholdFromTheOthers) {
  // Two folds; fold 1 has one pair that no threshold gets right.
  std::vector<LfwPair> pairs(8);
  std::vector<double> scores = {0.9, 0.8, 0.1, 0.2, 0.9, 0.05, 0.1, 0.2};
  for (std::size_t i = 0; i < 8; ++i) {
    pairs[i].fold = i < 4 ? 0 : 1;
    pairs[i].same = (i % 4) < 2;
  }
  const auto r = kfold_accuracy(pairs, 2, [&](int) { return scores; });
  ASSERT_EQ(r.fold_accuracy.size(), 2u);
  EXPECT_DOUBLE_EQ(r.fold_accuracy[0], 1.0);
  EXPECT_DOUBLE_EQ(r.fold_accuracy[1], 0.75);
  EXPECT_DOUBLE_EQ(r.mean, 0.875);
  EXPECT_DOUBLE_EQ(r.stddev, 0.125);
}

TEST(LfwProtocol, TarAtFarAllowsExactlyTheFalseAcceptsTheRateAllows) {
  std::vector<double> impostor;
  for (int i = 0; i < 1000; ++i) impostor.push_back(i / 1000.0);  // 0.000 .. 0.999
  const std::vector<double> genuine = {0.9975, 0.9985, 0.999, 0.9995, 0.5};
  const auto at_1e3 = tar_at_far(genuine, impostor, 1e-3);  // one impostor (0.999) may pass
  EXPECT_DOUBLE_EQ(at_1e3.threshold, 0.998);
  EXPECT_DOUBLE_EQ(at_1e3.achieved, 0.001);
  EXPECT_DOUBLE_EQ(at_1e3.rate, 0.6);  // 0.9985, 0.999, 0.9995
  const auto at_1e2 = tar_at_far(genuine, impostor, 1e-2);
  EXPECT_DOUBLE_EQ(at_1e2.threshold, 0.989);
  EXPECT_DOUBLE_EQ(at_1e2.rate, 0.8);
  const auto roc = roc_curve(genuine, impostor);
  EXPECT_DOUBLE_EQ(roc.front().x, 0.0);
  EXPECT_DOUBLE_EQ(roc.back().x, 0.999);
  EXPECT_DOUBLE_EQ(roc.back().y, 1.0) << "above the lowest impostor every genuine pair passes";
  EXPECT_EQ(roc.size(), 1000u);
}

TEST(LfwProtocol, IdentificationCountsRankOneMissesAsFalseNegatives) {
  // Mated: three right at rank 1 (scores 0.9, 0.8, 0.4), one wrong at rank 1 (0.95).
  const std::vector<ProbeOutcome> mated = {{0.9, true}, {0.8, true}, {0.4, true}, {0.95, false}};
  // Non-mated best scores 0.0 .. 0.99.
  std::vector<ProbeOutcome> non_mated;
  for (int i = 0; i < 100; ++i) non_mated.push_back({i / 100.0, false});
  const auto r = identification_metrics(10, mated, non_mated);
  EXPECT_DOUBLE_EQ(r.rank1, 0.75);
  // FPIR 1e-1: 10 non-mated may pass -> threshold 0.89; hits above it: 0.9 only.
  EXPECT_DOUBLE_EQ(r.fnir_at_fpir.at("1e-1").threshold, 0.89);
  EXPECT_DOUBLE_EQ(r.fnir_at_fpir.at("1e-1").rate, 0.75);
  // FPIR 1e-2: one may pass -> threshold 0.98; no hit above it.
  EXPECT_DOUBLE_EQ(r.fnir_at_fpir.at("1e-2").rate, 1.0);
  EXPECT_EQ(r.fnir_at_fpir.count("1e-3"), 1u);
  EXPECT_FALSE(r.det.empty());
  EXPECT_EQ(rate_key(1e-3), "1e-3");
}

}  // namespace
}  // namespace glassbox::eval
