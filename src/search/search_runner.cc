#include "search/search_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "core/json_text.h"
#include "ingest/rate_gate.h"
#include "pipeline/frame_analyzer.h"
#include "pipeline/recognizers.h"

namespace glassbox {
namespace {

using Clock = std::chrono::steady_clock;

// A piece that ends this much before where its file says it should is reported as truncated:
// more than a keyframe interval of any camera we know.
constexpr double kTruncationToleranceS = 5.0;
// Decoded frames further apart than this mean footage that could not be read in between (no
// camera we know sends keyframes further apart).
constexpr double kCoverageGapS = 12.0;

struct Piece {
  std::size_t recording = 0;
  double from_s = 0.0;
  double to_s = std::numeric_limits<double>::infinity();
  double expected_end_s = std::numeric_limits<double>::infinity();  // where the file says this piece ends
  double file_duration_s = 0.0;                                     // what the file says it lasts (0: unknown)
  double footage_s() const { return std::isfinite(expected_end_s) ? std::max(0.0, expected_end_s - from_s) : 0.0; }
};

// Shared between the workers and the thread reporting progress.
struct Counters {
  std::atomic<std::int64_t> footage_progress_ms{0};
  std::atomic<std::int64_t> frames_decoded{0};
  std::atomic<std::int64_t> faces_compared{0};
  std::atomic<std::int64_t> hits{0};
  std::atomic<int> pieces_done{0};
};

bool better(Metric metric, double a, double b) { return metric == Metric::kEuclidean ? a < b : a > b; }

// A recording as a search reads it: one decoding thread (a worker per core already), keyframes
// only or every frame.
// Recordings are untrusted input (uploads) or our own segments: opened with the file protocol and
// the recording formats only, with deadlines, and given up at once when the search is cancelled.
Result<std::unique_ptr<VideoDecoder>> open_recording(const std::string& path, const SamplingMode& mode, const std::atomic<bool>* cancel) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Error{path + ": no such recording (not a file)"};
  DecoderOptions options;
  options.keyframes_only = mode.keyframes_only;
  options.threads = 1;
  options.untrusted_file = true;
  options.open_timeout_s = 60.0;
  options.read_timeout_s = 60.0;
  options.cancel = cancel;
  return VideoDecoder::open(path, options);
}

// Where the frame step's matches go: the worker turns them into hits after each frame.
struct HitSink final : AlertSink {
  std::vector<Alert> alerts;
  void publish(const Alert& alert) override { alerts.push_back(alert); }
};

struct PieceResult {
  std::vector<SearchHit> hits;
  std::optional<std::string> error;
  double footage_read_s = 0.0;
  DecoderCounts reader;
  std::int64_t frames_analysed = 0;
  std::int64_t faces_detected = 0;
  std::int64_t faces_compared = 0;
  std::optional<std::pair<double, double>> gap;  // the first stretch with no decodable frame
  double decode_s = 0.0;  // reading and decoding (BGR conversion is done by detection and embedding, as they need it)
  double detect_s = 0.0;
  double embed_s = 0.0;   // alignment, embedding and comparison
};

PieceResult search_piece(const SearchRecording& recording, const Piece& piece, Recognizer& worker, const WatchlistMatrix& probe,
                         const SearchOptions& options, Counters& counters, const std::atomic<bool>* cancel) {
  PieceResult result;
  auto reader = open_recording(recording.path, options.mode, cancel);
  if (!reader) {
    result.error = reader.error().message;
    return result;
  }
  if (piece.from_s > 0.0) {
    if (Status s = (*reader)->seek(piece.from_s); !s.ok()) {
      result.error = s.error().message;
      return result;
    }
  }
  RateGate gate(options.mode.keyframes_only ? 0.0 : options.mode.rate_fps);
  // Sampled frames are further apart than live ones (a keyframe every few seconds): a track must
  // survive the gap between two samples, or every sample would start new tracks.
  TrackerOptions tracker_options = options.tracker;
  const double sample_gap_s = options.mode.keyframes_only ? 4.0 : 1.0 / options.mode.rate_fps;
  tracker_options.max_gap_s = std::max(tracker_options.max_gap_s, 1.25 * sample_gap_s);
  Tracker tracker(tracker_options);
  HitSink hits;
  FrameAnalyzer frames(*worker.detector, *worker.embedder, hits);
  AnalysisOptions analysis;
  analysis.rate_fps = 0.0;  // the gate above samples
  analysis.min_face_px = options.min_face_px;
  analysis.threshold = options.threshold;
  double progress_s = piece.from_s;  // footage counted into the progress so far
  double last_t = piece.from_s;
  std::int64_t decoded_before = 0;
  // Only pieces of known length count towards the progress (the total counts only them too);
  // a bogus timestamp of a damaged file cannot push it past the piece's end.
  auto account = [&](double t) {
    if (!std::isfinite(piece.expected_end_s)) return;
    const double clamped = std::min(t, piece.expected_end_s);
    if (clamped > progress_s) {
      counters.footage_progress_ms += static_cast<std::int64_t>((clamped - progress_s) * 1000.0);
      progress_s = clamped;
    }
  };

  while (true) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) break;
    const auto decode_start = Clock::now();
    auto next = (*reader)->next();
    result.decode_s += std::chrono::duration<double>(Clock::now() - decode_start).count();
    const std::int64_t decoded = (*reader)->counts().frames_decoded;
    counters.frames_decoded += decoded - decoded_before;
    decoded_before = decoded;
    if (!next) {
      result.error = next.error().message;
      break;
    }
    if (!next->has_value()) {
      // Keyframe mode decodes a few frames of an intact file; the packets read say how far it went.
      const double read_to = std::max(last_t, (*reader)->read_up_to_s());
      if (std::isfinite(piece.expected_end_s) && piece.expected_end_s - read_to > kTruncationToleranceS) {
        char text[160];
        std::snprintf(text, sizeof text, ": the video ends at %.1f s although the file says it lasts %.1f s (truncated or damaged); searched up to there",
                      read_to, std::max(piece.file_duration_s, piece.expected_end_s));
        result.error = recording.path + text;
      }
      break;
    }
    const double t = **next;
    if (t < piece.from_s) continue;  // decoded only as a reference for what follows
    if (t - last_t > kCoverageGapS && !result.gap) result.gap = std::make_pair(last_t, t);
    if (t >= piece.to_s) break;
    last_t = t;
    account(t);
    if (!gate.admit(t)) continue;
    const auto convert_start = Clock::now();
    auto frame = (*reader)->frame();
    result.decode_s += std::chrono::duration<double>(Clock::now() - convert_start).count();
    if (!frame) continue;
    ++result.frames_analysed;

    FrameHeader header;
    header.index = result.frames_analysed;
    header.timestamp_s = t;
    // The live path's frame step: detect, track, embed new tracks and better views, compare
    // with the probe only. A face's template never leaves it; a match comes back as a hit.
    auto counts = frames.analyze(recording.source, header, *frame, tracker, probe, analysis);
    if (!counts) continue;
    result.detect_s += counts->detect_seconds;
    result.embed_s += counts->embed_seconds;
    result.faces_detected += counts->faces_detected;
    result.faces_compared += counts->faces_embedded;
    counters.faces_compared += counts->faces_embedded;
    // A face the tracker follows from an earlier hit: the person is still there.
    const bool still_there = counts->matched_sightings > 0 && hits.alerts.empty();
    counters.hits += static_cast<std::int64_t>(hits.alerts.size()) + (still_there ? 1 : 0);
    for (Alert& hit : hits.alerts) result.hits.push_back(SearchHit{piece.recording, t, hit.score, std::move(hit.face)});
    if (still_there) result.hits.push_back(SearchHit{piece.recording, t, std::nullopt, {}});
    hits.alerts.clear();
  }
  account(piece.expected_end_s);  // the rest of the piece counts as done for the progress
  // Footage covered: the whole piece when it was read to its end; up to the last frame read
  // when it was cut short (cancelled, truncated, failed).
  const bool whole = !result.error && !(cancel != nullptr && cancel->load()) && std::isfinite(piece.expected_end_s);
  result.footage_read_s = whole ? piece.footage_s() : std::max(0.0, last_t - piece.from_s);
  result.reader = (*reader)->counts();
  const std::int64_t undecodable = result.reader.decode_errors + (*reader)->lost_packets();
  if (!result.error && (undecodable > 0 || result.reader.damaged_frames > 0 || result.gap)) {
    std::string what = recording.path + ": damaged:";
    if (result.gap) {
      char text[96];
      std::snprintf(text, sizeof text, " no frame could be decoded between %.1f s and %.1f s;", result.gap->first, result.gap->second);
      what += text;
    }
    result.error = what + " " + std::to_string(undecodable) + " packets could not be decoded and " +
                   std::to_string(result.reader.damaged_frames) + " frames were decoded with errors; the rest was searched";
  }
  return result;
}

// Cuts each recording into pieces; a recording that cannot be opened gets its error instead.
std::vector<Piece> plan_pieces(const std::vector<SearchRecording>& recordings, const SearchOptions& options,
                               std::vector<std::optional<std::string>>& open_errors, const std::atomic<bool>* cancel) {
  std::vector<Piece> pieces;
  open_errors.assign(recordings.size(), std::nullopt);
  for (std::size_t i = 0; i < recordings.size(); ++i) {
    const SearchRecording& r = recordings[i];
    double duration = r.duration_s.value_or(0.0);
    if (!r.duration_s) {
      auto reader = open_recording(r.path, options.mode, cancel);
      if (!reader) {
        open_errors[i] = reader.error().message;
        continue;
      }
      duration = (*reader)->info().duration_s;
    }
    const double end = duration > 0.0 ? std::min(duration, r.to_s.value_or(duration)) : r.to_s.value_or(std::numeric_limits<double>::infinity());
    if (!std::isfinite(end)) {
      pieces.push_back(Piece{i, r.from_s, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(), duration});
      continue;
    }
    // A camera segment is one piece; a long file is cut so the workers share it.
    const double step = r.camera.empty() ? std::max(1.0, options.piece_s) : std::numeric_limits<double>::infinity();
    for (double from = r.from_s; from < end; from += step) {
      const double to = std::min(end, from + step);
      if (to - from < 1e-3) break;
      pieces.push_back(Piece{i, from, to >= end && !r.to_s ? std::numeric_limits<double>::infinity() : to, to, duration});
    }
  }
  // Longest first, so no worker is left with a long piece at the end.
  std::stable_sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) { return a.footage_s() > b.footage_s(); });
  return pieces;
}

}  // namespace

std::vector<Visit> group_visits(const std::vector<SearchRecording>& recordings, std::vector<SearchHit> hits, Metric metric,
                                double visit_gap_s) {
  // The time axis of a source: a file's own seconds; a camera's UTC seconds.
  auto absolute = [&](const SearchHit& h) {
    const SearchRecording& r = recordings[h.recording];
    return r.start_ms ? static_cast<double>(*r.start_ms) / 1000.0 + h.t : h.t;
  };
  std::vector<std::string> order;
  std::map<std::string, double> origin;  // a source's earliest absolute time: offsets count from it
  for (const SearchRecording& r : recordings) {
    if (std::find(order.begin(), order.end(), r.source) == order.end()) order.push_back(r.source);
    const double start = r.start_ms ? static_cast<double>(*r.start_ms) / 1000.0 : 0.0;
    auto [it, inserted] = origin.emplace(r.source, start);
    if (!inserted) it->second = std::min(it->second, start);
  }
  std::stable_sort(hits.begin(), hits.end(), [&](const SearchHit& a, const SearchHit& b) { return absolute(a) < absolute(b); });
  std::vector<Visit> visits;
  for (const std::string& source : order) {
    std::optional<Visit> open;
    double open_end_abs = 0.0;
    auto close = [&] {
      if (open && open->best_score == open->best_score) visits.push_back(std::move(*open));
      open.reset();
    };
    for (const SearchHit& h : hits) {
      const SearchRecording& r = recordings[h.recording];
      if (r.source != source) continue;
      const double abs = absolute(h);
      if (open && abs - open_end_abs > visit_gap_s) close();
      if (!open) {
        open = Visit{};
        open->source = source;
        open->camera = r.camera;
        open->start_s = abs - origin[source];
        open->best_score = std::numeric_limits<double>::quiet_NaN();
        if (r.start_ms) open->start_ms = std::llround(abs * 1000.0);
      }
      open_end_abs = abs;
      open->end_s = abs - origin[source];
      if (r.start_ms) open->end_ms = std::llround(abs * 1000.0);
      ++open->hits;
      if (h.score && (open->best_score != open->best_score || better(metric, *h.score, open->best_score))) {
        open->best_score = *h.score;
        open->best_at_s = abs - origin[source];
        open->crop = h.crop;
      }
    }
    close();
  }
  return visits;
}

nlohmann::json SearchProgress::to_json() const {
  nlohmann::json j = {{"pieces_done", pieces_done},       {"pieces_total", pieces_total},
                      {"footage_done_s", footage_done_s}, {"footage_total_s", footage_total_s},
                      {"frames_decoded", frames_decoded}, {"faces_compared", faces_compared},
                      {"hits", hits},                     {"elapsed_s", elapsed_s}};
  j["eta_s"] = json_or_null(eta_s);
  return j;
}

void SearchStats::add(const SearchStats& other) {
  recordings += other.recordings;
  pieces += other.pieces;
  footage_s += other.footage_s;
  packets_skipped += other.packets_skipped;
  frames_decoded += other.frames_decoded;
  frames_analysed += other.frames_analysed;
  faces_detected += other.faces_detected;
  faces_compared += other.faces_compared;
  hits += other.hits;
  decode_s += other.decode_s;
  detect_s += other.detect_s;
  embed_s += other.embed_s;
  for (const auto& [node, count] : other.recordings_by_node) recordings_by_node[node] += count;
}

nlohmann::json SearchStats::to_json() const {
  nlohmann::json j = {{"recordings", recordings},
                      {"pieces", pieces},
                      {"footage_s", footage_s},
                      {"packets_skipped", packets_skipped},
                      {"frames_decoded", frames_decoded},
                      {"frames_analysed", frames_analysed},
                      {"faces_detected", faces_detected},
                      {"faces_compared", faces_compared},
                      {"hits", hits},
                      {"wall_s", wall_s},
                      {"workers", workers},
                      {"decode_s", decode_s},
                      {"detect_s", detect_s},
                      {"embed_s", embed_s},
                      {"footage_hours_per_minute", wall_s > 0.0 ? footage_s / 3600.0 / (wall_s / 60.0) : 0.0}};
  if (!recordings_by_node.empty()) j["recordings_by_node"] = recordings_by_node;
  return j;
}

SearchStats SearchStats::from_json(const nlohmann::json& j) {
  SearchStats s;
  read_json_field(j, "recordings", s.recordings);
  read_json_field(j, "pieces", s.pieces);
  read_json_field(j, "footage_s", s.footage_s);
  read_json_field(j, "packets_skipped", s.packets_skipped);
  read_json_field(j, "frames_decoded", s.frames_decoded);
  read_json_field(j, "frames_analysed", s.frames_analysed);
  read_json_field(j, "faces_detected", s.faces_detected);
  read_json_field(j, "faces_compared", s.faces_compared);
  read_json_field(j, "hits", s.hits);
  read_json_field(j, "wall_s", s.wall_s);
  read_json_field(j, "workers", s.workers);
  read_json_field(j, "decode_s", s.decode_s);
  read_json_field(j, "detect_s", s.detect_s);
  read_json_field(j, "embed_s", s.embed_s);
  if (auto it = j.find("recordings_by_node"); j.is_object() && it != j.end() && it->is_object())
    for (const auto& [node, count] : it->items())
      if (count.is_number_integer()) s.recordings_by_node[node] = count.get<int>();
  return s;
}

Result<SearchHits> find_hits(const std::vector<SearchRecording>& recordings, const WatchlistMatrix& probe, const ModelProfile& profile,
                             const SearchOptions& options, const SearchHooks& hooks) {
  const auto started = Clock::now();
  if (recordings.empty()) return Error{"nothing to search: no recording given"};
  if (probe.rows() == 0) return Error{"no probe template to compare with"};

  std::vector<std::optional<std::string>> open_errors;
  const std::vector<Piece> pieces = plan_pieces(recordings, options, open_errors, hooks.cancel);
  double footage_total = 0.0;
  for (const Piece& p : pieces) footage_total += p.footage_s();

  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int worker_count = std::clamp(options.workers > 0 ? options.workers : cores, 1, std::max<int>(1, static_cast<int>(pieces.size())));
  auto loaded = load_recognizers(pieces.empty() ? 0 : worker_count, profile, options.detector);
  if (!loaded) return loaded.error();
  std::vector<Recognizer>& workers = *loaded;

  Counters counters;
  std::vector<PieceResult> results(pieces.size());
  std::atomic<std::size_t> next_piece{0};
  std::mutex done_mutex;
  std::condition_variable done_changed;
  int running = static_cast<int>(workers.size());  // none when nothing could be opened
  auto work = [&](Recognizer& worker) {
    while (true) {
      if (hooks.cancel != nullptr && hooks.cancel->load()) break;
      const std::size_t i = next_piece.fetch_add(1);
      if (i >= pieces.size()) break;
      results[i] = search_piece(recordings[pieces[i].recording], pieces[i], worker, probe, options, counters, hooks.cancel);
      ++counters.pieces_done;
    }
    std::lock_guard lock(done_mutex);
    --running;
    done_changed.notify_all();
  };
  std::vector<std::thread> threads;
  for (Recognizer& w : workers) threads.emplace_back(work, std::ref(w));

  auto snapshot = [&] {
    SearchProgress p;
    p.pieces_done = counters.pieces_done.load();
    p.pieces_total = static_cast<int>(pieces.size());
    p.footage_done_s = static_cast<double>(counters.footage_progress_ms.load()) / 1000.0;
    p.footage_total_s = footage_total;
    p.frames_decoded = counters.frames_decoded.load();
    p.faces_compared = counters.faces_compared.load();
    p.hits = counters.hits.load();
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
    if (p.footage_done_s > 0.0 && footage_total > 0.0)
      p.eta_s = std::max(0.0, p.elapsed_s * (footage_total - p.footage_done_s) / p.footage_done_s);
    return p;
  };
  {
    std::unique_lock lock(done_mutex);
    const auto interval = std::chrono::duration<double>(std::max(0.05, hooks.progress_interval_s));
    while (running > 0) {
      if (!done_changed.wait_for(lock, interval, [&] { return running == 0; }) && hooks.on_progress) {
        const SearchProgress p = snapshot();
        lock.unlock();
        hooks.on_progress(p);
        lock.lock();
      }
    }
  }
  for (auto& t : threads) t.join();
  if (hooks.on_progress && !pieces.empty()) hooks.on_progress(snapshot());

  SearchHits found;
  found.cancelled = hooks.cancel != nullptr && hooks.cancel->load();
  found.recordings.resize(recordings.size());
  for (RecordingHits& r : found.recordings) r.stats.recordings = 1;
  // A recording's first problem, in the order of its pieces in the file.
  std::vector<std::optional<double>> error_at(recordings.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    PieceResult& r = results[i];
    RecordingHits& into = found.recordings[pieces[i].recording];
    SearchStats& stats = into.stats;
    ++stats.pieces;
    stats.footage_s += r.footage_read_s;
    stats.packets_skipped += r.reader.packets_skipped;
    stats.frames_decoded += r.reader.frames_decoded;
    stats.frames_analysed += r.frames_analysed;
    stats.faces_detected += r.faces_detected;
    stats.faces_compared += r.faces_compared;
    stats.hits += static_cast<std::int64_t>(r.hits.size());
    stats.decode_s += r.decode_s;
    stats.detect_s += r.detect_s;
    stats.embed_s += r.embed_s;
    auto& first = error_at[pieces[i].recording];
    if (r.error && (!first || pieces[i].from_s < *first)) {
      first = pieces[i].from_s;
      into.error = *r.error;
    }
    for (SearchHit& h : r.hits) into.hits.push_back(std::move(h));
  }
  for (std::size_t i = 0; i < recordings.size(); ++i) {
    if (open_errors[i]) found.recordings[i].error = *open_errors[i];
    found.stats.add(found.recordings[i].stats);
  }
  found.stats.workers = static_cast<int>(workers.size());
  found.stats.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  return found;
}

SearchOutcome outcome_of(const std::vector<SearchRecording>& recordings, SearchHits found, Metric metric, double visit_gap_s) {
  SearchOutcome outcome;
  outcome.cancelled = found.cancelled;
  outcome.stats = found.stats;
  std::vector<SearchHit> hits;
  for (std::size_t i = 0; i < found.recordings.size() && i < recordings.size(); ++i) {
    RecordingHits& r = found.recordings[i];
    if (r.error) outcome.errors.push_back(RecordingError{recordings[i].path, *r.error});
    for (SearchHit& h : r.hits) hits.push_back(std::move(h));
  }
  outcome.visits = group_visits(recordings, std::move(hits), metric, visit_gap_s);
  return outcome;
}

Result<SearchOutcome> run_search(const std::vector<SearchRecording>& recordings, const WatchlistMatrix& probe,
                                 const ModelProfile& profile, const SearchOptions& options, const SearchHooks& hooks) {
  const auto started = Clock::now();
  auto found = find_hits(recordings, probe, profile, options, hooks);
  if (!found) return found.error();
  SearchOutcome outcome = outcome_of(recordings, std::move(*found), probe.metric(), options.visit_gap_s);
  outcome.stats.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  return outcome;
}

}  // namespace glassbox
