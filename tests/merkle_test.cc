// The Merkle tree against RFC 6962's known answers (the Certificate Transparency reference
// vectors: eight leaves, the tree head of every size 0..8, three published consistency proofs),
// and every inclusion and consistency proof of small trees generated, verified, and rejected
// when anything about it is wrong.
#include <gtest/gtest.h>

#include "audit/merkle.h"

namespace glassbox::merkle {
namespace {

const std::vector<std::string> kLeaves = {"",
                                          std::string(1, '\x00'),
                                          "\x10",
                                          "\x20\x21",
                                          "\x30\x31",
                                          "\x40\x41\x42\x43",
                                          "\x50\x51\x52\x53\x54\x55\x56\x57",
                                          "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};

const std::vector<std::string> kRoots = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  // empty tree
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::vector<Hash> leaf_hashes(std::size_t n) {
  std::vector<Hash> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(i < kLeaves.size() ? leaf_hash(kLeaves[i]) : leaf_hash("leaf " + std::to_string(i)));
  return out;
}

std::vector<Hash> hashes(const std::vector<std::string>& hex) {
  std::vector<Hash> out;
  for (const auto& h : hex) out.push_back(*from_hex(h));
  return out;
}

TEST(Merkle, TreeHeadsMatchTheRfcKnownAnswers) {
  const auto leaves = leaf_hashes(8);
  Frontier frontier;
  EXPECT_EQ(to_hex(frontier.root()), kRoots[0]);
  for (std::size_t n = 0; n <= 8; ++n) {
    EXPECT_EQ(to_hex(root(std::span(leaves).subspan(0, n))), kRoots[n]) << "size " << n;
    if (n > 0) {
      frontier.push(leaves[n - 1]);
      EXPECT_EQ(to_hex(frontier.root()), kRoots[n]) << "frontier, size " << n;
    }
  }
  // Leaf and node hashes are domain-separated: a node is not a leaf over the same bytes.
  const std::string concatenated = std::string(reinterpret_cast<const char*>(leaves[0].data()), 32) +
                                   std::string(reinterpret_cast<const char*>(leaves[1].data()), 32);
  EXPECT_NE(leaf_hash(concatenated), node_hash(leaves[0], leaves[1]));
}

TEST(Merkle, ConsistencyProofsMatchThePublishedOnes) {
  const auto leaves = leaf_hashes(8);
  struct Case {
    std::uint64_t m, n;
    std::vector<std::string> proof;
  };
  const std::vector<Case> cases = {
      {1, 1, {}},
      {1, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Case& c : cases) {
    const auto proof = consistency_proof(leaves, c.m, c.n);
    EXPECT_EQ(proof, hashes(c.proof)) << c.m << " -> " << c.n;
    EXPECT_TRUE(verify_consistency(c.m, c.n, *from_hex(kRoots[c.m]), *from_hex(kRoots[c.n]), proof)) << c.m << " -> " << c.n;
  }
  // The audit path of the first leaf in the tree of 8 is the same three nodes.
  EXPECT_EQ(inclusion_proof(leaves, 0, 8), hashes(cases[1].proof));
}

TEST(Merkle, EveryInclusionProofVerifiesAndEveryWrongOneIsRejected) {
  const auto leaves = leaf_hashes(20);
  for (std::uint64_t n = 1; n <= leaves.size(); ++n) {
    const Hash head = root(std::span(leaves).subspan(0, n));
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto proof = inclusion_proof(leaves, i, n);
      ASSERT_TRUE(verify_inclusion(leaves[i], i, n, proof, head)) << i << " in " << n;
      if (n > 1) {
        EXPECT_FALSE(verify_inclusion(leaves[(i + 1) % n], i, n, proof, head)) << "another leaf";
        EXPECT_FALSE(verify_inclusion(leaves[i], i, n, proof, leaves[i])) << "another root";
      }
      EXPECT_FALSE(verify_inclusion(leaves[i], i + 1, n, proof, head)) << "another index";
      // (The tree size is bound by the signed checkpoint that carries the root, not by the path.)
      for (std::size_t k = 0; k < proof.size(); ++k) {
        auto forged = proof;
        forged[k][0] ^= 1;
        EXPECT_FALSE(verify_inclusion(leaves[i], i, n, forged, head)) << "forged node " << k;
      }
      auto longer = proof;
      longer.push_back(head);
      EXPECT_FALSE(verify_inclusion(leaves[i], i, n, longer, head)) << "an extra node";
      if (!proof.empty()) {
        auto shorter = proof;
        shorter.pop_back();
        EXPECT_FALSE(verify_inclusion(leaves[i], i, n, shorter, head)) << "a node missing";
      }
    }
  }
}

TEST(Merkle, EveryConsistencyProofVerifiesAndEveryWrongOneIsRejected) {
  const auto leaves = leaf_hashes(20);
  auto head = [&](std::uint64_t n) { return root(std::span(leaves).subspan(0, n)); };
  for (std::uint64_t n = 1; n <= leaves.size(); ++n) {
    for (std::uint64_t m = 1; m <= n; ++m) {
      const auto proof = consistency_proof(leaves, m, n);
      ASSERT_TRUE(verify_consistency(m, n, head(m), head(n), proof)) << m << " -> " << n;
      if (m == n) {
        EXPECT_FALSE(verify_consistency(m, n, head(m), head(n), std::vector<Hash>{head(m)})) << "redundant node";
        continue;
      }
      EXPECT_FALSE(verify_consistency(m, n, head(n), head(m), proof)) << "roots swapped";
      Hash wrong_old = head(m), wrong_new = head(n);
      wrong_old[5] ^= 1;
      wrong_new[5] ^= 1;
      EXPECT_FALSE(verify_consistency(m, n, wrong_old, head(n), proof)) << "a wrong old root";
      EXPECT_FALSE(verify_consistency(m, n, head(m), wrong_new, proof)) << "a wrong new root (a forked log)";
      EXPECT_FALSE(verify_consistency(m, n, head(m), head(n), {})) << "empty proof";
      EXPECT_FALSE(verify_consistency(n, m, head(n), head(m), proof)) << "time going backwards";
      if (m > 1) {
        EXPECT_FALSE(verify_consistency(m - 1, n, head(m), head(n), proof)) << "old size off by one";
      }
      if (m + 1 < n) {
        EXPECT_FALSE(verify_consistency(m + 1, n, head(m), head(n), proof)) << "old size off by one";
      }
      for (std::size_t k = 0; k < proof.size(); ++k) {
        auto forged = proof;
        forged[k][31] ^= 0x80;
        EXPECT_FALSE(verify_consistency(m, n, head(m), head(n), forged)) << m << " -> " << n << ": forged node " << k;
      }
      auto longer = proof;
      longer.push_back(proof.back());
      EXPECT_FALSE(verify_consistency(m, n, head(m), head(n), longer)) << "an extra node";
      auto shorter = proof;
      shorter.pop_back();
      EXPECT_FALSE(verify_consistency(m, n, head(m), head(n), shorter)) << "a node missing";
    }
  }
}

TEST(Merkle, TheFrontierSurvivesStorage) {
  Frontier f;
  const auto leaves = leaf_hashes(100);
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    f.push(leaves[i]);
    const auto copy = Frontier::parse(f.serialize());
    ASSERT_TRUE(copy);
    EXPECT_EQ(copy->size(), i + 1);
    EXPECT_EQ(copy->root(), root(std::span(leaves).subspan(0, i + 1)));
  }
  EXPECT_FALSE(Frontier::parse("short"));
  std::string damaged = f.serialize();
  damaged.pop_back();
  EXPECT_FALSE(Frontier::parse(damaged)) << "a subtree root cut short";
  EXPECT_FALSE(from_hex("5DC9DA79A70659A9AD559CB701DED9A2AB9D823AAD2F4960CFE370EFF4604328")) << "one spelling only";
}

}  // namespace
}  // namespace glassbox::merkle
