// search_footage: test footage with known ground truth for searches of recordings, and the
// scoring of a search's result against it (docs/search.md, "Ground-truth footage").
//
//   search_footage make --out F.mp4 --truth F.json --seconds N [--seed S] [--target NAME]
//   search_footage repeat --video U.mp4 --truth U.json --times N --out F.mp4 --truth-out F.json
//   search_footage score --truth F.json --result R.json [--source NAME] [--offset S]
//
// `make` lays LFW photos over a real street clip (../shared/data/video/walking, upscaled to
// 1080p) at known places and times and pipes the frames, raw BGR, to the ffmpeg program, which
// encodes H.264 with a keyframe every two seconds. The target's first LFW photo is the probe;
// their appearances use their other photos; everyone else is a distractor. Target appearances
// are at least 12 s apart, so each is a visit of its own.
// `score` prints JSON: appearances of the target lasting two seconds or more, how many a visit
// overlaps (recall), and visits overlapping no target appearance (false visits).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/paths.h"

namespace {

struct Appearance {
  std::string person;
  std::string image;
  bool target = false;
  double start = 0.0;
  double end = 0.0;
  cv::Rect box;
};

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

std::vector<std::string> photos_of(const std::filesystem::path& lfw, const std::string& person) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(lfw / "images" / person)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

int make(int argc, char** argv) {
  const std::string out = arg(argc, argv, "--out", "");
  const std::string truth_path = arg(argc, argv, "--truth", "");
  const double seconds = std::stod(arg(argc, argv, "--seconds", "60"));
  const unsigned seed = static_cast<unsigned>(std::stoul(arg(argc, argv, "--seed", "1")));
  const std::string target = arg(argc, argv, "--target", "Colin_Powell");
  const std::string preset = arg(argc, argv, "--preset", "ultrafast");
  if (out.empty() || truth_path.empty()) {
    std::cerr << "make needs --out and --truth\n";
    return 2;
  }
  const int width = 1920, height = 1080, fps = 25, gop = 50;
  const auto lfw = glassbox::data_dir() / "lfw";
  const auto background_path = glassbox::data_dir() / "video" / "walking" / "one-by-one-person-detection.mp4";
  std::mt19937 rng(seed);
  auto uniform = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };

  // Distractors: people with several photos in LFW, other than the target.
  std::vector<std::string> people;
  {
    std::ifstream counts(lfw / "people_counts.tsv");
    std::string name;
    int n = 0;
    std::string header;
    std::getline(counts, header);
    while (counts >> name >> n)
      if (n >= 4 && name != target) people.push_back(name);
  }
  const std::vector<std::string> target_photos = photos_of(lfw, target);
  if (target_photos.size() < 3 || people.empty()) {
    std::cerr << "not enough LFW photos for " << target << "\n";
    return 1;
  }

  // The schedule: one appearance after another with short pauses; sometimes a second, distractor,
  // face at the same time on the other half of the frame.
  std::vector<Appearance> schedule;
  double t = 2.0;
  double last_target_end = -100.0;
  std::size_t next_target_photo = 1;  // photo 0 is the probe
  while (true) {
    const double duration = uniform(2.2, 6.0);
    if (t + duration > seconds - 1.0) break;
    const bool target_turn = t - last_target_end >= 12.0 && uniform(0, 1) < 0.45;
    auto place = [&](bool left) {
      const int side = static_cast<int>(uniform(260, 400));
      const int x0 = left ? 80 : width / 2 + 80;
      return cv::Rect(static_cast<int>(uniform(x0, x0 + width / 2 - 160 - side)), static_cast<int>(uniform(60, height - 60 - side)), side, side);
    };
    const bool left = uniform(0, 1) < 0.5;
    Appearance a;
    a.start = t;
    a.end = t + duration;
    a.box = place(left);
    if (target_turn) {
      a.person = target;
      a.target = true;
      a.image = target_photos[next_target_photo];
      next_target_photo = next_target_photo + 1 < target_photos.size() ? next_target_photo + 1 : 1;
      last_target_end = a.end;
    } else {
      a.person = people[rng() % people.size()];
      const auto photos = photos_of(lfw, a.person);
      a.image = photos[rng() % photos.size()];
    }
    schedule.push_back(a);
    if (uniform(0, 1) < 0.3) {  // someone else in view at the same time
      Appearance b;
      b.person = people[rng() % people.size()];
      const auto photos = photos_of(lfw, b.person);
      b.image = photos[rng() % photos.size()];
      b.start = t + uniform(0.0, 1.0);
      b.end = std::min(b.start + uniform(2.2, 5.0), seconds - 0.5);
      b.box = place(!left);
      schedule.push_back(b);
    }
    t = a.end + uniform(1.5, 5.0);
  }

  std::vector<cv::Mat> images(schedule.size());
  for (std::size_t i = 0; i < schedule.size(); ++i) {
    cv::Mat photo = cv::imread(schedule[i].image, cv::IMREAD_COLOR);
    if (photo.empty()) {
      std::cerr << schedule[i].image << ": cannot read\n";
      return 1;
    }
    cv::resize(photo, images[i], schedule[i].box.size(), 0, 0, cv::INTER_LINEAR);
  }

  cv::VideoCapture background(background_path.string());
  if (!background.isOpened()) {
    std::cerr << background_path << ": cannot open\n";
    return 1;
  }
  const double background_fps = background.get(cv::CAP_PROP_FPS) > 0 ? background.get(cv::CAP_PROP_FPS) : 10.0;
  const std::string command = "ffmpeg -v error -y -f rawvideo -pix_fmt bgr24 -s " + std::to_string(width) + "x" + std::to_string(height) +
                              " -r " + std::to_string(fps) + " -i - -c:v libx264 -preset " + preset + " -x264-params keyint=" +
                              std::to_string(gop) + ":min-keyint=" + std::to_string(gop) +
                              ":scenecut=0 -pix_fmt yuv420p -movflags +faststart '" + out + "'";
  FILE* encoder = popen(command.c_str(), "w");
  if (encoder == nullptr) {
    std::cerr << "cannot start ffmpeg\n";
    return 1;
  }
  cv::Mat small, frame;
  long background_index = -1;
  const long frames = static_cast<long>(seconds * fps);
  for (long f = 0; f < frames; ++f) {
    const double now = static_cast<double>(f) / fps;
    const long wanted = static_cast<long>(now * background_fps);
    while (background_index < wanted) {
      if (!background.read(small)) {
        background.set(cv::CAP_PROP_POS_FRAMES, 0);
        if (!background.read(small)) return 1;
      }
      ++background_index;
      cv::resize(small, frame, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
    }
    cv::Mat composed = frame.clone();
    for (std::size_t i = 0; i < schedule.size(); ++i)
      if (now >= schedule[i].start && now < schedule[i].end) images[i].copyTo(composed(schedule[i].box));
    if (std::fwrite(composed.data, 1, composed.total() * composed.elemSize(), encoder) != composed.total() * composed.elemSize()) {
      std::cerr << "ffmpeg stopped taking frames\n";
      pclose(encoder);
      return 1;
    }
    if (f % (fps * 60) == 0) std::cerr << "search_footage: " << static_cast<int>(now) << " of " << seconds << " s\n";
  }
  if (pclose(encoder) != 0) {
    std::cerr << "ffmpeg failed\n";
    return 1;
  }

  nlohmann::json truth = {{"video", out},     {"seconds", seconds}, {"fps", fps}, {"gop", gop},   {"seed", seed},
                          {"target", target}, {"probe", target_photos[0]},       {"width", width}, {"height", height}};
  nlohmann::json list = nlohmann::json::array();
  for (const Appearance& a : schedule)
    list.push_back({{"person", a.person},
                    {"image", a.image},
                    {"target", a.target},
                    {"start", a.start},
                    {"end", a.end},
                    {"box", {a.box.x, a.box.y, a.box.width, a.box.height}}});
  truth["appearances"] = list;
  std::ofstream(truth_path) << truth.dump(2) << "\n";
  return 0;
}

// The footage `times` times over, end to end, without re-encoding (ffmpeg's concat demuxer),
// with the ground truth shifted for each copy: long footage for the benchmark at the cost of
// making one unit.
int repeat(int argc, char** argv) {
  const std::string video = arg(argc, argv, "--video", "");
  const std::string truth_path = arg(argc, argv, "--truth", "");
  const std::string out = arg(argc, argv, "--out", "");
  const std::string truth_out = arg(argc, argv, "--truth-out", "");
  const int times = std::stoi(arg(argc, argv, "--times", "2"));
  std::ifstream truth_file(truth_path);
  if (video.empty() || out.empty() || truth_out.empty() || !truth_file || times < 1) {
    std::cerr << "repeat needs --video, --truth, --out, --truth-out and --times N\n";
    return 2;
  }
  const nlohmann::json unit = nlohmann::json::parse(truth_file);
  const std::string list = out + ".list";
  {
    std::ofstream l(list);
    for (int i = 0; i < times; ++i) l << "file '" << std::filesystem::absolute(video).string() << "'\n";
  }
  const std::string command = "ffmpeg -v error -y -f concat -safe 0 -i '" + list + "' -c copy -movflags +faststart '" + out + "'";
  if (std::system(command.c_str()) != 0) return 1;
  std::filesystem::remove(list);
  nlohmann::json truth = unit;
  const double seconds = unit["seconds"].get<double>();
  truth["video"] = out;
  truth["seconds"] = seconds * times;
  truth["repeats"] = times;
  nlohmann::json all = nlohmann::json::array();
  for (int i = 0; i < times; ++i)
    for (nlohmann::json a : unit["appearances"]) {
      a["start"] = a["start"].get<double>() + i * seconds;
      a["end"] = a["end"].get<double>() + i * seconds;
      all.push_back(a);
    }
  truth["appearances"] = all;
  std::ofstream(truth_out) << truth.dump(2) << "\n";
  return 0;
}

int score(int argc, char** argv) {
  std::ifstream truth_file(arg(argc, argv, "--truth", ""));
  std::ifstream result_file(arg(argc, argv, "--result", ""));
  if (!truth_file || !result_file) {
    std::cerr << "score needs --truth and --result files\n";
    return 2;
  }
  const nlohmann::json truth = nlohmann::json::parse(truth_file);
  const nlohmann::json result = nlohmann::json::parse(result_file);
  const std::string source = arg(argc, argv, "--source", "");
  const double offset = std::stod(arg(argc, argv, "--offset", "0"));
  constexpr double kTolerance = 1.0;  // a visit's ends are sample times: up to a sample interval inside the appearance
  std::vector<nlohmann::json> visits;
  for (const auto& v : result["visits"])
    if (source.empty() || v["source"] == source) visits.push_back(v);
  int eligible = 0, found = 0, false_visits = 0;
  nlohmann::json missed = nlohmann::json::array();
  for (const auto& a : truth["appearances"]) {
    if (!a["target"].get<bool>() || a["end"].get<double>() - a["start"].get<double>() < 2.0) continue;
    ++eligible;
    const double start = a["start"].get<double>() + offset, end = a["end"].get<double>() + offset;
    const bool hit = std::any_of(visits.begin(), visits.end(), [&](const nlohmann::json& v) {
      return v["start_s"].get<double>() <= end + kTolerance && v["end_s"].get<double>() >= start - kTolerance;
    });
    if (hit) ++found;
    else missed.push_back({{"start", start}, {"end", end}, {"image", a["image"]}});
  }
  for (const auto& v : visits) {
    const bool real = std::any_of(truth["appearances"].begin(), truth["appearances"].end(), [&](const nlohmann::json& a) {
      return a["target"].get<bool>() && v["start_s"].get<double>() <= a["end"].get<double>() + offset + kTolerance &&
             v["end_s"].get<double>() >= a["start"].get<double>() + offset - kTolerance;
    });
    if (!real) ++false_visits;
  }
  nlohmann::json out = {{"appearances", eligible},
                        {"found", found},
                        {"recall", eligible > 0 ? static_cast<double>(found) / eligible : 0.0},
                        {"visits", visits.size()},
                        {"false_visits", false_visits},
                        {"wall_s", result["stats"].value("wall_s", 0.0)},
                        {"footage_s", result["stats"].value("footage_s", 0.0)},
                        {"frames_decoded", result["stats"].value("frames_decoded", 0)},
                        {"faces_compared", result["stats"].value("faces_compared", 0)},
                        {"missed", missed}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "make") return make(argc, argv);
  if (command == "score") return score(argc, argv);
  if (command == "repeat") return repeat(argc, argv);
  std::cerr << "usage: search_footage make --out F.mp4 --truth F.json --seconds N [--seed S] [--target NAME] [--preset P]\n"
               "       search_footage repeat --video U.mp4 --truth U.json --times N --out F.mp4 --truth-out F.json\n"
               "       search_footage score --truth F.json --result R.json [--source NAME] [--offset S]\n";
  return 2;
}
