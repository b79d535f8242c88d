// The int8 kernel under WatchlistMatrix: approximate keys of every template row for a few
// probes at once, reading each row's 8-bit copy once (a quarter of the bytes of a float scan),
// and handing back only the rows whose key reaches a floor.
//
// Layout (docs/PERFORMANCE.md, "Matching"): rows in blocks of 16; inside a block, for each
// group of four dimensions, the 16 rows' four bytes side by side (64 bytes), as AVX-512 VNNI's
// vpdpbusd takes them, so one instruction adds four products to each of 16 rows' sums and no
// horizontal sum is ever needed. Template bytes are stored offset by 128 (unsigned); probes
// are signed, and the offset is taken back out with 128 x (sum of the probe's bytes).
//
// The dot products are exact integer arithmetic on every path (AVX-512 VNNI, AVX2, portable):
// the same candidates come back whichever the processor runs. The AVX2 path has no unsigned x
// signed multiply-add without 16-bit saturation, so probes are quantised to [-63, 63] on every
// path (kProbeMax); WatchlistMatrix's error bound accounts for it.
// Thread-safety: pure functions over caller-owned memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace glassbox::int8 {

inline constexpr int kBlockRows = 16;
inline constexpr int kMaxProbes = 8;   // probes scanned together (one register of sums each)
inline constexpr int kProbeMax = 63;   // probe bytes lie in [-kProbeMax, kProbeMax]

struct Candidate {
  int probe = 0;
  std::uint32_t row = 0;
  float key = 0.0f;  // approximate: higher is closer
};

// What one scan needs about the probes: their bytes (dims4 * 4 each, padded with zeros), and
// for each: 128 x the sum of its bytes, its scale, and the floor below which rows are skipped.
struct ProbeSet {
  const std::int8_t* bytes = nullptr;
  const std::int32_t* offset = nullptr;
  const float* scale = nullptr;
  const float* floor = nullptr;
  int count = 0;  // 1..kMaxProbes
};

// The matrix side: the blocks, and per row (padded to whole blocks) the factor and the term of
// key = (dot - offset) * probe_scale * row_factor - row_term. Padding rows have factor 0 and
// term +infinity, so they never reach a floor.
struct RowSet {
  const std::uint8_t* blocks = nullptr;
  const float* factor = nullptr;
  const float* term = nullptr;
  int dims4 = 0;  // groups of four dimensions
};

// Scans blocks [first_block, first_block + block_count), appending to `out` every (probe, row)
// whose key reaches that probe's floor.
void scan(const RowSet& rows, std::size_t first_block, std::size_t block_count, const ProbeSet& probes, std::vector<Candidate>& out);

// The instruction set scan() uses on this processor: "avx512-vnni", "avx2" or "portable".
std::string kernel_name();
// Forces a kernel ("portable", "avx2", "avx512-vnni"; tests compare them). False if this
// processor cannot run it; "" returns to the best one.
bool use_kernel(const std::string& name);

}  // namespace glassbox::int8
