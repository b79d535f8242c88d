// `glassbox eval lfw` on a slice of the real benchmark (2 folds = 1,200 pairs; a gallery of 50
// people and 200 distractors), through the real binary: every contracted field is there, the
// numbers clear floors a broken pipeline would not, and a second run comes from the cache.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace glassbox {
namespace {

using nlohmann::json;

TEST(EvalLfw, SliceOfBothProtocolsForBothProfilesAndTheirFusion) {
  test::TempDir dir;
  const auto out = dir / "lfw.json";
  const std::vector<std::string> args = {"eval", "lfw", "--out", out.string(), "--cache", (dir / "cache.sqlite").string(),
                                         "--limit-folds", "2", "--gallery-limit", "50", "--distractor-limit", "200"};
  auto r = test::run_glassbox(args, 600);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("photos"), std::string::npos) << "progress is shown";
  json doc = json::parse(std::ifstream(out));
  ASSERT_TRUE(doc.is_array());
  ASSERT_EQ(doc.size(), 3u);
  EXPECT_EQ(doc[0]["profile"], "dlib_resnet");
  EXPECT_EQ(doc[1]["profile"], "mobilefacenet");
  EXPECT_EQ(doc[2]["kind"], "fusion");
  for (const auto& p : doc) {
    SCOPED_TRACE(p["profile"].get<std::string>());
    const auto& v = p["verification"];
    EXPECT_EQ(v["pairs"], 1200);
    EXPECT_EQ(v["folds"], 2);
    EXPECT_GE(v["accuracy_mean"].get<double>(), 0.97);
    EXPECT_LT(v["accuracy_std"].get<double>(), 0.02);
    EXPECT_GE(v["tar_at_far"]["1e-2"].get<double>(), 0.95);
    EXPECT_GE(v["tar_at_far"]["1e-3"].get<double>(), 0.90);
    const auto& id = p["identification"];
    EXPECT_EQ(id["gallery"], 50);
    EXPECT_EQ(id["non_mated_probes"], 200);
    EXPECT_GE(id["rank1"].get<double>(), 0.97);
    for (const char* k : {"1e-1", "1e-2", "1e-3"}) EXPECT_TRUE(id["fnir_at_fpir"].contains(k)) << k;
    EXPECT_LE(id["fnir_at_fpir"]["1e-1"].get<double>(), 0.10);
    const auto& f = p["detection_failures"];
    EXPECT_GT(f["photos"].get<int>(), 1500);
    EXPECT_LT(f["no_face_scored_on_centred_crop"].get<int>(), 40) << "YuNet misses under 2% of LFW";
    EXPECT_TRUE(f.contains("pairs_with_a_centred_crop"));
  }
  // Thresholds by list size: a calibration file per profile beside the results, measured on
  // half of the one-photo people, and its thresholds checked on the other half. With 100 check
  // people searching 50 lists of one, the target 1 in 10 is 500 expected false matches: the
  // measured rate must be within a factor of two.
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& p = doc[i];
    SCOPED_TRACE(p["profile"].get<std::string>());
    const auto& t = p["thresholds_by_list_size"];
    EXPECT_EQ(t["calibration_people"], 100);
    EXPECT_EQ(t["check_non_mated_people"], 100);
    ASSERT_FALSE(t["sizes"].empty());
    const auto& one = t["sizes"][0];
    EXPECT_EQ(one["list_size"], 1);
    EXPECT_EQ(one["lists"], 50);
    const auto& at = one["at_target"][0];
    EXPECT_EQ(at["target_fpir"], 0.1);
    EXPECT_GE(at["measured_over_target"].get<double>(), 0.5);
    EXPECT_LE(at["measured_over_target"].get<double>(), 2.0);
    // Entries of one to three photos, best-of and mean template, searched by the same probes.
    const auto& several = p["entries_of_several_photos"]["rows"];
    ASSERT_EQ(several.size(), 5u) << "k=1, and best_of and mean_template for k=2 and k=3";
    for (const auto& row : several) EXPECT_EQ(row["mated_searches"], several[0]["mated_searches"]) << "the same probes for every k";
    EXPECT_EQ(several[1]["method"], "best_of");
    EXPECT_EQ(several[1]["list_templates"].get<int>(), 2 * several[1]["entries"].get<int>()) << "best_of of two photos: two rows per entry";
    const json file = json::parse(std::ifstream(dir / (p["profile"].get<std::string>() + ".calibration.json")));
    EXPECT_EQ(file["format"], "glassbox-calibration-1");
    EXPECT_EQ(file["comparisons"], 100 * 99 / 2);
    EXPECT_EQ(file["profile"], p["profile"]);
  }
  // The shipped thresholds keep the false-accept rate low on real pairs.
  EXPECT_LE(doc[0]["verification"]["threshold_at_far"]["1e-3"].get<double>(), 0.6) << "dlib distance at FAR 1e-3";
  for (const char* svg : {"lfw-roc.svg", "lfw-det.svg"}) {
    std::ifstream in(dir / svg);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("<polyline"), std::string::npos) << svg;
  }

  // Again: every template comes from the cache, and the numbers are the same.
  auto again = test::run_glassbox(args, 120);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  json doc2 = json::parse(std::ifstream(out));
  EXPECT_EQ(doc2[0]["run"]["photos_from_cache"], doc2[0]["run"]["dataset"]["photos"]);
  EXPECT_EQ(doc2[0]["verification"], doc[0]["verification"]);
  EXPECT_EQ(doc2[2]["identification"]["rank1"], doc[2]["identification"]["rank1"]);
}

TEST(EvalLfw, BadArgumentsAreClearErrors) {
  test::TempDir dir;
  auto no_data = test::run_glassbox({"eval", "lfw", "--data", (dir / "nothing").string(), "--out", (dir / "x.json").string()}, 60);
  EXPECT_EQ(no_data.exit_code, 1);
  EXPECT_NE(no_data.err.find("pairs.txt"), std::string::npos) << no_data.err;
  auto one_fold = test::run_glassbox({"eval", "lfw", "--out", (dir / "x.json").string(), "--limit-folds", "1"}, 60);
  EXPECT_NE(one_fold.exit_code, 0);
  auto bad_profile = test::run_glassbox({"eval", "lfw", "--out", (dir / "x.json").string(), "--profile", "nope"}, 60);
  EXPECT_EQ(bad_profile.exit_code, 1);
  EXPECT_NE(bad_profile.err.find("nope"), std::string::npos);
}

}  // namespace
}  // namespace glassbox
