// VideoSource: video files and network streams decoded by FFmpeg through OpenCV's VideoCapture,
// with open and read timeouts so an unreachable or silent stream ends with an error, not a hang.
// Thread-safety: one thread at a time.
#pragma once

#include <opencv2/videoio.hpp>

#include "ingest/frame_source.h"

namespace glassbox {

class VideoSource final : public FrameSource {
 public:
  static Result<std::unique_ptr<FrameSource>> open(const std::string& spec, const SourceOptions& options);

  Result<std::optional<FrameHeader>> grab() override;
  Result<cv::Mat> retrieve() override;
  double nominal_fps() const override { return fps_; }
  const std::string& name() const override { return name_; }

 private:
  VideoSource(std::string name, cv::VideoCapture capture);

  std::string name_;
  cv::VideoCapture capture_;
  double fps_ = 0.0;
  std::int64_t next_index_ = 0;
  double last_timestamp_s_ = -1.0;
};

}  // namespace glassbox
