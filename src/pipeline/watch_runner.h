// WatchRunner: runs several sources concurrently against one watchlist. A pool of workers, each
// owning its own detector and recognizer (OpenCV's networks are not shared between threads),
// takes sources from a queue; with the default pool size every source gets its own worker, so
// live streams all run at once. One source's failure is reported and the others go on.
// Thread-safety: run() is called once, from one thread; hooks are called from worker threads.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "detect/yunet_detector.h"
#include "embed/model_profile.h"
#include "ingest/frame_source.h"
#include "pipeline/source_analyzer.h"

namespace glassbox {

struct WatchOptions {
  AnalysisOptions analysis;
  SourceOptions source;
  DetectorOptions detector;
  int jobs = 0;  // sources analysed at once; 0 = all of them
  double progress_interval_s = 0.0;  // 0 = no progress callbacks
};

struct SourceReport {
  std::string source;
  SourceOutcome outcome;
};

struct WatchHooks {
  std::function<void(const std::string& source, const std::string& item, const Error& error)> on_item_error;
  std::function<void(const std::string& source, const SourceStats& stats)> on_progress;
  std::function<void(const SourceReport& report)> on_source_done;
  const std::atomic<bool>* cancel = nullptr;
};

struct WatchReport {
  std::vector<SourceReport> sources;  // in the order given
  double wall_seconds = 0.0;
  int workers = 0;

  // Counters summed over all sources; wall_seconds is the whole run's.
  SourceStats totals() const;
  int failed_sources() const;
};

// Fails only when the models cannot be loaded; per-source failures are in the report.
Result<WatchReport> run_watch(const std::vector<std::string>& sources, const ModelProfile& profile,
                              const WatchlistMatrix& watchlist, AlertSink& sink, const WatchOptions& options,
                              const WatchHooks& hooks);

}  // namespace glassbox
