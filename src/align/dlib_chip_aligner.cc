#include "align/dlib_chip_aligner.h"

#include <cmath>
#include <map>
#include <mutex>

#include <opencv2/imgproc.hpp>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv.h>
#include <dlib/serialize.h>

#include "core/paths.h"

namespace glassbox {
namespace {

constexpr const char* kDebianDlibData = "/usr/share/dlib";

Result<std::filesystem::path> find_shape_predictor(const std::string& file) {
  auto in_models = find_model_file(file);
  if (in_models) return in_models;
  const std::filesystem::path debian = std::filesystem::path(kDebianDlibData) / file;
  std::error_code ec;
  if (std::filesystem::is_regular_file(debian, ec)) return debian;
  return Error{"shape predictor '" + file + "' not found in " + models_dir().string() + " nor in " + kDebianDlibData +
               " (Debian's package libdlib-data ships it; scripts/install-deps.sh installs it)"};
}

// One shape predictor per file for the whole process, kept while some aligner uses it.
Result<std::shared_ptr<const dlib::shape_predictor>> shared_shape_predictor(const std::string& file) {
  static std::mutex mutex;
  static std::map<std::filesystem::path, std::weak_ptr<const dlib::shape_predictor>> loaded;
  auto path = find_shape_predictor(file);
  if (!path) return path.error();
  std::lock_guard lock(mutex);
  if (auto existing = loaded[*path].lock()) return existing;
  auto predictor = std::make_shared<dlib::shape_predictor>();
  try {
    dlib::deserialize(path->string()) >> *predictor;
  } catch (const std::exception& e) {
    return Error{path->string() + ": not a dlib shape predictor: " + e.what()};
  }
  if (predictor->num_parts() != 68) return Error{path->string() + ": has " + std::to_string(predictor->num_parts()) + " landmarks, dlib_chip68 needs 68"};
  std::shared_ptr<const dlib::shape_predictor> shared = std::move(predictor);
  loaded[*path] = shared;
  return shared;
}

cv::Point2f apply(const cv::Mat& m, cv::Point2f p) {
  return {static_cast<float>(m.at<double>(0, 0) * p.x + m.at<double>(0, 1) * p.y + m.at<double>(0, 2)),
          static_cast<float>(m.at<double>(1, 0) * p.x + m.at<double>(1, 1) * p.y + m.at<double>(1, 2))};
}

// The frame's pixels a rotated rectangle (centre, size, angle) covers, with two pixels of margin
// for bilinear sampling, clipped to the frame.
cv::Rect covering(const dlib::chip_details& chip, cv::Size frame_size) {
  const dlib::dpoint centre = dlib::center(chip.rect);
  const double c = std::cos(chip.angle), s = std::sin(chip.angle);
  const double hw = chip.rect.width() / 2.0, hh = chip.rect.height() / 2.0;
  const double ex = std::abs(c) * hw + std::abs(s) * hh + 2.0, ey = std::abs(s) * hw + std::abs(c) * hh + 2.0;
  const int x0 = static_cast<int>(std::floor(centre.x() - ex)), y0 = static_cast<int>(std::floor(centre.y() - ey));
  const int x1 = static_cast<int>(std::ceil(centre.x() + ex)), y1 = static_cast<int>(std::ceil(centre.y() + ey));
  return cv::Rect(x0, y0, x1 - x0, y1 - y0) & cv::Rect(0, 0, frame_size.width, frame_size.height);
}

class DlibChipAligner final : public FaceAligner {
 public:
  DlibChipAligner(AlignmentSpec spec, cv::Size chip_size, std::shared_ptr<const dlib::shape_predictor> predictor)
      : spec_(std::move(spec)), chip_size_(chip_size), predictor_(std::move(predictor)) {}

  cv::Mat align(const Frame& frame, const Landmarks& landmarks) const override {
    const cv::Rect frame_rect(0, 0, frame.width(), frame.height());
    const cv::Rect2f box = dlib_detector_box(landmarks, spec_);
    // The predictor reads pixels near its shape only, which stays near the box: a region of
    // three box sides around it holds everything it samples.
    const cv::Rect search = cv::Rect(cv::Rect2f(box.x - box.width, box.y - box.height, 3 * box.width, 3 * box.height)) & frame_rect;
    cv::Mat black(chip_size_, CV_8UC3, cv::Scalar(0, 0, 0));
    if (search.empty()) return black;
    const cv::Mat search_pixels = frame.region_bgr(search);
    const dlib::cv_image<dlib::bgr_pixel> search_image(search_pixels);
    const dlib::rectangle start(static_cast<long>(std::lround(box.x - search.x)), static_cast<long>(std::lround(box.y - search.y)),
                                static_cast<long>(std::lround(box.x + box.width - search.x)) - 1,
                                static_cast<long>(std::lround(box.y + box.height - search.y)) - 1);
    dlib::full_object_detection shape = (*predictor_)(search_image, start);
    // Back to frame coordinates, then the chip dlib would cut.
    for (unsigned long i = 0; i < shape.num_parts(); ++i) shape.part(i) += dlib::point(search.x, search.y);
    dlib::chip_details chip = dlib::get_face_chip_details(shape, static_cast<unsigned long>(chip_size_.width), spec_.padding);
    const cv::Rect region = covering(chip, frame.size());
    if (region.empty()) return black;
    chip.rect = dlib::translate_rect(chip.rect, dlib::dpoint(-region.x, -region.y));
    const cv::Mat region_pixels = frame.region_bgr(region);
    dlib::matrix<dlib::bgr_pixel> out;
    dlib::extract_image_chip(dlib::cv_image<dlib::bgr_pixel>(region_pixels), chip, out);
    return dlib::toMat(out).clone();
  }

 private:
  AlignmentSpec spec_;
  cv::Size chip_size_;
  std::shared_ptr<const dlib::shape_predictor> predictor_;
};

}  // namespace

cv::Rect2f dlib_detector_box(const Landmarks& landmarks, const AlignmentSpec& spec) {
  const cv::Mat to_template = estimate_similarity(landmarks, spec.landmark_template);
  cv::Mat to_frame;
  cv::invertAffineTransform(to_template, to_frame);
  const cv::Point2f centre = apply(to_frame, spec.box_centre);
  const double scale = std::hypot(to_frame.at<double>(0, 0), to_frame.at<double>(1, 0));
  const float side = static_cast<float>(spec.box_size * scale);
  return {centre.x - side / 2, centre.y - side / 2, side, side};
}

std::pair<cv::Point2f, float> box_in_template_frame(const Landmarks& landmarks, const Template5& frame_template, const cv::Rect2f& box) {
  const cv::Mat to_template = estimate_similarity(landmarks, frame_template);
  const cv::Point2f centre = apply(to_template, {box.x + box.width / 2, box.y + box.height / 2});
  const double scale = std::hypot(to_template.at<double>(0, 0), to_template.at<double>(1, 0));
  return {centre, static_cast<float>((box.width + box.height) / 2 * scale)};
}

std::vector<cv::Rect2f> dlib_frontal_face_boxes(const cv::Mat& bgr) {
  // The detector keeps scratch state: one per thread.
  thread_local dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
  std::vector<cv::Rect2f> boxes;
  for (const dlib::rectangle& r : detector(dlib::cv_image<dlib::bgr_pixel>(bgr)))
    boxes.emplace_back(static_cast<float>(r.left()), static_cast<float>(r.top()), static_cast<float>(r.width()), static_cast<float>(r.height()));
  return boxes;
}

Result<std::shared_ptr<const FaceAligner>> make_dlib_chip_aligner(const AlignmentSpec& spec, cv::Size chip_size) {
  if (chip_size.width != chip_size.height) return Error{"dlib_chip68 cuts square chips; the profile's input_size is not square"};
  if (!(spec.box_size > 0)) return Error{"dlib_chip68 needs the detector box's size in the template's frame"};
  auto predictor = shared_shape_predictor(spec.shape_predictor);
  if (!predictor) return predictor.error();
  return std::shared_ptr<const FaceAligner>(std::make_shared<DlibChipAligner>(spec, chip_size, std::move(*predictor)));
}

}  // namespace glassbox
