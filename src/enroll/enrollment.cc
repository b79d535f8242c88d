#include "enroll/enrollment.h"

#include <algorithm>
#include <functional>
#include <fstream>
#include <iterator>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sodium.h>

#include "core/text.h"
#include "embed/embed_face.h"
#include "ingest/camera_config.h"
#include "ingest/image_sources.h"

namespace glassbox {
namespace {

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

// A required free-text field: present, not blank, bounded, valid UTF-8 without control
// characters or bidirectional overrides (a label must read as what it is).
void check_text(const std::string& field, const std::string& value, std::size_t max_length,
                std::vector<std::string>& problems) {
  if (trimmed(value).empty()) {
    problems.push_back(field + " is required and must not be blank");
  } else if (value.size() > max_length) {
    problems.push_back(field + " is longer than " + std::to_string(max_length) + " bytes");
  } else if (!valid_utf8(value)) {
    problems.push_back(field + " is not valid UTF-8");
  } else if (!printable_text(value)) {
    problems.push_back(field + " must not contain control characters or bidirectional overrides");
  }
}

std::string join_problems(const std::vector<std::string>& problems) {
  std::string message;
  for (const std::string& p : problems) message += (message.empty() ? "" : "; ") + p;
  return message;
}

// A field's name as the user typed it: a command-line option or an API field.
std::string field_name(const char* option, FieldNames names) {
  if (names == FieldNames::kOptions) return std::string("--") + option;
  std::string json = option;
  std::replace(json.begin(), json.end(), '-', '_');
  return json;
}

Status validate_user_name(const std::string& field, const std::string& name) {
  const bool allowed = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '@' || c == '-';
  });
  if (!allowed) return Error{field + " must be a user name of 1 to 64 letters, digits or . _ @ -"};
  return ok_status();
}

Result<NewEntry> validate_entry_fields(const EnrollmentFields& fields, UnixSeconds now, FieldNames names) {
  std::vector<std::string> problems;
  check_text(field_name("subject", names), fields.subject, 200, problems);
  check_text(field_name("legal-basis", names), fields.legal_basis, 2000, problems);
  check_text(field_name("source", names), fields.photo_source, 2000, problems);
  if (auto s = validate_user_name(field_name("submitted-by", names), fields.submitted_by); !s) problems.push_back(s.error().message);
  NewEntry entry;
  if (fields.scope.size() > 100) problems.push_back(field_name("scope", names) + " names more than 100 cameras");
  for (const std::string& camera : fields.scope)
    if (!valid_camera_name(camera))
      problems.push_back(field_name("scope", names) + ": '" + sanitized_utf8(camera) + "' is not a camera name (1 to 64 letters, digits or . _ -)");
  const std::string expires = field_name("expires", names);
  if (fields.expires.empty()) {
    problems.push_back(expires + " is required (YYYY-MM-DD, a date in the future)");
  } else if (auto date = parse_date_utc(fields.expires); !date) {
    problems.push_back(expires + ": " + date.error().message);
  } else if (*date <= now) {
    problems.push_back(expires + " " + fields.expires + " is not in the future (today is " + format_date_utc(now) +
                       " UTC; an entry expires at 00:00 UTC of its expiry date)");
  } else {
    entry.expires_at = *date;
  }
  if (!problems.empty()) {
    std::string message = "entry refused:";
    for (const auto& p : problems) message += "\n  - " + p;
    return Error{message};
  }
  entry.subject = trimmed(fields.subject);
  entry.legal_basis = trimmed(fields.legal_basis);
  entry.photo_source = trimmed(fields.photo_source);
  entry.submitted_by = fields.submitted_by;
  entry.scope = fields.scope;
  return entry;
}

Result<std::string> sha256_file(const std::filesystem::path& path) {
  static const bool sodium_ready = sodium_init() >= 0;
  if (!sodium_ready) return Error{"libsodium could not be initialised"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path.string() + ": cannot read"};
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer), static_cast<unsigned long long>(in.gcount()));
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex);
}

Result<std::string> sha256_bytes(const std::vector<unsigned char>& bytes) {
  static const bool sodium_ready = sodium_init() >= 0;
  if (!sodium_ready) return Error{"libsodium could not be initialised"};
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes.data(), bytes.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex);
}

// The template of the one face in an image already decoded; `name` is used in errors and kept
// as the photo's file name.
std::vector<unsigned char> reference_jpeg(const cv::Mat& image) {
  // Re-encoded from the pixels: no metadata of the original (camera, place, time) is kept, and at
  // most 1600 px on the longer side is enough to compare a face by eye.
  constexpr int kLongestSide = 1600;
  cv::Mat shown = image;
  const int longest = std::max(image.cols, image.rows);
  if (longest > kLongestSide) {
    const double scale = static_cast<double>(kLongestSide) / longest;
    cv::resize(image, shown, cv::Size(), scale, scale, cv::INTER_AREA);
  }
  std::vector<unsigned char> jpeg;
  if (!cv::imencode(".jpg", shown, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90})) jpeg.clear();
  return jpeg;
}

Result<EntryTemplate> template_from_image(const std::string& name, const cv::Mat& image, const std::string& sha256,
                                          FaceDetector& detector, Embedder& embedder, const PhotoOptions& options) {
  const Frame frame = Frame::from_bgr(image);
  auto faces = detector.detect(frame);
  if (!faces) return faces.error().within(name);
  if (faces->empty()) return Error{name + ": no face found; enrol from a photo that shows the subject's face"};
  if (faces->size() > 1) {
    return Error{name + ": " + std::to_string(faces->size()) +
                 " faces found; an enrolment photo must show exactly one face (crop it to the subject)"};
  }
  const DetectedFace& face = faces->front();
  const std::vector<std::string> shortfalls = quality_shortfalls(assess_face(frame, face), options.floor);
  if (!shortfalls.empty()) {
    return Error{name + ": " + join_problems(shortfalls) + "; enrol from a sharper, larger or more frontal photo of the subject"};
  }
  auto vector = embed_face(embedder, frame, face.landmarks);
  if (!vector) return vector.error().within(name);
  return EntryTemplate{embedder.profile().name, std::move(*vector), std::filesystem::path(name).filename().string(), sha256,
                       reference_jpeg(image)};
}

namespace {

// Turns every photo into a template, refusing the entry (nothing stored) if any is refused.
Result<std::int64_t> enroll_photos(WatchlistStore& store, const NewEntry& entry, std::size_t photo_count,
                                   const std::function<Result<EntryTemplate>(std::size_t)>& make_template, UnixSeconds now) {
  if (photo_count == 0) return Error{"entry refused: at least one photo is required"};
  std::vector<EntryTemplate> templates;
  std::vector<std::string> refused;
  for (std::size_t i = 0; i < photo_count; ++i) {
    auto t = make_template(i);
    if (t) {
      templates.push_back(std::move(*t));
    } else {
      refused.push_back(t.error().message);
    }
  }
  if (!refused.empty()) {
    std::string message = "entry refused, nothing stored:";
    for (const auto& r : refused) message += "\n  - " + r;
    return Error{message};
  }
  return store.add_pending_entry(entry, templates, now);
}

}  // namespace

Result<EntryTemplate> template_from_photo(const std::filesystem::path& photo, FaceDetector& detector,
                                          Embedder& embedder, const PhotoOptions& options) {
  auto image = read_image(photo);
  if (!image) return image.error();
  auto digest = sha256_file(photo);
  if (!digest) return digest.error();
  return template_from_image(photo.string(), *image, *digest, detector, embedder, options);
}

Result<EntryTemplate> template_from_upload(const PhotoUpload& photo, FaceDetector& detector, Embedder& embedder,
                                           const PhotoOptions& options) {
  auto image = decode_uploaded_photo(photo.name, photo.bytes);
  if (!image) return image.error();
  auto digest = sha256_bytes(photo.bytes);
  if (!digest) return digest.error();
  return template_from_image(photo.name, *image, *digest, detector, embedder, options);
}

Result<std::int64_t> enroll_entry(WatchlistStore& store, const EnrollmentFields& fields,
                                  const std::vector<std::filesystem::path>& photos, FaceDetector& detector,
                                  Embedder& embedder, const PhotoOptions& options, UnixSeconds now) {
  auto entry = validate_entry_fields(fields, now);
  if (!entry) return entry.error();
  return enroll_photos(
      store, *entry, photos.size(), [&](std::size_t i) { return template_from_photo(photos[i], detector, embedder, options); }, now);
}

Result<std::int64_t> enroll_uploaded_entry(WatchlistStore& store, const EnrollmentFields& fields,
                                           const std::vector<PhotoUpload>& photos, FaceDetector& detector,
                                           Embedder& embedder, const PhotoOptions& options, UnixSeconds now) {
  auto entry = validate_entry_fields(fields, now, FieldNames::kJson);
  if (!entry) return entry.error();
  return enroll_photos(
      store, *entry, photos.size(), [&](std::size_t i) { return template_from_upload(photos[i], detector, embedder, options); }, now);
}

}  // namespace glassbox
