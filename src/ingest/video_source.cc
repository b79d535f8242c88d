#include "ingest/video_source.h"

#include <cmath>
#include <vector>

#include <opencv2/core/utils/logger.hpp>

namespace glassbox {

VideoSource::VideoSource(std::string name, cv::VideoCapture capture)
    : name_(std::move(name)), capture_(std::move(capture)) {
  const double fps = capture_.get(cv::CAP_PROP_FPS);
  fps_ = (std::isfinite(fps) && fps > 0.0 && fps < 1000.0) ? fps : 0.0;
}

Result<std::unique_ptr<FrameSource>> VideoSource::open(const std::string& spec, const SourceOptions& options) {
  const std::vector<int> params = {
      cv::CAP_PROP_OPEN_TIMEOUT_MSEC, static_cast<int>(options.open_timeout_s * 1000.0),
      cv::CAP_PROP_READ_TIMEOUT_MSEC, static_cast<int>(options.read_timeout_s * 1000.0),
  };
  try {
    cv::VideoCapture capture(spec, cv::CAP_FFMPEG, params);
    if (!capture.isOpened()) {
      if (looks_like_url(spec))
        return Error{spec + ": cannot open the stream (unreachable, refused, timed out, or not a video FFmpeg can read; "
                            "OPENCV_FFMPEG_LOGLEVEL=16 shows FFmpeg's reason)"};
      return Error{spec + ": cannot open as video (not a format FFmpeg can read, or corrupt)"};
    }
    return std::unique_ptr<FrameSource>(new VideoSource(spec, std::move(capture)));
  } catch (const cv::Exception& e) {
    return Error{spec + ": cannot open as video: " + e.what()};
  }
}

Result<std::optional<FrameHeader>> VideoSource::grab() {
  try {
    if (!capture_.grab()) return std::optional<FrameHeader>{};
  } catch (const cv::Exception& e) {
    return Error{name_ + ": decoding failed at frame " + std::to_string(next_index_) + ": " + e.what()};
  }
  FrameHeader header;
  header.index = next_index_++;
  // Prefer the stream's own presentation time; fall back to the frame count when it is missing
  // or goes backwards (seen with raw elementary streams).
  const double position_ms = capture_.get(cv::CAP_PROP_POS_MSEC);
  double timestamp = std::isfinite(position_ms) ? position_ms / 1000.0 : -1.0;
  if (timestamp <= last_timestamp_s_ || timestamp < 0.0) {
    timestamp = fps_ > 0.0 ? static_cast<double>(header.index) / fps_ : static_cast<double>(header.index) / 25.0;
    if (timestamp <= last_timestamp_s_) timestamp = last_timestamp_s_ + 1e-3;
  }
  last_timestamp_s_ = timestamp;
  header.timestamp_s = timestamp;
  return std::optional<FrameHeader>{header};
}

Result<cv::Mat> VideoSource::retrieve() {
  cv::Mat frame;
  try {
    if (!capture_.retrieve(frame) || frame.empty()) {
      return Error{name_ + ": frame " + std::to_string(next_index_ - 1) + " could not be decoded"};
    }
  } catch (const cv::Exception& e) {
    return Error{name_ + ": frame " + std::to_string(next_index_ - 1) + " could not be decoded: " + e.what()};
  }
  return frame;
}

}  // namespace glassbox
