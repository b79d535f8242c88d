// Face alignment: the least-squares similarity transform (rotation, uniform scale, translation;
// no reflection, no shear) that maps five detected landmarks onto a model profile's template,
// and the warp that cuts the aligned chip the recognizer expects.
// Thread-safety: pure functions.
#pragma once

#include <array>

#include <opencv2/core.hpp>

#include "core/frame.h"
#include "detect/face_detector.h"

namespace glassbox {

using Template5 = std::array<cv::Point2f, 5>;

// 2x3 CV_64F matrix M with M * [x y 1]^T ≈ destination for each source point (closed form,
// Umeyama 1991 restricted to 2-D). Degenerate input (all points equal) gives a pure translation.
cv::Mat estimate_similarity(const Landmarks& source, const Template5& destination);

// The aligned chip of `chip_size`, cut from `frame` so that `landmarks` land on `destination`.
// Only the part of the frame the chip covers is converted to BGR (a video frame stays YUV
// elsewhere); the chip is the same as one cut from the whole frame converted.
cv::Mat align_face(const Frame& frame, const Landmarks& landmarks, const Template5& destination, cv::Size chip_size);

// The frame's pixels an aligned chip of `chip_size` samples for the similarity `m` (2x3,
// CV_64F), with a margin for bilinear interpolation, clipped to `frame_size`.
cv::Rect chip_footprint(const cv::Mat& m, cv::Size chip_size, cv::Size frame_size);

}  // namespace glassbox
