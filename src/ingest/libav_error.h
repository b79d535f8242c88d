// The text of a libav* error code, for the messages of the adapters over FFmpeg's libraries
// (the decoder, the segment recorder). Thread-safety: a pure function.
#pragma once

#include <string>

extern "C" {
#include <libavutil/error.h>
}

namespace glassbox {

inline std::string av_message(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

}  // namespace glassbox
