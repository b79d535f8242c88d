#include "align/face_aligner.h"

#include <cstdio>

#include "align/dlib_chip_aligner.h"

namespace glassbox {
namespace {

class SimilarityAligner final : public FaceAligner {
 public:
  SimilarityAligner(const Template5& destination, cv::Size chip_size) : destination_(destination), chip_size_(chip_size) {}
  cv::Mat align(const Frame& frame, const Landmarks& landmarks) const override {
    return align_face(frame, landmarks, destination_, chip_size_);
  }

 private:
  Template5 destination_;
  cv::Size chip_size_;
};

}  // namespace

const char* alignment_method_name(AlignmentSpec::Method method) {
  return method == AlignmentSpec::Method::kDlibChip68 ? "dlib_chip68" : "similarity5";
}

std::string AlignmentSpec::key() const {
  std::string key = alignment_method_name(method);
  char buffer[64];
  for (const cv::Point2f& p : landmark_template) {
    std::snprintf(buffer, sizeof buffer, ":%.4f,%.4f", p.x, p.y);
    key += buffer;
  }
  if (method == Method::kDlibChip68) {
    std::snprintf(buffer, sizeof buffer, ":pad%.4f:box%.4f,%.4f,%.4f", padding, box_centre.x, box_centre.y, box_size);
    key += ":" + shape_predictor + buffer;
  }
  return key;
}

Result<std::shared_ptr<const FaceAligner>> make_face_aligner(const AlignmentSpec& spec, cv::Size chip_size) {
  if (spec.method == AlignmentSpec::Method::kDlibChip68) return make_dlib_chip_aligner(spec, chip_size);
  return std::shared_ptr<const FaceAligner>(std::make_shared<SimilarityAligner>(spec.landmark_template, chip_size));
}

}  // namespace glassbox
