// FrameSource: the one interface through which frames enter Glassbox (video files, RTSP/HTTP
// streams, image folders, single images; a fake in tests). Grabbing and decoding are separate
// so that frames the analysis rate skips are never handed on or converted.
// Thread-safety: a FrameSource is used by one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/frame.h"
#include "core/result.h"

namespace glassbox {

struct FrameHeader {
  std::int64_t index = 0;     // 0-based position in the source
  double timestamp_s = 0.0;   // position in the stream (seconds); image sources count 1 s per image
  std::string item;           // image sources: the image's file name; empty for video
  // Live cameras: when the frame had been decoded (set by CameraIngest), for frame-to-alert
  // latency. Unset elsewhere.
  std::chrono::steady_clock::time_point captured_at{};
};

struct SourceOptions {
  double open_timeout_s = 10.0;  // network sources: give up connecting after this
  double read_timeout_s = 10.0;  // network sources: give up when no data arrives for this long
  int decoder_threads = 1;       // video: FFmpeg's decoding threads per source (0: FFmpeg chooses)
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;

  // Advances to the next frame. Returns nullopt at the end of the source.
  virtual Result<std::optional<FrameHeader>> grab() = 0;
  // The frame last grabbed, as pixels (video: the decoder's YUV, converted only where needed).
  virtual Result<Frame> retrieve() = 0;

  // True when consecutive frames are unrelated photos (an image folder): no tracking across them.
  virtual bool independent_frames() const { return false; }
  // Nominal frames per second, 0 when unknown.
  virtual double nominal_fps() const { return 0.0; }
  // The source as the user named it.
  virtual const std::string& name() const = 0;
};

// Opens a source named on the command line: a directory is an image folder, a URL
// (rtsp://, http://, ...) a stream, a file with an image extension a single image, anything else
// a video file read through FFmpeg. The error names the source.
Result<std::unique_ptr<FrameSource>> open_source(const std::string& spec, const SourceOptions& options);

bool looks_like_url(const std::string& spec);
bool has_image_extension(const std::string& path);

}  // namespace glassbox
