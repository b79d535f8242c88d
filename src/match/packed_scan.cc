#include "match/packed_scan.h"

#include <immintrin.h>

#include <atomic>

namespace glassbox::packed {
namespace {

// The bound of one row for one probe, from its exact integer dot product: the approximate key
// plus the row's quantisation slack. The vector kernels do the same operations in the same
// order, so every path gives the same float.
inline float bound_of(std::int32_t dot, const ProbeSet& probes, int p, const RowSet& rows, std::size_t row) {
  const float key = static_cast<float>(dot - probes.offset[p]) * (rows.factor[row] * probes.scale[p]) - rows.term[row];
  const float slack = (probes.scale[p] * rows.alpha[row] + probes.half_l1[p] * rows.factor[row]) + probes.margin[p];
  return key + slack;
}

void scan_portable(const RowSet& rows, std::size_t first_block, std::size_t block_count, const ProbeSet& probes,
                   std::vector<Candidate>& out) {
  const std::size_t bytes = block_bytes(rows.dims8);
  for (std::size_t b = first_block; b < first_block + block_count; ++b) {
    const std::uint8_t* block = rows.blocks + b * bytes;
    for (int p = 0; p < probes.count; ++p) {
      const std::int8_t* q = probes.bytes + static_cast<std::size_t>(p) * rows.dims8 * 8;
      for (std::size_t j = 0; j < static_cast<std::size_t>(kBlockRows); ++j) {
        std::int32_t dot = 0;
        for (int g = 0; g < rows.dims8; ++g) {
          const std::uint8_t* t = block + g * 64 + j * 4;
          for (int i = 0; i < 4; ++i) {
            dot += static_cast<std::int32_t>(t[i] & 0x0F) * q[g * 8 + i];
            dot += static_cast<std::int32_t>(t[i] >> 4) * q[g * 8 + 4 + i];
          }
        }
        const std::size_t row = b * kBlockRows + j;
        const float bound = bound_of(dot, probes, p, rows, row);
        if (bound >= probes.floor[p]) out.push_back({p, static_cast<std::uint32_t>(row), bound});
      }
    }
  }
}

#if defined(__x86_64__)

template <int P>
__attribute__((target("avx2,fma"))) void scan_avx2_fixed(const RowSet& rows, std::size_t first_block, std::size_t block_count,
                                                         const ProbeSet& probes, std::vector<Candidate>& out) {
  const std::size_t bytes = block_bytes(rows.dims8);
  const std::int32_t* q[P];
  for (int p = 0; p < P; ++p) q[p] = reinterpret_cast<const std::int32_t*>(probes.bytes + static_cast<std::size_t>(p) * rows.dims8 * 8);
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i low_nibbles = _mm256_set1_epi8(0x0F);
  for (std::size_t b = first_block; b < first_block + block_count; ++b) {
    const std::uint8_t* block = rows.blocks + b * bytes;
    for (int half = 0; half < 2; ++half) {
      __m256i sum[P];
      for (int p = 0; p < P; ++p) sum[p] = _mm256_setzero_si256();
      for (int g = 0; g < rows.dims8; ++g) {
        const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + g * 64 + half * 32));
        const __m256i lo = _mm256_and_si256(packed, low_nibbles);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
        for (int p = 0; p < P; ++p) {
          // u8 x s8 pairs summed to 16 bits, then pairs of those to 32: four products per row.
          const __m256i a = _mm256_maddubs_epi16(lo, _mm256_set1_epi32(q[p][2 * g]));
          const __m256i c = _mm256_maddubs_epi16(hi, _mm256_set1_epi32(q[p][2 * g + 1]));
          sum[p] = _mm256_add_epi32(sum[p], _mm256_madd_epi16(_mm256_add_epi16(a, c), ones));
        }
      }
      const std::size_t row0 = b * kBlockRows + static_cast<std::size_t>(half) * 8;
      const __m256 factor = _mm256_loadu_ps(rows.factor + row0);
      const __m256 term = _mm256_loadu_ps(rows.term + row0);
      const __m256 alpha = _mm256_loadu_ps(rows.alpha + row0);
      for (int p = 0; p < P; ++p) {
        const __m256 dot = _mm256_cvtepi32_ps(_mm256_sub_epi32(sum[p], _mm256_set1_epi32(probes.offset[p])));
        const __m256 scale = _mm256_set1_ps(probes.scale[p]);
        const __m256 key = _mm256_sub_ps(_mm256_mul_ps(dot, _mm256_mul_ps(factor, scale)), term);
        const __m256 slack = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(scale, alpha), _mm256_mul_ps(_mm256_set1_ps(probes.half_l1[p]), factor)),
                                           _mm256_set1_ps(probes.margin[p]));
        const __m256 bound = _mm256_add_ps(key, slack);
        int mask = _mm256_movemask_ps(_mm256_cmp_ps(bound, _mm256_set1_ps(probes.floor[p]), _CMP_GE_OQ));
        if (mask == 0) continue;
        alignas(32) float keys[8];
        _mm256_store_ps(keys, bound);
        while (mask != 0) {
          const int j = __builtin_ctz(static_cast<unsigned>(mask));
          out.push_back({p, static_cast<std::uint32_t>(row0 + static_cast<std::size_t>(j)), keys[j]});
          mask &= mask - 1;
        }
      }
    }
  }
}

template <int P>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void scan_avx512_fixed(const RowSet& rows, std::size_t first_block,
                                                                               std::size_t block_count, const ProbeSet& probes,
                                                                               std::vector<Candidate>& out) {
  const std::size_t bytes = block_bytes(rows.dims8);
  const std::int32_t* q[P];
  for (int p = 0; p < P; ++p) q[p] = reinterpret_cast<const std::int32_t*>(probes.bytes + static_cast<std::size_t>(p) * rows.dims8 * 8);
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
  for (std::size_t b = first_block; b < first_block + block_count; ++b) {
    const std::uint8_t* block = rows.blocks + b * bytes;
    __m512i sum[P];
    for (int p = 0; p < P; ++p) sum[p] = _mm512_setzero_si512();
    for (int g = 0; g < rows.dims8; ++g) {
      const __m512i packed = _mm512_loadu_si512(block + g * 64);
      const __m512i lo = _mm512_and_si512(packed, low_nibbles);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibbles);
      // Four u8 x s8 products added to each of the 16 rows' sums, twice, the probe's four
      // bytes broadcast to every row.
      for (int p = 0; p < P; ++p) {
        sum[p] = _mm512_dpbusd_epi32(sum[p], lo, _mm512_set1_epi32(q[p][2 * g]));
        sum[p] = _mm512_dpbusd_epi32(sum[p], hi, _mm512_set1_epi32(q[p][2 * g + 1]));
      }
    }
    const std::size_t row0 = b * kBlockRows;
    const __m512 factor = _mm512_loadu_ps(rows.factor + row0);
    const __m512 term = _mm512_loadu_ps(rows.term + row0);
    const __m512 alpha = _mm512_loadu_ps(rows.alpha + row0);
    for (int p = 0; p < P; ++p) {
      // (The masked form: GCC 12 warns about the unmasked one's undefined pass-through operand.)
      const __m512 dot = _mm512_mask_cvtepi32_ps(_mm512_setzero_ps(), 0xFFFF, _mm512_sub_epi32(sum[p], _mm512_set1_epi32(probes.offset[p])));
      const __m512 scale = _mm512_set1_ps(probes.scale[p]);
      const __m512 key = _mm512_sub_ps(_mm512_mul_ps(dot, _mm512_mul_ps(factor, scale)), term);
      const __m512 slack = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(scale, alpha), _mm512_mul_ps(_mm512_set1_ps(probes.half_l1[p]), factor)),
                                         _mm512_set1_ps(probes.margin[p]));
      const __m512 bound = _mm512_add_ps(key, slack);
      __mmask16 mask = _mm512_cmp_ps_mask(bound, _mm512_set1_ps(probes.floor[p]), _CMP_GE_OQ);
      if (mask == 0) continue;
      alignas(64) float keys[16];
      _mm512_store_ps(keys, bound);
      while (mask != 0) {
        const int j = __builtin_ctz(static_cast<unsigned>(mask));
        out.push_back({p, static_cast<std::uint32_t>(row0 + static_cast<std::size_t>(j)), keys[j]});
        mask = static_cast<__mmask16>(mask & (mask - 1));
      }
    }
  }
}

// The probe count is a template parameter so that each probe's sums stay in registers.
template <template <int> class Kernel>
void dispatch_count(const RowSet& rows, std::size_t first, std::size_t count, const ProbeSet& probes, std::vector<Candidate>& out) {
  switch (probes.count) {
    case 1: Kernel<1>::run(rows, first, count, probes, out); break;
    case 2: Kernel<2>::run(rows, first, count, probes, out); break;
    case 3: Kernel<3>::run(rows, first, count, probes, out); break;
    case 4: Kernel<4>::run(rows, first, count, probes, out); break;
    case 5: Kernel<5>::run(rows, first, count, probes, out); break;
    case 6: Kernel<6>::run(rows, first, count, probes, out); break;
    case 7: Kernel<7>::run(rows, first, count, probes, out); break;
    default: Kernel<8>::run(rows, first, count, probes, out); break;
  }
}

template <int P>
struct Avx2 {
  static void run(const RowSet& r, std::size_t f, std::size_t c, const ProbeSet& p, std::vector<Candidate>& o) { scan_avx2_fixed<P>(r, f, c, p, o); }
};
template <int P>
struct Avx512 {
  static void run(const RowSet& r, std::size_t f, std::size_t c, const ProbeSet& p, std::vector<Candidate>& o) { scan_avx512_fixed<P>(r, f, c, p, o); }
};

void scan_avx2(const RowSet& r, std::size_t f, std::size_t c, const ProbeSet& p, std::vector<Candidate>& o) { dispatch_count<Avx2>(r, f, c, p, o); }
void scan_avx512(const RowSet& r, std::size_t f, std::size_t c, const ProbeSet& p, std::vector<Candidate>& o) { dispatch_count<Avx512>(r, f, c, p, o); }

bool has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool has_avx512_vnni() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}

#endif  // __x86_64__

using ScanFunction = void (*)(const RowSet&, std::size_t, std::size_t, const ProbeSet&, std::vector<Candidate>&);

struct Kernel {
  const char* name;
  ScanFunction function;
};

constexpr Kernel kPortable{"portable", scan_portable};
#if defined(__x86_64__)
constexpr Kernel kAvx2{"avx2", scan_avx2};
constexpr Kernel kAvx512{"avx512-vnni", scan_avx512};
#endif

const Kernel* best_kernel() {
#if defined(__x86_64__)
  if (has_avx512_vnni()) return &kAvx512;
  if (has_avx2()) return &kAvx2;
#endif
  return &kPortable;
}

std::atomic<const Kernel*> chosen{nullptr};

const Kernel& current() {
  const Kernel* k = chosen.load(std::memory_order_acquire);
  if (k == nullptr) {
    k = best_kernel();
    chosen.store(k, std::memory_order_release);
  }
  return *k;
}

}  // namespace

void scan(const RowSet& rows, std::size_t first_block, std::size_t block_count, const ProbeSet& probes, std::vector<Candidate>& out) {
  if (probes.count <= 0 || block_count == 0) return;
  current().function(rows, first_block, block_count, probes, out);
}

std::string kernel_name() { return current().name; }

bool use_kernel(const std::string& name) {
  const Kernel* k = nullptr;
  if (name.empty()) k = best_kernel();
  if (name == "portable") k = &kPortable;
#if defined(__x86_64__)
  if (name == "avx2" && has_avx2()) k = &kAvx2;
  if (name == "avx512-vnni" && has_avx512_vnni()) k = &kAvx512;
#endif
  if (k == nullptr) return false;
  chosen.store(k, std::memory_order_release);
  return true;
}

}  // namespace glassbox::packed
