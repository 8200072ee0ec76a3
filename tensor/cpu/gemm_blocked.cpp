// gemm_blocked.cpp: the built-in float32 GEMM (gemm_f32_blocked), the build's gemm_f32 when
// there is no BLAS and built in every configuration so the tests can check it.
// GotoBLAS/BLIS structure: C is cut into regions of kMc rows x kNc columns, one thread each;
// for every slice of kKc of the inner dimension, a region's rows of op(A) and columns of
// op(B) are packed into contiguous micro-panels (transposes are absorbed by the packing),
// and a micro-kernel computes kMr x kNr tiles of C in registers with plain loops that the
// compiler vectorises.
#include <algorithm>
#include <memory>

#include "tensor/cpu/gemm_f32.h"

namespace fsa {

namespace {

constexpr int64_t kMr = 6;    // rows of the register tile
constexpr int64_t kNr = 16;   // columns of the register tile: whole SIMD vectors
constexpr int64_t kKc = 256;  // inner slice: an A and a B micro-panel stay in L1
constexpr int64_t kMc = 144;  // rows of a packed A block (multiple of kMr): stays in L2
constexpr int64_t kNc = 256;  // columns of a packed B block (multiple of kNr): stays in L2
// Below this many multiply-adds the threads cost more than they save.
constexpr int64_t kParallelWork = int64_t{1} << 18;

// A stored matrix seen through its transpose: element (i, p) = data[i * row + p * col].
struct MatrixView {
  const float* data;
  int64_t row, col;
  float at(int64_t i, int64_t p) const { return data[i * row + p * col]; }
};

MatrixView view(const float* data, int64_t ld, bool transpose) {
  return transpose ? MatrixView{data, 1, ld} : MatrixView{data, ld, 1};
}

// Packs op(A)[i0 : i0+rows, p0 : p0+depth] as micro-panels of kMr rows, each stored
// p-major (kMr values per p), zero-filled past the last row.
void pack_a(const MatrixView& a, int64_t i0, int64_t rows, int64_t p0, int64_t depth,
            float* packed) {
  for (int64_t first = 0; first < rows; first += kMr) {
    float* out = packed + first * depth;
    const int64_t count = std::min(kMr, rows - first);
    for (int64_t p = 0; p < depth; ++p) {
      for (int64_t i = 0; i < kMr; ++i) {
        out[p * kMr + i] = i < count ? a.at(i0 + first + i, p0 + p) : 0.0f;
      }
    }
  }
}

// Packs op(B)[p0 : p0+depth, j0 : j0+cols] as micro-panels of kNr columns, each stored
// p-major (kNr values per p), zero-filled past the last column.
void pack_b(const MatrixView& b, int64_t p0, int64_t depth, int64_t j0, int64_t cols,
            float* packed) {
  for (int64_t first = 0; first < cols; first += kNr) {
    float* out = packed + first * depth;
    const int64_t count = std::min(kNr, cols - first);
    for (int64_t p = 0; p < depth; ++p) {
      for (int64_t j = 0; j < kNr; ++j) {
        out[p * kNr + j] = j < count ? b.at(p0 + p, j0 + first + j) : 0.0f;
      }
    }
  }
}

// tile (kMr, kNr) = a_panel (depth, kMr)^T b_panel (depth, kNr): the register-blocked
// inner kernel. Fixed trip counts and `omp simd` on the columns let the compiler keep
// `sums` in vector registers (without the pragma GCC vectorises across rows, badly).
void multiply_panels(int64_t depth, const float* __restrict a_panel,
                     const float* __restrict b_panel, float* __restrict tile) {
  float sums[kMr][kNr] = {};
  for (int64_t p = 0; p < depth; ++p) {
    const float* a = a_panel + p * kMr;
    const float* b = b_panel + p * kNr;
    for (int64_t i = 0; i < kMr; ++i) {
#pragma omp simd
      for (int64_t j = 0; j < kNr; ++j) sums[i][j] += a[i] * b[j];
    }
  }
  for (int64_t i = 0; i < kMr; ++i) {
    for (int64_t j = 0; j < kNr; ++j) tile[i * kNr + j] = sums[i][j];
  }
}

// C[0 : rows, 0 : cols] = (first slice) ? tile : C + tile.
void store_tile(const float* tile, int64_t rows, int64_t cols, bool first_slice, float* c,
                int64_t ldc) {
  for (int64_t i = 0; i < rows; ++i) {
    float* c_row = c + i * ldc;
    const float* tile_row = tile + i * kNr;
    if (first_slice) {
      for (int64_t j = 0; j < cols; ++j) c_row[j] = tile_row[j];
    } else {
      for (int64_t j = 0; j < cols; ++j) c_row[j] += tile_row[j];
    }
  }
}

// C block (rows, cols) (+)= packed A block (rows, depth) x packed B block (depth, cols).
void multiply_blocks(const float* packed_a, const float* packed_b, int64_t rows, int64_t cols,
                     int64_t depth, bool first_slice, float* c, int64_t ldc) {
  // Column panels outermost: consecutive tiles reuse one B panel from L1.
  for (int64_t j = 0; j < cols; j += kNr) {
    for (int64_t i = 0; i < rows; i += kMr) {
      float tile[kMr * kNr];
      multiply_panels(depth, packed_a + i * depth, packed_b + j * depth, tile);
      store_tile(tile, std::min(kMr, rows - i), std::min(kNr, cols - j), first_slice,
                 c + i * ldc + j, ldc);
    }
  }
}

int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// Buffers for one packed A block and one packed B block of a (M, N, K) product.
struct PackingBuffers {
  std::unique_ptr<float[]> a, b;
  PackingBuffers(int64_t M, int64_t N, int64_t K) {
    const int64_t depth = std::min(kKc, K);
    a = std::make_unique_for_overwrite<float[]>(std::min(kMc, round_up(M, kMr)) * depth);
    b = std::make_unique_for_overwrite<float[]>(std::min(kNc, round_up(N, kNr)) * depth);
  }
};

// C[i0 : i0+rows, j0 : j0+cols] = op(A)[i0 : i0+rows, :] op(B)[:, j0 : j0+cols], one slice of
// the inner dimension at a time, for rows <= kMc and cols <= kNc.
void multiply_region(const MatrixView& a, const MatrixView& b, int64_t i0, int64_t rows, int64_t j0,
                     int64_t cols, int64_t K, float* C, int64_t ldc, PackingBuffers& buffers) {
  for (int64_t p0 = 0; p0 < K; p0 += kKc) {
    const int64_t depth = std::min(kKc, K - p0);
    pack_a(a, i0, rows, p0, depth, buffers.a.get());
    pack_b(b, p0, depth, j0, cols, buffers.b.get());
    multiply_blocks(buffers.a.get(), buffers.b.get(), rows, cols, depth, p0 == 0, C + i0 * ldc + j0,
                    ldc);
  }
}

}  // namespace

void gemm_f32_blocked(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K,
                      const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                      int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  const MatrixView a = view(A, lda, transpose_a), b = view(B, ldb, transpose_b);
  const int64_t row_blocks = (M + kMc - 1) / kMc, col_blocks = (N + kNc - 1) / kNc;
  // C is cut into regions of at most kMc x kNc, computed independently: each thread packs
  // into its own buffers, so the threads share nothing and never wait for each other.
  // Repacking A for every column block and B for every row block costs about
  // 1/kNc + 1/kMc of the multiply-adds.
#pragma omp parallel if (M * N * K >= kParallelWork)
  {
    PackingBuffers buffers(M, N, K);
#pragma omp for collapse(2) schedule(static)
    for (int64_t row_block = 0; row_block < row_blocks; ++row_block) {
      for (int64_t col_block = 0; col_block < col_blocks; ++col_block) {
        const int64_t i0 = row_block * kMc, j0 = col_block * kNc;
        multiply_region(a, b, i0, std::min(kMc, M - i0), j0, std::min(kNc, N - j0), K, C, ldc,
                        buffers);
      }
    }
  }
}

}  // namespace fsa
