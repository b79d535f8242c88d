// `glassbox watch`: analyse sources against the active watchlist and write JSON lines
// (docs/watch-output.md) to stdout; human-readable errors and progress go to stderr.
#include <iomanip>
#include <iostream>
#include <memory>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "alert/json_lines.h"
#include "cli/commands.h"
#include "match/threshold_policy.h"
#include "pipeline/watch_runner.h"
#include "pipeline/watchlist_loader.h"
#include "track/tracker.h"
#include "store/sql_watchlist_store.h"

namespace glassbox::cli {
namespace {

struct WatchArgs {
  std::string db;
  std::vector<std::string> sources;
  std::string profile = kDefaultProfile;
  double rate = 5.0;
  int min_face = 32;
  std::optional<double> threshold;
  double target_fpir = kDefaultTargetFpir;
  int views_per_track = static_cast<int>(kDefaultViewsPerTrack);
  int jobs = 0;
  int detect_size = 640;
  double open_timeout = 10.0;
  bool progress = false;
};

nlohmann::json stats_json(const SourceStats& s) {
  const double fps = s.wall_seconds > 0 ? s.frames_decoded / s.wall_seconds : 0.0;
  return {{"frames_decoded", s.frames_decoded},   {"frames_analysed", s.frames_analysed},
          {"frame_errors", s.frame_errors},       {"faces_detected", s.faces_detected},
          {"faces_too_small", s.faces_too_small}, {"faces_embedded", s.faces_embedded},
          {"tracks", s.tracks},                   {"alerts", s.alerts},
          {"stream_seconds", std::round(s.stream_seconds * 1000) / 1000},
          {"wall_seconds", std::round(s.wall_seconds * 1000) / 1000},
          {"frames_per_second", std::round(fps * 10) / 10}};
}

int run_watch_command(const WatchArgs& args) {
  auto profile = load_model_profile(args.profile);
  if (!profile) {
    std::cerr << "glassbox watch: " << profile.error().message << "\n";
    return kExitFailure;
  }
  auto store = SqlWatchlistStore::open(args.db, OpenMode::kReadOnly);
  if (!store) {
    std::cerr << "glassbox watch: " << store.error().message << "\n";
    return kExitFailure;
  }
  auto watchlist = load_watchlist(**store, *profile, now_utc());
  if (!watchlist) {
    std::cerr << "glassbox watch: " << watchlist.error().message << "\n";
    return kExitFailure;
  }
  store->reset();  // the watchlist is in memory; nothing below touches the database
  if (watchlist->matrix.rows() == 0) {
    std::cerr << "glassbox watch: warning: no active, unexpired entry has a " << profile->name
              << " template; no alert can be raised\n";
  }
  for (std::int64_t id : watchlist->entries_without_template) {
    std::cerr << "glassbox watch: warning: active entry " << id << " has no " << profile->name
              << " template and cannot match; re-enrol it with --profile " << profile->name << "\n";
  }

  WatchOptions options;
  options.analysis.rate_fps = args.rate;
  options.analysis.min_face_px = args.min_face;
  options.analysis.tracker.max_embeddings_per_track = args.views_per_track;
  // The threshold follows the false-alert rate accepted and this list's size, unless fixed.
  auto calibration = load_false_match_calibration(*profile);
  if (!calibration) {
    std::cerr << "glassbox watch: " << calibration.error().message << "\n";
    return kExitFailure;
  }
  if (*calibration) options.analysis.calibration = std::make_shared<const FalseMatchCalibration>(std::move(**calibration));
  const ThresholdInForce threshold =
      decide_threshold(*profile, options.analysis.calibration.get(), {args.target_fpir, args.threshold, static_cast<std::size_t>(options.analysis.tracker.max_embeddings_per_track), true},
                       watchlist->matrix.rows());
  std::cerr << "glassbox watch: threshold in force: " << threshold.why << "\n";
  options.analysis.threshold = threshold.threshold;
  options.analysis.tracker.max_embeddings_per_track = static_cast<int>(threshold.searches_per_track);
  options.analysis.list_templates = watchlist->matrix.rows();
  options.detector.max_side = args.detect_size;
  options.source.open_timeout_s = args.open_timeout;
  options.source.read_timeout_s = args.open_timeout;
  options.jobs = args.jobs;
  options.progress_interval_s = (args.progress || isatty(STDERR_FILENO)) ? 5.0 : 0.0;

  JsonLinesWriter out(std::cout);
  JsonLinesAlertSink sink(out);
  WatchHooks hooks;
  hooks.cancel = &interrupted();
  hooks.on_item_error = [&](const std::string& source, const std::string& item, const Error& e) {
    nlohmann::json j = {{"type", "error"}, {"scope", item.empty() ? "frame" : "image"}, {"source", source}, {"message", e.message}};
    if (!item.empty()) j["image"] = item;
    out.write(j);
    std::cerr << "glassbox watch: " << e.message << "\n";
  };
  hooks.on_progress = [](const std::string& source, const SourceStats& s) {
    std::cerr << "glassbox watch: " << source << ": " << s.frames_decoded << " frames (" << std::fixed
              << std::setprecision(1) << s.stream_seconds << " s of stream), " << s.faces_detected << " faces, "
              << s.alerts << " alerts\n";
  };
  hooks.on_source_done = [&](const SourceReport& r) {
    if (r.outcome.error) {
      out.write({{"type", "error"}, {"scope", "source"}, {"source", r.source}, {"message", r.outcome.error->message}});
      std::cerr << "glassbox watch: " << r.outcome.error->message << "\n";
    }
    nlohmann::json j = {{"type", "source_summary"}, {"source", r.source},
                        {"status", r.outcome.error ? "failed" : (r.outcome.cancelled ? "interrupted" : "ok")}};
    j.update(stats_json(r.outcome.stats));
    out.write(j);
  };

  auto report = run_watch(args.sources, *profile, watchlist->matrix, sink, options, hooks);
  if (!report) {
    std::cerr << "glassbox watch: " << report.error().message << "\n";
    return kExitFailure;
  }
  const SourceStats total = report->totals();
  const int failed = report->failed_sources();
  nlohmann::json summary = {{"type", "summary"},
                            {"sources", report->sources.size()},
                            {"sources_failed", failed},
                            {"workers", report->workers},
                            {"profile", profile->name},
                            {"metric", metric_name(profile->metric)},
                            {"threshold", options.analysis.threshold},
                            {"threshold_in_force", threshold.to_json()},
                            {"rate_fps", args.rate},
                            {"watchlist_entries", watchlist->matrix.entries()},
                            {"interrupted", interrupted().load()}};
  summary.update(stats_json(total));
  out.write(summary);
  if (interrupted().load()) return kExitInterrupted;
  return failed > 0 ? kExitSourceErrors : kExitOk;
}

}  // namespace

void add_watch_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<WatchArgs>();
  CLI::App* watch = app.add_subcommand("watch", "Analyse video files, streams and image folders against the watchlist; JSON lines on stdout");
  watch->add_option("--db", args->db, "Watchlist database")->required();
  watch->add_option("--rate", args->rate, "Frames analysed per second of video (0 = every frame)")->capture_default_str()->check(CLI::Range(0.0, 1000.0));
  watch->add_option("--min-face", args->min_face, "Ignore faces smaller than this, pixels")->capture_default_str()->check(CLI::Range(8, 4096));
  watch->add_option("--target-fpir", args->target_fpir,
                    "False-alert rate accepted per track: the threshold follows from it, the list's size and --views-per-track (docs/calibration.md)")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 0.5));
  watch->add_option("--threshold", args->threshold, "A fixed decision threshold in the profile's metric, instead of --target-fpir");
  watch->add_option("--views-per-track", args->views_per_track,
                    "Views of one track matched at most (each on its own; they share --target-fpir)")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  watch->add_option("--profile", args->profile, "Recognizer profile (profiles/NAME.json)")->capture_default_str();
  watch->add_option("--jobs", args->jobs, "Sources analysed at once (0 = all)")->capture_default_str()->check(CLI::Range(0, 1024));
  watch->add_option("--detect-size", args->detect_size, "Longer side of the image the detector sees, pixels")->capture_default_str()->check(CLI::Range(64, 4096));
  watch->add_option("--timeout", args->open_timeout, "Seconds to wait for a stream to connect or send data")->capture_default_str()->check(CLI::Range(0.5, 3600.0));
  watch->add_flag("--progress", args->progress, "Progress on stderr every 5 s (on by default when stderr is a terminal)");
  watch->add_option("sources", args->sources, "Video files, rtsp:// or http(s):// URLs, image folders or images")->required();
  watch->callback([args, &exit_status] { exit_status = run_watch_command(*args); });
}

}  // namespace glassbox::cli
