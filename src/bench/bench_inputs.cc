#include "bench/bench_inputs.h"

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <ostream>

#include "core/paths.h"

extern char** environ;

namespace glassbox::bench {
namespace {

namespace fs = std::filesystem;

// Runs a program with its arguments (no shell); true when it exits with 0.
bool run_program(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return false;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string quoted(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = std::all_of(a.begin(), a.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || std::string("/._-=:,").find(c) != std::string::npos; });
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

// The camera-like encoding every clip gets.
std::vector<std::string> camera_encoding(const std::string& bitrate) {
  return {"-c:v", "libx264", "-preset", "veryfast", "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", std::to_string(std::stoi(bitrate) * 2) + "M",
          "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p", "-an"};
}

Result<BenchClip> make_clip(const fs::path& work_dir, const std::string& file, const std::string& name, double seconds,
                            std::vector<std::string> argv, std::ostream& log) {
  BenchClip clip{name, work_dir / file, "", seconds};
  const fs::path partial = work_dir / (file + ".partial.mp4");
  argv.insert(argv.begin(), {"ffmpeg", "-loglevel", "error", "-y"});
  argv.push_back(partial.string());
  std::vector<std::string> shown = argv;
  shown.back() = clip.path.string();
  clip.command = quoted(shown);
  std::error_code ec;
  if (fs::is_regular_file(clip.path, ec) && fs::file_size(clip.path, ec) > 0) return clip;
  log << "bench: making " << clip.path.string() << " (" << name << ")\n";
  if (!run_program(argv)) return Error{"could not make " + clip.path.string() + " with: " + clip.command};
  fs::rename(partial, clip.path, ec);
  if (ec) return Error{clip.path.string() + ": " + ec.message()};
  return clip;
}

}  // namespace

Result<BenchInputs> prepare_inputs(const fs::path& work_dir, bool quick, std::ostream& log) {
  std::error_code ec;
  fs::create_directories(work_dir, ec);
  if (ec) return Error{work_dir.string() + ": " + ec.message()};
  const fs::path video = data_dir() / "video";
  BenchInputs in;
  for (const auto& e : fs::directory_iterator(video / "talking_heads", ec))
    if (e.path().extension() == ".mp4") in.speaker_clips.push_back(e.path());
  std::sort(in.speaker_clips.begin(), in.speaker_clips.end());
  if (in.speaker_clips.size() != 6) return Error{(video / "talking_heads").string() + ": expected the six talking-head clips (GLASSBOX_DATA)"};
  for (const auto& e : fs::directory_iterator(data_dir() / "faces" / "group_photos", ec))
    if (e.path().extension() == ".jpg") in.group_photos.push_back(e.path());
  std::sort(in.group_photos.begin(), in.group_photos.end());

  const double walking_s = quick ? 20.0 : 60.0;
  const std::string walking = (video / "walking" / "one-by-one-person-detection.mp4").string();
  const std::string length = std::to_string(static_cast<int>(walking_s));
  auto made = make_clip(work_dir, "walking_1080p25_" + length + "s.mp4", "walking, 1080p", walking_s,
                        [&] {
                          std::vector<std::string> a = {"-i", walking, "-t", length, "-vf", "scale=1920:1080:flags=bicubic,fps=25"};
                          for (auto& x : camera_encoding("4M")) a.push_back(x);
                          return a;
                        }(),
                        log);
  if (!made) return made.error();
  in.walking_1080p = *made;
  made = make_clip(work_dir, "walking_720p25_" + length + "s.mp4", "walking, 720p", walking_s,
                   [&] {
                     std::vector<std::string> a = {"-i", walking, "-t", length, "-vf", "scale=1280:720:flags=bicubic,fps=25"};
                     for (auto& x : camera_encoding("2M")) a.push_back(x);
                     return a;
                   }(),
                   log);
  if (!made) return made.error();
  in.walking_720p = *made;
  made = make_clip(work_dir, "talking_heads_grid_1080p25.mp4", "six talking heads, 1080p", 8.0,
                   [&] {
                     std::vector<std::string> a;
                     for (const auto& clip : in.speaker_clips) a.insert(a.end(), {"-i", clip.string()});
                     std::string graph;
                     for (int i = 0; i < 6; ++i) graph += "[" + std::to_string(i) + ":v]scale=540:540[s" + std::to_string(i) + "];";
                     graph += "[s0][s1][s2][s3][s4][s5]xstack=inputs=6:layout=0_0|540_0|1080_0|0_540|540_540|1080_540,pad=1920:1080:150:0,fps=25[grid]";
                     a.insert(a.end(), {"-filter_complex", graph, "-map", "[grid]"});
                     for (auto& x : camera_encoding("4M")) a.push_back(x);
                     return a;
                   }(),
                   log);
  if (!made) return made.error();
  in.talking_1080p = *made;
  made = make_clip(work_dir, "pedestrians_1080p25.mp4", "pedestrians from above, 1080p", 20.0,
                   [&] {
                     std::vector<std::string> a = {"-i", (video / "pedestrians_far" / "vtest_h264_part00.mp4").string(), "-vf",
                                                   "scale=1440:1080:flags=bicubic,pad=1920:1080:240:0,fps=25"};
                     for (auto& x : camera_encoding("4M")) a.push_back(x);
                     return a;
                   }(),
                   log);
  if (!made) return made.error();
  in.pedestrians_1080p = *made;
  return in;
}

}  // namespace glassbox::bench
