#include "ingest/recording_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
}

namespace glassbox {
namespace {

std::string av_message(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

}  // namespace

struct RecordingReader::Libav {
  AVFormatContext* format = nullptr;
  AVCodecContext* decoder = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  SwsContext* sws = nullptr;
  int stream = -1;
  AVRational time_base{1, 1};
  std::int64_t start_pts = 0;

  ~Libav() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&decoder);
    avformat_close_input(&format);
  }
};

RecordingReader::RecordingReader(std::string path, std::unique_ptr<Libav> av, bool keyframes_only)
    : path_(std::move(path)), av_(std::move(av)), keyframes_only_(keyframes_only) {}

RecordingReader::~RecordingReader() = default;

Result<std::unique_ptr<RecordingReader>> RecordingReader::open(const std::string& path, bool keyframes_only) {
  // FFmpeg's own messages would interleave with ours on stderr; our errors carry the reason.
  av_log_set_level(AV_LOG_QUIET);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Error{path + ": no such recording (not a file)"};
  auto av = std::make_unique<Libav>();
  if (int rc = avformat_open_input(&av->format, path.c_str(), nullptr, nullptr); rc < 0)
    return Error{path + ": cannot open as video: " + av_message(rc)};
  if (int rc = avformat_find_stream_info(av->format, nullptr); rc < 0)
    return Error{path + ": cannot read the streams: " + av_message(rc)};
  const AVCodec* codec = nullptr;
  av->stream = av_find_best_stream(av->format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (av->stream < 0 || codec == nullptr) return Error{path + ": holds no video stream that can be decoded"};
  AVStream* stream = av->format->streams[av->stream];
  av->time_base = stream->time_base;
  av->start_pts = stream->start_time == AV_NOPTS_VALUE ? 0 : stream->start_time;
  av->decoder = avcodec_alloc_context3(codec);
  if (av->decoder == nullptr) return Error{path + ": out of memory for the decoder"};
  if (int rc = avcodec_parameters_to_context(av->decoder, stream->codecpar); rc < 0)
    return Error{path + ": decoder parameters refused: " + av_message(rc)};
  // One thread per decoder: searches run one reader per core, so frame threads would only add
  // latency and memory.
  av->decoder->thread_count = 1;
  if (keyframes_only) av->decoder->skip_frame = AVDISCARD_NONKEY;
  // A damaged packet is refused with an error (and counted) rather than silently concealed or
  // dropped, so the result can say which recording is damaged.
  av->decoder->err_recognition |= AV_EF_EXPLODE;
  if (int rc = avcodec_open2(av->decoder, codec, nullptr); rc < 0)
    return Error{path + ": cannot open the " + codec->name + " decoder: " + av_message(rc)};
  av->packet = av_packet_alloc();
  av->frame = av_frame_alloc();
  if (av->packet == nullptr || av->frame == nullptr) return Error{path + ": out of memory"};

  std::unique_ptr<RecordingReader> reader(new RecordingReader(path, std::move(av), keyframes_only));
  RecordingInfo& info = reader->info_;
  const Libav& a = *reader->av_;
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
    info.duration_s = static_cast<double>(stream->duration) * av_q2d(a.time_base);
  } else if (a.format->duration != AV_NOPTS_VALUE && a.format->duration > 0) {
    info.duration_s = static_cast<double>(a.format->duration) / AV_TIME_BASE;
  }
  const AVRational rate = stream->avg_frame_rate.num > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
  if (rate.num > 0 && rate.den > 0) info.fps = av_q2d(rate);
  info.width = stream->codecpar->width;
  info.height = stream->codecpar->height;
  info.codec = codec->name;
  return reader;
}

Status RecordingReader::seek(double seconds) {
  const auto target = stream_pts(seconds);
  if (int rc = av_seek_frame(av_->format, av_->stream, target, AVSEEK_FLAG_BACKWARD); rc < 0)
    return Error{path_ + ": cannot seek to " + std::to_string(seconds) + " s: " + av_message(rc)};
  avcodec_flush_buffers(av_->decoder);
  draining_ = false;
  finished_ = false;
  return ok_status();
}

std::int64_t RecordingReader::stream_pts(double seconds) const {
  return av_->start_pts + static_cast<std::int64_t>(std::floor(seconds / av_q2d(av_->time_base)));
}

// Hands the decoder the next packet of our stream. False when the file has no more.
Result<bool> RecordingReader::feed_decoder() {
  while (true) {
    const int rc = av_read_frame(av_->format, av_->packet);
    if (rc == AVERROR_EOF) return false;
    if (rc < 0) {
      // A truncated or damaged container: what was read stays valid, the rest is lost. Only an
      // I/O failure is an error; everything else is the end of what can be read.
      if (rc == AVERROR(EIO)) return Error{path_ + ": read failed: " + av_message(rc)};
      return false;
    }
    if (av_->packet->stream_index != av_->stream) {
      av_packet_unref(av_->packet);
      continue;
    }
    ++counts_.packets_read;
    if (keyframes_only_ && (av_->packet->flags & AV_PKT_FLAG_KEY) == 0) {
      ++counts_.packets_skipped;
      av_packet_unref(av_->packet);
      continue;
    }
    const int sent = avcodec_send_packet(av_->decoder, av_->packet);
    av_packet_unref(av_->packet);
    if (sent >= 0) ++counts_.packets_sent;
    if (sent < 0 && sent != AVERROR(EAGAIN)) {
      // Damaged data: counted, and reading goes on; the decoder recovers at the next keyframe.
      // The file's size bounds how long this can go on.
      ++counts_.decode_errors;
      continue;
    }
    return true;
  }
}

Result<std::optional<double>> RecordingReader::next() {
  while (!finished_) {
    const int rc = avcodec_receive_frame(av_->decoder, av_->frame);
    if (rc == 0) {
      ++counts_.frames_decoded;
      // The decoder conceals damage (missing slices, broken bitstream) and still returns the
      // frame; it is analysed, and counted so the result can say the recording is damaged.
      if (av_->frame->decode_error_flags != 0 || (av_->frame->flags & AV_FRAME_FLAG_CORRUPT) != 0) ++counts_.damaged_frames;
      std::int64_t pts = av_->frame->best_effort_timestamp;
      if (pts == AV_NOPTS_VALUE) pts = av_->frame->pts;
      if (pts == AV_NOPTS_VALUE) pts = av_->start_pts;
      return std::optional<double>{static_cast<double>(pts - av_->start_pts) * av_q2d(av_->time_base)};
    }
    if (rc == AVERROR_EOF) {
      finished_ = true;
      break;
    }
    if (rc != AVERROR(EAGAIN)) {
      // A frame the decoder could not rebuild (missing references, damaged slices): skip it.
      ++counts_.decode_errors;
      continue;
    }
    if (draining_) {
      finished_ = true;
      break;
    }
    auto fed = feed_decoder();
    if (!fed) return fed.error();
    if (!*fed) {
      avcodec_send_packet(av_->decoder, nullptr);  // flush the frames the decoder still holds
      draining_ = true;
    }
  }
  return std::optional<double>{};
}

std::int64_t RecordingReader::lost_packets() const {
  const std::int64_t in_flight = finished_ ? 0 : av_->decoder->has_b_frames + 1;
  return std::max<std::int64_t>(0, counts_.packets_sent - counts_.frames_decoded - in_flight);
}

Result<cv::Mat> RecordingReader::pixels() {
  const AVFrame* f = av_->frame;
  if (f->width <= 0 || f->height <= 0 || f->data[0] == nullptr) return Error{path_ + ": no decoded frame to convert"};
  av_->sws = sws_getCachedContext(av_->sws, f->width, f->height, static_cast<AVPixelFormat>(f->format), f->width, f->height,
                                  AV_PIX_FMT_BGR24, SWS_POINT, nullptr, nullptr, nullptr);
  if (av_->sws == nullptr) return Error{path_ + ": cannot convert its pixel format to BGR"};
  // swscale's vectorised converters write whole blocks of pixels, past the end of a row whose
  // width is not a multiple of the block (seen as heap corruption on odd-sized videos of the
  // robustness corpus). The rows are padded and a spare row added; the frame is a view of them.
  const int padded_width = (f->width + 63) & ~63;
  cv::Mat buffer(f->height + 1, padded_width, CV_8UC3);
  std::uint8_t* planes[1] = {buffer.data};
  const int strides[1] = {static_cast<int>(buffer.step)};
  sws_scale(av_->sws, f->data, f->linesize, 0, f->height, planes, strides);
  return buffer(cv::Rect(0, 0, f->width, f->height));
}

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
