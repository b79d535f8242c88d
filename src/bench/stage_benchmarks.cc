#include "bench/stage_benchmarks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include <opencv2/core.hpp>

#include "align/similarity.h"
#include "detect/yunet_detector.h"
#include "embed/embed_face.h"
#include "embed/onnx_embedder.h"
#include "ingest/image_sources.h"
#include "ingest/video_decoder.h"
#include "match/watchlist_matrix.h"

namespace glassbox::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

// Frames `every` apart from the start of a clip, at most `count`, held as the decoder gave them.
Result<std::vector<Frame>> sample_frames(const std::string& clip, int count, int every) {
  auto decoder = VideoDecoder::open(clip, {});
  if (!decoder) return decoder.error();
  std::vector<Frame> frames;
  for (int i = 0; static_cast<int>(frames.size()) < count; ++i) {
    auto t = (*decoder)->next();
    if (!t) return t.error();
    if (!t->has_value()) break;
    if (i % every != 0) continue;
    auto f = (*decoder)->frame();
    if (!f) return f.error();
    frames.push_back(*f);
  }
  if (frames.empty()) return Error{clip + ": no frame"};
  return frames;
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

nlohmann::json DecodeFigures::to_json() const {
  return {{"fps_one_stream", fps_one_stream}, {"fps_machine", fps_machine}, {"frames_per_run", frames}};
}

Result<DecodeFigures> measure_decode(const std::string& clip, int max_frames, int runs) {
  auto decode = [&]() -> Result<std::int64_t> {
    auto decoder = VideoDecoder::open(clip, {});
    if (!decoder) return decoder.error();
    std::int64_t frames = 0;
    while (frames < max_frames) {
      auto t = (*decoder)->next();
      if (!t) return t.error();
      if (!t->has_value()) break;
      ++frames;
    }
    return frames;
  };
  DecodeFigures out;
  std::vector<double> one, machine;
  for (int r = 0; r < runs; ++r) {
    auto start = Clock::now();
    auto frames = decode();
    if (!frames) return frames.error();
    out.frames = *frames;
    one.push_back(static_cast<double>(*frames) / seconds_since(start));
    // One stream per core at once: what the machine decodes in total.
    start = Clock::now();
    std::vector<std::thread> threads;
    std::vector<std::int64_t> counts(static_cast<std::size_t>(cores()), 0);
    for (int c = 0; c < cores(); ++c)
      threads.emplace_back([&, c] {
        auto n = decode();
        counts[static_cast<std::size_t>(c)] = n ? *n : 0;
      });
    for (auto& t : threads) t.join();
    std::int64_t total = 0;
    for (auto n : counts) total += n;
    machine.push_back(static_cast<double>(total) / seconds_since(start));
  }
  out.fps_one_stream = median(one);
  out.fps_machine = median(machine);
  return out;
}

nlohmann::json DetectFigures::to_json() const {
  return {{"max_side", max_side},           {"input", std::to_string(input.width) + "x" + std::to_string(input.height)},
          {"ms_per_frame", ms_per_frame},   {"fps_one_thread", fps_one_thread},
          {"faces_per_frame", faces_per_frame}, {"group_photo_faces", group_photo_faces}};
}

Result<DetectFigures> measure_detect(const std::string& clip, int frame_count, int max_side, int runs,
                                     const std::vector<std::filesystem::path>& group_photos) {
  auto frames = sample_frames(clip, frame_count, 5);
  if (!frames) return frames.error();
  DetectorOptions options;
  options.max_side = max_side;
  auto detector = YuNetDetector::create(options);
  if (!detector) return detector.error();
  cv::setNumThreads(1);
  DetectFigures out;
  out.max_side = max_side;
  out.input = (*detector)->input_size_for(frames->front().size());
  (void)(*detector)->detect(frames->front());  // warm-up: the network's buffers for this size
  std::vector<double> per_run;
  std::int64_t faces = 0;
  for (int r = 0; r < runs; ++r) {
    std::vector<double> times;
    faces = 0;
    for (const Frame& f : *frames) {
      const auto start = Clock::now();
      auto found = (*detector)->detect(f);
      times.push_back(seconds_since(start));
      if (!found) return found.error();
      faces += static_cast<std::int64_t>(found->size());
    }
    per_run.push_back(median(times));
  }
  out.ms_per_frame = 1000.0 * median(per_run);
  out.fps_one_thread = out.ms_per_frame > 0 ? 1000.0 / out.ms_per_frame : 0.0;
  out.faces_per_frame = static_cast<double>(faces) / static_cast<double>(frames->size());
  for (const auto& photo : group_photos) {
    auto image = read_image(photo);
    if (!image) return image.error();
    auto found = (*detector)->detect(Frame::from_bgr(*image));
    if (found) out.group_photo_faces += static_cast<int>(found->size());
  }
  return out;
}

nlohmann::json EmbedFigures::to_json() const {
  return {{"profile", profile},
          {"max_batch", max_batch},
          {"single_faces_per_s", single_faces_per_s},
          {"batched_faces_per_s", batched_faces_per_s},
          {"machine_faces_per_s", machine_faces_per_s},
          {"faces_per_run", faces}};
}

Result<EmbedFigures> measure_embed(const ModelProfile& profile, const std::vector<std::filesystem::path>& group_photos,
                                   int faces_per_run, int runs) {
  auto detector = YuNetDetector::create({});
  if (!detector) return detector.error();
  auto aligner = make_face_aligner(profile.alignment, profile.input_size);
  if (!aligner) return aligner.error();
  std::vector<cv::Mat> found;
  for (const auto& photo : group_photos) {
    auto image = read_image(photo);
    if (!image) return image.error();
    const Frame frame = Frame::from_bgr(*image);
    auto faces = (*detector)->detect(frame);
    if (!faces) return faces.error();
    for (const auto& f : *faces) found.push_back((*aligner)->align(frame, f.landmarks));
  }
  if (found.empty()) return Error{"no face in the group photos to embed"};
  std::vector<cv::Mat> chips;
  while (static_cast<int>(chips.size()) < faces_per_run) chips.push_back(found[chips.size() % found.size()]);

  std::vector<std::unique_ptr<OnnxEmbedder>> embedders;
  for (int c = 0; c < cores(); ++c) {
    auto e = OnnxEmbedder::create(profile);
    if (!e) return e.error();
    embedders.push_back(std::move(*e));
  }
  cv::setNumThreads(1);
  EmbedFigures out;
  out.profile = profile.name;
  out.max_batch = embedders.front()->max_batch();
  out.faces = faces_per_run;
  auto batched = [&](OnnxEmbedder& e) {
    for (std::size_t i = 0; i < chips.size(); i += OnnxEmbedder::kMaxBatch) {
      const std::vector<cv::Mat> batch(chips.begin() + static_cast<std::ptrdiff_t>(i),
                                       chips.begin() + static_cast<std::ptrdiff_t>(std::min(chips.size(), i + OnnxEmbedder::kMaxBatch)));
      (void)e.embed_batch(batch);
    }
  };
  (void)embedders.front()->embed(chips.front());  // warm-up
  std::vector<double> single, batch, machine;
  for (int r = 0; r < runs; ++r) {
    auto start = Clock::now();
    for (const cv::Mat& chip : chips) (void)embedders.front()->embed(chip);
    single.push_back(static_cast<double>(chips.size()) / seconds_since(start));
    start = Clock::now();
    batched(*embedders.front());
    batch.push_back(static_cast<double>(chips.size()) / seconds_since(start));
    start = Clock::now();
    std::vector<std::thread> threads;
    for (auto& e : embedders) threads.emplace_back([&, p = e.get()] { batched(*p); });
    for (auto& t : threads) t.join();
    machine.push_back(static_cast<double>(chips.size() * embedders.size()) / seconds_since(start));
  }
  out.single_faces_per_s = median(single);
  out.batched_faces_per_s = median(batch);
  out.machine_faces_per_s = median(machine);
  return out;
}

nlohmann::json MatchFigures::to_json() const {
  return {{"templates", templates},
          {"single_ms", single_ms},
          {"single_ms_all_cores", single_ms_all_cores},
          {"batched_ms_per_probe", batched_ms_per_probe},
          {"probes_per_s", probes_per_s},
          {"float_scan_ms", float_scan_ms},
          {"probes_checked", probes_checked},
          {"disagreements", disagreements},
          {"candidates_per_probe", candidates_per_probe},
          {"rescans_per_probe", rescans_per_probe},
          {"template_mib", template_mib}};
}

Result<MatchFigures> measure_match(std::size_t templates, int probe_count, int runs) {
  constexpr int kDim = 128;
  constexpr double kThreshold = 0.42;  // dlib_resnet's
  // dlib-like: between two people about 0.9 apart, two views of one person about 0.35.
  constexpr float kSpread = 0.9f / 16.0f, kViewNoise = 0.35f / 11.3f;
  cv::RNG rng(20261202);
  cv::Mat rows(static_cast<int>(templates), kDim, CV_32F);
  rng.fill(rows, cv::RNG::NORMAL, 0.0, kSpread);
  WatchlistMatrix matrix(Metric::kEuclidean, kDim);
  matrix.reserve(templates);
  std::vector<float> row(kDim);
  for (int r = 0; r < rows.rows; ++r) {
    const float* p = rows.ptr<float>(r);
    row.assign(p, p + kDim);
    if (auto s = matrix.add({r, {}, row}); !s) return s.error();
  }
  std::vector<std::vector<float>> probes;
  for (int i = 0; i < probe_count; ++i) {
    cv::Mat v(1, kDim, CV_32F);
    if (i % 2 == 0) {
      cv::Mat noise(1, kDim, CV_32F);
      rng.fill(noise, cv::RNG::NORMAL, 0.0, kViewNoise);
      v = rows.row(static_cast<int>(rng.uniform(0, rows.rows))) + noise;
    } else {
      rng.fill(v, cv::RNG::NORMAL, 0.0, kSpread);
    }
    probes.emplace_back(v.ptr<float>(), v.ptr<float>() + kDim);
  }
  // The scan as it was before the 4-bit copy: every row, in double precision.
  auto float_scan = [&](const std::vector<float>& probe) -> std::optional<std::int64_t> {
    double probe_sq = 0.0;
    for (float x : probe) probe_sq += static_cast<double>(x) * x;
    std::optional<std::int64_t> best;
    double best_d = 0.0;
    for (int r = 0; r < rows.rows; ++r) {
      const float* t = rows.ptr<float>(r);
      double dot = 0.0, sq = 0.0;
      for (int k = 0; k < kDim; ++k) {
        dot += static_cast<double>(t[k]) * probe[static_cast<std::size_t>(k)];
        sq += static_cast<double>(t[k]) * t[k];
      }
      const double d = std::sqrt(std::max(0.0, probe_sq + sq - 2.0 * dot));
      if (!best || d < best_d) best = r, best_d = d;
    }
    if (!best || best_d > kThreshold) return std::nullopt;
    return best;
  };

  MatchFigures out;
  out.templates = templates;
  out.template_mib = static_cast<double>(matrix.template_bytes()) / (1024.0 * 1024.0);
  std::vector<double> single_runs, all_cores_runs, batched_runs;
  MatchWork work;
  for (int r = 0; r < runs; ++r) {
    std::vector<double> single, all_cores;
    for (const auto& p : probes) {
      auto start = Clock::now();
      (void)matrix.best_matches({p}, kThreshold, {}, 1, &work);
      single.push_back(seconds_since(start));
      start = Clock::now();
      (void)matrix.best_matches({p}, kThreshold, {}, cores());
      all_cores.push_back(seconds_since(start));
    }
    single_runs.push_back(median(single));
    all_cores_runs.push_back(median(all_cores));
    const auto start = Clock::now();
    for (std::size_t i = 0; i < probes.size(); i += 8) {
      const std::vector<std::vector<float>> batch(probes.begin() + static_cast<std::ptrdiff_t>(i),
                                                  probes.begin() + static_cast<std::ptrdiff_t>(std::min(probes.size(), i + 8)));
      (void)matrix.best_matches(batch, kThreshold, {}, cores());
    }
    batched_runs.push_back(seconds_since(start) / static_cast<double>(probes.size()));
  }
  out.single_ms = 1000.0 * median(single_runs);
  out.single_ms_all_cores = 1000.0 * median(all_cores_runs);
  out.batched_ms_per_probe = 1000.0 * median(batched_runs);
  out.probes_per_s = out.batched_ms_per_probe > 0 ? 1000.0 / out.batched_ms_per_probe : 0.0;
  const double searched = static_cast<double>(probes.size()) * runs;
  out.candidates_per_probe = static_cast<double>(work.candidates) / searched;
  out.rescans_per_probe = static_cast<double>(work.rescans) / searched;
  // Exactness against the old scan, and its speed: a few probes for the largest lists.
  const std::size_t checked = std::min(probes.size(), templates >= 1000000 ? std::size_t{6} : std::size_t{40});
  std::vector<double> float_times;
  for (std::size_t i = 0; i < checked; ++i) {
    const auto start = Clock::now();
    const auto expected = float_scan(probes[i]);
    float_times.push_back(seconds_since(start));
    const auto got = matrix.best_match(probes[i], kThreshold);
    ++out.probes_checked;
    if (expected.has_value() != got.has_value() || (got && got->entry_id != *expected)) ++out.disagreements;
  }
  out.float_scan_ms = 1000.0 * median(float_times);
  return out;
}

}  // namespace glassbox::bench
