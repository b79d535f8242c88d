#include "audit/merkle.h"

#include <sodium.h>

#include <bit>
#include <cstring>

namespace glassbox::merkle {
namespace {

// The largest power of two smaller than n (n >= 2).
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

Hash hash_with_prefix(unsigned char prefix, std::string_view a, std::string_view b = {}) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, &prefix, 1);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  Hash out;
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

std::string_view view(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b).
void subproof(std::span<const Hash> leaves, std::uint64_t m, bool whole, std::vector<Hash>& out) {
  const std::uint64_t n = leaves.size();
  if (m == n) {
    if (!whole) out.push_back(root(leaves));
    return;
  }
  const std::uint64_t k = split_point(n);
  if (m <= k) {
    subproof(leaves.subspan(0, k), m, whole, out);
    out.push_back(root(leaves.subspan(k)));
  } else {
    subproof(leaves.subspan(k), m - k, false, out);
    out.push_back(root(leaves.subspan(0, k)));
  }
}

void path(std::span<const Hash> leaves, std::uint64_t m, std::vector<Hash>& out) {
  const std::uint64_t n = leaves.size();
  if (n <= 1) return;
  const std::uint64_t k = split_point(n);
  if (m < k) {
    path(leaves.subspan(0, k), m, out);
    out.push_back(root(leaves.subspan(k)));
  } else {
    path(leaves.subspan(k), m - k, out);
    out.push_back(root(leaves.subspan(0, k)));
  }
}

}  // namespace

Hash sha256(std::string_view bytes) {
  Hash out;
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

Hash leaf_hash(std::string_view leaf) { return hash_with_prefix(0x00, leaf); }
Hash node_hash(const Hash& left, const Hash& right) { return hash_with_prefix(0x01, view(left), view(right)); }
Hash empty_root() { return sha256({}); }

std::string to_hex(const Hash& h) {
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, h.data(), h.size());
  return hex;
}

std::optional<Hash> from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;  // lower case only: one spelling
  Hash out;
  std::size_t written = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, nullptr) != 0 || written != 32)
    return std::nullopt;
  return out;
}

Hash root(std::span<const Hash> leaves) {
  if (leaves.empty()) return empty_root();
  if (leaves.size() == 1) return leaves[0];
  const std::uint64_t k = split_point(leaves.size());
  return node_hash(root(leaves.subspan(0, k)), root(leaves.subspan(k)));
}

void Frontier::push(const Hash& leaf) {
  // Merge equal-height subtrees, like carrying in binary addition.
  Hash carry = leaf;
  std::uint64_t size = size_;
  while (size & 1) {
    carry = node_hash(subtrees_.back(), carry);
    subtrees_.pop_back();
    size >>= 1;
  }
  subtrees_.push_back(carry);
  ++size_;
}

Hash Frontier::root() const {
  if (subtrees_.empty()) return empty_root();
  // The smallest subtrees are the rightmost; fold from right to left.
  Hash acc = subtrees_.back();
  for (auto it = subtrees_.rbegin() + 1; it != subtrees_.rend(); ++it) acc = node_hash(*it, acc);
  return acc;
}

std::string Frontier::serialize() const {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((size_ >> (8 * i)) & 0xff);
  for (const Hash& h : subtrees_) out.append(view(h));
  return out;
}

std::optional<Frontier> Frontier::parse(std::string_view bytes) {
  if (bytes.size() < 8 || (bytes.size() - 8) % 32 != 0) return std::nullopt;
  Frontier f;
  for (int i = 0; i < 8; ++i) f.size_ |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)])) << (8 * i);
  if (static_cast<std::size_t>(std::popcount(f.size_)) != (bytes.size() - 8) / 32) return std::nullopt;
  for (std::size_t at = 8; at < bytes.size(); at += 32) {
    Hash h;
    std::memcpy(h.data(), bytes.data() + at, 32);
    f.subtrees_.push_back(h);
  }
  return f;
}

std::vector<Hash> inclusion_proof(std::span<const Hash> leaves, std::uint64_t index, std::uint64_t size) {
  std::vector<Hash> out;
  if (size > leaves.size() || index >= size) return out;
  path(leaves.subspan(0, size), index, out);
  return out;
}

bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size, std::span<const Hash> proof, const Hash& expected) {
  if (index >= size) return false;
  std::uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      if (!(fn & 1))
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == expected;
}

std::vector<Hash> consistency_proof(std::span<const Hash> leaves, std::uint64_t old_size, std::uint64_t new_size) {
  std::vector<Hash> out;
  if (old_size == 0 || old_size > new_size || new_size > leaves.size()) return out;
  subproof(leaves.subspan(0, new_size), old_size, true, out);
  return out;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root, const Hash& new_root,
                        std::span<const Hash> proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty();  // the empty tree is a prefix of every tree
  if (proof.empty()) return false;
  std::vector<Hash> path(proof.begin(), proof.end());
  // If old_size is a power of two, the old root is the first node of the path.
  if (std::has_single_bit(old_size)) path.insert(path.begin(), old_root);
  std::uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if (!(fn & 1))
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace glassbox::merkle
