#include "audit/checkpoint.h"

#include <sodium.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/owner_file.h"

namespace glassbox::audit {
namespace {

using nlohmann::json;

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

Result<std::string> read_trimmed(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return Error{file.string() + ": cannot read"};
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  const auto first = s.find_first_not_of(" \t\r\n");
  const auto last = s.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
}

}  // namespace

std::string hex(const unsigned char* bytes, std::size_t n) {
  std::string out(2 * n + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, n);
  out.pop_back();
  return out;
}

template <std::size_t N>
Result<std::array<unsigned char, N>> from_hex(const std::string& text, const std::string& what) {
  if (text.size() != 2 * N) return Error{what + ": expected " + std::to_string(2 * N) + " hex digits"};
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return Error{what + ": expected lower-case hex digits"};
  std::array<unsigned char, N> out{};
  std::size_t written = 0;
  if (sodium_hex2bin(out.data(), N, text.data(), text.size(), nullptr, &written, nullptr) != 0 || written != N)
    return Error{what + ": not hex"};
  return out;
}
template Result<std::array<unsigned char, 32>> from_hex<32>(const std::string&, const std::string&);
template Result<std::array<unsigned char, 64>> from_hex<64>(const std::string&, const std::string&);

std::string Checkpoint::message() const {
  return "glassbox-audit-checkpoint/v1\nlog " + log_id + "\nsize " + std::to_string(size) + "\nroot " + merkle::to_hex(root) +
         "\ntime " + time + "\n";
}

json Checkpoint::to_json() const {
  return {{"log", log_id}, {"size", size}, {"root", merkle::to_hex(root)}, {"time", time}, {"signature", hex(signature)}};
}

Result<Checkpoint> Checkpoint::from_json(const json& j) {
  if (!j.is_object()) return Error{"a checkpoint is a JSON object"};
  for (const char* key : {"log", "root", "time", "signature"})
    if (!j.contains(key) || !j[key].is_string()) return Error{std::string("checkpoint: ") + key + " is missing or not a string"};
  if (!j.contains("size") || !j["size"].is_number_unsigned()) return Error{"checkpoint: size is missing or not a whole number"};
  if (j.size() != 5) return Error{"checkpoint: unexpected keys"};
  Checkpoint c;
  c.log_id = j["log"];
  c.size = j["size"].get<std::uint64_t>();
  c.time = j["time"];
  const auto root = merkle::from_hex(j["root"].get<std::string>());
  if (!root) return Error{"checkpoint: root must be 64 lower-case hex digits"};
  c.root = *root;
  auto signature = from_hex<64>(j["signature"].get<std::string>(), "checkpoint: signature");
  if (!signature) return signature.error();
  c.signature = *signature;
  return c;
}

bool Checkpoint::verify(const PublicKey& key) const {
  if (!sodium_ready() || log_id != log_id_of(key)) return false;
  const std::string m = message();
  return crypto_sign_verify_detached(signature.data(), reinterpret_cast<const unsigned char*>(m.data()), m.size(), key.data()) == 0;
}

std::string log_id_of(const PublicKey& key) {
  const auto digest = merkle::sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  return merkle::to_hex(digest).substr(0, 16);
}

Checkpoint sign_checkpoint(const SecretKey& secret, const PublicKey& key, std::uint64_t size, const merkle::Hash& root,
                           const std::string& time) {
  Checkpoint c;
  c.log_id = log_id_of(key);
  c.size = size;
  c.root = root;
  c.time = time;
  const std::string m = c.message();
  crypto_sign_detached(c.signature.data(), nullptr, reinterpret_cast<const unsigned char*>(m.data()), m.size(), secret.data());
  return c;
}

std::filesystem::path secret_key_path(const std::string& database) { return database + ".audit-key"; }
std::filesystem::path public_key_path(const std::string& database) { return database + ".audit-pub"; }

Result<PublicKey> read_public_key(const std::filesystem::path& file) {
  auto text = read_trimmed(file);
  if (!text) return text.error();
  return from_hex<32>(*text, file.string());
}

Result<KeyPair> load_or_create_keys(const std::string& database, bool create_if_missing) {
  if (!sodium_ready()) return Error{"libsodium could not be initialised"};
  const auto secret_file = secret_key_path(database), public_file = public_key_path(database);
  std::error_code ec;
  const bool have_secret = std::filesystem::exists(secret_file, ec), have_public = std::filesystem::exists(public_file, ec);
  KeyPair pair;
  if (!have_secret && !have_public && create_if_missing) {
    crypto_sign_keypair(pair.public_key.data(), pair.secret_key.data());
    // Owner-only from its creation, and created once even when two processes start together:
    // the loser uses the winner's key.
    auto created = create_owner_only_once(secret_file, hex(pair.secret_key) + "\n");
    if (!created) return created.error().within("cannot write the audit signing key");
    if (*created) {
      // Whole or absent, and on the disk before anything it verifies is (a half-written public
      // key would stop the service at its next start).
      auto published = create_owner_only_once(public_file, hex(pair.public_key) + "\n");
      if (!published) return published.error().within("cannot write the audit public key");
      return pair;
    }
    return load_or_create_keys(database, false);
  }
  if (!have_secret)
    return Error{secret_file.string() + ": the audit signing key is missing; without it nothing that must be audited can be done"};
  auto secret_text = read_trimmed(secret_file);
  if (!secret_text) return secret_text.error();
  auto secret = from_hex<64>(*secret_text, secret_file.string());
  if (!secret) return secret.error();
  pair.secret_key = *secret;
  crypto_sign_ed25519_sk_to_pk(pair.public_key.data(), pair.secret_key.data());
  if (have_public) {
    auto stated = read_public_key(public_file);
    if (!stated) return stated.error();
    if (*stated != pair.public_key) return Error{public_file.string() + ": does not match the signing key " + secret_file.string()};
  }
  return pair;
}

}  // namespace glassbox::audit
