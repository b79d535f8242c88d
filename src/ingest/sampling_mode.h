// SamplingMode: which frames of a recording a search decodes and analyses — every keyframe, or
// N frames per second of every decoded frame. Parsed from the command line and the API.
// Thread-safety: a plain value type.
#pragma once

#include <string>

#include "core/result.h"

namespace glassbox {

struct SamplingMode {
  bool keyframes_only = true;
  double rate_fps = 0.0;  // rate mode only
  // "keyframes" or "rate:N" (0 < N <= 60); the error quotes the text.
  static Result<SamplingMode> parse(const std::string& text);
  std::string text() const;
};

}  // namespace glassbox
