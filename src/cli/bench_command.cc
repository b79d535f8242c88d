// `glassbox bench [--quick] --out FILE.json`: every figure of docs/PERFORMANCE.md measured on
// this machine — decoding, detection, embedding and matching alone, live cameras sustained with
// their latency and memory, and the throughput of `watch` against the reference pipeline
// written the plain OpenCV way, with the people each found compared. Inputs are made once from
// the shared footage with the ffmpeg program (bench_inputs.h); progress on stderr, a summary on
// stdout, every figure with its runs in the JSON file.
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include "bench/bench_inputs.h"
#include "bench/camera_load.h"
#include "bench/reference_pipeline.h"
#include "bench/stage_benchmarks.h"
#include "cli/commands.h"
#include "core/paths.h"
#include "detect/yunet_detector.h"
#include "embed/embed_face.h"
#include "embed/onnx_embedder.h"
#include "ingest/image_sources.h"
#include "ingest/video_decoder.h"
#include "match/packed_scan.h"
#include "pipeline/watch_runner.h"

namespace glassbox::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct BenchArgs {
  bool quick = false;
  std::string out;
  std::string work;
  int cameras = 0;  // the first camera count tried; 0: 8 (quick) or 6
  std::vector<std::string> only;
  std::string command_line;
};

void note(const std::string& text) { std::cerr << "bench: " << text << std::endl; }

int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

std::string read_first_line(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return {};
}

json machine() {
  utsname u{};
  uname(&u);
  const std::string memory = read_first_line("/proc/meminfo", "MemTotal");
  return {{"cpu", read_first_line("/proc/cpuinfo", "model name")},
          {"cores", cores()},
          {"memory", memory},
          {"kernel", std::string(u.sysname) + " " + u.release},
          {"match_kernel", packed::kernel_name()},
          {"opencv", CV_VERSION},
          {"libavcodec", LIBAVCODEC_IDENT}};
}

// A still of a clip, `at_s` seconds in, as BGR.
Result<cv::Mat> still_of(const fs::path& clip, double at_s) {
  auto decoder = VideoDecoder::open(clip.string(), {});
  if (!decoder) return decoder.error();
  while (true) {
    auto t = (*decoder)->next();
    if (!t) return t.error();
    if (!t->has_value()) return Error{clip.string() + ": ended before " + std::to_string(at_s) + " s"};
    if (**t + 1e-6 < at_s) continue;
    auto f = (*decoder)->frame();
    if (!f) return f.error();
    return f->bgr().clone();
  }
}

// The watchlist both pipelines search: the six speakers, each from a still of their own clip,
// and LFW people as distractors. Each pipeline makes its own templates from the same photos.
struct Watchlists {
  std::shared_ptr<WatchlistMatrix> glassbox;
  std::vector<bench::ReferenceTemplate> reference;
  int speakers = 0;
  int distractors = 0;
};

Result<Watchlists> make_watchlists(const bench::BenchInputs& in, const ModelProfile& profile, int distractors) {
  Watchlists w;
  w.glassbox = std::make_shared<WatchlistMatrix>(profile.metric, profile.dimension);
  auto detector = YuNetDetector::create({});
  if (!detector) return detector.error();
  auto embedder = OnnxEmbedder::create(profile);
  if (!embedder) return embedder.error();
  auto reference = bench::ReferencePipeline::create(profile, {});
  if (!reference) return reference.error();
  std::int64_t id = 1;
  // One face, the largest, through each pipeline; a photo either cannot use is left out of both.
  auto enrol = [&](const std::string& subject, const cv::Mat& photo) -> bool {
    const Frame frame = Frame::from_bgr(photo);
    auto faces = (*detector)->detect(frame);
    if (!faces || faces->empty()) return false;
    const auto largest = std::max_element(faces->begin(), faces->end(), [](const DetectedFace& a, const DetectedFace& b) { return a.size() < b.size(); });
    auto vector = embed_face(**embedder, frame, largest->landmarks);
    auto theirs = reference->enrol(subject, photo);
    if (!vector || !theirs) return false;
    if (!w.glassbox->add({id++, subject, *vector})) return false;
    w.reference.push_back(*theirs);
    return true;
  };
  for (const fs::path& clip : in.speaker_clips) {
    auto still = still_of(clip, 1.0);
    if (!still) return still.error();
    if (!enrol("speaker " + clip.stem().string(), *still)) return Error{clip.string() + ": no face in the enrolment still"};
    ++w.speakers;
  }
  std::vector<fs::path> people;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data_dir() / "lfw" / "images", ec)) people.push_back(e.path());
  std::sort(people.begin(), people.end());
  for (const fs::path& person : people) {
    if (w.distractors >= distractors) break;
    const fs::path photo = person / (person.filename().string() + "_0001.jpg");
    auto image = read_image(photo);
    if (image && enrol("lfw " + person.filename().string(), *image)) ++w.distractors;
  }
  return w;
}

using People = std::set<std::pair<std::string, std::string>>;  // (source, subject)

json people_json(const People& people) {
  json out = json::array();
  for (const auto& [source, subject] : people) out.push_back({{"source", fs::path(source).filename().string()}, {"subject", subject}});
  return out;
}

// Throughput of `watch` (run_watch, its defaults, one worker per core) against the reference on
// the same files, and the people each found.
Result<json> compare_with_reference(const std::vector<std::string>& videos, const ModelProfile& profile, const Watchlists& watchlists,
                                    int runs) {
  std::vector<double> ours_wall, theirs_wall, theirs_same_size_wall;
  People ours_people, theirs_people, theirs_same_size_people;
  std::size_t ours_alerts = 0, theirs_hits = 0;
  SourceStats ours_stats;
  bench::ReferenceResult theirs_last;
  for (int r = 0; r < runs; ++r) {
    CollectingAlertSink sink;
    WatchOptions options;
    options.analysis.threshold = profile.threshold;
    options.jobs = std::min<int>(cores(), static_cast<int>(videos.size()));
    const auto start = Clock::now();
    auto report = run_watch(videos, profile, *watchlists.glassbox, sink, options, {});
    if (!report) return report.error();
    ours_wall.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    if (report->failed_sources() > 0) return Error{"watch failed on a benchmark clip"};
    ours_stats = report->totals();
    ours_people.clear();
    for (const Alert& a : sink.alerts()) ours_people.insert({a.source, a.subject});
    ours_alerts = sink.alerts().size();
    note("watch: " + std::to_string(ours_wall.back()) + " s");

    // The reference gets OpenCV's default threads, as a program that never sets them does.
    cv::setNumThreads(-1);
    for (const bool same_size : {false, true}) {
      bench::ReferenceOptions reference_options;
      reference_options.threshold = profile.threshold;
      if (same_size) reference_options.detect_max_side = DetectorOptions{}.max_side;
      auto reference = bench::ReferencePipeline::create(profile, reference_options);
      if (!reference) return reference.error();
      auto result = reference->run(videos, watchlists.reference);
      if (!result) return result.error();
      People& found = same_size ? theirs_same_size_people : theirs_people;
      found.clear();
      for (const auto& hit : result->hits) found.insert({hit.source, hit.subject});
      (same_size ? theirs_same_size_wall : theirs_wall).push_back(result->wall_s);
      if (!same_size) {
        theirs_hits = result->hits.size();
        theirs_last = *result;
      }
      note(std::string("reference") + (same_size ? " (detector at 640 px)" : "") + ": " + std::to_string(result->wall_s) + " s");
    }
  }
  double video_s = 0.0;
  for (const auto& v : videos) {
    auto d = VideoDecoder::open(v, {});
    if (d) video_s += (*d)->info().duration_s;
  }
  const double ours = bench::median(ours_wall), theirs = bench::median(theirs_wall), theirs_same = bench::median(theirs_same_size_wall);
  json files = json::array();
  for (const auto& v : videos) files.push_back(fs::path(v).filename().string());
  return json{{"files", files},
              {"video_s", video_s},
              {"runs", runs},
              {"glassbox", {{"wall_s", ours}, {"runs_s", ours_wall}, {"video_s_per_s", video_s / ours}, {"alerts", ours_alerts},
                            {"frames_decoded", ours_stats.frames_decoded}, {"frames_analysed", ours_stats.frames_analysed},
                            {"faces_detected", ours_stats.faces_detected}, {"faces_embedded", ours_stats.faces_embedded},
                            {"people", people_json(ours_people)}}},
              {"reference", {{"wall_s", theirs}, {"runs_s", theirs_wall}, {"video_s_per_s", video_s / theirs}, {"matched_faces", theirs_hits},
                             {"frames_decoded", theirs_last.frames_decoded}, {"frames_analysed", theirs_last.frames_analysed},
                             {"faces_embedded", theirs_last.faces_embedded}, {"people", people_json(theirs_people)}}},
              {"reference_detector_640", {{"wall_s", theirs_same}, {"runs_s", theirs_same_size_wall}, {"people", people_json(theirs_same_size_people)}}},
              {"same_people", ours_people == theirs_people},
              {"same_people_detector_640", ours_people == theirs_same_size_people},
              {"ratio", theirs / ours},
              {"ratio_detector_640", theirs_same / ours}};
}

// Camera counts tried upwards from `first` until one is not sustained (downwards if `first`
// is not); in full runs the best is tried twice more and must hold in two of three.
Result<json> find_cameras_sustained(const std::vector<std::string>& clips, const ModelProfile& profile,
                                    std::shared_ptr<const WatchlistMatrix> watchlist, int first, int detect_size, bool quick) {
  bench::CameraTrialOptions options;
  options.detect_size = detect_size;
  options.warmup_s = quick ? 4.0 : 6.0;
  options.window_s = quick ? 8.0 : 30.0;
  const int most = 24;
  json trials = json::array();
  std::map<int, std::vector<bench::CameraTrial>> by_count;
  auto trial = [&](int n) -> Result<bool> {
    options.cameras = n;
    auto t = bench::run_camera_trial(clips, profile, watchlist, options);
    if (!t) return t.error();
    note(std::to_string(n) + " cameras, detector at " + std::to_string(detect_size) + " px: decoded " + std::to_string(t->decoded_fps) + " fps, analysed " + std::to_string(t->analysed_fps) +
         " fps, dropped " + std::to_string(t->frames_dropped) + (t->sustained ? ": sustained" : ": not sustained (" + t->why_not + ")"));
    trials.push_back({{"cameras", n}, {"window_s", t->window_s}, {"decoded_fps", t->decoded_fps}, {"analysed_fps", t->analysed_fps},
                      {"frames_dropped", t->frames_dropped}, {"sustained", t->sustained}, {"why_not", t->why_not},
                      {"frame_latency_p50_ms", t->frame_latency_p50_ms}, {"frame_latency_p99_ms", t->frame_latency_p99_ms},
                      {"alerts", t->alerts}, {"alert_latency_p50_ms", t->alert_latency_p50_ms}, {"alert_latency_p99_ms", t->alert_latency_p99_ms},
                      {"memory_mib", t->memory_mib}, {"cpu_ms_per_analysed_frame", 1000.0 * t->seconds_per_frame_busy},
                      {"detect_ms_per_analysed_frame", t->detect_ms_mean}, {"embed_ms_per_analysed_frame", t->embed_ms_mean}});
    by_count[n].push_back(*t);
    return t->sustained;
  };
  int n = std::max(1, first);
  auto ok = trial(n);
  if (!ok) return ok.error();
  int best = 0;
  if (*ok) {
    best = n;
    while (best < most && !quick) {
      auto next = trial(best + 1);
      if (!next) return next.error();
      if (!*next) break;
      ++best;
    }
  } else {
    while (--n >= 1) {
      auto lower = trial(n);
      if (!lower) return lower.error();
      if (*lower) {
        best = n;
        break;
      }
      if (quick) break;
    }
  }
  if (!quick) {
    // Two of three runs at the best count, or one fewer.
    while (best > 0) {
      for (int k = 0; k < 2; ++k) {
        auto again = trial(best);
        if (!again) return again.error();
      }
      const auto& runs = by_count[best];
      if (std::count_if(runs.begin(), runs.end(), [](const auto& t) { return t.sustained; }) * 2 > static_cast<long>(runs.size())) break;
      --best;
      if (by_count[best].size() >= 3) break;
    }
  }
  json out = {{"cameras_sustained", best}, {"detect_size", detect_size}, {"trials", trials}, {"rate_fps", options.rate_fps}, {"window_s", options.window_s},
              {"queue_frames", options.queue_frames}, {"workers", options.workers}};
  // Latency and memory at the sustained count: medians over its sustained runs.
  if (best > 0) {
    std::vector<double> p50, p99, a50, a99, memory;
    for (const auto& t : by_count[best]) {
      if (!t.sustained) continue;
      p50.push_back(t.frame_latency_p50_ms);
      p99.push_back(t.frame_latency_p99_ms);
      if (t.alerts > 0) {
        a50.push_back(t.alert_latency_p50_ms);
        a99.push_back(t.alert_latency_p99_ms);
      }
      memory.push_back(t.memory_mib / t.cameras);
    }
    out["frame_latency_p50_ms"] = bench::median(p50);
    out["frame_latency_p99_ms"] = bench::median(p99);
    out["alert_latency_p50_ms"] = bench::median(a50);
    out["alert_latency_p99_ms"] = bench::median(a99);
    out["in_process_memory_per_camera_mib"] = bench::median(memory);
  }
  return out;
}

bool wanted(const BenchArgs& args, const std::string& section) {
  return args.only.empty() || std::find(args.only.begin(), args.only.end(), section) != args.only.end();
}

int run_bench(const BenchArgs& args) {
  const auto started = Clock::now();
  fs::path work = args.work.empty() ? fs::path(GLASSBOX_BUILD_DIR) / "bench" : fs::path(args.work);
  const int runs = args.quick ? 1 : 3;
  auto inputs = bench::prepare_inputs(work, args.quick, std::cerr);
  if (!inputs) {
    std::cerr << "glassbox bench: " << inputs.error().message << "\n";
    return kExitFailure;
  }
  auto profile = load_model_profile(kDefaultProfile);
  if (!profile) {
    std::cerr << "glassbox bench: " << profile.error().message << "\n";
    return kExitFailure;
  }
  json out = {{"machine", machine()}, {"quick", args.quick}, {"command", args.command_line}, {"runs_per_figure", runs}};
  json clips = json::array();
  for (const auto& c : {inputs->walking_1080p, inputs->walking_720p, inputs->talking_1080p, inputs->pedestrians_1080p})
    clips.push_back({{"name", c.name}, {"file", c.path.filename().string()}, {"seconds", c.seconds}, {"made_with", c.command}});
  out["inputs"] = clips;
  auto fail = [](const Error& e) {
    std::cerr << "glassbox bench: " << e.message << "\n";
    return kExitFailure;
  };

  if (wanted(args, "decode")) {
    note("decoding");
    auto d1080 = bench::measure_decode(inputs->walking_1080p.path.string(), args.quick ? 250 : 1500, runs);
    auto d720 = bench::measure_decode(inputs->walking_720p.path.string(), args.quick ? 250 : 1500, runs);
    if (!d1080) return fail(d1080.error());
    if (!d720) return fail(d720.error());
    out["decode"] = {{"1080p", d1080->to_json()}, {"720p", d720->to_json()}};
    out["decode_fps_1080p"] = d1080->fps_one_stream;
    out["decode_fps_720p"] = d720->fps_one_stream;
    out["decode_fps_1080p_machine"] = d1080->fps_machine;
    out["decode_streams_1080p25_machine"] = d1080->fps_machine / 25.0;
  }
  if (wanted(args, "detect")) {
    note("detecting");
    json detect = json::object(), fps = json::object();
    for (int side : {320, 480, 640, 960}) {
      auto d = bench::measure_detect(inputs->talking_1080p.path.string(), args.quick ? 20 : 40, side, runs, inputs->group_photos);
      if (!d) return fail(d.error());
      detect[std::to_string(side)] = d->to_json();
      fps[std::to_string(side)] = d->fps_one_thread;
    }
    out["detect"] = detect;
    out["detect_fps"] = fps;
  }
  if (wanted(args, "embed")) {
    note("embedding");
    json embed = json::object();
    for (const char* name : {"dlib_resnet", "mobilefacenet"}) {
      auto p = load_model_profile(name);
      if (!p) return fail(p.error());
      auto e = bench::measure_embed(*p, inputs->group_photos, args.quick ? 32 : 128, args.quick ? 1 : 5);
      if (!e) return fail(e.error());
      embed[name] = e->to_json();
      if (std::string(name) == kDefaultProfile) out["embed_faces_per_s"] = e->machine_faces_per_s;
    }
    out["embed"] = embed;
  }
  std::optional<Watchlists> watchlists;
  if (wanted(args, "cameras") || wanted(args, "reference")) {
    note("enrolling the watchlist");
    auto w = make_watchlists(*inputs, *profile, args.quick ? 50 : 1000);
    if (!w) return fail(w.error());
    watchlists = std::move(*w);
    out["watchlist"] = {{"speakers", watchlists->speakers}, {"lfw_distractors", watchlists->distractors}};
  }
  if (wanted(args, "cameras")) {
    note("cameras");
    std::vector<std::string> clips_played;
    for (const auto& c : inputs->cameras()) clips_played.push_back(c.path.string());
    // The service's default detector size, then a smaller one (faces from about 43 px at 1080p
    // instead of 32): what the machine sustains with each.
    auto c = find_cameras_sustained(clips_played, *profile, watchlists->glassbox, args.cameras > 0 ? args.cameras : (args.quick ? 8 : 6),
                                    DetectorOptions{}.max_side, args.quick);
    if (!c) return fail(c.error());
    out["cameras"] = *c;
    out["cameras_sustained"] = (*c)["cameras_sustained"];
    if (c->contains("frame_latency_p50_ms")) {
      out["latency_ms"] = {{"frame_p50", (*c)["frame_latency_p50_ms"]}, {"frame_p99", (*c)["frame_latency_p99_ms"]},
                           {"alert_p50", (*c)["alert_latency_p50_ms"]}, {"alert_p99", (*c)["alert_latency_p99_ms"]}};
    }
    // Memory per camera of the service itself, at the sustained count.
    const int measured = std::max(1, (*c)["cameras_sustained"].get<int>());
    auto memory = bench::service_memory_per_camera(clips_played, measured, args.quick ? 4.0 : 15.0);
    if (!memory) return fail(memory.error());
    out["memory_per_camera_mib"] = *memory;
    out["memory"] = {{"cameras", measured}, {"per_camera_mib", *memory},
                     {"how", "glassbox serve with that many looped cameras, resident memory less that with none, per camera"}};
    if (!args.quick) {
      auto smaller = find_cameras_sustained(clips_played, *profile, watchlists->glassbox, std::max(1, (*c)["cameras_sustained"].get<int>() + 1),
                                            480, false);
      if (!smaller) return fail(smaller.error());
      out["cameras_detect_480"] = *smaller;
      out["cameras_sustained_detect_480"] = (*smaller)["cameras_sustained"];
    }
  }
  if (wanted(args, "reference")) {
    note("reference pipeline");
    std::vector<std::string> videos = {inputs->talking_1080p.path.string()};
    if (!args.quick) videos.insert(videos.end(), {inputs->pedestrians_1080p.path.string(), inputs->walking_1080p.path.string()});
    auto r = compare_with_reference(videos, *profile, *watchlists, runs);
    if (!r) return fail(r.error());
    out["reference"] = *r;
    out["reference_ratio"] = (*r)["ratio"];
  }
  if (wanted(args, "match")) {
    note("matching");
    json match = json::object(), ms = json::object(), batched = json::object();
    for (std::size_t n : {std::size_t{1000}, std::size_t{10000}, std::size_t{100000}, std::size_t{1000000}}) {
      auto m = bench::measure_match(n, n >= 1000000 ? (args.quick ? 24 : 64) : (args.quick ? 64 : 256), runs);
      if (!m) return fail(m.error());
      match[std::to_string(n)] = m->to_json();
      ms[std::to_string(n)] = m->single_ms_all_cores;
      batched[std::to_string(n)] = m->batched_ms_per_probe;
      note(std::to_string(n) + " templates: " + std::to_string(m->single_ms_all_cores) + " ms per probe, " +
           std::to_string(m->batched_ms_per_probe) + " ms per probe batched");
    }
    out["match"] = match;
    out["match_ms_per_probe"] = ms;
    out["match_ms_per_probe_batched"] = batched;
  }
  out["bench_wall_s"] = std::chrono::duration<double>(Clock::now() - started).count();
  std::ofstream file(args.out);
  file << out.dump(2) << "\n";
  if (!file) {
    std::cerr << "glassbox bench: cannot write " << args.out << "\n";
    return kExitFailure;
  }
  // The headline figures on stdout.
  for (const char* key : {"decode_fps_1080p", "decode_fps_1080p_machine", "embed_faces_per_s", "cameras_sustained", "cameras_sustained_detect_480",
                          "reference_ratio", "memory_per_camera_mib"})
    if (out.contains(key)) std::cout << key << ": " << out[key].dump() << "\n";
  for (const char* key : {"detect_fps", "match_ms_per_probe", "match_ms_per_probe_batched", "latency_ms"})
    if (out.contains(key)) std::cout << key << ": " << out[key].dump() << "\n";
  std::cout << "written to " << args.out << " in " << static_cast<int>(out["bench_wall_s"].get<double>()) << " s\n";
  return kExitOk;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<BenchArgs>();
  auto* bench = app.add_subcommand("bench", "Measure every stage, live cameras sustained and the ratio to a plain OpenCV pipeline (docs/PERFORMANCE.md)");
  bench->add_flag("--quick", args->quick, "A smoke run: shorter inputs, one run per figure, under two minutes");
  bench->add_option("--out", args->out, "Where the figures go, as JSON")->required();
  bench->add_option("--work", args->work, "Folder for the inputs made from the shared footage (default: BUILD/bench)");
  bench->add_option("--cameras", args->cameras, "Camera count tried first (default 8 quick, 6 full)")->check(CLI::Range(1, 64));
  bench->add_option("--only", args->only, "Only these sections: decode detect embed cameras reference match")
      ->delimiter(',')
      ->check(CLI::IsMember({"decode", "detect", "embed", "cameras", "reference", "match"}));
  bench->callback([args, bench, &exit_status] {
    args->command_line = "glassbox bench" + std::string(args->quick ? " --quick" : "") + " --out " + args->out;
    if (!args->only.empty()) {
      std::string list;
      for (const auto& s : args->only) list += (list.empty() ? "" : ",") + s;
      args->command_line += " --only " + list;
    }
    (void)bench;
    exit_status = run_bench(*args);
  });
}

}  // namespace glassbox::cli
