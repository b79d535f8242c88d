#include "eval/photo_templates.h"

#include "embed/embed_face.h"
#include "ingest/image_sources.h"

namespace glassbox::eval {

const char* face_choice_name(FaceChoice choice) {
  switch (choice) {
    case FaceChoice::kCentreOfSeveral: return "centre_of_several";
    case FaceChoice::kCentredCrop: return "centred_crop";
    case FaceChoice::kSingleFace: break;
  }
  return "single_face";
}

Landmarks centred_landmarks(cv::Size image_size) {
  static constexpr float kMean250[5][2] = {{104.46f, 112.48f}, {147.87f, 111.98f}, {126.64f, 138.01f}, {107.65f, 157.76f}, {144.90f, 157.38f}};
  const float sx = static_cast<float>(image_size.width) / 250.0f, sy = static_cast<float>(image_size.height) / 250.0f;
  Landmarks l;
  for (std::size_t i = 0; i < 5; ++i) l[i] = {kMean250[i][0] * sx, kMean250[i][1] * sy};
  return l;
}

int centre_face(const std::vector<DetectedFace>& faces, cv::Size image_size) {
  int best = -1;
  double best_distance = 0.0;
  const cv::Point2d centre(image_size.width / 2.0, image_size.height / 2.0);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const cv::Point2d c(faces[i].box.x + faces[i].box.width / 2.0, faces[i].box.y + faces[i].box.height / 2.0);
    const double d = cv::norm(c - centre);
    if (best < 0 || d < best_distance) {
      best = static_cast<int>(i);
      best_distance = d;
    }
  }
  return best;
}

Result<std::unique_ptr<PhotoTemplateExtractor>> PhotoTemplateExtractor::create(const std::vector<ModelProfile>& profiles) {
  std::unique_ptr<PhotoTemplateExtractor> extractor(new PhotoTemplateExtractor());
  auto detector = YuNetDetector::create({});
  if (!detector) return detector.error();
  extractor->detector_ = std::move(*detector);
  for (const ModelProfile& p : profiles) {
    auto embedder = OnnxEmbedder::create(p);
    if (!embedder) return embedder.error();
    extractor->embedders_.push_back(std::move(*embedder));
  }
  return extractor;
}

Result<PhotoTemplates> PhotoTemplateExtractor::extract(const std::filesystem::path& photo) {
  auto image = read_image(photo);
  if (!image) return image.error();
  const Frame frame = Frame::from_bgr(*image);
  auto faces = detector_->detect(frame);
  if (!faces) return faces.error().within(photo.string());
  PhotoTemplates out;
  Landmarks landmarks;
  if (faces->empty()) {
    out.choice = FaceChoice::kCentredCrop;
    landmarks = centred_landmarks(image->size());
  } else {
    out.choice = faces->size() == 1 ? FaceChoice::kSingleFace : FaceChoice::kCentreOfSeveral;
    const DetectedFace& face = (*faces)[static_cast<std::size_t>(centre_face(*faces, image->size()))];
    landmarks = face.landmarks;
    out.quality = assess_face(frame, face);
  }
  for (auto& embedder : embedders_) {
    auto vector = embed_face(*embedder, frame, landmarks);
    if (!vector) return vector.error().within(photo.string());
    out.templates.push_back(std::move(*vector));
  }
  return out;
}

std::vector<float> quality_to_vector(const FaceQuality& q) {
  return {q.score, q.size_px, q.pose.yaw_deg, q.pose.pitch_deg, q.pose.roll_deg, q.sharpness, q.confidence};
}

std::optional<FaceQuality> quality_from_vector(const std::vector<float>& v) {
  if (v.size() != 7) return std::nullopt;
  FaceQuality q;
  q.score = v[0];
  q.size_px = v[1];
  q.pose = {v[2], v[3], v[4]};
  q.sharpness = v[5];
  q.confidence = v[6];
  return q;
}

}  // namespace glassbox::eval
