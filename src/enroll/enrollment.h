// Enrolment rules: what a watchlist entry must carry before it is stored (subject, legal basis,
// photo source, a future expiry date, a submitter), and how a photo becomes a template — only
// when it shows exactly one face, whose template is the only thing kept of the photo.
// Thread-safety: functions are reentrant; the detector and embedder passed in are used by the
// calling thread only.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "detect/face_detector.h"
#include "embed/embedder.h"
#include "store/watchlist_store.h"

namespace glassbox {

struct EnrollmentFields {
  std::string subject;
  std::string legal_basis;
  std::string photo_source;
  std::string expires;       // YYYY-MM-DD
  std::string submitted_by;
};

// Checks every field and reports all problems at once, each naming its field.
Result<NewEntry> validate_entry_fields(const EnrollmentFields& fields, UnixSeconds now);

// A user name as used for submitters and approvers: 1..64 of [A-Za-z0-9._@-].
Status validate_user_name(const std::string& field, const std::string& name);

struct PhotoOptions {
  int min_face_px = 40;  // a smaller face makes a template too poor to enrol
};

// The template of the single face in `photo`; an error naming the photo when it is not an
// image, shows no face, several faces, or a face too small.
Result<EntryTemplate> template_from_photo(const std::filesystem::path& photo, FaceDetector& detector,
                                          Embedder& embedder, const PhotoOptions& options);

// Validates, turns every photo into a template (refusing the entry if any photo is refused) and
// stores a pending entry. Returns its id.
Result<std::int64_t> enroll_entry(WatchlistStore& store, const EnrollmentFields& fields,
                                  const std::vector<std::filesystem::path>& photos, FaceDetector& detector,
                                  Embedder& embedder, const PhotoOptions& options, UnixSeconds now);

// Lower-case hex SHA-256 of a file's bytes.
Result<std::string> sha256_file(const std::filesystem::path& path);

}  // namespace glassbox
