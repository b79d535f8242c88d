// `glassbox eval lfw`: accuracy on Labeled Faces in the Wild, written as JSON and SVG plots.
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/paths.h"
#include "embed/model_profile.h"
#include "eval/dlib_box_calibration.h"
#include "eval/lfw_evaluation.h"

namespace glassbox::cli {
namespace {

struct EvalArgs {
  std::string data;
  std::string out;
  std::vector<std::string> profiles;
  int folds = 10;
  int gallery_limit = 0;
  int distractor_limit = 0;
  int jobs = 0;
  std::string cache;
  bool no_cache = false;
  std::string calibration_dir;
  std::string same_person_list = std::string(GLASSBOX_SOURCE_DIR) + "/docs/accuracy/lfw-same-person.tsv";
};

int run_eval_lfw(const EvalArgs& args) {
  eval::LfwEvalOptions options;
  options.lfw_dir = args.data.empty() ? data_dir() / "lfw" : std::filesystem::path(args.data);
  options.profiles = args.profiles.empty() ? std::vector<std::string>{"dlib_resnet", "mobilefacenet"} : args.profiles;
  options.folds = args.folds;
  options.gallery_limit = args.gallery_limit;
  options.distractor_limit = args.distractor_limit;
  options.jobs = args.jobs;
  options.same_person_list = args.same_person_list == "none" ? std::filesystem::path() : std::filesystem::path(args.same_person_list);
  const std::filesystem::path out_path(args.out);
  if (!args.no_cache) {
    // In the build folder unless named: never beside the read-only data or in docs/.
    options.cache_path = args.cache.empty() ? std::filesystem::path(GLASSBOX_BUILD_DIR) / "cache" / "lfw-templates.sqlite"
                                            : std::filesystem::path(args.cache);
    std::error_code ec;
    std::filesystem::create_directories(options.cache_path.parent_path(), ec);
  }
  const auto started = std::chrono::steady_clock::now();
  options.on_progress = [started](std::size_t done, std::size_t total, std::size_t cached) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    std::cerr << "glassbox eval: " << done << "/" << total << " photos (" << cached << " from cache), " << std::fixed
              << std::setprecision(1) << rate << " photos/s";
    if (done < total && rate > 0) std::cerr << ", about " << static_cast<int>((total - done) / rate) << " s left";
    std::cerr << "\n";
  };
  auto result = eval::run_lfw_evaluation(options);
  if (!result) {
    std::cerr << "glassbox eval: " << result.error().message << "\n";
    return kExitFailure;
  }
  nlohmann::json run = {{"command", "glassbox eval lfw"},
                        {"extraction_seconds", std::round(result->extraction_seconds * 10) / 10},
                        {"photos_from_cache", result->photos_from_cache},
                        {"dataset", result->dataset}};
  nlohmann::json document;
  if (result->results.size() == 1) {
    document = result->results[0];
    document["run"] = run;
  } else {
    document = result->results;
    for (auto& r : document) r["run"] = run;
  }
  std::ofstream out(out_path);
  out << document.dump(2) << "\n";
  if (!out) {
    std::cerr << "glassbox eval: cannot write " << out_path << "\n";
    return kExitFailure;
  }
  const auto stem = out_path.parent_path() / out_path.stem();
  std::ofstream(stem.string() + "-roc.svg") << result->roc_svg;
  std::ofstream(stem.string() + "-det.svg") << result->det_svg;
  // Calibration files: beside the results unless a folder is named (profiles/ to ship them).
  const std::filesystem::path calibration_dir = args.calibration_dir.empty() ? out_path.parent_path() : std::filesystem::path(args.calibration_dir);
  for (const auto& [profile, calibration] : result->calibrations) {
    const auto path = calibration_dir / (profile + ".calibration.json");
    // One line per point of the table, so that a change of the file reads as a diff.
    nlohmann::json head = calibration;
    head.erase("false_match_rate");
    std::string text = head.dump(1);
    text.erase(text.rfind('}'));
    while (!text.empty() && text.back() == '\n') text.pop_back();
    text += ",\n \"false_match_rate\": [";
    const auto& table = calibration["false_match_rate"];
    for (std::size_t i = 0; i < table.size(); ++i) text += (i ? ",\n  " : "\n  ") + table[i].dump();
    text += "\n ]\n}";
    std::ofstream file(path);
    file << text << "\n";
    if (!file) {
      std::cerr << "glassbox eval: cannot write " << path << "\n";
      return kExitFailure;
    }
    std::cout << "calibration: " << path.string() << "\n";
  }

  std::cout << std::fixed;
  for (const auto& r : result->results) {
    const auto& v = r["verification"];
    const auto& id = r["identification"];
    std::cout << std::left << std::setw(36) << r["profile"].get<std::string>() << std::setprecision(2) << " accuracy "
              << 100 * v["accuracy_mean"].get<double>() << "% ± " << 100 * v["accuracy_std"].get<double>() << "  TAR@FAR1e-3 "
              << std::setprecision(4) << v["tar_at_far"]["1e-3"].get<double>() << "  rank-1 " << id["rank1"].get<double>()
              << "  FNIR@FPIR1e-3 " << (id["fnir_at_fpir"].contains("1e-3") ? id["fnir_at_fpir"]["1e-3"].get<double>() : -1.0) << "\n";
  }
  std::cout << "written: " << out_path.string() << ", " << stem.string() << "-roc.svg, " << stem.string() << "-det.svg\n";
  return kExitOk;
}

int run_eval_dlib_box(const std::string& data, const std::string& profile_name, int every) {
  auto profile = load_model_profile(profile_name);
  if (!profile) {
    std::cerr << "glassbox eval: " << profile.error().message << "\n";
    return kExitFailure;
  }
  eval::DlibBoxOptions options;
  options.lfw_dir = data.empty() ? data_dir() / "lfw" : std::filesystem::path(data);
  options.every = every;
  auto result = eval::measure_dlib_box(*profile, options);
  if (!result) {
    std::cerr << "glassbox eval: " << result.error().message << "\n";
    return kExitFailure;
  }
  (*result)["command"] = "glassbox eval dlib-box --every " + std::to_string(every) + " --profile " + profile_name;
  std::cout << result->dump(2) << "\n";
  return kExitOk;
}

}  // namespace

void add_eval_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* eval = app.add_subcommand("eval", "Measure accuracy on a benchmark");
  eval->require_subcommand(1);
  CLI::App* lfw = eval->add_subcommand("lfw", "LFW: 10-fold verification on View 2 and 1:N identification");
  lfw->add_option("--data", args->data, "LFW folder with pairs.txt and images/ (default $GLASSBOX_DATA/lfw)");
  lfw->add_option("--out", args->out, "JSON results file; plots are written beside it")->required();
  lfw->add_option("--profile", args->profiles, "Profile(s) to evaluate (default: dlib_resnet and mobilefacenet, and their fusion)");
  lfw->add_option("--limit-folds", args->folds, "Use the first N of the 10 folds (2..10)")->capture_default_str()->check(CLI::Range(2, 10));
  lfw->add_option("--gallery-limit", args->gallery_limit, "Identification: first N people with 2+ photos (0 = all)")->check(CLI::NonNegativeNumber);
  lfw->add_option("--distractor-limit", args->distractor_limit, "Identification: first N people with one photo (0 = all)")->check(CLI::NonNegativeNumber);
  lfw->add_option("--jobs", args->jobs, "Extraction threads (0 = cores)")->check(CLI::NonNegativeNumber);
  lfw->add_option("--cache", args->cache, "Template cache file (default: <build>/cache/lfw-templates.sqlite)");
  lfw->add_option("--same-person-list", args->same_person_list, "LFW folders that are one person under two names ('none' to use raw labels)")->capture_default_str();
  lfw->add_flag("--no-cache", args->no_cache, "Extract every template again");
  lfw->add_option("--calibration-dir", args->calibration_dir, "Where <profile>.calibration.json files go (default: beside --out; profiles/ ships them)");
  lfw->callback([args, &exit_status] { exit_status = run_eval_lfw(*args); });

  auto box_data = std::make_shared<std::string>();
  auto box_profile = std::make_shared<std::string>(kDefaultProfile);
  auto box_every = std::make_shared<int>(10);
  CLI::App* box = eval->add_subcommand("dlib-box", "Measure where dlib's face detector draws its box relative to YuNet's landmarks (a dlib_chip68 profile's alignment.box)");
  box->add_option("--data", *box_data, "LFW folder with images/ (default $GLASSBOX_DATA/lfw)");
  box->add_option("--profile", *box_profile, "The profile whose template frame the box is given in")->capture_default_str();
  box->add_option("--every", *box_every, "Every Nth photo in name order")->capture_default_str()->check(CLI::PositiveNumber);
  box->callback([=, &exit_status] { exit_status = run_eval_dlib_box(*box_data, *box_profile, *box_every); });
}

}  // namespace glassbox::cli
