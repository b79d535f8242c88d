// Image sources: a single photo, or a folder of photos taken in file-name order, one frame per
// image. Files that are not decodable images are reported as per-item errors and skipped, so one
// bad photo does not hide the others.
// Thread-safety: one thread at a time.
#pragma once

#include <filesystem>
#include <vector>

#include "ingest/frame_source.h"

namespace glassbox {

// Reads an image file into BGR pixels, with an error that names the file and the reason.
Result<cv::Mat> read_image(const std::filesystem::path& path);
// The same for an image held in memory (an upload); `name` is used in errors.
Result<cv::Mat> decode_image(const std::string& name, const std::vector<unsigned char>& bytes);

// What an image's header says, read without decoding it.
struct ImageHeader {
  enum class Format { kJpeg, kPng } format;
  int width = 0;
  int height = 0;
};
// JPEG or PNG only, recognised by their bytes (not the name); the size from the header (PNG's
// IHDR, JPEG's SOF marker). An error for anything else or a header that does not parse.
Result<ImageHeader> read_image_header(const std::vector<unsigned char>& bytes);

// Limits for photos uploaded to the service (docs/security.md): JPEG or PNG, at most
// kMaxUploadedPhotoBytes, at most kMaxUploadedPhotoPixels pixels, checked from the header before
// anything is decoded, so a small file cannot expand into gigabytes.
constexpr std::size_t kMaxUploadedPhotoBytes = 20u << 20;
constexpr std::int64_t kMaxUploadedPhotoPixels = 25'000'000;
Result<cv::Mat> decode_uploaded_photo(const std::string& name, const std::vector<unsigned char>& bytes);

class ImageListSource final : public FrameSource {
 public:
  // A folder: every regular file with an image extension directly inside it, sorted by name.
  static Result<std::unique_ptr<FrameSource>> open_folder(const std::string& spec);
  // One image file.
  static Result<std::unique_ptr<FrameSource>> open_file(const std::string& spec);

  Result<std::optional<FrameHeader>> grab() override;
  Result<Frame> retrieve() override;
  bool independent_frames() const override { return true; }
  const std::string& name() const override { return name_; }

 private:
  ImageListSource(std::string name, std::vector<std::filesystem::path> files);

  std::string name_;
  std::vector<std::filesystem::path> files_;
  std::size_t next_ = 0;
};

}  // namespace glassbox
