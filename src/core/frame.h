// Frame: one decoded picture as the frame path carries it, from the decoder to the last stage
// that needs pixels, without a full-size copy or conversion on the way.
//
// A video frame stays what FFmpeg decoded — planar YUV 4:2:0, the decoder's own buffer held
// by reference — and is converted only where a stage needs BGR: the whole picture scaled down
// to the detector's input in one swscale pass (scale and colour together), and small
// full-resolution regions around the faces that are aligned or kept as evidence. A photo or a
// video in any other pixel format is held as full-size BGR, and the same calls work on it.
// Converting a region gives exactly the pixels the same region of bgr() has, so what a face
// crop or an aligned chip holds does not depend on how much of the frame was converted.
//
// Thread-safety: a Frame is immutable; copies share the pixels. Any number of threads may read
// one Frame at once (conversions write only to their outputs and to per-thread scratch).
#pragma once

#include <memory>

#include <opencv2/core.hpp>

namespace glassbox {

class Frame {
 public:
  Frame() = default;

  // A BGR picture (CV_8UC3): shared, not copied. Anything else gives an empty Frame.
  static Frame from_bgr(cv::Mat bgr);
  // Planar YUV 4:2:0, limited range (BT.601 coefficients, as FFmpeg's and OpenCV's default
  // conversions use). Even width and height. The planes are views; `owner` keeps them alive.
  static Frame from_yuv420(const cv::Mat& y, const cv::Mat& u, const cv::Mat& v, std::shared_ptr<const void> owner);

  bool empty() const { return width_ == 0; }
  int width() const { return width_; }
  int height() const { return height_; }
  cv::Size size() const { return {width_, height_}; }
  bool is_yuv() const { return !y_.empty(); }

  // The whole picture at `size`, BGR, into `out` (reallocated only when its size changes; it
  // never shares the frame's pixels). Shrinking is area-filtered: each output pixel averages
  // the input pixels it covers.
  void scaled_bgr(cv::Size size, cv::Mat& out) const;
  // Full-resolution BGR pixels of `region` (clipped to the frame; empty when nothing is left).
  // For a BGR frame this is a view of its pixels: clone it to keep it beyond the frame.
  cv::Mat region_bgr(cv::Rect region) const;
  // The whole picture, full-resolution BGR: shared for a BGR frame, converted for a YUV one.
  cv::Mat bgr() const;

 private:
  int width_ = 0;
  int height_ = 0;
  cv::Mat bgr_;            // a BGR frame
  cv::Mat y_, u_, v_;      // a YUV 4:2:0 frame (views of the decoder's buffer)
  std::shared_ptr<const void> owner_;
};

}  // namespace glassbox
