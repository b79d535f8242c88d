#include "ingest/image_sources.h"

#include <algorithm>
#include <cstdint>

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

Result<ImageHeader> read_image_header(const std::vector<unsigned char>& b) {
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto be32 = [&](std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
  };
  if (b.size() >= 24 && std::equal(kPng, kPng + 8, b.begin())) {
    if (std::string(b.begin() + 12, b.begin() + 16) != "IHDR") return Error{"a PNG without its IHDR header"};
    const std::uint32_t w = be32(16), h = be32(20);
    if (w == 0 || h == 0 || w > 1'000'000 || h > 1'000'000) return Error{"a PNG whose header gives an impossible size"};
    return ImageHeader{ImageHeader::Format::kPng, static_cast<int>(w), static_cast<int>(h)};
  }
  if (b.size() >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
    // Markers until a frame header (SOF0..SOF15 but DHT, JPG and DAC) gives the size.
    std::size_t at = 2;
    while (at + 4 <= b.size()) {
      if (b[at] != 0xFF) return Error{"a JPEG whose markers do not parse"};
      const unsigned char marker = b[at + 1];
      if (marker == 0xFF) {  // fill byte
        ++at;
        continue;
      }
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // markers without a length
        at += 2;
        continue;
      }
      const std::size_t length = (std::size_t{b[at + 2]} << 8) | b[at + 3];
      if (length < 2 || at + 2 + length > b.size()) return Error{"a JPEG cut short in its headers"};
      const bool frame_header = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (frame_header) {
        if (length < 7) return Error{"a JPEG with a malformed frame header"};
        const int h = (b[at + 5] << 8) | b[at + 6], w = (b[at + 7] << 8) | b[at + 8];
        if (w == 0 || h == 0) return Error{"a JPEG whose header gives no size"};
        return ImageHeader{ImageHeader::Format::kJpeg, w, h};
      }
      if (marker == 0xDA || marker == 0xD9) return Error{"a JPEG without a frame header"};
      at += 2 + length;
    }
    return Error{"a JPEG cut short in its headers"};
  }
  return Error{"not a JPEG or PNG image"};
}

Result<cv::Mat> decode_uploaded_photo(const std::string& name, const std::vector<unsigned char>& bytes) {
  if (bytes.size() > kMaxUploadedPhotoBytes)
    return Error{name + ": the photo is larger than " + std::to_string(kMaxUploadedPhotoBytes >> 20) + " MiB"};
  auto header = read_image_header(bytes);
  if (!header) return header.error().within(name);
  const std::int64_t pixels = std::int64_t{header->width} * header->height;
  if (pixels > kMaxUploadedPhotoPixels)
    return Error{name + ": " + std::to_string(header->width) + " x " + std::to_string(header->height) + " pixels is more than the " +
                 std::to_string(kMaxUploadedPhotoPixels / 1'000'000) + " megapixels a photo may have"};
  return decode_image(name, bytes);
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
