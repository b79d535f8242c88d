#include "pipeline/source_analyzer.h"

#include <chrono>
#include <thread>

#include "ingest/bounded_queue.h"
#include "ingest/rate_gate.h"

namespace glassbox {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// What the decoding thread hands the analysis: a frame the rate selected (or the error of
// one that could not be decoded), or the end of the source. Frames the rate skips are decoded
// and counted there, never queued.
struct Decoded {
  enum Kind { kFrame, kEnd, kFailed } kind = kFrame;
  FrameHeader header;
  std::optional<Result<Frame>> pixels;  // kFrame
  std::optional<Error> error;           // kFailed: the source could not be read on
  std::int64_t frames_decoded = 0;      // so far, this one included
  double stream_seconds = 0.0;
};

// Frames decoded ahead of the analysis at most: a few, so a source's decoder and its analysis
// each keep a core busy without holding many frames.
constexpr std::size_t kDecodedAhead = 4;

}  // namespace

SourceOutcome SourceAnalyzer::run(FrameSource& source, const AnalyzerHooks& hooks) {
  SourceOutcome outcome;
  SourceStats& stats = outcome.stats;
  const auto started = Clock::now();
  auto last_progress = started;
  const bool independent = source.independent_frames();
  Tracker tracker(options_.tracker);
  FrameAnalyzer frames(detector_, embedder_, sink_);
  int consecutive_errors = 0;

  // Decoding runs on its own thread, ahead of the analysis: a video's every frame is decoded
  // whether it is analysed or not, so one source uses a second core while the first detects.
  BlockingQueue<Decoded> queue(kDecodedAhead);
  std::thread decoder([&] {
    RateGate gate(independent ? 0.0 : options_.rate_fps);
    std::int64_t decoded = 0;
    double stream_s = 0.0;
    while (true) {
      Decoded item;
      auto grabbed = source.grab();
      if (!grabbed) {
        item.kind = Decoded::kFailed;
        item.error = grabbed.error();
      } else if (!grabbed->has_value()) {
        item.kind = Decoded::kEnd;
      } else {
        item.header = **grabbed;
        ++decoded;
        stream_s = independent ? static_cast<double>(decoded) : item.header.timestamp_s;
        if (!gate.admit(item.header.timestamp_s)) continue;
        item.pixels = source.retrieve();
      }
      item.frames_decoded = decoded;
      item.stream_seconds = stream_s;
      const bool last = item.kind != Decoded::kFrame;
      if (!queue.push(std::move(item)) || last) return;  // closed: the analysis stopped
    }
  });

  while (true) {
    if (hooks.cancel != nullptr && hooks.cancel->load(std::memory_order_relaxed)) {
      outcome.cancelled = true;
      break;
    }
    auto item = queue.pop();
    if (!item) break;
    stats.frames_decoded = item->frames_decoded;
    stats.stream_seconds = item->stream_seconds;
    if (item->kind == Decoded::kFailed) {
      outcome.error = item->error;
      break;
    }
    if (item->kind == Decoded::kEnd) break;
    const FrameHeader& header = item->header;

    if (hooks.on_progress && seconds_since(last_progress) >= hooks.progress_interval_s) {
      last_progress = Clock::now();
      stats.tracks = static_cast<std::int64_t>(tracker.tracks_started());
      stats.wall_seconds = seconds_since(started);
      hooks.on_progress(stats);
    }

    auto& pixels = *item->pixels;
    if (!pixels) {
      ++stats.frame_errors;
      if (hooks.on_item_error) hooks.on_item_error(header.item, pixels.error());
      if (!independent && ++consecutive_errors >= options_.max_consecutive_frame_errors) {
        outcome.error = Error{source.name() + ": " + std::to_string(consecutive_errors) +
                              " frames in a row could not be decoded; giving up on this source"};
        break;
      }
      continue;
    }
    consecutive_errors = 0;
    ++stats.frames_analysed;
    const Frame& frame = *pixels;

    if (independent) tracker.reset();  // unrelated photos share no tracks
    auto counts = frames.analyze(source.name(), header, frame, tracker, watchlist_, options_);
    if (!counts) {
      ++stats.frame_errors;
      if (hooks.on_item_error) hooks.on_item_error(header.item, counts.error());
      continue;
    }
    counts->add_to(stats);
    if (hooks.on_item_error) {
      for (const Error& e : counts->errors) hooks.on_item_error(header.item, e);
    }
  }
  queue.close();
  decoder.join();

  if (!outcome.error && !outcome.cancelled && stats.frames_decoded == 0) {
    outcome.error = Error{source.name() + ": no frame could be decoded (empty, truncated or not a video)"};
  } else if (!outcome.error && !outcome.cancelled && stats.frames_analysed == 0 && stats.frame_errors > 0) {
    outcome.error = Error{source.name() + ": none of its " + std::to_string(stats.frame_errors) +
                          (independent ? " images" : " frames") + " could be decoded"};
  }
  stats.tracks = static_cast<std::int64_t>(tracker.tracks_started());
  stats.wall_seconds = seconds_since(started);
  return outcome;
}

}  // namespace glassbox
