#include "eval/lfw_evaluation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "embed/model_profile.h"
#include "enroll/enrollment.h"
#include "eval/lfw_protocol.h"
#include "eval/photo_templates.h"
#include "eval/svg_plot.h"
#include "eval/template_cache.h"
#include "eval/threshold_calibration.h"
#include "eval/view_checks.h"

namespace glassbox::eval {
namespace {

using Clock = std::chrono::steady_clock;

// Similarity with "higher is the same person" for either metric: the profile's own score, with
// a distance's sign turned.
double similarity(Metric metric, const Vector& a, const Vector& b) {
  const double score = native_score(metric, a, b);
  return metric == Metric::kCosine ? score : -score;
}

// A similarity threshold back in the profile's own units (a distance for euclidean).
double native_threshold(Metric metric, double similarity_threshold) {
  return metric == Metric::kEuclidean ? -similarity_threshold : similarity_threshold;
}

double round6(double v) { return std::round(v * 1e6) / 1e6; }

struct Photos {
  std::vector<std::filesystem::path> paths;
  std::map<std::filesystem::path, std::size_t> index;
  std::size_t add(const std::filesystem::path& p) {
    auto [it, inserted] = index.emplace(p, paths.size());
    if (inserted) paths.push_back(p);
    return it->second;
  }
};

// The identification split: gallery = photo 1 of each person with 2+ photos, mated probes =
// their other photos, non-mated probes = photo 1 of each person with a single photo.
struct IdentificationSplit {
  std::vector<std::size_t> gallery;                         // photo index per gallery person
  std::vector<std::pair<std::size_t, std::size_t>> mated;   // (photo, gallery position)
  std::vector<std::size_t> non_mated;
  std::vector<std::size_t> relabelled;  // one-photo people known to be a gallery person under another name
};

// Folder names listed as the same person as another folder (see docs/accuracy/lfw-same-person.tsv).
Result<std::set<std::string>> read_same_person_list(const std::filesystem::path& path) {
  std::set<std::string> names;
  if (path.empty()) return names;
  std::ifstream in(path);
  if (!in) return Error{path.string() + ": cannot read the same-person list"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string a, b;
    if (!(fields >> a >> b)) return Error{path.string() + ": expected two names per line: '" + line + "'"};
    names.insert(a);
    names.insert(b);
  }
  return names;
}

// Scores a photo pair for one "system" (a profile, or the fusion).
using PairScore = std::function<double(std::size_t, std::size_t)>;

struct Templates {
  std::vector<ModelProfile> profiles;
  std::vector<std::vector<Vector>> by_profile;  // [profile][photo]
  std::vector<FaceChoice> choice;               // [photo]
  std::vector<std::optional<FaceQuality>> quality;  // [photo]: of the face used; none for a centred crop
};

// A profile's templates are cached under its name and everything that changes its chips.
std::string cache_profile_key(const ModelProfile& profile) { return profile.name + "|" + profile.alignment.key(); }
// The face's quality is cached beside its templates, under its own key ({-1}: no face detected).
constexpr const char* kQualityCacheKey = "face_quality|v1";

Status extract_all(const LfwEvalOptions& options, const Photos& photos, Templates& t, LfwEvalOutput& out) {
  const std::size_t n = photos.paths.size();
  t.by_profile.assign(t.profiles.size(), std::vector<Vector>(n));
  t.choice.assign(n, FaceChoice::kSingleFace);
  t.quality.assign(n, std::nullopt);
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int jobs = std::clamp(options.jobs > 0 ? options.jobs : cores, 1, 64);
  std::atomic<std::size_t> next{0}, done{0}, cached{0};
  std::mutex error_mutex;
  std::optional<Error> first_error;
  const auto started = Clock::now();

  auto work = [&](PhotoTemplateExtractor* extractor, TemplateCache* cache) {
    while (true) {
      const std::size_t i = next.fetch_add(1);
      if (i >= n) return;
      {
        std::lock_guard lock(error_mutex);
        if (first_error) return;
      }
      const auto& path = photos.paths[i];
      std::string digest;
      bool all_cached = cache != nullptr;
      if (cache != nullptr) {
        auto sha = sha256_file(path);
        if (!sha) {
          std::lock_guard lock(error_mutex);
          first_error = sha.error();
          return;
        }
        digest = *sha;
        for (std::size_t p = 0; p < t.profiles.size() && all_cached; ++p) {
          auto hit = cache->get(digest, cache_profile_key(t.profiles[p]));
          if (!hit) {
            all_cached = false;
            break;
          }
          t.by_profile[p][i] = std::move(hit->vector);
          t.choice[i] = hit->choice;
        }
        if (all_cached) {
          auto hit = cache->get(digest, kQualityCacheKey);
          all_cached = hit.has_value();
          if (hit) t.quality[i] = quality_from_vector(hit->vector);
        }
      }
      if (all_cached) {
        ++cached;
      } else {
        auto extracted = extractor->extract(path);
        if (!extracted) {
          std::lock_guard lock(error_mutex);
          first_error = extracted.error();
          return;
        }
        t.choice[i] = extracted->choice;
        t.quality[i] = extracted->quality;
        if (cache != nullptr)
          (void)cache->put(digest, kQualityCacheKey, {extracted->choice, extracted->quality ? quality_to_vector(*extracted->quality) : std::vector<float>{-1.0f}});
        for (std::size_t p = 0; p < t.profiles.size(); ++p) {
          if (cache != nullptr) (void)cache->put(digest, cache_profile_key(t.profiles[p]), {extracted->choice, extracted->templates[p]});
          t.by_profile[p][i] = std::move(extracted->templates[p]);
        }
      }
      ++done;
    }
  };

  std::vector<std::unique_ptr<PhotoTemplateExtractor>> extractors;
  std::vector<std::unique_ptr<TemplateCache>> caches;
  for (int j = 0; j < jobs; ++j) {
    auto extractor = PhotoTemplateExtractor::create(t.profiles);
    if (!extractor) return extractor.error();
    extractors.push_back(std::move(*extractor));
    if (!options.cache_path.empty()) {
      auto cache = TemplateCache::open(options.cache_path.string());
      if (!cache) return cache.error();
      caches.push_back(std::move(*cache));
    }
  }
  cv::setNumThreads(std::max(1, cores / jobs));
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j)
    threads.emplace_back(work, extractors[static_cast<std::size_t>(j)].get(), caches.empty() ? nullptr : caches[static_cast<std::size_t>(j)].get());
  auto last_report = Clock::now();
  while (done.load() < n) {
    {
      std::lock_guard lock(error_mutex);
      if (first_error) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (options.on_progress && Clock::now() - last_report > std::chrono::seconds(5)) {
      last_report = Clock::now();
      options.on_progress(done.load(), n, cached.load());
    }
  }
  for (auto& th : threads) th.join();
  if (first_error) return *first_error;
  if (options.on_progress) options.on_progress(n, n, cached.load());
  out.extraction_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  out.photos_from_cache = cached.load();
  return ok_status();
}

nlohmann::json rates_json(const std::map<std::string, OperatingPoint>& points, const std::function<double(double)>& to_native) {
  nlohmann::json rate = nlohmann::json::object(), threshold = nlohmann::json::object(), achieved = nlohmann::json::object();
  for (const auto& [key, p] : points) {
    rate[key] = round6(p.rate);
    threshold[key] = round6(to_native(p.threshold));
    achieved[key] = round6(p.achieved);
  }
  return {{"rate", rate}, {"threshold", threshold}, {"achieved", achieved}};
}

struct SystemResult {
  nlohmann::json json;
  std::vector<CurvePoint> roc, det;
};

SystemResult evaluate_system(const std::string& name, const std::string& kind, const std::string& units,
                             const std::function<double(double)>& to_native, const std::vector<LfwPair>& pairs,
                             const std::vector<std::pair<std::size_t, std::size_t>>& pair_photos, int folds,
                             const std::function<PairScore(int test_fold)>& scorer_for_fold, const PairScore& scorer,
                             const IdentificationSplit& split, const std::vector<std::size_t>& growth_sizes) {
  SystemResult r;
  // Verification.
  const KFoldResult kfold = kfold_accuracy(pairs, folds, [&](int k) {
    const PairScore score = scorer_for_fold(k);
    std::vector<double> s(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) s[i] = score(pair_photos[i].first, pair_photos[i].second);
    return s;
  });
  std::vector<double> genuine, impostor;
  for (std::size_t i = 0; i < pairs.size(); ++i)
    (pairs[i].same ? genuine : impostor).push_back(scorer(pair_photos[i].first, pair_photos[i].second));
  std::map<std::string, OperatingPoint> tar;
  for (double far : {1e-2, 1e-3}) tar[rate_key(far)] = tar_at_far(genuine, impostor, far);
  r.roc = roc_curve(genuine, impostor);
  nlohmann::json fold_accuracy = nlohmann::json::array();
  for (double a : kfold.fold_accuracy) fold_accuracy.push_back(round6(a));
  const auto tar_json = rates_json(tar, to_native);

  // Identification: each probe scored against the whole gallery once; the best over each
  // prefix of the gallery gives the smaller galleries of the growth curve.
  std::vector<std::vector<ProbeOutcome>> mated_by_size(growth_sizes.size()), non_mated_by_size(growth_sizes.size());
  auto probe = [&](std::size_t photo, std::optional<std::size_t> mate, bool mated) {
    double best = -1e300;
    std::size_t best_pos = 0, size_index = 0;
    for (std::size_t g = 0; g < split.gallery.size(); ++g) {
      const double s = scorer(photo, split.gallery[g]);
      if (s > best) best = s, best_pos = g;
      while (size_index < growth_sizes.size() && g + 1 == growth_sizes[size_index]) {
        if (!mated) {
          non_mated_by_size[size_index].push_back({best, false});
        } else if (*mate < growth_sizes[size_index]) {
          mated_by_size[size_index].push_back({best, best_pos == *mate});
        }
        ++size_index;
      }
    }
  };
  for (const auto& [photo, mate] : split.mated) probe(photo, mate, true);
  for (std::size_t photo : split.non_mated) probe(photo, std::nullopt, false);
  // The raw protocol keeps the relabelled people among the non-mated probes.
  std::vector<ProbeOutcome> non_mated_raw = non_mated_by_size.back();
  for (std::size_t photo : split.relabelled) {
    double best = -1e300;
    for (std::size_t g = 0; g < split.gallery.size(); ++g) best = std::max(best, scorer(photo, split.gallery[g]));
    non_mated_raw.push_back({best, false});
  }
  nlohmann::json growth = nlohmann::json::array();
  IdentificationResult full;
  for (std::size_t s = 0; s < growth_sizes.size(); ++s) {
    const IdentificationResult id = identification_metrics(growth_sizes[s], mated_by_size[s], non_mated_by_size[s]);
    const auto fnir = rates_json(id.fnir_at_fpir, to_native);
    growth.push_back({{"gallery", id.gallery}, {"mated_probes", id.mated}, {"rank1", round6(id.rank1)}, {"fnir_at_fpir", fnir["rate"]}});
    if (s + 1 == growth_sizes.size()) full = id;
  }
  r.det = full.det;
  const auto fnir_json = rates_json(full.fnir_at_fpir, to_native);
  const auto raw = identification_metrics(full.gallery, mated_by_size.back(), non_mated_raw);
  const auto raw_json = rates_json(raw.fnir_at_fpir, to_native);
  r.json = {{"profile", name},
            {"kind", kind},
            {"score_units", units},
            {"verification",
             {{"pairs", pairs.size()},
              {"folds", folds},
              {"accuracy_mean", round6(kfold.mean)},
              {"accuracy_std", round6(kfold.stddev)},
              {"fold_accuracy", fold_accuracy},
              {"tar_at_far", tar_json["rate"]},
              {"threshold_at_far", tar_json["threshold"]},
              {"far_achieved", tar_json["achieved"]}}},
            {"identification",
             {{"gallery", full.gallery},
              {"mated_probes", full.mated},
              {"non_mated_probes", full.non_mated},
              {"rank1", round6(full.rank1)},
              {"fnir_at_fpir", fnir_json["rate"]},
              {"threshold_at_fpir", fnir_json["threshold"]},
              {"fpir_achieved", fnir_json["achieved"]},
              {"gallery_growth", growth},
              {"raw_with_relabelled",
               {{"non_mated_probes", raw.non_mated}, {"fnir_at_fpir", raw_json["rate"]}, {"threshold_at_fpir", raw_json["threshold"]}}}}}};
  return r;
}

}  // namespace

Result<LfwEvalOutput> run_lfw_evaluation(const LfwEvalOptions& options) {
  if (options.profiles.empty()) return Error{"no profile to evaluate"};
  if (options.folds < 2 || options.folds > 10) return Error{"--limit-folds must be 2..10 (a threshold is chosen on the other folds)"};
  std::ifstream pairs_file(options.lfw_dir / "pairs.txt");
  if (!pairs_file) return Error{(options.lfw_dir / "pairs.txt").string() + ": cannot read (point --data at the LFW folder)"};
  std::stringstream pairs_text;
  pairs_text << pairs_file.rdbuf();
  auto all_pairs = parse_pairs(pairs_text.str());
  if (!all_pairs) return all_pairs.error();
  const auto images = options.lfw_dir / "images";
  auto people = list_people(images);
  if (!people) return people.error();

  Templates t;
  for (const auto& name : options.profiles) {
    auto p = load_model_profile(name);
    if (!p) return p.error();
    t.profiles.push_back(*p);
  }

  Photos photos;
  std::vector<LfwPair> pairs;
  std::vector<std::pair<std::size_t, std::size_t>> pair_photos;
  for (const LfwPair& p : *all_pairs) {
    if (p.fold >= options.folds) continue;
    pairs.push_back(p);
    pair_photos.emplace_back(photos.add(lfw_photo(images, p.name_a, p.index_a)), photos.add(lfw_photo(images, p.name_b, p.index_b)));
  }
  auto same_person = read_same_person_list(options.same_person_list);
  if (!same_person) return same_person.error();
  IdentificationSplit split;
  for (const auto& [name, count] : *people) {
    if (count >= 2) {
      if (options.gallery_limit > 0 && static_cast<int>(split.gallery.size()) >= options.gallery_limit) continue;
      const std::size_t position = split.gallery.size();
      split.gallery.push_back(photos.add(lfw_photo(images, name, 1)));
      for (int i = 2; i <= count; ++i) split.mated.emplace_back(photos.add(lfw_photo(images, name, i)), position);
    } else if (options.distractor_limit == 0 ||
               static_cast<int>(split.non_mated.size() + split.relabelled.size()) < options.distractor_limit) {
      (same_person->count(name) ? split.relabelled : split.non_mated).push_back(photos.add(lfw_photo(images, name, 1)));
    }
  }
  for (const auto& path : photos.paths) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return Error{path.string() + ": missing from the LFW folder"};
  }

  LfwEvalOutput out;
  if (auto s = extract_all(options, photos, t, out); !s) return s.error();

  // Detection failures, counted per photo and per pair.
  std::size_t centred = 0, several = 0, pairs_centred = 0, pairs_several = 0;
  for (FaceChoice c : t.choice) {
    centred += c == FaceChoice::kCentredCrop;
    several += c == FaceChoice::kCentreOfSeveral;
  }
  for (const auto& [a, b] : pair_photos) {
    pairs_centred += t.choice[a] == FaceChoice::kCentredCrop || t.choice[b] == FaceChoice::kCentredCrop;
    pairs_several += t.choice[a] == FaceChoice::kCentreOfSeveral || t.choice[b] == FaceChoice::kCentreOfSeveral;
  }
  const nlohmann::json failures = {{"photos", photos.paths.size()},
                                   {"no_face_scored_on_centred_crop", centred},
                                   {"several_faces_centre_one_used", several},
                                   {"pairs_with_a_centred_crop", pairs_centred},
                                   {"pairs_with_a_several_faces_photo", pairs_several},
                                   {"how", "no face: embedded from fixed landmarks of LFW's average face at the photo's centre; "
                                           "several faces: the face whose box centre is nearest the photo's centre"}};

  std::vector<std::size_t> growth;
  for (std::size_t g : {std::size_t{100}, std::size_t{500}}) if (g < split.gallery.size()) growth.push_back(g);
  growth.push_back(split.gallery.size());

  std::vector<PlotSeries> roc_series, det_series;
  out.results = nlohmann::json::array();
  for (std::size_t p = 0; p < t.profiles.size(); ++p) {
    const ModelProfile& profile = t.profiles[p];
    const auto& vectors = t.by_profile[p];
    const PairScore score = [&](std::size_t a, std::size_t b) { return similarity(profile.metric, vectors[a], vectors[b]); };
    auto to_native = [&](double s) { return native_threshold(profile.metric, s); };
    auto r = evaluate_system(profile.name, "profile", metric_name(profile.metric), to_native, pairs, pair_photos, options.folds,
                             [&](int) { return score; }, score, split, growth);
    r.json["detection_failures"] = failures;
    r.json["profile_threshold"] = profile.threshold;
    // Thresholds by list size: the calibration is measured on every other one-photo person, and
    // checked with the others as the people not on the lists.
    std::vector<std::size_t> calibration_people, check_people;
    std::vector<std::pair<std::size_t, std::size_t>> closest_pairs;
    for (std::size_t i = 0; i < split.non_mated.size(); ++i) (i % 2 == 0 ? calibration_people : check_people).push_back(split.non_mated[i]);
    const std::size_t comparisons = calibration_people.size() * (calibration_people.size() - 1) / 2;
    auto calibration = measure_false_match_rates(
        profile.metric, vectors, calibration_people,
        "LFW deep-funneled, every pair of " + std::to_string(calibration_people.size()) + " one-photo people (every other one in name order): " +
            std::to_string(comparisons) + " impostor comparisons, glassbox eval lfw",
        &closest_pairs);
    if (!calibration) return calibration.error().within(profile.name);
    nlohmann::json closest = nlohmann::json::array();
    for (const auto& [a, b] : closest_pairs)
      closest.push_back({{"a", photos.paths[a].filename().string()}, {"b", photos.paths[b].filename().string()},
                         {"score", round6(native_score(profile.metric, vectors[a], vectors[b]))}});
    std::vector<std::size_t> sizes;
    for (std::size_t size : {1, 10, 100, 1000}) if (size < split.gallery.size()) sizes.push_back(size);
    sizes.push_back(split.gallery.size());
    r.json["thresholds_by_list_size"] = {
        {"calibration_people", calibration_people.size()},
        {"check_non_mated_people", check_people.size()},
        {"list_size_exponent", round6(calibration->list_size_exponent())},
        {"closest_calibration_pairs", closest},
        {"how", "lists are consecutive runs of the gallery (in name order) of the given size; each list is searched by every check "
                "person (FPIR) and by its own people's other photos (FNIR, found = the mate at rank 1 past the threshold)"},
        {"sizes", check_thresholds_by_list_size(profile, *calibration, vectors,
                                                {split.gallery, split.mated, check_people, sizes, {1e-1, 1e-2, 1e-3}})}};
    // Entries of several photos: people with four or more photos, enrolled from one to three.
    SeveralPhotosCheck several;
    several.people.resize(split.gallery.size());
    for (std::size_t g = 0; g < split.gallery.size(); ++g) several.people[g].push_back(split.gallery[g]);
    for (const auto& [photo, mate] : split.mated) several.people[mate].push_back(photo);
    several.non_mated = check_people;
    r.json["entries_of_several_photos"] = {
        {"how", "people with 4+ photos enrolled from their first 1, 2 or 3 photos; probes: their photos after the third, and the "
                "check people; best_of scores an entry by its closest template, mean_template by the mean of its templates"},
        {"rows", check_entries_of_several_photos(profile, *calibration, vectors, several)}};
    // Face quality: FNIR by the probe's quality, and what entries below enrolment's floor do.
    QualityCheck quality_check{split.gallery, split.mated, check_people, t.quality, 1e-2, QualityFloor{}};
    r.json["face_quality"] = check_quality_bands(profile, *calibration, vectors, quality_check);
    // Tracks of several views, simulated with several photos of a person.
    TrackViewsCheck views_check{several.people, t.quality, 3, {}, {1e-2, 1e-3}};
    for (std::size_t size : {1, 10, 100}) views_check.list_sizes.push_back(size);
    views_check.list_sizes.push_back(several.people.size());  // all of the listed half (capped to its size)
    r.json["views_per_track"] = {
        {"how", "people with 4+ photos in two halves (alternating in name order): the first half enrolled from their first photo, "
                "their photos 2-4 a track of 3 views; the second half strangers, their photos 1-3 a track; lists are consecutive runs of "
                "the first half; each stranger's track searches every list. per_search: the threshold of the target for one search; "
                "per_track: as deployed, of target / 3 (three searches per track), or fewer views where the calibration cannot show that share "
                "(views_searched)"},
        {"rows", check_views_per_track(profile, *calibration, vectors, views_check)}};
    nlohmann::json file = calibration->to_json();
    file["profile"] = profile.name;
    file["alignment"] = profile.alignment.key();
    out.calibrations.emplace_back(profile.name, file);
    out.results.push_back(r.json);
    roc_series.push_back({profile.name, r.roc});
    det_series.push_back({profile.name, r.det});
  }

  if (t.profiles.size() >= 2) {
    // Score-level fusion of the first two profiles: each similarity is z-normalised with the
    // mean and spread of its impostor pair scores, then the two are averaged. In verification
    // the normalisation is fitted on the training folds only.
    auto impostor_stats = [&](std::size_t p, int exclude_fold) {
      double sum = 0, sum2 = 0;
      long n = 0;
      for (std::size_t i = 0; i < pairs.size(); ++i) {
        if (pairs[i].same || pairs[i].fold == exclude_fold) continue;
        const double s = similarity(t.profiles[p].metric, t.by_profile[p][pair_photos[i].first], t.by_profile[p][pair_photos[i].second]);
        sum += s, sum2 += s * s, ++n;
      }
      const double mean = sum / static_cast<double>(n);
      return std::make_pair(mean, std::sqrt(std::max(1e-12, sum2 / static_cast<double>(n) - mean * mean)));
    };
    auto fused = [&](int exclude_fold) -> PairScore {
      const auto z0 = impostor_stats(0, exclude_fold), z1 = impostor_stats(1, exclude_fold);
      return [&, z0, z1](std::size_t a, std::size_t b) {
        const double s0 = (similarity(t.profiles[0].metric, t.by_profile[0][a], t.by_profile[0][b]) - z0.first) / z0.second;
        const double s1 = (similarity(t.profiles[1].metric, t.by_profile[1][a], t.by_profile[1][b]) - z1.first) / z1.second;
        return (s0 + s1) / 2.0;
      };
    };
    const std::string name = "fusion(" + t.profiles[0].name + "+" + t.profiles[1].name + ")";
    auto r = evaluate_system(name, "fusion", "mean of impostor-z-normalised similarities", [](double s) { return s; }, pairs,
                             pair_photos, options.folds, fused, fused(-1), split, growth);
    r.json["detection_failures"] = failures;
    out.results.push_back(r.json);
    roc_series.push_back({"fusion", r.roc});
    det_series.push_back({"fusion", r.det});
  }

  out.dataset = {{"pairs", pairs.size()},
                 {"folds", options.folds},
                 {"gallery", split.gallery.size()},
                 {"mated_probes", split.mated.size()},
                 {"non_mated_probes", split.non_mated.size()},
                 {"relabelled_left_out_of_non_mated", split.relabelled.size()},
                 {"photos", photos.paths.size()},
                 {"gallery_growth", growth}};
  out.roc_svg = svg_line_chart({"LFW View 2: ROC over " + std::to_string(pairs.size()) + " pairs", "false accept rate",
                                "true accept rate", 1e-3, 1.0, false, 0.8, 1.0},
                               roc_series);
  out.det_svg = svg_line_chart({"LFW 1:N: DET, gallery " + std::to_string(split.gallery.size()), "false positive identification rate",
                                "false negative identification rate", 1e-4, 1.0, true, 1e-3, 1.0},
                               det_series);
  return out;
}

}  // namespace glassbox::eval
