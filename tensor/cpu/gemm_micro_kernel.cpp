// gemm_micro_kernel.cpp: the portable micro-kernel and the run-time choice of kernel. The
// kernels that need instruction-set extensions live in gemm_micro_kernel_x86.cpp (CMake
// compiles gemm_micro_kernel_generic.cpp instead on other processors).
#include "tensor/cpu/gemm_micro_kernel.h"

#include <cstring>

namespace fsa {

namespace {

constexpr int64_t kPortableRows = 6;
constexpr int64_t kPortableColumns = 16;

constexpr int64_t kHalfColumns = kPortableColumns / 2;

// c (+)= columns of A x rows of B, found by column_of(d) (its values `a_step` apart) and
// row_of(d) (its second half `b_split` after its first). Fixed trip counts and `omp simd` on
// the columns let the compiler keep `sums` in vector registers (without the pragma GCC
// vectorises across rows, badly).
template <typename ColumnOf, typename RowOf>
void portable_tile(int64_t depth, ColumnOf column_of, int64_t a_step, RowOf row_of, int64_t b_split,
                   float* __restrict c, int64_t ldc, bool accumulate) {
  float sums[kPortableRows][kPortableColumns] = {};
  for (int64_t d = 0; d < depth; ++d) {
    const float* a_d = column_of(d);
    const float* __restrict b_low = row_of(d);
    const float* __restrict b_high = b_low + b_split;
    for (int64_t i = 0; i < kPortableRows; ++i) {
      const float a_value = a_d[i * a_step];
#pragma omp simd
      for (int64_t j = 0; j < kHalfColumns; ++j) sums[i][j] += a_value * b_low[j];
#pragma omp simd
      for (int64_t j = 0; j < kHalfColumns; ++j) sums[i][kHalfColumns + j] += a_value * b_high[j];
    }
  }
  for (int64_t i = 0; i < kPortableRows; ++i) {
    float* row = c + i * ldc;
    for (int64_t j = 0; j < kPortableColumns; ++j) {
      row[j] = accumulate ? row[j] + sums[i][j] : sums[i][j];
    }
  }
}

// Column d of a packed A panel.
auto packed_columns(const float* a) {
  return [a](int64_t d) { return a + d * kPortableRows; };
}

void portable_kernel(int64_t depth, const float* a, const float* b, float* c, int64_t ldc,
                     bool accumulate) {
  portable_tile(
      depth, packed_columns(a), 1, [b](int64_t d) { return b + d * kPortableColumns; },
      kHalfColumns, c, ldc, accumulate);
}

void portable_indirect_kernel(int64_t depth, const float* a, const float* b,
                              const int64_t* b_offsets, int64_t b_split, float* c, int64_t ldc,
                              bool accumulate) {
  portable_tile(
      depth, packed_columns(a), 1, [b, b_offsets](int64_t d) { return b + b_offsets[d]; }, b_split,
      c, ldc, accumulate);
}

void portable_gathered_kernel(int64_t depth, const float* a, const int64_t* a_offsets, int64_t lda,
                              const float* b, const int64_t* b_offsets, int64_t b_split, float* c,
                              int64_t ldc, bool accumulate) {
  portable_tile(
      depth, [a, a_offsets](int64_t d) { return a + a_offsets[d]; }, lda,
      [b, b_offsets](int64_t d) { return b + b_offsets[d]; }, b_split, c, ldc, accumulate);
}

}  // namespace

MicroKernel portable_micro_kernel() {
  return {"portable_6x16",         "portable",      kPortableRows,
          kPortableColumns,        portable_kernel, portable_indirect_kernel,
          portable_gathered_kernel};
}

const std::vector<MicroKernel>& supported_micro_kernels() {
  // The CPU does not change while the program runs: detect once.
  static const std::vector<MicroKernel> kernels = [] {
    std::vector<MicroKernel> list = extension_micro_kernels();
    list.push_back(portable_micro_kernel());
    return list;
  }();
  return kernels;
}

const MicroKernel& micro_kernel_for(int64_t rows) {
  const std::vector<MicroKernel>& kernels = supported_micro_kernels();
  const MicroKernel* best = &kernels.front();  // the tallest tile of the fastest family
  for (const MicroKernel& kernel : kernels) {
    if (std::strcmp(kernel.family, best->family) != 0) break;
    // A shorter tile wins when it computes at least 1/16 fewer rows.
    if (16 * round_up_to_panels(rows, kernel.mr) <= 15 * round_up_to_panels(rows, best->mr))
      best = &kernel;
  }
  return *best;
}

}  // namespace fsa
