// A cache of benchmark templates keyed by the photo's content (SHA-256), the profile and the
// extraction method, so a second evaluation run skips detection and inference. It holds
// templates of public benchmark photos only (never of anyone seen by a camera); it lives under
// the build folder and can be deleted at any time.
// Thread-safety: one instance per thread (each opens its own SQLite connection; WAL mode lets
// several write).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "eval/photo_templates.h"

struct sqlite3;

namespace glassbox::eval {

struct CachedTemplate {
  FaceChoice choice = FaceChoice::kSingleFace;
  std::vector<float> vector;
};

class TemplateCache {
 public:
  // Bump when detection, face choice or alignment change: old entries then stop matching.
  static constexpr const char* kMethod = "v1:yunet2022mar:max640:centre-face:centred-crop-lfw-mean";

  static Result<std::unique_ptr<TemplateCache>> open(const std::string& path);
  ~TemplateCache();

  std::optional<CachedTemplate> get(const std::string& photo_sha256, const std::string& profile);
  Status put(const std::string& photo_sha256, const std::string& profile, const CachedTemplate& value);

 private:
  explicit TemplateCache(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace glassbox::eval
