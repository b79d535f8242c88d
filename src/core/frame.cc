#include "core/frame.h"

#include <opencv2/imgproc.hpp>

extern "C" {
#include <libswscale/swscale.h>
}

namespace glassbox {
namespace {

// swscale's vectorised converters write whole blocks of pixels, past the end of a row whose
// width is not a multiple of the block (seen as heap corruption on odd-sized videos). Outputs
// get rows padded to 64 pixels and a spare row; the result is a view of them.
cv::Mat padded_bgr(cv::Size size, cv::Mat& reuse) {
  const int padded_width = (size.width + 63) & ~63;
  const bool fits = reuse.size() == size && reuse.type() == CV_8UC3 && reuse.step >= static_cast<std::size_t>(padded_width) * 3 &&
                    reuse.data + static_cast<std::size_t>(size.height) * reuse.step + static_cast<std::size_t>(padded_width) * 3 <= reuse.datalimit;
  if (fits) return reuse;
  cv::Mat buffer(size.height + 1, padded_width, CV_8UC3);
  return buffer(cv::Rect(0, 0, size.width, size.height));
}

// One scaling context per thread: a worker scales frames of the same few sizes over and over,
// and sws_getCachedContext rebuilds it only when the sizes change.
struct ScalerCache {
  SwsContext* context = nullptr;
  ~ScalerCache() { sws_freeContext(context); }
};

}  // namespace

Frame Frame::from_bgr(cv::Mat bgr) {
  Frame f;
  if (bgr.empty() || bgr.type() != CV_8UC3) return f;
  f.width_ = bgr.cols;
  f.height_ = bgr.rows;
  f.bgr_ = std::move(bgr);
  return f;
}

Frame Frame::from_yuv420(const cv::Mat& y, const cv::Mat& u, const cv::Mat& v, std::shared_ptr<const void> owner) {
  CV_Assert(y.type() == CV_8UC1 && u.type() == CV_8UC1 && v.type() == CV_8UC1);
  CV_Assert(y.cols % 2 == 0 && y.rows % 2 == 0 && u.cols == y.cols / 2 && u.rows == y.rows / 2 && v.size() == u.size());
  Frame f;
  f.width_ = y.cols;
  f.height_ = y.rows;
  f.y_ = y;
  f.u_ = u;
  f.v_ = v;
  f.owner_ = std::move(owner);
  return f;
}

cv::Mat Frame::region_bgr(cv::Rect region) const {
  region &= cv::Rect(0, 0, width_, height_);
  if (region.empty()) return {};
  if (!is_yuv()) return bgr_(region);
  // Each chroma sample covers a 2x2 block of luma: the region is widened to even bounds, its
  // three planes gathered into one I420 image, converted, and the requested part kept. OpenCV's
  // I420 conversion uses only a block's own chroma, so this equals that region of bgr().
  const int x0 = region.x & ~1, y0 = region.y & ~1;
  const int x1 = (region.x + region.width + 1) & ~1, y1 = (region.y + region.height + 1) & ~1;
  const int w = x1 - x0, h = y1 - y0;
  cv::Mat i420(h * 3 / 2, w, CV_8UC1);
  y_(cv::Rect(x0, y0, w, h)).copyTo(i420(cv::Rect(0, 0, w, h)));
  const cv::Rect chroma(x0 / 2, y0 / 2, w / 2, h / 2);
  cv::Mat u_plane(h / 2, w / 2, CV_8UC1, i420.ptr(h));
  cv::Mat v_plane(h / 2, w / 2, CV_8UC1, i420.ptr(h) + static_cast<std::size_t>(w / 2) * (h / 2));
  u_(chroma).copyTo(u_plane);
  v_(chroma).copyTo(v_plane);
  cv::Mat bgr;
  cv::cvtColor(i420, bgr, cv::COLOR_YUV2BGR_I420);
  if (x0 == region.x && y0 == region.y && w == region.width && h == region.height) return bgr;
  return bgr(cv::Rect(region.x - x0, region.y - y0, region.width, region.height));
}

cv::Mat Frame::bgr() const {
  if (!is_yuv()) return bgr_;
  return region_bgr(cv::Rect(0, 0, width_, height_));
}

void Frame::scaled_bgr(cv::Size size, cv::Mat& out) const {
  CV_Assert(!empty() && size.width > 0 && size.height > 0);
  if (size == this->size()) {
    // `out` never shares the frame's pixels: a caller reuses it for the next frame.
    if (is_yuv()) {
      out = bgr();
    } else {
      bgr_.copyTo(out);
    }
    return;
  }
  if (!is_yuv()) {
    cv::resize(bgr_, out, size, 0, 0, size.width < width_ ? cv::INTER_AREA : cv::INTER_LINEAR);
    return;
  }
  thread_local ScalerCache cache;
  cache.context = sws_getCachedContext(cache.context, width_, height_, AV_PIX_FMT_YUV420P, size.width, size.height, AV_PIX_FMT_BGR24,
                                       size.width < width_ ? SWS_AREA : SWS_BILINEAR, nullptr, nullptr, nullptr);
  CV_Assert(cache.context != nullptr);
  out = padded_bgr(size, out);
  const std::uint8_t* planes[3] = {y_.data, u_.data, v_.data};
  const int strides[3] = {static_cast<int>(y_.step), static_cast<int>(u_.step), static_cast<int>(v_.step)};
  std::uint8_t* destination[1] = {out.data};
  const int destination_stride[1] = {static_cast<int>(out.step)};
  sws_scale(cache.context, planes, strides, 0, height_, destination, destination_stride);
}

}  // namespace glassbox
