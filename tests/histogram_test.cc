// Latency histograms in Prometheus form: cumulative buckets, +Inf, sum and count.
#include <sstream>

#include <gtest/gtest.h>

#include "core/histogram.h"

namespace glassbox {
namespace {

TEST(LatencyHistogram, WritesCumulativeBucketsSumAndCount) {
  LatencyHistogram h;
  for (double s : {0.004, 0.02, 0.02, 0.3, 45.0}) h.record(s);
  std::ostringstream out;
  h.write(out, "x_seconds", "stage=\"detect\"");
  const std::string text = out.str();
  EXPECT_NE(text.find("x_seconds_bucket{stage=\"detect\",le=\"0.005\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{stage=\"detect\",le=\"0.025\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{stage=\"detect\",le=\"0.5\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{stage=\"detect\",le=\"30\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{stage=\"detect\",le=\"+Inf\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_count{stage=\"detect\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_sum{stage=\"detect\"} 45.344\n"), std::string::npos) << text;
  EXPECT_EQ(h.count(), 5u);
}

}  // namespace
}  // namespace glassbox
