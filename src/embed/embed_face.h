// The one path from a detected face to a template: cut the chip with the profile's aligner and
// run the recognizer. Enrolment, watching, searching and evaluation all go through it, so
// what is measured is what runs.
// Thread-safety: as the embedder passed in (one thread at a time).
#pragma once

#include <vector>

#include "core/frame.h"
#include "detect/face_detector.h"
#include "embed/embedder.h"

namespace glassbox {

Result<std::vector<float>> embed_face(Embedder& embedder, const Frame& frame, const Landmarks& landmarks);
// Several faces of one frame in one batch; one result per face, in order.
std::vector<Result<std::vector<float>>> embed_faces(Embedder& embedder, const Frame& frame, const std::vector<Landmarks>& faces);

}  // namespace glassbox
