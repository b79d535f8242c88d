#include "ingest/video_decoder.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
}

#include "ingest/frame_source.h"
#include "ingest/libav_error.h"
#include "ingest/libav_input.h"

namespace glassbox {
namespace {

using Clock = std::chrono::steady_clock;

// A blocking libavformat call (connect, read) gives up once its deadline passes: FFmpeg polls
// this callback while it waits.
struct Deadline {
  std::atomic<std::int64_t> until_ns{0};  // 0: no deadline
  const std::atomic<bool>* cancel = nullptr;  // set: gives up as soon as it is true
  void arm(double seconds) {
    until_ns = seconds > 0.0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count() +
                                   static_cast<std::int64_t>(seconds * 1e9)
                             : 0;
  }
  bool passed() const {
    if (cancel != nullptr && cancel->load()) return true;
    const std::int64_t until = until_ns;
    return until != 0 && std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count() > until;
  }
};

extern "C" int deadline_passed(void* opaque) { return static_cast<const Deadline*>(opaque)->passed() ? 1 : 0; }

}  // namespace

struct VideoDecoder::Libav {
  AVFormatContext* format = nullptr;
  AVCodecContext* decoder = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  SwsContext* sws = nullptr;  // formats other than YUV 4:2:0 of even size: to BGR
  int stream = -1;
  AVRational time_base{1, 1};
  std::int64_t start_pts = 0;
  Deadline deadline;
  bool network = false;
  bool timed = false;  // the open and read deadlines apply

  ~Libav() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&decoder);
    avformat_close_input(&format);
  }
};

VideoDecoder::VideoDecoder(std::string url, std::unique_ptr<Libav> av, const DecoderOptions& options)
    : url_(std::move(url)), av_(std::move(av)), options_(options) {}

VideoDecoder::~VideoDecoder() = default;

Result<std::unique_ptr<VideoDecoder>> VideoDecoder::open(const std::string& url, const DecoderOptions& options) {
  // FFmpeg's own messages would interleave with ours on stderr; our errors carry the reason.
  av_log_set_level(AV_LOG_QUIET);
  auto av = std::make_unique<Libav>();
  av->network = looks_like_url(url);
  if (options.untrusted_file && av->network) return Error{"an uploaded or recorded file is opened by path, not by URL"};
  // Deadlines for the network, and for untrusted files too: a crafted file must not hold a
  // search forever.
  av->timed = av->network || options.untrusted_file;
  av->deadline.cancel = options.cancel;
  if (av->network) {
    static std::once_flag network_ready;
    std::call_once(network_ready, [] { avformat_network_init(); });
  }
  // RTSP over TCP first, as OpenCV's VideoCapture did: RTP over UDP loses packets whenever the
  // machine or the network is busy. A server that refuses TCP (some cameras and RTSP relays
  // answer 400 or 461) is asked again for UDP, within what is left of the open timeout.
  const bool rtsp = url.rfind("rtsp", 0) == 0;
  if (av->timed) av->deadline.arm(options.open_timeout_s);
  std::string refused;
  for (const char* transport : {"tcp", "udp"}) {
    av->format = avformat_alloc_context();
    if (av->format == nullptr) return Error{url + ": out of memory"};
    av->format->interrupt_callback.callback = deadline_passed;
    av->format->interrupt_callback.opaque = &av->deadline;
    AVDictionary* input_options = nullptr;
    if (rtsp) av_dict_set(&input_options, "rtsp_transport", transport, 0);
    restrict_input(&input_options, url, options.untrusted_file);
    const int opened = avformat_open_input(&av->format, url.c_str(), nullptr, &input_options);
    av_dict_free(&input_options);
    if (opened >= 0) break;
    // avformat_open_input frees the context when it fails.
    if (options.cancel != nullptr && options.cancel->load()) return Error{url + ": cancelled while opening"};
    if (av->timed && av->deadline.passed()) return Error{url + ": cannot open the stream: no answer within the open timeout"};
    if (!av->network) return Error{url + ": cannot open as video: " + av_message(opened)};
    if (!rtsp || std::string(transport) == "udp")
      return Error{url + ": cannot open the stream: " + (refused.empty() ? "" : "over TCP: " + refused + "; over UDP: ") + av_message(opened)};
    refused = av_message(opened);
  }
  if (int rc = avformat_find_stream_info(av->format, nullptr); rc < 0) {
    if (av->timed && av->deadline.passed()) return Error{url + ": cannot open the stream: no video within the open timeout"};
    return Error{url + ": cannot read the streams: " + av_message(rc)};
  }
  av->deadline.arm(0.0);
  const AVCodec* codec = nullptr;
  av->stream = av_find_best_stream(av->format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (av->stream < 0 || codec == nullptr) return Error{url + ": holds no video stream that can be decoded"};
  AVStream* stream = av->format->streams[av->stream];
  av->time_base = stream->time_base;
  av->start_pts = stream->start_time == AV_NOPTS_VALUE ? 0 : stream->start_time;
  av->decoder = avcodec_alloc_context3(codec);
  if (av->decoder == nullptr) return Error{url + ": out of memory for the decoder"};
  if (int rc = avcodec_parameters_to_context(av->decoder, stream->codecpar); rc < 0)
    return Error{url + ": decoder parameters refused: " + av_message(rc)};
  av->decoder->thread_count = std::max(0, options.threads);
  if (options.keyframes_only) av->decoder->skip_frame = AVDISCARD_NONKEY;
  // A damaged packet is refused with an error (and counted) rather than silently concealed or
  // dropped, so the result can say which recording is damaged.
  av->decoder->err_recognition |= AV_EF_EXPLODE;
  if (int rc = avcodec_open2(av->decoder, codec, nullptr); rc < 0)
    return Error{url + ": cannot open the " + codec->name + " decoder: " + av_message(rc)};
  av->packet = av_packet_alloc();
  av->frame = av_frame_alloc();
  if (av->packet == nullptr || av->frame == nullptr) return Error{url + ": out of memory"};

  std::unique_ptr<VideoDecoder> decoder(new VideoDecoder(url, std::move(av), options));
  VideoInfo& info = decoder->info_;
  const Libav& a = *decoder->av_;
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
  return decoder;
}

Status VideoDecoder::seek(double seconds) {
  const auto target = av_->start_pts + static_cast<std::int64_t>(std::floor(seconds / av_q2d(av_->time_base)));
  if (int rc = av_seek_frame(av_->format, av_->stream, target, AVSEEK_FLAG_BACKWARD); rc < 0)
    return Error{url_ + ": cannot seek to " + std::to_string(seconds) + " s: " + av_message(rc)};
  avcodec_flush_buffers(av_->decoder);
  draining_ = false;
  finished_ = false;
  return ok_status();
}

// Hands the decoder the next packet of our stream. False when the stream has no more.
Result<bool> VideoDecoder::feed_decoder() {
  while (true) {
    if (av_->timed) av_->deadline.arm(options_.read_timeout_s);
    const int rc = av_read_frame(av_->format, av_->packet);
    if (rc == AVERROR_EOF) return false;
    if (rc < 0) {
      if (options_.cancel != nullptr && options_.cancel->load()) return Error{url_ + ": cancelled"};
      if (!av_->network && av_->timed && av_->deadline.passed()) return Error{url_ + ": a read took longer than " + std::to_string(options_.read_timeout_s) + " s"};
      if (av_->network && av_->deadline.passed()) {
        timed_out_ = true;  // a silent stream has ended, as one that closes has
        return false;
      }
      if (av_->network) return Error{url_ + ": read failed: " + av_message(rc)};
      // A truncated or damaged container: what was read stays valid, the rest is lost. Only an
      // I/O failure is an error; everything else is the end of what can be read.
      if (rc == AVERROR(EIO)) return Error{url_ + ": read failed: " + av_message(rc)};
      return false;
    }
    if (av_->packet->stream_index != av_->stream) {
      av_packet_unref(av_->packet);
      continue;
    }
    ++counts_.packets_read;
    // How far the stream was read, skipped packets included: in keyframe mode the last frame
    // decoded may lie seconds before the end of an intact file.
    if (const std::int64_t pts = av_->packet->pts != AV_NOPTS_VALUE ? av_->packet->pts : av_->packet->dts; pts != AV_NOPTS_VALUE) {
      const double end = static_cast<double>(pts - av_->start_pts + std::max<std::int64_t>(av_->packet->duration, 0)) * av_q2d(av_->time_base);
      if (std::isfinite(end)) read_up_to_s_ = std::max(read_up_to_s_, end);
    }
    if (options_.keyframes_only && (av_->packet->flags & AV_PKT_FLAG_KEY) == 0) {
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

Result<std::optional<double>> VideoDecoder::next() {
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

std::int64_t VideoDecoder::lost_packets() const {
  const std::int64_t in_flight = finished_ ? 0 : av_->decoder->has_b_frames + 1;
  return std::max<std::int64_t>(0, counts_.packets_sent - counts_.frames_decoded - in_flight);
}

Result<Frame> VideoDecoder::frame() {
  const AVFrame* f = av_->frame;
  if (f->width <= 0 || f->height <= 0 || f->data[0] == nullptr) return Error{url_ + ": no decoded frame to convert"};
  if (f->format == AV_PIX_FMT_YUV420P && f->width % 2 == 0 && f->height % 2 == 0) {
    // The frame path's usual case: keep the decoder's buffer (a new reference, so the decoder
    // can go on with the next frame) and convert later, only what is needed.
    AVFrame* ref = av_frame_clone(f);
    if (ref == nullptr) return Error{url_ + ": out of memory"};
    std::shared_ptr<const void> owner(ref, [](const void* p) {
      AVFrame* frame = static_cast<AVFrame*>(const_cast<void*>(p));
      av_frame_free(&frame);
    });
    const cv::Mat y(ref->height, ref->width, CV_8UC1, ref->data[0], static_cast<std::size_t>(ref->linesize[0]));
    const cv::Mat u(ref->height / 2, ref->width / 2, CV_8UC1, ref->data[1], static_cast<std::size_t>(ref->linesize[1]));
    const cv::Mat v(ref->height / 2, ref->width / 2, CV_8UC1, ref->data[2], static_cast<std::size_t>(ref->linesize[2]));
    return Frame::from_yuv420(y, u, v, std::move(owner));
  }
  av_->sws = sws_getCachedContext(av_->sws, f->width, f->height, static_cast<AVPixelFormat>(f->format), f->width, f->height,
                                  AV_PIX_FMT_BGR24, SWS_POINT, nullptr, nullptr, nullptr);
  if (av_->sws == nullptr) return Error{url_ + ": cannot convert its pixel format to BGR"};
  // swscale's vectorised converters write whole blocks of pixels, past the end of a row whose
  // width is not a multiple of the block (seen as heap corruption on odd-sized videos of the
  // robustness corpus). The rows are padded and a spare row added; the frame is a view of them.
  const int padded_width = (f->width + 63) & ~63;
  cv::Mat buffer(f->height + 1, padded_width, CV_8UC3);
  std::uint8_t* planes[1] = {buffer.data};
  const int strides[1] = {static_cast<int>(buffer.step)};
  sws_scale(av_->sws, f->data, f->linesize, 0, f->height, planes, strides);
  return Frame::from_bgr(buffer(cv::Rect(0, 0, f->width, f->height)));
}

}  // namespace glassbox
