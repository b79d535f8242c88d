#include "pipeline/source_analyzer.h"

#include <chrono>

#include "ingest/rate_gate.h"

namespace glassbox {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

SourceOutcome SourceAnalyzer::run(FrameSource& source, const AnalyzerHooks& hooks) {
  SourceOutcome outcome;
  SourceStats& stats = outcome.stats;
  const auto started = Clock::now();
  auto last_progress = started;
  const bool independent = source.independent_frames();
  RateGate gate(independent ? 0.0 : options_.rate_fps);
  Tracker tracker(options_.tracker);
  FrameAnalyzer frames(detector_, embedder_, sink_);
  int consecutive_errors = 0;

  auto finish = [&]() -> SourceOutcome& {
    stats.tracks = static_cast<std::int64_t>(tracker.tracks_started());
    stats.wall_seconds = seconds_since(started);
    return outcome;
  };

  while (true) {
    if (hooks.cancel != nullptr && hooks.cancel->load(std::memory_order_relaxed)) {
      outcome.cancelled = true;
      break;
    }
    auto grabbed = source.grab();
    if (!grabbed) {
      outcome.error = grabbed.error();
      break;
    }
    if (!grabbed->has_value()) break;  // end of source
    const FrameHeader header = **grabbed;
    ++stats.frames_decoded;
    stats.stream_seconds = independent ? static_cast<double>(stats.frames_decoded) : header.timestamp_s;

    if (hooks.on_progress && seconds_since(last_progress) >= hooks.progress_interval_s) {
      last_progress = Clock::now();
      stats.tracks = static_cast<std::int64_t>(tracker.tracks_started());
      stats.wall_seconds = seconds_since(started);
      hooks.on_progress(stats);
    }
    if (!gate.admit(header.timestamp_s)) continue;

    auto pixels = source.retrieve();
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
  if (!outcome.error && !outcome.cancelled && stats.frames_decoded == 0) {
    outcome.error = Error{source.name() + ": no frame could be decoded (empty, truncated or not a video)"};
  } else if (!outcome.error && !outcome.cancelled && stats.frames_analysed == 0 && stats.frame_errors > 0) {
    outcome.error = Error{source.name() + ": none of its " + std::to_string(stats.frame_errors) +
                          (independent ? " images" : " frames") + " could be decoded"};
  }
  return finish();
}

}  // namespace glassbox
