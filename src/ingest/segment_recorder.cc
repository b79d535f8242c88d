#include "ingest/segment_recorder.h"

#include <algorithm>
#include <chrono>
#include <cmath>

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
}

#include "core/dates.h"
#include "core/owner_file.h"
#include "ingest/frame_source.h"
#include "ingest/libav_error.h"
#include "ingest/libav_input.h"

namespace glassbox {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t unix_ms_now() { return now_utc_ms(); }

// libavformat calls this while it blocks: a stop, or a read that takes longer than the
// deadline, ends the call (a silent camera must not hang the recorder).
struct Interrupt {
  const std::atomic<bool>* stop = nullptr;
  Clock::time_point deadline;
};

int interrupt_callback(void* opaque) {
  const auto* i = static_cast<const Interrupt*>(opaque);
  return (i->stop->load() || Clock::now() > i->deadline) ? 1 : 0;
}

struct InputCloser {
  AVFormatContext* in = nullptr;
  ~InputCloser() { avformat_close_input(&in); }
};

}  // namespace

SegmentRecorder::SegmentRecorder(std::string camera, std::string url, RecorderOptions options, SegmentIndex index)
    : camera_(std::move(camera)), url_(std::move(url)), options_(std::move(options)), index_(std::move(index)) {}

SegmentRecorder::~SegmentRecorder() { stop(); }

void SegmentRecorder::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void SegmentRecorder::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string SegmentRecorder::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

void SegmentRecorder::run() {
  av_log_set_level(AV_LOG_QUIET);
  ExponentialBackoff backoff(options_.backoff);
  const bool is_file = !looks_like_url(url_);
  bool first = true;
  while (!stop_) {
    if (!first && !is_file) ++counters_.reconnects;
    first = false;
    const std::uint64_t segments_before = counters_.segments.load();
    Status s = record_once();
    counters_.connected = false;
    if (!s.ok()) {
      ++counters_.errors;
      std::lock_guard lock(error_mutex_);
      last_error_ = s.error().message;
    }
    if (stop_) break;
    if (is_file && s.ok()) {
      if (!options_.loop) {  // a file played to its end
        finished_ = true;
        break;
      }
      continue;
    }
    if (counters_.segments.load() > segments_before) backoff.reset();  // it worked for a while
    // Wait, in small steps so that stop() is not held up.
    const auto until = Clock::now() + backoff.next();
    while (!stop_ && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status SegmentRecorder::record_once() {
  Interrupt interrupt{&stop_, Clock::now() + std::chrono::milliseconds(static_cast<int>(options_.open_timeout_s * 1000))};
  InputCloser input;
  input.in = avformat_alloc_context();
  if (input.in == nullptr) return Error{camera_ + ": out of memory"};
  input.in->interrupt_callback = AVIOInterruptCB{interrupt_callback, &interrupt};
  AVDictionary* input_options = nullptr;
  restrict_input(&input_options, url_, /*untrusted_file=*/false);
  const int opened = avformat_open_input(&input.in, url_.c_str(), nullptr, &input_options);
  av_dict_free(&input_options);
  if (opened < 0) return Error{camera_ + ": recorder cannot open " + url_ + ": " + av_message(opened)};
  if (int rc = avformat_find_stream_info(input.in, nullptr); rc < 0)
    return Error{camera_ + ": recorder cannot read the streams: " + av_message(rc)};
  const int stream_index = av_find_best_stream(input.in, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (stream_index < 0) return Error{camera_ + ": no video stream to record"};
  const AVStream* in_stream = input.in->streams[stream_index];
  const AVRational in_tb = in_stream->time_base;
  const AVRational rate = in_stream->avg_frame_rate.num > 0 ? in_stream->avg_frame_rate : in_stream->r_frame_rate;
  const double frame_interval_s = (rate.num > 0 && rate.den > 0) ? av_q2d(av_inv_q(rate)) : 0.04;
  counters_.connected = true;
  std::error_code ec;
  std::filesystem::create_directories(options_.directory, ec);

  // The segment being written.
  AVFormatContext* out = nullptr;
  std::int64_t segment_id = 0;
  std::int64_t segment_start_ms = 0;
  std::int64_t segment_first_dts = 0;   // input time base; subtracted so a segment starts at 0
  double segment_media_end_s = 0.0;
  std::filesystem::path segment_path;

  // Set when a write of the open segment failed: what the muxer was given did not all reach
  // the disk, so the segment is indexed as far as its file can be read back.
  bool write_failed = false;

  auto close_segment = [&]() -> Status {
    if (out == nullptr) return ok_status();
    const int trailer = av_write_trailer(out);
    const int closed = avio_closep(&out->pb);
    avformat_free_context(out);
    out = nullptr;
    // The file's size once closed: avio_size() before the close misses what is still in AVIO's
    // buffer (the trailer's last bytes), so the index under-counted every segment (found by
    // fuzz/stream_fuzzer.cc).
    std::error_code size_ec;
    const auto file_bytes = std::filesystem::file_size(segment_path, size_ec);
    const std::int64_t bytes = size_ec ? 0 : static_cast<std::int64_t>(file_bytes);
    std::int64_t media_ms = std::llround(segment_media_end_s * 1000.0);
    // On the disk, file and folder entry, before its row says it is complete: a power loss
    // then takes at most the segment being written, which the next start settles from its file.
    Status synced = sync_to_disk(segment_path);
    if (synced) synced = sync_to_disk(options_.directory, /*directory=*/true);
    const bool cut = write_failed || trailer < 0 || closed < 0 || !synced;
    if (cut) {
      // A full disk or an I/O error cut the segment: the index must not promise footage that
      // is not in the file. A fragmented MP4 reads back up to its last whole fragment.
      const Result<double> readable = media_duration(segment_path.string());
      const double readable_s = readable ? *readable : 0.0;
      if (readable_s <= 0.0) {
        std::error_code rm_ec;
        std::filesystem::remove(segment_path, rm_ec);
        if (index_.discarded) index_.discarded(segment_id);
        return Error{camera_ + ": segment " + segment_path.string() + " was cut by a failed write before any frame reached the disk"};
      }
      media_ms = std::min(media_ms, static_cast<std::int64_t>(std::llround(readable_s * 1000.0)));
    }
    const std::int64_t end_ms = segment_start_ms + media_ms;
    if (index_.closed) index_.closed(segment_id, end_ms, std::max<std::int64_t>(0, bytes));
    ++counters_.segments;
    counters_.bytes += static_cast<std::uint64_t>(std::max<std::int64_t>(0, bytes));
    if (trailer < 0) return Error{camera_ + ": finishing segment " + segment_path.string() + ": " + av_message(trailer)};
    if (closed < 0) return Error{camera_ + ": closing segment " + segment_path.string() + ": " + av_message(closed)};
    if (!synced) return synced.error().within(camera_ + ": segment " + segment_path.string());
    return ok_status();
  };
  auto open_segment = [&](std::int64_t first_dts) -> Status {
    segment_start_ms = unix_ms_now();
    std::string stamp = format_utc_ms(segment_start_ms);  // 2026-12-01T10:04:05.120Z
    stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == '-' || c == ':'; }), stamp.end());
    segment_path = options_.directory / (stamp + ".mp4");
    // Two segments opened within one millisecond (a burst after a reconnect, a file read faster
    // than real time) would share a name: the second would truncate the first, already indexed,
    // and the index's refusal of the duplicate path would then delete it (found by
    // fuzz/stream_fuzzer.cc). Each segment gets a file of its own.
    for (int n = 2; std::filesystem::exists(segment_path, ec); ++n) segment_path = options_.directory / (stamp + "-" + std::to_string(n) + ".mp4");
    if (int rc = avformat_alloc_output_context2(&out, nullptr, "mp4", segment_path.c_str()); rc < 0 || out == nullptr)
      return Error{camera_ + ": cannot make an MP4 muxer: " + av_message(rc)};
    AVStream* st = avformat_new_stream(out, nullptr);
    if (st == nullptr || avcodec_parameters_copy(st->codecpar, in_stream->codecpar) < 0) {
      avformat_free_context(out);
      out = nullptr;
      return Error{camera_ + ": cannot set up the recorded stream"};
    }
    st->codecpar->codec_tag = 0;  // let the MP4 muxer choose the tag for the codec
    st->time_base = in_tb;
    if (int rc = avio_open(&out->pb, segment_path.c_str(), AVIO_FLAG_WRITE); rc < 0) {
      avformat_free_context(out);
      out = nullptr;
      std::filesystem::remove(segment_path, ec);
      return Error{camera_ + ": cannot write " + segment_path.string() + ": " + av_message(rc)};
    }
    AVDictionary* muxer_options = nullptr;
    // Fragmented: a segment cut short by a crash is readable up to its last fragment.
    av_dict_set(&muxer_options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    const int header = avformat_write_header(out, &muxer_options);
    av_dict_free(&muxer_options);
    if (header < 0) {
      avio_closep(&out->pb);
      avformat_free_context(out);
      out = nullptr;
      std::filesystem::remove(segment_path, ec);  // nothing indexed, nothing kept
      return Error{camera_ + ": cannot start " + segment_path.string() + ": " + av_message(header)};
    }
    auto id = index_.opened ? index_.opened(segment_path.string(), segment_start_ms) : Result<std::int64_t>(std::int64_t{0});
    if (!id) {
      av_write_trailer(out);
      avio_closep(&out->pb);
      avformat_free_context(out);
      out = nullptr;
      std::filesystem::remove(segment_path, ec);
      return id.error().within(camera_ + ": cannot index the segment");
    }
    segment_id = *id;
    segment_first_dts = first_dts;
    segment_media_end_s = 0.0;
    write_failed = false;
    return ok_status();
  };

  AVPacket* packet = av_packet_alloc();
  if (packet == nullptr) return Error{camera_ + ": out of memory"};
  const auto wall_start = Clock::now();
  std::optional<std::int64_t> file_first_dts;
  Status result = ok_status();
  while (!stop_) {
    interrupt.deadline = Clock::now() + std::chrono::milliseconds(static_cast<int>(options_.read_timeout_s * 1000));
    const int rc = av_read_frame(input.in, packet);
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {
      if (!stop_) result = Error{camera_ + ": recorder read failed: " + av_message(rc)};
      break;
    }
    if (packet->stream_index != stream_index) {
      av_packet_unref(packet);
      continue;
    }
    const std::int64_t dts = packet->dts != AV_NOPTS_VALUE ? packet->dts : packet->pts;
    if (dts == AV_NOPTS_VALUE) {
      av_packet_unref(packet);
      continue;
    }
    if (options_.realtime) {
      // A file standing in for a camera sends its frames at their own pace.
      if (!file_first_dts) file_first_dts = dts;
      const auto due = wall_start + std::chrono::microseconds(static_cast<std::int64_t>(
                                        static_cast<double>(dts - *file_first_dts) * av_q2d(in_tb) * 1e6));
      while (!stop_ && Clock::now() < due) std::this_thread::sleep_for(std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(50)));
    }
    const bool key = (packet->flags & AV_PKT_FLAG_KEY) != 0;
    const std::int64_t pts = packet->pts != AV_NOPTS_VALUE ? packet->pts : dts;
    if (out != nullptr && key && static_cast<double>(dts - segment_first_dts) * av_q2d(in_tb) >= options_.segment_s) {
      if (Status s = close_segment(); !s) {
        result = s;
        break;
      }
    }
    if (out == nullptr) {
      if (!key) {  // a segment starts with a keyframe, or it cannot be decoded alone
        av_packet_unref(packet);
        continue;
      }
      if (options_.may_write && !options_.may_write()) {  // the disk is nearly full: no new segment
        ++counters_.skipped_low_disk;
        av_packet_unref(packet);
        continue;
      }
      if (Status s = open_segment(dts); !s) {
        result = s;
        av_packet_unref(packet);
        break;
      }
    }
    const double duration_s = packet->duration > 0 ? static_cast<double>(packet->duration) * av_q2d(in_tb) : frame_interval_s;
    segment_media_end_s = std::max(segment_media_end_s, static_cast<double>(pts - segment_first_dts) * av_q2d(in_tb) + duration_s);
    packet->pts = pts - segment_first_dts;
    packet->dts = dts - segment_first_dts;
    av_packet_rescale_ts(packet, in_tb, out->streams[0]->time_base);
    packet->stream_index = 0;
    packet->pos = -1;
    if (int w = av_interleaved_write_frame(out, packet); w < 0) {
      write_failed = true;
      result = Error{camera_ + ": writing " + segment_path.string() + " failed: " + av_message(w)};
      break;
    }
  }
  av_packet_free(&packet);
  if (Status s = close_segment(); !s && result.ok()) result = s;
  return result;
}

Result<double> media_duration(const std::string& path) {
  av_log_set_level(AV_LOG_QUIET);
  InputCloser input;
  AVDictionary* input_options = nullptr;
  restrict_input(&input_options, path, /*untrusted_file=*/true);
  const int opened = avformat_open_input(&input.in, path.c_str(), nullptr, &input_options);
  av_dict_free(&input_options);
  if (opened < 0) return Error{path + ": " + av_message(opened)};
  if (int rc = avformat_find_stream_info(input.in, nullptr); rc < 0) return Error{path + ": " + av_message(rc)};
  const int stream_index = av_find_best_stream(input.in, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (stream_index < 0) return Error{path + ": no video stream"};
  const AVRational tb = input.in->streams[stream_index]->time_base;
  AVPacket* packet = av_packet_alloc();
  std::optional<std::int64_t> first;
  std::int64_t end = 0;
  while (av_read_frame(input.in, packet) >= 0) {
    // A packet cut short by the end of the file (a crash, a failed write) is not footage.
    const bool whole = (packet->flags & AV_PKT_FLAG_CORRUPT) == 0;
    if (packet->stream_index == stream_index && packet->pts != AV_NOPTS_VALUE && whole) {
      if (!first || packet->pts < *first) first = packet->pts;
      end = std::max(end, packet->pts + std::max<std::int64_t>(packet->duration, 0));
    }
    av_packet_unref(packet);
  }
  av_packet_free(&packet);
  if (!first) return 0.0;
  return static_cast<double>(end - *first) * av_q2d(tb);
}

}  // namespace glassbox
