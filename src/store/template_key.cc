#include "store/template_key.h"

#include "core/owner_file.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace glassbox {
namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

std::string key_id(const std::array<unsigned char, 32>& key) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, key.data(), key.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex).substr(0, 16);
}

std::string associated_data(std::int64_t entry_id, const std::string& profile) {
  return "glassbox-template/v1\nentry " + std::to_string(entry_id) + "\nprofile " + profile + "\n";
}

std::string probe_associated_data(std::int64_t search_id, const std::string& profile) {
  return "glassbox-probe/v1\nsearch " + std::to_string(search_id) + "\nprofile " + profile + "\n";
}

std::string photo_associated_data(std::int64_t entry_id, const std::string& sha256) {
  return "glassbox-photo/v1\nentry " + std::to_string(entry_id) + "\nsha256 " + sha256 + "\n";
}

}  // namespace

TemplateKey TemplateKey::generate() {
  (void)sodium_ready();
  TemplateKey k;
  crypto_aead_xchacha20poly1305_ietf_keygen(k.key_.data());
  k.id_ = key_id(k.key_);
  return k;
}

std::filesystem::path TemplateKey::path_for(const std::string& database) { return database + ".template-key"; }

std::size_t TemplateKey::sealed_size(std::size_t dimension) {
  return crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + dimension * sizeof(float) + crypto_aead_xchacha20poly1305_ietf_ABYTES;
}

Result<TemplateKey> TemplateKey::load(const std::string& database, bool create_if_missing) {
  if (!sodium_ready()) return Error{"libsodium could not be initialised"};
  const auto file = path_for(database);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    if (!create_if_missing)
      return Error{file.string() + ": the template key is missing; without it no template can be read (it is never kept in the database)"};
    // Two first users at once (the search thread and an enrolment) must end with one key: the
    // loser of the race reads the winner's.
    TemplateKey k = generate();
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, k.key_.data(), k.key_.size());
    auto created = create_owner_only_once(file, std::string(hex) + "\n");
    if (!created) return created.error();
    if (*created) return k;
  }
  return read(file);
}

Result<TemplateKey> TemplateKey::read(const std::filesystem::path& file) {
  if (!sodium_ready()) return Error{"libsodium could not be initialised"};
  std::ifstream in(file);
  if (!in) return Error{file.string() + ": cannot read the template key"};
  std::stringstream text;
  text << in.rdbuf();
  std::string hex = text.str();
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' ')) hex.pop_back();
  TemplateKey k;
  std::size_t written = 0;
  if (hex.size() != 64 || sodium_hex2bin(k.key_.data(), k.key_.size(), hex.data(), hex.size(), nullptr, &written, nullptr) != 0 ||
      written != 32)
    return Error{file.string() + ": not a template key (64 hex digits)"};
  k.id_ = key_id(k.key_);
  return k;
}

Status TemplateKey::write(const std::filesystem::path& file) const {
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key_.data(), key_.size());
  const auto partial = file.string() + ".partial";
  std::error_code ec;
  std::filesystem::remove(partial, ec);  // left by an interrupted write
  if (auto s = write_owner_only(partial, std::string(hex) + "\n"); !s) return s.error().within("cannot write the template key");
  std::filesystem::rename(partial, file, ec);
  if (ec) return Error{file.string() + ": cannot put the template key in place: " + ec.message()};
  return ok_status();
}

std::vector<unsigned char> TemplateKey::seal(const std::vector<float>& vector, std::int64_t entry_id, const std::string& profile) const {
  return seal_with(vector, associated_data(entry_id, profile));
}

Result<std::vector<float>> TemplateKey::open(const std::vector<unsigned char>& sealed, std::int64_t entry_id, const std::string& profile) const {
  return open_with(sealed, associated_data(entry_id, profile), "template of entry " + std::to_string(entry_id) + " (" + profile + ")");
}

std::vector<unsigned char> TemplateKey::seal_probe(const std::vector<float>& vector, std::int64_t search_id, const std::string& profile) const {
  return seal_with(vector, probe_associated_data(search_id, profile));
}

Result<std::vector<float>> TemplateKey::open_probe(const std::vector<unsigned char>& sealed, std::int64_t search_id,
                                                   const std::string& profile) const {
  return open_with(sealed, probe_associated_data(search_id, profile), "probe of search " + std::to_string(search_id) + " (" + profile + ")");
}

std::vector<unsigned char> TemplateKey::seal_with(const std::vector<float>& vector, const std::string& ad) const {
  return seal_bytes(reinterpret_cast<const unsigned char*>(vector.data()), vector.size() * sizeof(float), ad);
}

Result<std::vector<float>> TemplateKey::open_with(const std::vector<unsigned char>& sealed, const std::string& ad, const std::string& what) const {
  auto plain = open_bytes(sealed, ad, what);
  if (!plain) return plain.error();
  if (plain->size() % sizeof(float) != 0) return Error{what + ": not a sealed template"};
  std::vector<float> vector(plain->size() / sizeof(float));
  std::memcpy(vector.data(), plain->data(), plain->size());
  return vector;
}

std::vector<unsigned char> TemplateKey::seal_bytes(const unsigned char* data, std::size_t size, const std::string& ad) const {
  std::vector<unsigned char> out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + size + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  randombytes_buf(out.data(), crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &written, data, size,
                                             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, out.data(), key_.data());
  return out;
}

Result<std::vector<unsigned char>> TemplateKey::open_bytes(const std::vector<unsigned char>& sealed, const std::string& ad,
                                                           const std::string& what) const {
  constexpr std::size_t overhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < overhead) return Error{what + ": not sealed data"};
  std::vector<unsigned char> plain(sealed.size() - overhead);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &written, nullptr, sealed.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                 sealed.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                 reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), sealed.data(), key_.data()) != 0)
    return Error{what + ": does not open with this key (changed, moved to another entry, or sealed with another key)"};
  return plain;
}

std::vector<unsigned char> TemplateKey::seal_photo(const std::vector<unsigned char>& jpeg, std::int64_t entry_id, const std::string& sha256) const {
  return seal_bytes(jpeg.data(), jpeg.size(), photo_associated_data(entry_id, sha256));
}

Result<std::vector<unsigned char>> TemplateKey::open_photo(const std::vector<unsigned char>& sealed, std::int64_t entry_id,
                                                           const std::string& sha256) const {
  return open_bytes(sealed, photo_associated_data(entry_id, sha256), "reference photo of entry " + std::to_string(entry_id));
}

}  // namespace glassbox
