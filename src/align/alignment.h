// AlignmentSpec: how a recognizer's chip is cut from a detected face, as a model profile names it.
// Two methods:
//   - similarity5: the least-squares similarity from the detector's five landmarks onto a
//     template in the chip (MobileFaceNet, SFace: the geometry they were trained on);
//   - dlib_chip68: dlib's own geometry for the descriptor it trained — its 68-point shape
//     predictor placed in the box dlib's frontal face detector would have drawn, then
//     get_face_chip_details (size, padding) and extract_image_chip. The detector stays YuNet;
//     the box is found from YuNet's five landmarks through a measured offset and size.
// Thread-safety: immutable value.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "align/similarity.h"

namespace glassbox {

struct AlignmentSpec {
  enum class Method { kSimilarity5, kDlibChip68 };
  Method method = Method::kSimilarity5;
  // similarity5: where the five landmarks land in the chip. dlib_chip68: the frame in which
  // `box_centre` and `box_size` are given (the same five points of an average face).
  Template5 landmark_template{};
  // dlib_chip68 only.
  std::string shape_predictor;   // file name, looked for in GLASSBOX_MODELS, then /usr/share/dlib
  double padding = 0.25;         // get_face_chip_details' padding
  cv::Point2f box_centre{0, 0};  // the centre of dlib's detection box, in the template's frame
  float box_size = 0;            // its side, in the template's frame

  // Everything that changes a chip, as one string: a cache of templates keys on it.
  std::string key() const;
};

const char* alignment_method_name(AlignmentSpec::Method method);

}  // namespace glassbox
