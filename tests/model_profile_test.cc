// Model profiles: the shipped files parse, and a bad field is named in the error.
#include <gtest/gtest.h>

#include "embed/model_profile.h"

namespace glassbox {
namespace {

TEST(ModelProfile, ShippedProfilesLoad) {
  auto dlib = load_model_profile("dlib_resnet");
  ASSERT_TRUE(dlib) << dlib.error().message;
  EXPECT_EQ(dlib->dimension, 128);
  EXPECT_EQ(dlib->metric, Metric::kEuclidean);
  EXPECT_EQ(dlib->input_size, cv::Size(150, 150));
  EXPECT_FALSE(dlib->threshold_source.empty());
  // dlib's descriptor gets dlib's own chips: the 68-point predictor started from dlib's box.
  EXPECT_EQ(dlib->alignment.method, AlignmentSpec::Method::kDlibChip68);
  EXPECT_DOUBLE_EQ(dlib->alignment.padding, 0.25);
  EXPECT_GT(dlib->alignment.box_size, 100.0f);
  EXPECT_EQ(dlib->calibration_file, "dlib_resnet.calibration.json");
  auto mfn = load_model_profile("mobilefacenet");
  ASSERT_TRUE(mfn) << mfn.error().message;
  EXPECT_EQ(mfn->dimension, 192);
  EXPECT_EQ(mfn->metric, Metric::kCosine);
  EXPECT_FLOAT_EQ(mfn->alignment.landmark_template[2].x, 56.0252f);
  EXPECT_EQ(mfn->alignment.method, AlignmentSpec::Method::kSimilarity5);
  auto sface = load_model_profile("sface");  // for users who download it; not in the shared pack
  ASSERT_TRUE(sface) << sface.error().message;
  EXPECT_TRUE(sface->output_name.empty()) << "the network's last output";
  EXPECT_TRUE(sface->calibration_file.empty()) << "never measured here, so no rate is claimed for its scores";
}

TEST(ModelProfile, BadFieldsAreNamed) {
  const std::string good = R"({"name":"x","model":"m.onnx","input_size":[112,112],"channel_order":"rgb",
    "template":[[1,2],[3,4],[5,6],[7,8],[9,10]],"output":"o","dimension":8,"metric":"cosine","threshold":0.4})";
  ASSERT_TRUE(parse_model_profile(good, "t"));
  struct Case { std::string from, to, field; };
  const Case cases[] = {
      {R"("metric":"cosine")", R"("metric":"manhattan")", "metric"},
      {R"("input_size":[112,112])", R"("input_size":[112])", "input_size"},
      {R"([9,10]])", R"([9]])", "template"},
      {R"("dimension":8)", R"("dimension":"8")", "dimension"},
      {R"("channel_order":"rgb")", R"("channel_order":"yuv")", "channel_order"},
      {R"("threshold":0.4)", R"("threshold":null)", "threshold"},
      {R"("threshold":0.4)", R"("threshold":0.4,"calibration_file":"")", "calibration_file"},
      {R"("threshold":0.4)", R"("threshold":0.4,"alignment":{"method":"dlib_chip5"})", "alignment.method"},
      {R"("threshold":0.4)", R"("threshold":0.4,"alignment":{"method":"dlib_chip68","padding":0.25,"box":{"centre":[1,2],"size":3}})",
       "alignment.shape_predictor"},
      {R"("threshold":0.4)",
       R"("threshold":0.4,"alignment":{"method":"dlib_chip68","shape_predictor":"s.dat","padding":0.25,"box":{"centre":[1,2],"size":0}})",
       "alignment.box"},
      {R"("input_size":[112,112])", R"("input_size":[112,96],"alignment":{"method":"dlib_chip68","shape_predictor":"s.dat","padding":0.25,"box":{"centre":[1,2],"size":3}})",
       "input_size"},
  };
  for (const Case& c : cases) {
    std::string text = good;
    text.replace(text.find(c.from), c.from.size(), c.to);
    auto p = parse_model_profile(text, "t");
    ASSERT_FALSE(p) << c.field;
    EXPECT_NE(p.error().message.find("'" + c.field + "'"), std::string::npos) << p.error().message;
  }
  EXPECT_FALSE(parse_model_profile("{not json", "t"));
  EXPECT_FALSE(load_model_profile("no_such_profile"));
}

}  // namespace
}  // namespace glassbox
