// RecordingReader: a recorded video file read through FFmpeg's libavformat and libavcodec
// directly, for searches of recordings: it can seek, and it can read keyframes only — packets
// that are not keyframes are never handed to the decoder — which is what makes an hour of
// footage searchable in seconds. Frames are converted to BGR only when asked for.
// Times are seconds from the start of the file (the video stream's first timestamp is 0).
// Thread-safety: one thread at a time; independent readers may run on different threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

#include "core/result.h"

namespace glassbox {

struct RecordingInfo {
  double duration_s = 0.0;  // 0 when the container does not say
  double fps = 0.0;         // nominal, 0 when unknown
  int width = 0;
  int height = 0;
  std::string codec;
};

struct ReaderCounts {
  std::int64_t packets_read = 0;
  std::int64_t packets_skipped = 0;   // not keyframes, in keyframe mode: never decoded
  std::int64_t frames_decoded = 0;
  std::int64_t decode_errors = 0;     // packets the decoder refused (corrupt data); reading goes on
  std::int64_t damaged_frames = 0;    // frames decoded with concealed errors
  std::int64_t packets_sent = 0;      // handed to the decoder
};

class RecordingReader {
 public:
  // The error names the file: missing, not a video, no video stream, no decoder.
  static Result<std::unique_ptr<RecordingReader>> open(const std::string& path, bool keyframes_only);
  ~RecordingReader();
  RecordingReader(const RecordingReader&) = delete;
  RecordingReader& operator=(const RecordingReader&) = delete;

  const RecordingInfo& info() const { return info_; }
  const ReaderCounts& counts() const { return counts_; }
  // Packets the decoder took but gave no frame for (damaged beyond use: dropped without an
  // error), not counting the few a decoder may still hold when reading stopped early.
  std::int64_t lost_packets() const;
  const std::string& path() const { return path_; }

  // Moves to the keyframe at or before `seconds`; the frames before `seconds` that follow are
  // still returned by next() (the caller skips them: they may be needed as references).
  Status seek(double seconds);
  // Decodes the next frame (the next keyframe in keyframe mode) and returns its time, or nullopt
  // at the end of the file. A truncated file ends early without an error, damaged packets are
  // counted and skipped; an error means the file could not be read on (I/O).
  Result<std::optional<double>> next();
  // The frame last returned by next(), as BGR pixels at full size.
  Result<cv::Mat> pixels();

 private:
  struct Libav;
  RecordingReader(std::string path, std::unique_ptr<Libav> av, bool keyframes_only);
  Result<bool> feed_decoder();
  std::int64_t stream_pts(double seconds) const;  // seconds from the start -> the stream's timestamps

  std::string path_;
  std::unique_ptr<Libav> av_;
  bool keyframes_only_;
  RecordingInfo info_;
  ReaderCounts counts_;
  bool draining_ = false;
  bool finished_ = false;
};

// How a search samples footage: every keyframe, or N frames per second of every decoded frame.
struct SamplingMode {
  bool keyframes_only = true;
  double rate_fps = 0.0;  // rate mode only
  // "keyframes" or "rate:N" (0 < N <= 60); the error quotes the text.
  static Result<SamplingMode> parse(const std::string& text);
  std::string text() const;
};

}  // namespace glassbox
