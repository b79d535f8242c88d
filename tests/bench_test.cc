// `glassbox bench --quick` as a user runs it: the JSON has every figure the contract names
// (docs/PERFORMANCE.md), the inputs say how they were made, the matching answers agree with the
// exact scan, and the reference pipeline and Glassbox found the same people. Speed itself is
// not asserted here (a shared machine's timings are not a test); counts and correctness are.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace glassbox {
namespace {

using nlohmann::json;

TEST(Bench, QuickRunWritesEveryFigureAndBothPipelinesFindTheSamePeople) {
  test::TempDir dir;
  const auto out = dir / "bench.json";
  // The inputs are kept between runs in the build folder's bench/ (as `glassbox bench` does).
  auto r = test::run_glassbox({"bench", "--quick", "--out", out.string(), "--work", std::string(GLASSBOX_BUILD_ROOT) + "/bench"}, 600);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json b = json::parse(test::read_file(out));

  for (const char* key : {"decode_fps_1080p", "decode_fps_720p", "embed_faces_per_s", "reference_ratio"}) {
    ASSERT_TRUE(b.contains(key)) << key;
    EXPECT_GT(b[key].get<double>(), 0.0) << key;
  }
  ASSERT_TRUE(b.contains("cameras_sustained"));
  EXPECT_GE(b["cameras_sustained"].get<int>(), 0);
  ASSERT_FALSE(b["cameras"]["trials"].empty());
  for (const auto& t : b["cameras"]["trials"]) {
    EXPECT_GT(t["analysed_fps"].get<double>(), 0.0) << "every trial analysed frames";
    EXPECT_GT(t["decoded_fps"].get<double>(), 0.0);
  }
  for (const char* size : {"1000", "10000", "100000", "1000000"}) {
    ASSERT_TRUE(b["match_ms_per_probe"].contains(size)) << size;
    EXPECT_GT(b["match_ms_per_probe"][size].get<double>(), 0.0);
    EXPECT_EQ(b["match"][size]["disagreements"], 0) << "the 4-bit scan with its re-rank gave another answer than the exact scan at " << size;
    EXPECT_GT(b["match"][size]["probes_checked"].get<int>(), 0);
  }
  for (const char* side : {"320", "480", "640"}) EXPECT_GT(b["detect_fps"][side].get<double>(), 0.0) << side;
  EXPECT_GT(b["detect"]["640"]["group_photo_faces"].get<int>(), 10) << "the group photos hold over 20 faces";

  // Same people: the six speakers of the grid, found by both, and nobody else.
  const json& ref = b["reference"];
  EXPECT_TRUE(ref["same_people"].get<bool>()) << ref.dump(2);
  EXPECT_EQ(ref["glassbox"]["people"].size(), 6u) << ref["glassbox"]["people"].dump();
  EXPECT_LT(ref["glassbox"]["faces_embedded"].get<int>(), ref["reference"]["faces_embedded"].get<int>())
      << "tracking embeds each person once, the reference every face of every analysed frame";
  EXPECT_EQ(ref["glassbox"]["frames_analysed"], ref["reference"]["frames_analysed"]) << "both analyse the same frames";

  ASSERT_EQ(b["inputs"].size(), 4u);
  for (const auto& clip : b["inputs"]) EXPECT_NE(clip["made_with"].get<std::string>().find("ffmpeg"), std::string::npos);
  EXPECT_FALSE(b["machine"]["match_kernel"].get<std::string>().empty());
}

}  // namespace
}  // namespace glassbox
