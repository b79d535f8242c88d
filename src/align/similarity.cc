#include "align/similarity.h"

#include <opencv2/imgproc.hpp>

namespace glassbox {

cv::Mat estimate_similarity(const Landmarks& source, const Template5& destination) {
  constexpr std::size_t n = 5;
  double sx = 0, sy = 0, dx = 0, dy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sx += source[i].x;
    sy += source[i].y;
    dx += destination[i].x;
    dy += destination[i].y;
  }
  sx /= n;
  sy /= n;
  dx /= n;
  dy /= n;
  // For centred points p (source) and q (destination), the best a = s*cos, b = s*sin are
  // a = sum(p.q) / sum|p|^2 and b = sum(p x q) / sum|p|^2.
  double dot = 0, cross = 0, variance = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double px = source[i].x - sx, py = source[i].y - sy;
    const double qx = destination[i].x - dx, qy = destination[i].y - dy;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    variance += px * px + py * py;
  }
  double a = 1.0, b = 0.0;
  if (variance > 1e-12) {
    a = dot / variance;
    b = cross / variance;
  }
  cv::Mat m(2, 3, CV_64F);
  m.at<double>(0, 0) = a;
  m.at<double>(0, 1) = -b;
  m.at<double>(1, 0) = b;
  m.at<double>(1, 1) = a;
  m.at<double>(0, 2) = dx - (a * sx - b * sy);
  m.at<double>(1, 2) = dy - (b * sx + a * sy);
  return m;
}

cv::Mat align_face(const cv::Mat& image, const Landmarks& landmarks, const Template5& destination, cv::Size chip_size) {
  const cv::Mat m = estimate_similarity(landmarks, destination);
  cv::Mat chip;
  cv::warpAffine(image, chip, m, chip_size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  return chip;
}

}  // namespace glassbox
