// VideoDecoder: one video file or network stream read through FFmpeg's libavformat and
// libavcodec directly — the one decoder under live cameras, `watch` and searches of recordings.
//   - Frames come out as Frames holding the decoder's own YUV buffer: nothing is converted to
//     BGR until a stage asks (the detector's scaled input, regions around faces).
//   - It can seek, and it can read keyframes only: packets that are not keyframes are never
//     handed to the decoder (what makes an hour of footage searchable in seconds).
//   - Network streams get an open and a read deadline (a silent camera is an error, not a hang);
//     RTSP goes over TCP, as OpenCV's VideoCapture did before this replaced it, and over UDP
//     where a server refuses TCP.
//   - Damaged data is refused by the decoder (AV_EF_EXPLODE) and counted, never fatal.
// Times are seconds from the start of the stream (the video stream's first timestamp is 0).
// Thread-safety: one thread at a time; independent decoders may run on different threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/frame.h"
#include "core/result.h"

namespace glassbox {

struct DecoderOptions {
  bool keyframes_only = false;
  // FFmpeg's decoding threads for this stream. One is the most work per core: many cameras or
  // search workers already keep every core busy, and frame threads add a frame of latency each.
  int threads = 1;
  double open_timeout_s = 0.0;  // network streams: give up connecting after this (0: no limit)
  double read_timeout_s = 0.0;  // network streams: give up when a read blocks this long (0: no limit)
  // An uploaded recording or a segment read back: the file protocol and the recording formats
  // only (ingest/libav_input.h), and the timeouts above apply to the file as well.
  bool untrusted_file = false;
  // Set by another thread to make an open or read in progress give up (a search cancelled).
  const std::atomic<bool>* cancel = nullptr;
};

struct VideoInfo {
  double duration_s = 0.0;  // 0 when the container does not say
  double fps = 0.0;         // nominal, 0 when unknown
  int width = 0;
  int height = 0;
  std::string codec;
};

struct DecoderCounts {
  std::int64_t packets_read = 0;
  std::int64_t packets_skipped = 0;   // not keyframes, in keyframe mode: never decoded
  std::int64_t frames_decoded = 0;
  std::int64_t decode_errors = 0;     // packets the decoder refused (corrupt data); reading goes on
  std::int64_t damaged_frames = 0;    // frames decoded with concealed errors
  std::int64_t packets_sent = 0;      // handed to the decoder
};

class VideoDecoder {
 public:
  // `url` is a file path or a stream URL. The error names it: not a video, no video stream, no
  // decoder, unreachable (for streams, within the open timeout).
  static Result<std::unique_ptr<VideoDecoder>> open(const std::string& url, const DecoderOptions& options);
  ~VideoDecoder();
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  const VideoInfo& info() const { return info_; }
  const DecoderCounts& counts() const { return counts_; }
  // Packets the decoder took but gave no frame for (damaged beyond use: dropped without an
  // error), not counting the few a decoder may still hold when reading stopped early.
  std::int64_t lost_packets() const;
  const std::string& url() const { return url_; }

  // Moves to the keyframe at or before `seconds`; the frames before `seconds` that follow are
  // still returned by next() (the caller skips them: they may be needed as references).
  Status seek(double seconds);
  // Decodes the next frame (the next keyframe in keyframe mode) and returns its time, or nullopt
  // at the end of the stream. A truncated file ends early without an error, damaged packets are
  // counted and skipped, and a network stream that sends nothing for the read timeout has ended
  // (ended_silent() says so); an error means the stream could not be read on (I/O).
  Result<std::optional<double>> next();
  bool ended_silent() const { return timed_out_; }
  // The end of the furthest video packet read so far (seconds), decoded or skipped: how much of
  // the file was there, which in keyframe mode reaches past the last frame returned.
  double read_up_to_s() const { return read_up_to_s_; }
  // The frame last returned by next(). YUV 4:2:0 frames of even size are handed on as they are
  // (the decoder's buffer, by reference); any other format is converted to BGR here.
  Result<Frame> frame();

 private:
  struct Libav;
  VideoDecoder(std::string url, std::unique_ptr<Libav> av, const DecoderOptions& options);
  Result<bool> feed_decoder();

  std::string url_;
  std::unique_ptr<Libav> av_;
  DecoderOptions options_;
  VideoInfo info_;
  DecoderCounts counts_;
  bool draining_ = false;
  bool finished_ = false;
  bool timed_out_ = false;
  double read_up_to_s_ = 0.0;
};

}  // namespace glassbox
