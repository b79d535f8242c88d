#include "ingest/video_source.h"

#include <cmath>

namespace glassbox {

VideoSource::VideoSource(std::string name, std::unique_ptr<VideoDecoder> decoder)
    : name_(std::move(name)), decoder_(std::move(decoder)) {}

Result<std::unique_ptr<FrameSource>> VideoSource::open(const std::string& spec, const SourceOptions& options) {
  DecoderOptions decoder;
  decoder.threads = options.decoder_threads;
  decoder.open_timeout_s = options.open_timeout_s;
  decoder.read_timeout_s = options.read_timeout_s;
  auto opened = VideoDecoder::open(spec, decoder);
  if (!opened) return opened.error();
  return std::unique_ptr<FrameSource>(new VideoSource(spec, std::move(*opened)));
}

Result<std::optional<FrameHeader>> VideoSource::grab() {
  auto decoded = decoder_->next();
  if (!decoded) return decoded.error().within("frame " + std::to_string(next_index_));
  if (!decoded->has_value()) return std::optional<FrameHeader>{};
  FrameHeader header;
  header.index = next_index_++;
  // The stream's own presentation time; the frame count where it is missing or goes backwards
  // (seen with raw elementary streams).
  double timestamp = **decoded;
  if (!std::isfinite(timestamp) || timestamp <= last_timestamp_s_ || timestamp < 0.0) {
    const double fps = nominal_fps() > 0.0 && nominal_fps() < 1000.0 ? nominal_fps() : 25.0;
    timestamp = static_cast<double>(header.index) / fps;
    if (timestamp <= last_timestamp_s_) timestamp = last_timestamp_s_ + 1e-3;
  }
  last_timestamp_s_ = timestamp;
  header.timestamp_s = timestamp;
  return std::optional<FrameHeader>{header};
}

Result<Frame> VideoSource::retrieve() {
  auto frame = decoder_->frame();
  if (!frame) return Error{name_ + ": frame " + std::to_string(next_index_ - 1) + " could not be decoded: " + frame.error().message};
  return frame;
}

}  // namespace glassbox
