// TemplateKey: biometric templates are kept encrypted at rest (XChaCha20-Poly1305, libsodium's
// AEAD), each sealed with a random nonce and bound by its associated data to the entry it
// belongs to and the recognizer profile, so a sealed template copied onto another entry does
// not open. The 32-byte key lives beside the database, never in it: <database>.template-key
// (hex, owner-only). Rows name the key that sealed them (its id: the first 16 hex digits of
// SHA-256 of the key), which makes a rotation that was interrupted recoverable. Entries' reference
// photos (kept for human review) are sealed with the same key, bound to the entry.
// Thread-safety: a value; seal/open are const and reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"

namespace glassbox {

class TemplateKey {
 public:
  static TemplateKey generate();
  // Loads <database>.template-key; with `create_if_missing`, makes one when there is none.
  static Result<TemplateKey> load(const std::string& database, bool create_if_missing);
  static std::filesystem::path path_for(const std::string& database);
  // Reads a key file.
  static Result<TemplateKey> read(const std::filesystem::path& file);

  const std::string& id() const { return id_; }
  std::vector<unsigned char> seal(const std::vector<float>& vector, std::int64_t entry_id, const std::string& profile) const;
  // An error when the bytes were changed, belong to another entry or profile, or another key sealed them.
  Result<std::vector<float>> open(const std::vector<unsigned char>& sealed, std::int64_t entry_id, const std::string& profile) const;
  // A search's probe templates, bound to the search and the profile the same way.
  std::vector<unsigned char> seal_probe(const std::vector<float>& vector, std::int64_t search_id, const std::string& profile) const;
  Result<std::vector<float>> open_probe(const std::vector<unsigned char>& sealed, std::int64_t search_id, const std::string& profile) const;

  // An entry's reference photo (a JPEG), bound to the entry and the SHA-256 of the photo it was made from.
  std::vector<unsigned char> seal_photo(const std::vector<unsigned char>& jpeg, std::int64_t entry_id, const std::string& sha256) const;
  Result<std::vector<unsigned char>> open_photo(const std::vector<unsigned char>& sealed, std::int64_t entry_id, const std::string& sha256) const;

  // Writes the key file (owner-only), replacing `file` atomically.
  Status write(const std::filesystem::path& file) const;

  // Bytes a sealed template of `dimension` floats takes.
  static std::size_t sealed_size(std::size_t dimension);

 private:
  std::vector<unsigned char> seal_with(const std::vector<float>& vector, const std::string& associated_data) const;
  Result<std::vector<float>> open_with(const std::vector<unsigned char>& sealed, const std::string& associated_data,
                                       const std::string& what) const;
  std::vector<unsigned char> seal_bytes(const unsigned char* data, std::size_t size, const std::string& associated_data) const;
  Result<std::vector<unsigned char>> open_bytes(const std::vector<unsigned char>& sealed, const std::string& associated_data,
                                                const std::string& what) const;

  std::array<unsigned char, 32> key_{};
  std::string id_;
};

}  // namespace glassbox
