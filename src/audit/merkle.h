// Merkle tree hashing as RFC 6962 / RFC 9162 section 2.1 define it (SHA-256, leaf and node
// hashes domain-separated by a 0x00 / 0x01 prefix): tree heads, a compact "frontier" that
// appends a leaf in O(log n), and inclusion and consistency proofs with their verification.
// Used by the audit log (docs/audit-log.md).
// Thread-safety: pure functions; a Frontier is a value.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace glassbox::merkle {

using Hash = std::array<unsigned char, 32>;

Hash sha256(std::string_view bytes);
Hash leaf_hash(std::string_view leaf);
Hash node_hash(const Hash& left, const Hash& right);
Hash empty_root();  // SHA-256 of nothing: the head of the empty tree

std::string to_hex(const Hash& h);
std::optional<Hash> from_hex(std::string_view hex);

// MTH over leaf hashes (already hashed with leaf_hash).
Hash root(std::span<const Hash> leaves);

// The roots of the perfect subtrees that make up a tree of `size` leaves, largest first: enough
// to append the next leaf and to compute the head, without the leaves.
class Frontier {
 public:
  void push(const Hash& leaf);
  Hash root() const;
  std::uint64_t size() const { return size_; }
  // Bytes: size (8, little-endian) then the subtree roots; for storage beside each record.
  std::string serialize() const;
  static std::optional<Frontier> parse(std::string_view bytes);

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> subtrees_;  // one per set bit of size_, highest bit first
};

// RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of the first `size` leaves.
std::vector<Hash> inclusion_proof(std::span<const Hash> leaves, std::uint64_t index, std::uint64_t size);
// RFC 9162 2.1.3.2.
bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size, std::span<const Hash> path, const Hash& root);

// RFC 9162 2.1.4.1: the proof that the tree of the first `old_size` leaves is a prefix of the
// tree of the first `new_size` (0 < old_size <= new_size).
std::vector<Hash> consistency_proof(std::span<const Hash> leaves, std::uint64_t old_size, std::uint64_t new_size);
// RFC 9162 2.1.4.2.
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root, const Hash& new_root,
                        std::span<const Hash> proof);

}  // namespace glassbox::merkle
