#include "align/similarity.h"

#include <algorithm>
#include <cmath>
#include <utility>

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

cv::Rect chip_footprint(const cv::Mat& m, cv::Size chip_size, cv::Size frame_size) {
  cv::Mat inverse;
  cv::invertAffineTransform(m, inverse);
  const double w = chip_size.width, h = chip_size.height;
  double min_x = 1e18, min_y = 1e18, max_x = -1e18, max_y = -1e18;
  for (const auto& [cx, cy] : {std::pair{0.0, 0.0}, std::pair{w, 0.0}, std::pair{0.0, h}, std::pair{w, h}}) {
    const double x = inverse.at<double>(0, 0) * cx + inverse.at<double>(0, 1) * cy + inverse.at<double>(0, 2);
    const double y = inverse.at<double>(1, 0) * cx + inverse.at<double>(1, 1) * cy + inverse.at<double>(1, 2);
    min_x = std::min(min_x, x);
    max_x = std::max(max_x, x);
    min_y = std::min(min_y, y);
    max_y = std::max(max_y, y);
  }
  // Two pixels of margin: bilinear sampling reads the neighbours of each source position.
  constexpr double kMargin = 2.0;
  const cv::Rect frame(0, 0, frame_size.width, frame_size.height);
  if (!(max_x - min_x < 1e7 && max_y - min_y < 1e7)) return frame;  // degenerate: take everything
  const int x0 = static_cast<int>(std::floor(std::max(min_x - kMargin, 0.0)));
  const int y0 = static_cast<int>(std::floor(std::max(min_y - kMargin, 0.0)));
  const int x1 = static_cast<int>(std::ceil(std::min(max_x + kMargin, static_cast<double>(frame_size.width))));
  const int y1 = static_cast<int>(std::ceil(std::min(max_y + kMargin, static_cast<double>(frame_size.height))));
  return cv::Rect(x0, y0, std::max(0, x1 - x0), std::max(0, y1 - y0)) & frame;
}

cv::Mat align_face(const Frame& frame, const Landmarks& landmarks, const Template5& destination, cv::Size chip_size) {
  cv::Mat m = estimate_similarity(landmarks, destination);
  cv::Mat chip(chip_size, CV_8UC3, cv::Scalar(0, 0, 0));
  const cv::Rect region = chip_footprint(m, chip_size, frame.size());
  if (region.empty()) return chip;  // the chip lies wholly outside the frame: all border
  // The warp from the region's own coordinates: shifted by the region's origin.
  m.at<double>(0, 2) += m.at<double>(0, 0) * region.x + m.at<double>(0, 1) * region.y;
  m.at<double>(1, 2) += m.at<double>(1, 0) * region.x + m.at<double>(1, 1) * region.y;
  const cv::Mat pixels = frame.region_bgr(region);
  cv::warpAffine(pixels, chip, m, chip_size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  return chip;
}

}  // namespace glassbox
