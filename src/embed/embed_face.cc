#include "embed/embed_face.h"


namespace glassbox {

std::vector<Result<std::vector<float>>> embed_faces(Embedder& embedder, const Frame& frame, const std::vector<Landmarks>& faces) {
  const FaceAligner& aligner = embedder.aligner();
  std::vector<cv::Mat> chips;
  chips.reserve(faces.size());
  for (const Landmarks& landmarks : faces) chips.push_back(aligner.align(frame, landmarks));
  return embedder.embed_batch(chips);
}

Result<std::vector<float>> embed_face(Embedder& embedder, const Frame& frame, const Landmarks& landmarks) {
  auto out = embed_faces(embedder, frame, {landmarks});
  return std::move(out.front());
}

}  // namespace glassbox
