#include "ingest/frame_source.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>

#include "ingest/image_sources.h"
#include "ingest/video_source.h"

namespace glassbox {

bool looks_like_url(const std::string& spec) {
  static constexpr std::array<const char*, 7> kSchemes = {"rtsp://", "rtsps://", "http://", "https://",
                                                          "rtmp://", "udp://", "tcp://"};
  return std::any_of(kSchemes.begin(), kSchemes.end(),
                     [&](const char* scheme) { return spec.rfind(scheme, 0) == 0; });
}

bool has_image_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static constexpr std::array<const char*, 14> kImageExtensions = {
      ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".gif", ".tga"};
  return std::any_of(kImageExtensions.begin(), kImageExtensions.end(), [&](const char* e) { return ext == e; });
}

Result<std::unique_ptr<FrameSource>> open_source(const std::string& spec, const SourceOptions& options) {
  if (spec.empty()) return Error{"empty source name"};
  if (looks_like_url(spec)) return VideoSource::open(spec, options);
  std::error_code ec;
  const auto status = std::filesystem::status(spec, ec);
  if (ec || !std::filesystem::exists(status)) return Error{spec + ": no such file or folder"};
  if (std::filesystem::is_directory(status)) return ImageListSource::open_folder(spec);
  if (!std::filesystem::is_regular_file(status)) return Error{spec + ": not a regular file, folder or URL"};
  if (has_image_extension(spec)) return ImageListSource::open_file(spec);
  return VideoSource::open(spec, options);
}

}  // namespace glassbox
