// The inputs of `glassbox bench`, made from the shared real footage with the ffmpeg program and
// kept in a work folder so a second run reuses them. Camera-like H.264: 1080p (or 720p) at
// 25 fps, 4 Mbit/s (2 for 720p) with a 8 Mbit buffer, a keyframe every 2 s, no B-frames, as
// IP cameras send by default. Each clip carries the exact command that made it.
// Thread-safety: prepare_inputs() from one thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"

namespace glassbox::bench {

struct BenchClip {
  std::string name;               // what it shows, e.g. "talking heads x6"
  std::filesystem::path path;
  std::string command;            // the ffmpeg command that made it, as run
  double seconds = 0.0;
};

struct BenchInputs {
  BenchClip walking_1080p;      // people walking through a room, seen mostly from behind
  BenchClip walking_720p;
  BenchClip talking_1080p;      // the six talking heads in a 3 x 2 grid: six faces in every frame
  BenchClip pedestrians_1080p;  // pedestrians from above, small faces
  std::vector<std::filesystem::path> speaker_clips;  // the six talking heads as shared (enrolment stills)
  std::vector<std::filesystem::path> group_photos;   // data/faces/group_photos
  std::vector<BenchClip> cameras() const { return {talking_1080p, walking_1080p, pedestrians_1080p}; }
};

// Makes what is missing under `work_dir` (quick: shorter walking clips). Progress on `log`.
Result<BenchInputs> prepare_inputs(const std::filesystem::path& work_dir, bool quick, std::ostream& log);

}  // namespace glassbox::bench
