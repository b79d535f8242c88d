#include "ingest/sampling_mode.h"

#include <charconv>
#include <cstdio>

namespace glassbox {

Result<SamplingMode> SamplingMode::parse(const std::string& text) {
  SamplingMode mode;
  if (text == "keyframes") return mode;
  if (text.rfind("rate:", 0) == 0) {
    const std::string number = text.substr(5);
    double rate = 0.0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), rate);
    if (ec == std::errc() && end == number.data() + number.size() && rate > 0.0 && rate <= 60.0) {
      mode.keyframes_only = false;
      mode.rate_fps = rate;
      return mode;
    }
  }
  return Error{"mode '" + text + "': expected keyframes or rate:N with 0 < N <= 60"};
}

std::string SamplingMode::text() const {
  if (keyframes_only) return "keyframes";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "rate:%g", rate_fps);
  return buffer;
}

}  // namespace glassbox
