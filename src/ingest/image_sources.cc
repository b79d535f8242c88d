#include "ingest/image_sources.h"

#include <algorithm>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace glassbox {

namespace {

// Detection and embedding expect 8-bit BGR.
cv::Mat to_8bit(cv::Mat image) {
  if (image.depth() == CV_8U) return image;
  cv::Mat converted;
  image.convertTo(converted, CV_8U, image.depth() == CV_16U ? 1.0 / 256.0 : 1.0);
  return converted;
}

}  // namespace

Result<cv::Mat> decode_image(const std::string& name, const std::vector<unsigned char>& bytes) {
  if (bytes.empty()) return Error{name + ": empty file"};
  cv::Mat image;
  try {
    image = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return Error{name + ": not a readable image: " + e.what()};
  }
  if (image.empty()) return Error{name + ": not a readable image (unknown format, corrupt or truncated)"};
  return to_8bit(image);
}

Result<cv::Mat> read_image(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Error{path.string() + ": no such file"};
  cv::Mat image;
  try {
    // IMREAD_COLOR gives 3-channel BGR whatever the file holds (grey, palette, alpha).
    image = cv::imread(path.string(), cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return Error{path.string() + ": not a readable image: " + e.what()};
  }
  if (image.empty()) return Error{path.string() + ": not a readable image (unknown format, corrupt or truncated)"};
  return to_8bit(image);
}

ImageListSource::ImageListSource(std::string name, std::vector<std::filesystem::path> files)
    : name_(std::move(name)), files_(std::move(files)) {}

Result<std::unique_ptr<FrameSource>> ImageListSource::open_folder(const std::string& spec) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(spec, ec)) {
    std::error_code file_ec;
    if (entry.is_regular_file(file_ec) && has_image_extension(entry.path().string())) files.push_back(entry.path());
  }
  if (ec) return Error{spec + ": cannot list folder: " + ec.message()};
  if (files.empty()) return Error{spec + ": folder holds no image files"};
  std::sort(files.begin(), files.end());
  return std::unique_ptr<FrameSource>(new ImageListSource(spec, std::move(files)));
}

Result<std::unique_ptr<FrameSource>> ImageListSource::open_file(const std::string& spec) {
  return std::unique_ptr<FrameSource>(new ImageListSource(spec, {std::filesystem::path(spec)}));
}

Result<std::optional<FrameHeader>> ImageListSource::grab() {
  if (next_ >= files_.size()) return std::optional<FrameHeader>{};
  FrameHeader header;
  header.index = static_cast<std::int64_t>(next_);
  header.timestamp_s = static_cast<double>(next_);
  header.item = files_[next_].filename().string();
  ++next_;
  return std::optional<FrameHeader>{header};
}

Result<Frame> ImageListSource::retrieve() {
  if (next_ == 0) return Error{name_ + ": retrieve before grab"};
  auto image = read_image(files_[next_ - 1]);
  if (!image) return image.error();
  return Frame::from_bgr(std::move(*image));
}

}  // namespace glassbox
