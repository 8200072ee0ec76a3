// gemm_micro_kernel_x86.cpp: micro-kernels for x86-64 with AVX-512 and with AVX2+FMA, each
// compiled for its instruction set through a function target attribute (the rest of the
// build keeps the baseline target) and offered only when the CPU reports the extension.
// They keep a tile of C in registers and, per step of depth, load one row of B as whole
// vectors and broadcast each A value: rows x (columns / lanes) independent FMA chains.
#include <immintrin.h>

#include "tensor/cpu/gemm_micro_kernel.h"

namespace fsa {

namespace {

// How far ahead (in steps of depth) the rows of B are prefetched into L1.
constexpr int64_t kPrefetchDistance = 8;

void prefetch(const float* address) {
  _mm_prefetch(reinterpret_cast<const char*>(address), _MM_HINT_T0);
}

// Where row d of B starts, and how far its second half lies from its first: a packed panel,
// or rows read in place through offsets.
template <int64_t kColumns>
struct PackedRows {
  const float* b;
  const float* row(int64_t d) const { return b + d * kColumns; }
  static constexpr int64_t split() { return kColumns / 2; }
};

struct IndirectRows {
  const float* b;
  const int64_t* offsets;
  int64_t split_at;
  const float* row(int64_t d) const { return b + offsets[d]; }
  int64_t split() const { return split_at; }
};

// Where column d of A starts, and how far apart its values are: a packed panel, or a column
// read in place through offsets.
template <int64_t kRows>
struct PackedColumns {
  const float* a;
  const float* column(int64_t d) const { return a + d * kRows; }
  static constexpr int64_t step() { return 1; }
};

struct GatheredColumns {
  const float* a;
  const int64_t* offsets;
  int64_t lda;
  const float* column(int64_t d) const { return a + offsets[d]; }
  int64_t step() const { return lda; }
};

// AVX-512: kRows x 32 tiles, 2 zmm accumulators per row, 2 zmm for B, 1 for the broadcast
// (12 rows use 27 of the 32 registers).
constexpr int64_t kAvx512Columns = 32;

template <int64_t kRows, typename Columns, typename Rows>
__attribute__((target("avx512f"))) inline void avx512_tile(int64_t depth, Columns columns,
                                                           Rows rows, float* c, int64_t ldc,
                                                           bool accumulate) {
  __m512 sums[kRows][2];
#pragma GCC unroll 16
  for (int64_t i = 0; i < kRows; ++i) {
    sums[i][0] = sums[i][1] = _mm512_setzero_ps();
    // The C tile is read at the very end; fetching it now hides that miss.
    prefetch(c + i * ldc);
    prefetch(c + i * ldc + 16);
  }
  // NOTE: the prefetches may run past the last row of B; prefetching never faults.
  for (int64_t d = 0; d < depth; ++d) {
    const float* b = rows.row(d);
    const __m512 b_low = _mm512_loadu_ps(b);
    const __m512 b_high = _mm512_loadu_ps(b + rows.split());
    if (d + kPrefetchDistance < depth) {
      const float* ahead = rows.row(d + kPrefetchDistance);
      prefetch(ahead);
      prefetch(ahead + rows.split());
    }
    const float* a = columns.column(d);
#pragma GCC unroll 16
    for (int64_t i = 0; i < kRows; ++i) {
      const __m512 a_value = _mm512_set1_ps(a[i * columns.step()]);
      sums[i][0] = _mm512_fmadd_ps(a_value, b_low, sums[i][0]);
      sums[i][1] = _mm512_fmadd_ps(a_value, b_high, sums[i][1]);
    }
  }
#pragma GCC unroll 16
  for (int64_t i = 0; i < kRows; ++i) {
    float* row = c + i * ldc;
    if (accumulate) {
      sums[i][0] = _mm512_add_ps(sums[i][0], _mm512_loadu_ps(row));
      sums[i][1] = _mm512_add_ps(sums[i][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, sums[i][0]);
    _mm512_storeu_ps(row + 16, sums[i][1]);
  }
}

template <int64_t kRows>
__attribute__((target("avx512f"))) void avx512_kernel(int64_t depth, const float* a, const float* b,
                                                      float* c, int64_t ldc, bool accumulate) {
  avx512_tile<kRows>(depth, PackedColumns<kRows>{a}, PackedRows<kAvx512Columns>{b}, c, ldc,
                     accumulate);
}

template <int64_t kRows>
__attribute__((target("avx512f"))) void avx512_indirect_kernel(int64_t depth, const float* a,
                                                               const float* b,
                                                               const int64_t* b_offsets,
                                                               int64_t b_split, float* c,
                                                               int64_t ldc, bool accumulate) {
  avx512_tile<kRows>(depth, PackedColumns<kRows>{a}, IndirectRows{b, b_offsets, b_split}, c, ldc,
                     accumulate);
}

template <int64_t kRows>
__attribute__((target("avx512f"))) void avx512_gathered_kernel(
    int64_t depth, const float* a, const int64_t* a_offsets, int64_t lda, const float* b,
    const int64_t* b_offsets, int64_t b_split, float* c, int64_t ldc, bool accumulate) {
  avx512_tile<kRows>(depth, GatheredColumns{a, a_offsets, lda}, IndirectRows{b, b_offsets, b_split},
                     c, ldc, accumulate);
}

// AVX2: 6 x 16 tile, 12 ymm accumulators, 2 ymm for B, 1 broadcast (15 of 16 registers).
constexpr int64_t kAvx2Rows = 6;
constexpr int64_t kAvx2Columns = 16;

template <typename Columns, typename Rows>
__attribute__((target("avx2,fma"))) inline void avx2_tile(int64_t depth, Columns columns, Rows rows,
                                                          float* c, int64_t ldc, bool accumulate) {
  __m256 sums[kAvx2Rows][2];
#pragma GCC unroll 6
  for (int64_t i = 0; i < kAvx2Rows; ++i) {
    sums[i][0] = sums[i][1] = _mm256_setzero_ps();
    prefetch(c + i * ldc);
  }
  for (int64_t d = 0; d < depth; ++d) {
    const float* b = rows.row(d);
    const __m256 b_low = _mm256_loadu_ps(b);
    const __m256 b_high = _mm256_loadu_ps(b + rows.split());
    if (d + kPrefetchDistance < depth) {
      const float* ahead = rows.row(d + kPrefetchDistance);
      prefetch(ahead);
      prefetch(ahead + rows.split());
    }
    const float* a = columns.column(d);
#pragma GCC unroll 6
    for (int64_t i = 0; i < kAvx2Rows; ++i) {
      const __m256 a_value = _mm256_broadcast_ss(a + i * columns.step());
      sums[i][0] = _mm256_fmadd_ps(a_value, b_low, sums[i][0]);
      sums[i][1] = _mm256_fmadd_ps(a_value, b_high, sums[i][1]);
    }
  }
#pragma GCC unroll 6
  for (int64_t i = 0; i < kAvx2Rows; ++i) {
    float* row = c + i * ldc;
    if (accumulate) {
      sums[i][0] = _mm256_add_ps(sums[i][0], _mm256_loadu_ps(row));
      sums[i][1] = _mm256_add_ps(sums[i][1], _mm256_loadu_ps(row + 8));
    }
    _mm256_storeu_ps(row, sums[i][0]);
    _mm256_storeu_ps(row + 8, sums[i][1]);
  }
}

__attribute__((target("avx2,fma"))) void avx2_kernel(int64_t depth, const float* a, const float* b,
                                                     float* c, int64_t ldc, bool accumulate) {
  avx2_tile(depth, PackedColumns<kAvx2Rows>{a}, PackedRows<kAvx2Columns>{b}, c, ldc, accumulate);
}

__attribute__((target("avx2,fma"))) void avx2_indirect_kernel(int64_t depth, const float* a,
                                                              const float* b,
                                                              const int64_t* b_offsets,
                                                              int64_t b_split, float* c,
                                                              int64_t ldc, bool accumulate) {
  avx2_tile(depth, PackedColumns<kAvx2Rows>{a}, IndirectRows{b, b_offsets, b_split}, c, ldc,
            accumulate);
}

__attribute__((target("avx2,fma"))) void avx2_gathered_kernel(
    int64_t depth, const float* a, const int64_t* a_offsets, int64_t lda, const float* b,
    const int64_t* b_offsets, int64_t b_split, float* c, int64_t ldc, bool accumulate) {
  avx2_tile(depth, GatheredColumns{a, a_offsets, lda}, IndirectRows{b, b_offsets, b_split}, c, ldc,
            accumulate);
}

}  // namespace

std::vector<MicroKernel> extension_micro_kernels() {
  std::vector<MicroKernel> kernels;
  if (__builtin_cpu_supports("avx512f")) {
    kernels.push_back({"avx512_12x32", "avx512", 12, kAvx512Columns, avx512_kernel<12>,
                       avx512_indirect_kernel<12>, avx512_gathered_kernel<12>});
    kernels.push_back({"avx512_8x32", "avx512", 8, kAvx512Columns, avx512_kernel<8>,
                       avx512_indirect_kernel<8>, avx512_gathered_kernel<8>});
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    kernels.push_back({"avx2_6x16", "avx2", kAvx2Rows, kAvx2Columns, avx2_kernel,
                       avx2_indirect_kernel, avx2_gathered_kernel});
  }
  return kernels;
}

}  // namespace fsa
