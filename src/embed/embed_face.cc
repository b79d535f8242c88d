#include "embed/embed_face.h"

#include "align/similarity.h"

namespace glassbox {

Result<std::vector<float>> embed_face(Embedder& embedder, const cv::Mat& image, const Landmarks& landmarks) {
  const ModelProfile& profile = embedder.profile();
  const cv::Mat chip = align_face(image, landmarks, profile.alignment_template, profile.input_size);
  return embedder.embed(chip);
}

}  // namespace glassbox
