// The stage measurements of `glassbox bench`: decoding, detection, embedding and matching,
// each timed alone on real inputs (synthetic templates for matching speed only), each figure
// the median of several runs.
// Thread-safety: one measurement at a time (each starts its own threads where it says so).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "embed/model_profile.h"

namespace glassbox::bench {

double median(std::vector<double> values);

struct DecodeFigures {
  double fps_one_stream = 0.0;   // one decoder, one thread
  double fps_machine = 0.0;      // one decoder per core at once, frames per second in total
  std::int64_t frames = 0;
  nlohmann::json to_json() const;
};
Result<DecodeFigures> measure_decode(const std::string& clip, int max_frames, int runs);

struct DetectFigures {
  int max_side = 0;
  cv::Size input;
  double ms_per_frame = 0.0;       // scaling from YUV and YuNet, one thread
  double fps_one_thread = 0.0;
  double faces_per_frame = 0.0;    // on the video frames used
  int group_photo_faces = 0;       // faces found in the six group photos at this size
  nlohmann::json to_json() const;
};
Result<DetectFigures> measure_detect(const std::string& clip, int frames, int max_side, int runs,
                                     const std::vector<std::filesystem::path>& group_photos);

struct EmbedFigures {
  std::string profile;
  int max_batch = 1;
  double single_faces_per_s = 0.0;   // one face per forward pass, one thread
  double batched_faces_per_s = 0.0;  // batches of up to 8, one thread
  double machine_faces_per_s = 0.0;  // batched, one worker per core at once
  int faces = 0;
  nlohmann::json to_json() const;
};
// Chips from the faces of the group photos and of video frames, aligned for each profile.
Result<EmbedFigures> measure_embed(const ModelProfile& profile, const std::vector<std::filesystem::path>& group_photos,
                                   int faces_per_run, int runs);

struct MatchFigures {
  std::size_t templates = 0;
  double single_ms = 0.0;              // one probe at a time, one thread
  double single_ms_all_cores = 0.0;    // one probe at a time, the matrix split over the cores
  double batched_ms_per_probe = 0.0;   // probes eight at a time, over the cores
  double probes_per_s = 0.0;           // the same, as a rate
  double float_scan_ms = 0.0;          // the exact double-precision scan of every row, as before the 4-bit copy
  std::int64_t probes_checked = 0;     // answers compared with that scan
  std::int64_t disagreements = 0;      // must be 0
  double candidates_per_probe = 0.0;   // rows scored exactly
  double rescans_per_probe = 0.0;
  double template_mib = 0.0;
  nlohmann::json to_json() const;
};
// Synthetic dlib-like templates (128 floats, distances between people about 0.9); half the
// probes another view of an enrolled template (distance about 0.35), half strangers.
Result<MatchFigures> measure_match(std::size_t templates, int probes, int runs);

}  // namespace glassbox::bench
