#include "pipeline/watch_runner.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include <opencv2/core.hpp>

#include "pipeline/recognizers.h"

namespace glassbox {
namespace {

}  // namespace

SourceStats WatchReport::totals() const {
  SourceStats total;
  for (const SourceReport& r : sources) total += r.outcome.stats;
  total.wall_seconds = wall_seconds;
  return total;
}

int WatchReport::failed_sources() const {
  return static_cast<int>(std::count_if(sources.begin(), sources.end(), [](const SourceReport& r) { return r.outcome.error.has_value(); }));
}

Result<WatchReport> run_watch(const std::vector<std::string>& sources, const ModelProfile& profile,
                              const WatchlistMatrix& watchlist, AlertSink& sink, const WatchOptions& options,
                              const WatchHooks& hooks) {
  const auto started = std::chrono::steady_clock::now();
  WatchReport report;
  report.sources.resize(sources.size());
  if (sources.empty()) return report;

  const int wanted = options.jobs > 0 ? options.jobs : static_cast<int>(sources.size());
  const int worker_count = std::clamp(wanted, 1, static_cast<int>(sources.size()));
  auto loaded = load_recognizers(worker_count, profile, options.detector);
  if (!loaded) return loaded.error();
  std::vector<Recognizer>& workers = *loaded;

  std::atomic<std::size_t> next_source{0};
  auto work = [&](Recognizer& worker) {
    while (true) {
      const std::size_t i = next_source.fetch_add(1);
      if (i >= sources.size()) return;
      const std::string& spec = sources[i];
      SourceReport& r = report.sources[i];
      r.source = spec;
      if (hooks.cancel != nullptr && hooks.cancel->load()) {
        r.outcome.cancelled = true;
      } else if (auto source = open_source(spec, options.source); !source) {
        r.outcome.error = source.error();
      } else {
        SourceAnalyzer analyzer(*worker.detector, *worker.embedder, watchlist, sink, options.analysis);
        AnalyzerHooks analyzer_hooks;
        analyzer_hooks.cancel = hooks.cancel;
        if (hooks.on_item_error) {
          analyzer_hooks.on_item_error = [&](const std::string& item, const Error& e) { hooks.on_item_error(spec, item, e); };
        }
        if (hooks.on_progress && options.progress_interval_s > 0.0) {
          analyzer_hooks.progress_interval_s = options.progress_interval_s;
          analyzer_hooks.on_progress = [&](const SourceStats& s) { hooks.on_progress(spec, s); };
        }
        r.outcome = analyzer.run(**source, analyzer_hooks);
      }
      if (hooks.on_source_done) hooks.on_source_done(r);
    }
  };

  if (worker_count == 1) {
    work(workers.front());
  } else {
    std::vector<std::thread> threads;
    threads.reserve(workers.size());
    for (Recognizer& w : workers) threads.emplace_back(work, std::ref(w));
    for (auto& t : threads) t.join();
  }
  report.workers = worker_count;
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace glassbox
