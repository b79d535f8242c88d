// VideoSource: a video file or network stream (RTSP, HTTP, ...) as a FrameSource, decoded by
// VideoDecoder (FFmpeg's libraries directly). grab() decodes every frame — a stream's frames
// depend on each other — and retrieve() hands the decoded YUV frame on without converting it.
// Open and read timeouts make an unreachable or silent stream end with an error, not a hang.
// Thread-safety: one thread at a time.
#pragma once

#include "ingest/frame_source.h"
#include "ingest/video_decoder.h"

namespace glassbox {

class VideoSource final : public FrameSource {
 public:
  static Result<std::unique_ptr<FrameSource>> open(const std::string& spec, const SourceOptions& options);

  Result<std::optional<FrameHeader>> grab() override;
  Result<Frame> retrieve() override;
  double nominal_fps() const override { return decoder_->info().fps; }
  const std::string& name() const override { return name_; }

 private:
  VideoSource(std::string name, std::unique_ptr<VideoDecoder> decoder);

  std::string name_;
  std::unique_ptr<VideoDecoder> decoder_;
  std::int64_t next_index_ = 0;
  double last_timestamp_s_ = -1.0;
};

}  // namespace glassbox
