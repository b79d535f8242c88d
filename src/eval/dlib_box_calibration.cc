#include "eval/dlib_box_calibration.h"

#include <algorithm>

#include "align/dlib_chip_aligner.h"
#include "detect/yunet_detector.h"
#include "eval/lfw_protocol.h"
#include "ingest/image_sources.h"

namespace glassbox::eval {
namespace {

// Median and quartiles of a sample (sorted in place).
nlohmann::json quartiles(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
  auto r4 = [](double x) { return std::round(x * 1e4) / 1e4; };
  return {{"median", r4(at(0.5))}, {"q1", r4(at(0.25))}, {"q3", r4(at(0.75))}};
}

}  // namespace

Result<nlohmann::json> measure_dlib_box(const ModelProfile& profile, const DlibBoxOptions& options) {
  if (options.every < 1) return Error{"--every must be 1 or more"};
  const auto images = options.lfw_dir / "images";
  auto people = list_people(images);
  if (!people) return people.error();
  auto detector = YuNetDetector::create({});
  if (!detector) return detector.error();
  std::vector<double> cx, cy, side;
  std::size_t photos = 0, seen = 0, yunet_not_one = 0, dlib_not_one = 0, disagree = 0;
  for (const auto& [name, count] : *people) {
    for (int i = 1; i <= count; ++i, ++seen) {
      if (seen % static_cast<std::size_t>(options.every) != 0) continue;
      ++photos;
      auto image = read_image(lfw_photo(images, name, i));
      if (!image) return image.error();
      auto faces = (*detector)->detect(Frame::from_bgr(*image));
      if (!faces) return faces.error();
      if (faces->size() != 1) {
        ++yunet_not_one;
        continue;
      }
      const std::vector<cv::Rect2f> boxes = dlib_frontal_face_boxes(*image);
      if (boxes.size() != 1) {
        ++dlib_not_one;
        continue;
      }
      const DetectedFace& face = faces->front();
      // The same face: dlib's box holds YuNet's nose tip.
      if (!boxes.front().contains(face.landmarks[2])) {
        ++disagree;
        continue;
      }
      const auto [centre, size] = box_in_template_frame(face.landmarks, profile.alignment.landmark_template, boxes.front());
      cx.push_back(centre.x);
      cy.push_back(centre.y);
      side.push_back(size);
    }
  }
  if (side.empty()) return Error{"no photo where YuNet and dlib each found one face"};
  nlohmann::json out = {{"profile", profile.name},
                        {"photos_looked_at", photos},
                        {"used", side.size()},
                        {"yunet_found_not_one", yunet_not_one},
                        {"dlib_found_not_one", dlib_not_one},
                        {"boxes_disagree", disagree},
                        {"centre_x", quartiles(cx)},
                        {"centre_y", quartiles(cy)},
                        {"size", quartiles(side)}};
  out["box"] = {{"centre", {out["centre_x"]["median"], out["centre_y"]["median"]}}, {"size", out["size"]["median"]}};
  return out;
}

}  // namespace glassbox::eval
