// Templates of a benchmark photo for several profiles, through the same detector, alignment and
// recognizers as `watch`. Benchmark photos are centred on their subject, so when the detector
// finds several faces the one nearest the centre is taken, and when it finds none the photo is
// embedded from fixed landmarks at the centre ("centred crop"); both cases are counted, never
// dropped.
// Thread-safety: one extractor per thread (it owns a detector and recognizers).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "detect/yunet_detector.h"
#include "embed/onnx_embedder.h"
#include "quality/face_quality.h"

namespace glassbox::eval {

enum class FaceChoice {
  kSingleFace = 0,     // exactly one face detected
  kCentreOfSeveral = 1,// several detected; the one nearest the centre was used
  kCentredCrop = 2,    // none detected; fixed centre landmarks were used
};
const char* face_choice_name(FaceChoice choice);

// Landmarks of the average face in LFW's 250x250 deep-funneled photos (mean of YuNet's landmarks
// on every 10th photo, 1,315 detections), scaled to the photo's size for the centred crop.
Landmarks centred_landmarks(cv::Size image_size);

// Which detected face a centred photo is about: nearest its centre. Returns -1 when none.
int centre_face(const std::vector<DetectedFace>& faces, cv::Size image_size);

struct PhotoTemplates {
  FaceChoice choice = FaceChoice::kSingleFace;
  std::vector<std::vector<float>> templates;  // one per profile, in the extractor's order
  std::optional<FaceQuality> quality;         // of the face used; none for a centred crop
};

// A face's quality as the template cache keeps it (seven numbers), and back.
std::vector<float> quality_to_vector(const FaceQuality& quality);
std::optional<FaceQuality> quality_from_vector(const std::vector<float>& v);

class PhotoTemplateExtractor {
 public:
  static Result<std::unique_ptr<PhotoTemplateExtractor>> create(const std::vector<ModelProfile>& profiles);
  Result<PhotoTemplates> extract(const std::filesystem::path& photo);

 private:
  PhotoTemplateExtractor() = default;
  std::unique_ptr<YuNetDetector> detector_;
  std::vector<std::unique_ptr<OnnxEmbedder>> embedders_;
};

}  // namespace glassbox::eval
