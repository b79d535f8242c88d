// `glassbox eval dlib-box`: measures where dlib's frontal face detector draws its box relative to
// YuNet's five landmarks, in a profile's template frame — the `alignment.box` of a dlib_chip68
// profile (align/alignment.h). dlib's shape predictor was trained from that detector's boxes, so
// the aligner starts it from the same box, found from YuNet's landmarks.
// Thread-safety: one call at a time.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "embed/model_profile.h"

namespace glassbox::eval {

struct DlibBoxOptions {
  std::filesystem::path lfw_dir;  // holds images/
  int every = 10;                 // every Nth photo in name order
};

// The median box centre and side in the profile's template frame over the photos where YuNet and
// dlib each found exactly one face and the two agree on where it is, with quartiles and counts.
Result<nlohmann::json> measure_dlib_box(const ModelProfile& profile, const DlibBoxOptions& options);

}  // namespace glassbox::eval
