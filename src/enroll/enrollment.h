// Enrolment rules: what a watchlist entry must carry before it is stored (subject, legal basis,
// photo source, a future expiry date, a submitter), and how a photo becomes a template — only
// when it shows exactly one face, above the quality floor; its template, and a re-encoded copy
// for people to compare alerts with, are what is kept of the photo (both sealed by the store).
// Thread-safety: functions are reentrant; the detector and embedder passed in are used by the
// calling thread only.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "detect/face_detector.h"
#include "embed/embedder.h"
#include "quality/face_quality.h"
#include "store/watchlist_store.h"

namespace glassbox {

struct EnrollmentFields {
  std::string subject;
  std::string legal_basis;
  std::string photo_source;
  std::string expires;       // YYYY-MM-DD
  std::string submitted_by;
  std::vector<std::string> scope = {};  // camera names it may match on; empty: all cameras
};

// How problems name a field: as the command-line option (--legal-basis) or the API's JSON/form
// field (legal_basis).
enum class FieldNames { kOptions, kJson };

// Checks every field and reports all problems at once, each naming its field.
Result<NewEntry> validate_entry_fields(const EnrollmentFields& fields, UnixSeconds now,
                                       FieldNames names = FieldNames::kOptions);

// A required free-text field (subject, legal basis, case id): not blank, at most `max_length`
// bytes, no control characters. Each problem is appended to `problems`, naming `field`.
void check_text(const std::string& field, const std::string& value, std::size_t max_length, std::vector<std::string>& problems);
// Several problems as one message, separated by "; " (the search's refusals).
std::string join_problems(const std::vector<std::string>& problems);
// How a field is called: "--legal-basis" for the command line, "legal_basis" for the API.
std::string field_name(const char* option, FieldNames names);

// A user name as used for submitters and approvers: 1..64 of [A-Za-z0-9._@-]. `field` is the
// name the error gives it ("--approved-by", "user").
Status validate_user_name(const std::string& field, const std::string& name);

struct PhotoOptions {
  // The least a face must have (size, pose, sharpness, detector confidence): below it a template
  // finds its subject less often (docs/ACCURACY.md, "Face quality").
  QualityFloor floor;
};

// The template of the single face in `photo`; an error naming the photo when it is not an
// image, shows no face, several faces, or a face below the quality floor (every reason given).
Result<EntryTemplate> template_from_photo(const std::filesystem::path& photo, FaceDetector& detector,
                                          Embedder& embedder, const PhotoOptions& options);

// A photo received over the API: its file name (for errors and provenance) and its bytes.
struct PhotoUpload {
  std::string name;
  std::vector<unsigned char> bytes;
};
// The photo as kept for review: a JPEG re-encoded from its pixels (no metadata), at most 1600 px
// on its longer side; empty if it cannot be encoded.
std::vector<unsigned char> reference_jpeg(const cv::Mat& image);
// The template of the one face in `image` (already decoded); refused for no face, several
// faces, or a face below the quality floor.
Result<EntryTemplate> template_from_image(const std::string& name, const cv::Mat& image, const std::string& sha256, FaceDetector& detector,
                                          Embedder& embedder, const PhotoOptions& options);
// A photo sent to the service: checked as decode_uploaded_photo does (JPEG or PNG, bytes,
// pixels), then turned into a template.
Result<EntryTemplate> template_from_upload(const PhotoUpload& photo, FaceDetector& detector, Embedder& embedder,
                                           const PhotoOptions& options);

// Validates, turns every photo into a template (refusing the entry if any photo is refused) and
// stores a pending entry. Returns its id.
Result<std::int64_t> enroll_entry(WatchlistStore& store, const EnrollmentFields& fields,
                                  const std::vector<std::filesystem::path>& photos, FaceDetector& detector,
                                  Embedder& embedder, const PhotoOptions& options, UnixSeconds now);

// The same for uploaded photos; problems name the API's fields.
Result<std::int64_t> enroll_uploaded_entry(WatchlistStore& store, const EnrollmentFields& fields,
                                           const std::vector<PhotoUpload>& photos, FaceDetector& detector,
                                           Embedder& embedder, const PhotoOptions& options, UnixSeconds now);

// Lower-case hex SHA-256 of a file's bytes, or of bytes in memory.
Result<std::string> sha256_file(const std::filesystem::path& path);
Result<std::string> sha256_bytes(const std::vector<unsigned char>& bytes);

}  // namespace glassbox
