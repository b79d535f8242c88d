// SearchRunner: one approved search of recordings, from footage to visits. The recordings are
// cut into pieces (a camera's segments, or minute-long ranges of a file), and a pool of workers,
// each with its own detector and recognizer — the live path's YuNet, embed_face and tracker —
// decodes them (keyframes only, or every frame sampled at a rate), embeds every face found and
// compares it with the probe templates only. A face that does not pass the threshold is dropped
// at once; only hits (time, score and, for the best, a crop) leave a worker. Hits on one source
// less than `visit_gap_s` apart become one visit. Docs: docs/search.md.
// Thread-safety: run_search() and find_hits() are called from one thread; hooks are called from
// that thread. group_visits() and outcome_of() are pure.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "detect/yunet_detector.h"
#include "embed/model_profile.h"
#include "ingest/sampling_mode.h"
#include "ingest/video_decoder.h"
#include "match/watchlist_matrix.h"
#include "track/tracker.h"

namespace glassbox {

// One file to search, or the part of it inside the search's window.
struct SearchRecording {
  std::string source;                  // what results call it: the camera's name, or the file as named
  std::string camera;                  // the camera it was recorded from; empty for a file
  std::string path;                    // the file read
  std::optional<std::int64_t> start_ms = {};  // camera segments: UTC of the file's time 0
  double from_s = 0.0;                 // only this range of the file, in seconds from its start
  std::optional<double> to_s = {};
  std::optional<double> duration_s = {};  // known from the index; otherwise read from the file
  std::string recorded_by = {};        // the cluster node that recorded it; empty: this machine, or a file
};

struct SearchOptions {
  SamplingMode mode;
  double threshold = 0.0;      // in the profile's metric
  int workers = 0;             // 0: one per core
  double piece_s = 60.0;       // files are cut into ranges of this length
  double visit_gap_s = 10.0;   // hits closer than this on one source are one visit
  int min_face_px = 32;
  DetectorOptions detector;
  TrackerOptions tracker;
};

struct SearchProgress {
  int pieces_done = 0;
  int pieces_total = 0;
  double footage_done_s = 0.0;
  double footage_total_s = 0.0;
  std::int64_t frames_decoded = 0;
  std::int64_t faces_compared = 0;
  std::int64_t hits = 0;
  double elapsed_s = 0.0;
  std::optional<double> eta_s;   // from the footage rate so far; none before the first progress
  nlohmann::json to_json() const;
};

struct SearchStats {
  int recordings = 0;
  int pieces = 0;
  double footage_s = 0.0;              // footage read (up to where each piece ended)
  std::int64_t packets_skipped = 0;    // not keyframes: never decoded
  std::int64_t frames_decoded = 0;
  std::int64_t frames_analysed = 0;
  std::int64_t faces_detected = 0;
  std::int64_t faces_compared = 0;     // embedded and compared with the probe
  std::int64_t hits = 0;
  double wall_s = 0.0;
  int workers = 0;
  // Time spent per stage, summed over the workers (core-seconds): where the wall time goes.
  double decode_s = 0.0;  // reading, decoding and converting to BGR
  double detect_s = 0.0;
  double embed_s = 0.0;   // alignment, embedding and comparison
  // A search spread over a cluster's nodes: how many recordings each node searched.
  std::map<std::string, int> recordings_by_node;
  // Adds the counts of `other` (not wall_s or workers: they describe one run).
  void add(const SearchStats& other);
  nlohmann::json to_json() const;
  static SearchStats from_json(const nlohmann::json& j);
};

struct Visit {
  std::string source;
  std::string camera;                  // empty for a file
  double start_s = 0.0;                // files: from the file's start; cameras: from the first segment's start
  double end_s = 0.0;
  std::optional<std::int64_t> start_ms;  // cameras: UTC
  std::optional<std::int64_t> end_ms;
  double best_score = 0.0;
  double best_at_s = 0.0;
  int hits = 0;
  cv::Mat crop;                        // the best compared hit's face, with a margin
};

struct RecordingError {
  std::string recording;
  std::string error;
};

struct SearchOutcome {
  std::vector<Visit> visits;           // by source (in the order given), then time
  std::vector<RecordingError> errors;  // one per recording at most
  SearchStats stats;
  bool cancelled = false;
};

// A face that matched the probe, in recording `recording` of the list searched, at `t` seconds
// of the file. Only compared hits have a score and a crop; a face the tracker follows from an
// earlier hit says the person is still there.
struct SearchHit {
  std::size_t recording = 0;
  double t = 0.0;
  std::optional<double> score;
  cv::Mat crop;
};

// What one recording gave: its hits, its first problem, its counts.
struct RecordingHits {
  std::vector<SearchHit> hits;
  std::optional<std::string> error;
  SearchStats stats;
};

struct SearchHits {
  std::vector<RecordingHits> recordings;  // one per recording given, in its order
  SearchStats stats;                      // all of them, with the run's wall time and workers
  bool cancelled = false;
};

struct SearchHooks {
  std::function<void(const SearchProgress&)> on_progress;
  double progress_interval_s = 1.0;
  const std::atomic<bool>* cancel = nullptr;  // checked between frames
};

// The first half of a search: every recording cut into pieces (a camera's segment is one piece;
// a file is cut every piece_s), searched by the workers; the hits of each recording. Each piece
// is searched on its own (a track never spans two), so a recording gives the same hits whether
// it is searched alone or with others — what lets a cluster spread a search's recordings over
// its nodes (docs/cluster.md). Fails as run_search does.
Result<SearchHits> find_hits(const std::vector<SearchRecording>& recordings, const WatchlistMatrix& probe, const ModelProfile& profile,
                             const SearchOptions& options, const SearchHooks& hooks = {});
// The second half: hits of one source less than visit_gap_s apart become one visit, its best
// compared hit its evidence. `hits` index into `recordings`.
std::vector<Visit> group_visits(const std::vector<SearchRecording>& recordings, std::vector<SearchHit> hits, Metric metric,
                                double visit_gap_s);
// Both: errors per recording (its first problem), visits by source in the order given, then time.
SearchOutcome outcome_of(const std::vector<SearchRecording>& recordings, SearchHits found, Metric metric, double visit_gap_s);

// Fails only when the models cannot be loaded or nothing was given to search; bad recordings
// are reported in the outcome's errors and the rest is searched.
Result<SearchOutcome> run_search(const std::vector<SearchRecording>& recordings, const WatchlistMatrix& probe,
                                 const ModelProfile& profile, const SearchOptions& options, const SearchHooks& hooks = {});

}  // namespace glassbox
