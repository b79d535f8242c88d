// The one path from a detected face to a template: align the face onto the profile's template
// and run the recognizer. Enrolment, watching and evaluation all go through it, so what is
// measured is what runs.
// Thread-safety: as the embedder passed in (one thread at a time).
#pragma once

#include "detect/face_detector.h"
#include "embed/embedder.h"

namespace glassbox {

Result<std::vector<float>> embed_face(Embedder& embedder, const cv::Mat& image, const Landmarks& landmarks);

}  // namespace glassbox
