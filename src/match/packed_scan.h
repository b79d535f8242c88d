// The kernel under WatchlistMatrix: for every template row and a few probes at once, an upper
// bound of the row's key (higher is closer) from a 4-bit copy of the templates — half a byte
// per value, an eighth of the bytes of a float scan, which on this class of machine is what
// bounds a scan of a large watchlist — and only the rows whose bound reaches a floor handed back.
// The bound is the approximate key from the quantised values plus the most the two
// quantisations can have moved it for that row (docs/PERFORMANCE.md, "Matching").
//
// Layout (docs/PERFORMANCE.md, "Matching"): rows in blocks of 16; inside a block, for each
// group of eight dimensions, 64 bytes: the 16 rows' four bytes side by side, byte i of a row
// holding dimension 8g+i in its low nibble and 8g+4+i in its high one. Masking and shifting a
// block's 64 bytes gives two registers in the layout AVX-512 VNNI's vpdpbusd takes, so one
// instruction adds four products to each of 16 rows' sums and no horizontal sum is needed.
// Template values are stored offset by 8 (0..15, unsigned); probes are signed bytes, and the
// offset is taken back out with 8 x (sum of the probe's bytes).
//
// The dot products are exact integer arithmetic on every path (AVX-512 VNNI, AVX2, portable):
// the same candidates come back whichever the processor runs. (AVX2's u8 x s8 multiply-add
// saturates at 16 bits; 2 x 15 x 127 stays below it.)
// Thread-safety: pure functions over caller-owned memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace glassbox::packed {

inline constexpr int kBlockRows = 16;
inline constexpr int kMaxProbes = 8;       // probes scanned together (one register of sums each)
inline constexpr int kTemplateMax = 7;     // template values lie in [-7, 7]
inline constexpr int kTemplateOffset = 8;  // ... stored as value + 8
inline constexpr int kProbeMax = 127;      // probe bytes lie in [-127, 127]

struct Candidate {
  int probe = 0;
  std::uint32_t row = 0;
  float bound = 0.0f;  // the row's true key is at most this
};

// What one scan needs about the probes: their bytes (dims8 * 8 each, padded with zeros), and
// for each: 8 x the sum of its bytes, its scale, half its L1 norm, a margin for float rounding, and
// the floor below which rows are skipped.
struct ProbeSet {
  const std::int8_t* bytes = nullptr;
  const std::int32_t* offset = nullptr;
  const float* scale = nullptr;
  const float* half_l1 = nullptr;
  const float* margin = nullptr;
  const float* floor = nullptr;
  int count = 0;  // 1..kMaxProbes
};

// The matrix side: the blocks, and per row (padded to whole blocks)
//   bound = (dot - offset) * probe_scale * factor - term            (the approximate key)
//         + (probe_scale * alpha + probe_half_l1 * factor) + margin  (its slack)
// Padding rows have factor 0 and term +infinity, so they never reach a floor.
struct RowSet {
  const std::uint8_t* blocks = nullptr;
  const float* factor = nullptr;
  const float* term = nullptr;
  const float* alpha = nullptr;
  int dims8 = 0;  // groups of eight dimensions
};

// Bytes of one block.
inline std::size_t block_bytes(int dims8) { return static_cast<std::size_t>(dims8) * 64; }
// Where dimension `k` of the block's row `lane` lives, and in which nibble (0 low, 1 high).
inline std::size_t nibble_byte(int k, std::size_t lane) {
  return static_cast<std::size_t>(k / 8) * 64 + lane * 4 + static_cast<std::size_t>(k % 4);
}
inline int nibble_half(int k) { return (k % 8) / 4; }

// Scans blocks [first_block, first_block + block_count), appending to `out` every (probe, row)
// whose bound reaches that probe's floor.
void scan(const RowSet& rows, std::size_t first_block, std::size_t block_count, const ProbeSet& probes, std::vector<Candidate>& out);

// The instruction set scan() uses on this processor: "avx512-vnni", "avx2" or "portable".
std::string kernel_name();
// Forces a kernel ("portable", "avx2", "avx512-vnni"; tests compare them). False if this
// processor cannot run it; "" returns to the best one.
bool use_kernel(const std::string& name);

}  // namespace glassbox::packed
