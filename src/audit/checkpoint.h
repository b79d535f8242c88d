// Checkpoints (signed tree heads) of the audit log and the Ed25519 keys that sign them, as
// docs/audit-log.md defines them: the signed text, the JSON form, the key files kept beside
// (never inside) the database.
// Thread-safety: values and reentrant functions.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "audit/merkle.h"
#include "core/result.h"

namespace glassbox::audit {

using PublicKey = std::array<unsigned char, 32>;
using SecretKey = std::array<unsigned char, 64>;
using Signature = std::array<unsigned char, 64>;

struct Checkpoint {
  std::string log_id;
  std::uint64_t size = 0;
  merkle::Hash root{};
  std::string time;  // YYYY-MM-DDTHH:MM:SSZ
  Signature signature{};

  // The exact bytes that are signed.
  std::string message() const;
  nlohmann::json to_json() const;
  // Checks the shape of every field (not the signature).
  static Result<Checkpoint> from_json(const nlohmann::json& j);
  bool verify(const PublicKey& key) const;
};

std::string log_id_of(const PublicKey& key);
Checkpoint sign_checkpoint(const SecretKey& secret, const PublicKey& key, std::uint64_t size, const merkle::Hash& root,
                           const std::string& time);

std::string hex(const unsigned char* bytes, std::size_t n);
template <std::size_t N>
std::string hex(const std::array<unsigned char, N>& bytes) { return hex(bytes.data(), N); }
// Lower-case hex of exactly N bytes, or an error.
template <std::size_t N>
Result<std::array<unsigned char, N>> from_hex(const std::string& text, const std::string& what);

struct KeyPair {
  PublicKey public_key{};
  SecretKey secret_key{};
};

// The key files of the log in `database`: <database>.audit-key and <database>.audit-pub.
std::filesystem::path secret_key_path(const std::string& database);
std::filesystem::path public_key_path(const std::string& database);
// Loads the pair; with `create_if_missing` makes one when neither file exists.
Result<KeyPair> load_or_create_keys(const std::string& database, bool create_if_missing);
// A public key file (64 hex digits, surrounding whitespace ignored).
Result<PublicKey> read_public_key(const std::filesystem::path& file);

}  // namespace glassbox::audit
