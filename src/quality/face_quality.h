// Face quality: how good one detected face is for recognition, from what is known before it is
// embedded — its size, its pose (estimated from the five landmarks), how sharp it is, and how
// sure the detector was. One score in [0, 1] ranks views (a track embeds its better views);
// the measured parts are what enrolment's floors check and what an alert reports, so a refusal
// can say why ("the face is turned 40° to the side, need at most 35°") and a reviewer can see
// what the evidence was. The quality of a face is computed from the frame and thrown away with
// it: it is kept only for a face that matched (in its alert), and a refused photo's shortfalls
// go into the refusal's message.
// Thread-safety: functions are reentrant.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/frame.h"
#include "detect/face_detector.h"

namespace glassbox {

// Head pose in degrees, from the five landmarks fitted to a generic head (scaled orthographic
// projection). Yaw: turned left or right (positive: towards the image's right); pitch: up or
// down (positive: up); roll: the eye line's tilt in the image (positive: clockwise). An
// estimate from one generic head, not a measurement: a few degrees either way.
struct HeadPose {
  float yaw_deg = 0.0f;
  float pitch_deg = 0.0f;
  float roll_deg = 0.0f;
};
HeadPose estimate_head_pose(const Landmarks& landmarks);

// The generic head's five points (millimetres; x to the image's right, y up, z towards the
// camera; landmark order), for tests that project it.
const std::array<cv::Point3f, 5>& generic_head_points();

struct FaceQuality {
  float score = 0.0f;       // [0, 1]: the product of the parts' factors below
  float size_px = 0.0f;     // the shorter side of the face's box
  HeadPose pose;
  float sharpness = 0.0f;   // high-frequency share of the face's detail at a fixed scale (see .cc); LFW's median 0.16, below 0.06 blurred
  float confidence = 0.0f;  // the detector's
};

// Measures one face of `frame`. Cheap (a 64x64 grey patch): run on every face a stage may embed.
FaceQuality assess_face(const Frame& frame, const DetectedFace& face);

// The least an enrolment (or case-search probe) photo must have. Measured on LFW at the
// threshold of a 1,680-person list (docs/ACCURACY.md, "Face quality"): an entry whose photo is
// below the floor finds its subject less often (FNIR 0.70 against 0.49 for dlib_resnet), so a
// list would seem to cover someone it mostly misses. Each floor sits where the measured FNIR
// turns: yaw beyond 35° (15-35° miss barely more than 0-15°), pitch beyond 25° (30° here:
// the pitch estimate leans by up to 20° on some sets of frontal photos), sharpness below 0.06.
// Size: LFW holds too few small faces to measure; 40 px is the floor enrolment always had.
// Confidence: the detector's own default threshold; below 0.9 the default recognizer missed no
// more (0.55 against 0.50), mobilefacenet more (0.16 against 0.09).
struct QualityFloor {
  float min_size_px = 40.0f;
  float max_abs_yaw_deg = 35.0f;
  float max_abs_pitch_deg = 30.0f;
  float min_sharpness = 0.06f;
  float min_confidence = 0.8f;
};

// Why `quality` is below `floor`, one reason per failed part, in words a person enrolling can
// act on ("the face is turned 40°, need at most 25°"); empty when it passes.
std::vector<std::string> quality_shortfalls(const FaceQuality& quality, const QualityFloor& floor);

// As alerts and the API give it: score, band, size_px, yaw_deg, pitch_deg, sharpness,
// confidence (docs/watch-output.md), rounded to what is meaningful.
nlohmann::json face_quality_json(const FaceQuality& quality);

// Quality bands used by the accuracy report and the console: "low" below 0.4, "medium" below
// 0.7, "high" from 0.7.
const char* quality_band(float score);

}  // namespace glassbox
