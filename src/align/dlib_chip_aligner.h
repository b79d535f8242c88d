// The dlib_chip68 aligner (align/alignment.h): dlib's 68-point shape predictor, started from the
// box dlib's frontal face detector would draw (found from YuNet's five landmarks), then dlib's
// get_face_chip_details and extract_image_chip — the chips dlib's face descriptor was trained on.
// The only file that includes dlib's image-processing headers.
// Thread-safety: the aligner is immutable and shared; the shape predictor is loaded once per
// process and file (a mutex guards the loading), and its const operator() is used from many
// threads.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "align/face_aligner.h"

namespace glassbox {

Result<std::shared_ptr<const FaceAligner>> make_dlib_chip_aligner(const AlignmentSpec& spec, cv::Size chip_size);

// The square box, in frame coordinates, that dlib's frontal face detector would draw around the
// face with these five landmarks: `spec.box_centre` and `spec.box_size` carried from the
// template's frame into the frame by the inverse of the landmarks' similarity to the template.
cv::Rect2f dlib_detector_box(const Landmarks& landmarks, const AlignmentSpec& spec);

// Where a box of the frame lies in the template's frame for the face with these landmarks: its
// centre and side (the mean of width and height) — the inverse of dlib_detector_box, used to
// measure `box_centre` and `box_size` (glassbox eval dlib-box).
std::pair<cv::Point2f, float> box_in_template_frame(const Landmarks& landmarks, const Template5& frame_template, const cv::Rect2f& box);

// The boxes dlib's own frontal face detector (HOG, no upsampling) draws on a BGR picture: what
// `box_centre` and `box_size` are measured against.
std::vector<cv::Rect2f> dlib_frontal_face_boxes(const cv::Mat& bgr);

}  // namespace glassbox
