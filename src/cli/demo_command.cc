// `glassbox demo`: the whole job on real data from ../shared, told step by step for a newcomer.
// It builds its own watchlist in a temporary folder (two people, each from one photo), shows that
// a pending entry matches nothing and that nobody approves their own entry, then watches photos
// and video clips, checks every alert against the known truth, and shows that the faces of
// everyone else left no trace. Subjects are shown as "Person A/B", never by name.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "alert/json_lines.h"
#include "cli/commands.h"
#include "cli/demo_serve.h"
#include "core/paths.h"
#include "embed/onnx_embedder.h"
#include "enroll/enrollment.h"
#include "ingest/video_source.h"
#include "match/threshold_policy.h"
#include "pipeline/watch_runner.h"
#include "pipeline/watchlist_loader.h"
#include "track/tracker.h"
#include "store/sql_watchlist_store.h"

namespace glassbox::cli {
namespace {

namespace fs = std::filesystem;

struct DemoArgs {
  std::string profile = kDefaultProfile;
  std::string keep;  // folder to keep the workspace in; empty = temporary, removed at the end
  std::string serve; // HOST:PORT: serve the console on demo data instead (demo_serve.cc)
};

// Where each watchlist person really appears: (source, image or "" for a whole clip) -> subject.
using Truth = std::map<std::pair<std::string, std::string>, std::string>;

struct Workspace {
  fs::path dir;
  bool remove = true;
  ~Workspace() {
    std::error_code ec;
    if (remove && !dir.empty()) fs::remove_all(dir, ec);
  }
};

void say(const std::string& text) { std::cout << text << "\n"; }
void step(int n, const std::string& title) { std::cout << "\n[" << n << "] " << title << "\n"; }

std::string short_name(const std::string& source, const fs::path& data) {
  const std::string prefix = data.string() + "/";
  return source.rfind(prefix, 0) == 0 ? source.substr(prefix.size()) : source;
}

int fail(const std::string& message) {
  std::cerr << "glassbox demo: " << message << "\n";
  return kExitFailure;
}

int run_demo(const DemoArgs& args) {
  const fs::path data = data_dir();
  say("Glassbox demo: watchlist alerts on real photos and video, with every rule enforced on the way.");
  say("  models: " + models_dir().string() + "   (GLASSBOX_MODELS)");
  say("  data:   " + data.string() + "   (GLASSBOX_DATA)");

  const fs::path photo_a = data / "faces/face_recognition_knn/examples/knn_examples/train/obama/obama.jpg";
  const fs::path photos_folder = data / "faces/face_recognition_knn/examples/knn_examples/test";
  const fs::path clips = data / "video/talking_heads";
  const fs::path clip_b = clips / "WDA_KatieHill_000_h264.mp4";
  const fs::path street = data / "video/pedestrians_far/vtest_h264_part00.mp4";
  for (const fs::path& p : {photo_a, photos_folder, clip_b, street}) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return fail(p.string() + " is missing: point GLASSBOX_DATA at the shared data folder");
  }

  auto profile = load_model_profile(args.profile);
  if (!profile) return fail(profile.error().message);
  auto detector = YuNetDetector::create({});
  if (!detector) return fail(detector.error().message);
  auto embedder = OnnxEmbedder::create(*profile);
  if (!embedder) return fail(embedder.error().message);
  auto calibration = load_false_match_calibration(*profile);
  if (!calibration) return fail(calibration.error().message);
  std::shared_ptr<const FalseMatchCalibration> calibrated;
  if (*calibration) calibrated = std::make_shared<const FalseMatchCalibration>(std::move(**calibration));
  say("  recognizer: " + profile->name + " (" + metric_name(profile->metric) +
      "); its threshold follows the list's size, for 1 false alert in 1,000 searches (docs/calibration.md)");

  Workspace workspace;
  if (args.keep.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = (tmp != nullptr && *tmp != '\0' ? std::string(tmp) : std::string("/tmp")) + "/glassbox-demo-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return fail(pattern + ": cannot create a temporary folder");
    workspace.dir = pattern;
  } else {
    workspace.dir = args.keep;
    workspace.remove = false;
    std::error_code ec;
    fs::create_directories(workspace.dir, ec);
    if (ec) return fail(args.keep + ": " + ec.message());
  }
  const fs::path db_path = workspace.dir / "watchlist.db";
  std::error_code ec;
  fs::remove(db_path, ec);
  auto store = SqlWatchlistStore::open(db_path.string(), OpenMode::kReadWriteCreate);
  if (!store) return fail(store.error().message);

  // 1. Enrolment.
  step(1, "Two people are put on the watchlist, each from a single photo");
  const UnixSeconds now = now_utc();
  const std::string expires = format_date_utc(now + 30 * 86400);
  auto enrol = [&](const std::string& subject, const fs::path& photo) -> Result<std::int64_t> {
    EnrollmentFields fields{subject, "DEMO - no real case: shows the required fields", "demo photo from the shared test data",
                            expires, "officer.alice"};
    return enroll_entry(**store, fields, {photo}, **detector, **embedder, PhotoOptions{}, now);
  };
  auto still_b = workspace.dir / "person_b_still.png";
  if (auto s = save_still(clip_b, 1.0, still_b); !s) return fail(s.error().message);
  auto id_a = enrol("Person A", photo_a);
  if (!id_a) return fail(id_a.error().message);
  auto id_b = enrol("Person B", still_b);
  if (!id_b) return fail(id_b.error().message);
  say("  entry " + std::to_string(*id_a) + ": Person A, from " + short_name(photo_a.string(), data));
  say("  entry " + std::to_string(*id_b) + ": Person B, from a still 1 s into " + short_name(clip_b.string(), data));
  say("  each carries a legal basis, the photos' source, the submitter (officer.alice) and an expiry (" + expires + ").");
  say("  Only the template of the one face in each photo is stored, never the photo. Both entries are PENDING.");
  say("  Refused, as they should be:");
  for (const fs::path& refused : {data / "negatives/images/debian_opencv_doc/fruits.jpg", data / "faces/face_recognition/two_people.jpg",
                                  data / "faces/faceapi_bbt/examples/images/stuart/stuart5.png"}) {
    auto r = enrol("Person C", refused);
    say("    " + short_name(r ? std::string("(accepted!)") : r.error().message.substr(r.error().message.find("- ") + 2), data));
  }

  WatchOptions options;
  options.analysis.calibration = calibrated;
  options.jobs = 2;
  auto watch = [&](const std::vector<std::string>& sources, AlertSink& sink) -> Result<WatchReport> {
    auto loaded = load_watchlist(**store, *profile, now_utc());
    if (!loaded) return loaded.error();
    // The threshold for this list, as watch and serve set it.
    const ThresholdInForce in_force = decide_threshold(
        *profile, calibrated.get(), {kDefaultTargetFpir, std::nullopt, kDefaultViewsPerTrack, true},
        loaded->matrix.rows());
    options.analysis.threshold = in_force.threshold;
    options.analysis.tracker.max_embeddings_per_track = static_cast<int>(in_force.searches_per_track);
    options.analysis.list_templates = loaded->matrix.rows();
    WatchHooks hooks;
    hooks.cancel = &interrupted();
    return run_watch(sources, *profile, loaded->matrix, sink, options, hooks);
  };

  // 2. Pending entries match nothing.
  step(2, "Before approval: watching five photos raises no alert, because pending entries match nothing");
  {
    CollectingAlertSink sink;
    auto report = watch({photos_folder.string()}, sink);
    if (!report) return fail(report.error().message);
    say("  " + std::to_string(report->sources[0].outcome.stats.faces_detected) + " faces analysed, " +
        std::to_string(sink.alerts().size()) + " alerts.");
  }

  // 3. Four eyes.
  step(3, "Approval needs a second person");
  auto self = (*store)->approve_entry(*id_a, "officer.alice", now_utc());
  say("  officer.alice approving her own entry: " + (self ? std::string("accepted (WRONG)") : "refused - " + self.error().message));
  for (auto id : {*id_a, *id_b}) {
    if (auto s = (*store)->approve_entry(id, "supervisor.bob", now_utc()); !s) return fail(s.error().message);
  }
  say("  supervisor.bob approves both entries: they are now ACTIVE until " + expires + ".");

  // 4. Watch.
  std::vector<std::string> sources = {photos_folder.string()};
  for (const auto& entry : fs::directory_iterator(clips))
    if (entry.path().extension() == ".mp4") sources.push_back(entry.path().string());
  std::sort(sources.begin() + 1, sources.end());
  sources.push_back(street.string());
  step(4, "Watching " + std::to_string(sources.size()) + " sources at " + std::to_string(static_cast<int>(options.analysis.rate_fps)) +
              " analysed frames per second: 5 photos, 6 talking-head clips, 20 s of street video");
  const auto hash_before = sha256_file(db_path);
  std::ofstream jsonl(workspace.dir / "watch.jsonl");
  JsonLinesWriter writer(jsonl);
  JsonLinesAlertSink jsonl_sink(writer);
  CollectingAlertSink collected;
  FanOutAlertSink sink({&collected, &jsonl_sink});
  auto report = watch(sources, sink);
  if (!report) return fail(report.error().message);
  const Truth truth = {{{photos_folder.string(), "obama1.jpg"}, "Person A"},
                       {{photos_folder.string(), "obama_and_biden.jpg"}, "Person A"},
                       {{clip_b.string(), ""}, "Person B"}};
  std::set<std::pair<std::string, std::string>> found;
  int true_alerts = 0, false_alerts = 0;
  for (const Alert& a : collected.alerts()) {
    const auto key = std::make_pair(a.source, a.item);
    const auto it = truth.find(key);
    const bool correct = it != truth.end() && it->second == a.subject;
    (correct ? true_alerts : false_alerts)++;
    if (correct) found.insert(key);
    std::ostringstream line;
    line << "  ALERT " << a.subject << " in " << short_name(a.source, data);
    if (!a.item.empty()) line << " / " << a.item;
    else line << " at " << std::fixed << std::setprecision(1) << a.timestamp_s << " s";
    line << "  (" << a.metric << " " << std::fixed << std::setprecision(3) << a.score << (a.metric == "euclidean" ? " <= " : " >= ")
         << a.threshold;
    if (a.estimated_fpir && *a.estimated_fpir > 0) {
      // Closer than anything the calibration measured: the rate is a bound, not an estimate.
      const bool beyond = calibrated && ModelProfile::is_better(profile->metric, a.score, calibrated->points().front().score);
      line << (beyond ? "; fewer than 1 in " : "; about 1 in ") << std::setprecision(0) << 1.0 / *a.estimated_fpir
           << " strangers would score this close";
    }
    line << ")  " << (correct ? "correct" : "FALSE ALERT");
    say(line.str());
  }
  const int missed = static_cast<int>(truth.size() - found.size());

  const SourceStats total = report->totals();
  const int failed = report->failed_sources();
  for (const auto& r : report->sources) {
    if (r.outcome.error) say("  source failed: " + r.outcome.error->message);
  }
  step(5, "What happened");
  std::ostringstream numbers;
  numbers << "  " << total.frames_decoded << " frames decoded, " << total.frames_analysed << " analysed, " << total.faces_detected
          << " faces seen in " << total.tracks << " tracks; " << total.faces_embedded
          << " views embedded (once per track, again only for a clearly better view).\n"
          << "  " << std::fixed << std::setprecision(1) << report->wall_seconds << " s of wall time, "
          << total.frames_decoded / std::max(report->wall_seconds, 1e-9) << " frames per second.";
  say(numbers.str());
  say("  true alerts: " + std::to_string(true_alerts) + "   false alerts: " + std::to_string(false_alerts) +
      "   missed: " + std::to_string(missed) + "   (checked against where each person really appears)");
  say("  An alert is a lead for a person to review, with the frame time and face box to find it again;");
  say("  Glassbox takes no action on its own.");

  step(6, "No trace of anyone else");
  const auto hash_after = sha256_file(db_path);
  auto entries = (*store)->list_entries();
  int templates = 0;
  if (entries) for (const auto& e : *entries) templates += e.template_count;
  const bool untouched = hash_before && hash_after && *hash_before == *hash_after;
  say("  The watchlist database is " + std::string(untouched ? "byte for byte unchanged" : "CHANGED (WRONG)") +
      " by watching: it still holds " + std::to_string(entries ? entries->size() : 0) + " entries and " +
      std::to_string(templates) + " templates.");
  say("  The templates of the other faces lived in memory for one comparison each; no crop, template or row was kept.");
  if (workspace.remove) {
    say("\nThe demo's workspace is removed now; `glassbox demo --keep DIR` keeps it (watchlist.db, watch.jsonl).");
  } else {
    say("\nWorkspace kept in " + workspace.dir.string() + ": watchlist.db and watch.jsonl (the JSON lines `glassbox watch` prints).");
  }
  const bool passed = true_alerts >= 1 && false_alerts == 0 && failed == 0 && untouched && !self;
  say(passed ? "Demo finished: every check held." : "Demo finished with a problem (see above).");
  return passed ? kExitOk : kExitFailure;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand("demo", "Run the whole job on the shared data and explain what happens");
  demo->add_option("--profile", args->profile, "Recognizer profile")->capture_default_str();
  demo->add_option("--keep", args->keep, "Keep the workspace (database, JSON lines) in this folder");
  demo->add_option("--serve", args->serve,
                   "Instead: serve the operators' console on HOST:PORT with demo accounts, entries and looping cameras")
      ->expected(0, 1)
      ->default_str("127.0.0.1:8080");
  demo->callback([args, &exit_status] {
    exit_status = args->serve.empty() ? run_demo(*args) : run_demo_serve(args->serve, args->keep, args->profile);
  });
}

}  // namespace glassbox::cli
