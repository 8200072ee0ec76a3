// gemm_packed.cpp: the packed GEMM driver (GotoBLAS/BLIS structure) and the strided operand.
// A is first packed whole into micro-panels by all threads (PackedA). C is then cut into
// rectangles (split_output), taken by the threads as they come free; every rectangle reads
// its rows of A from the shared packed copy, so cutting C by columns costs no repacking.
// Each rectangle is walked in blocks of kDepthBlock depths x kColumnBlock columns: the B
// block (512 KiB, kept in L2) is packed once and serves all the rectangle's rows, and the
// micro-kernel runs along each row of tiles, the A panel (12 KiB) staying in L1 while the B
// panels stream past it from L2. The threads share nothing but the packed A, so they never
// wait for each other until the end.
#include "tensor/cpu/gemm_packed.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "tensor/cpu/host_memory.h"

namespace fsa {

namespace {

// Measured on the 2-core Xeon (AVX-512) with 1024^3 and conv-shaped products: depth 128 to
// 384 and column blocks 512 to 1024 are within noise of each other; A panels in L1 with B
// streamed from L2 beat the opposite order (B panel in L1) by about 15 %. Column blocks of
// 512 leave half of a 1 MiB L2 (AMD EPYC, Zen 5) to the rest.
constexpr int64_t kDepthBlock = 256;   // an A panel (256 x 12 floats = 12 KiB) fits L1
constexpr int64_t kColumnBlock = 512;  // the packed B block (256 x 512 floats) fits L2
// op(A) is packed whole up to this many floats (64 MiB), in row bands beyond.
constexpr int64_t kPackedALimit = int64_t{1} << 24;
// Below this many multiply-adds a second thread costs more than it saves.
constexpr int64_t kParallelWork = int64_t{1} << 20;

int64_t ceil_div(int64_t value, int64_t divisor) { return (value + divisor - 1) / divisor; }

// Offsets of positions [first, first + count) of an axis, walked without a division each.
std::vector<int64_t> axis_offsets(const StridedAxis& axis, int64_t first, int64_t count) {
  std::vector<int64_t> offsets(static_cast<size_t>(count));
  int64_t group = first / axis.group, within = first % axis.group;
  for (int64_t v = 0; v < count; ++v) {
    offsets[v] = group * axis.group_stride + within * axis.stride;
    if (++within == axis.group) {
      within = 0;
      ++group;
    }
  }
  return offsets;
}

bool is_contiguous(const std::vector<int64_t>& offsets) {
  for (size_t u = 1; u < offsets.size(); ++u) {
    if (offsets[u] != offsets[0] + static_cast<int64_t>(u)) return false;
  }
  return true;
}

// A rectangle of C: rows [row_begin, row_end) x columns [col_begin, col_end).
struct Region {
  int64_t row_begin, row_end, col_begin, col_end;
};

// The fraction of `threads` x ceil(panels / threads) panel slots that hold a panel.
double balance(int64_t panels, int64_t threads) {
  return static_cast<double>(panels) / static_cast<double>(threads * ceil_div(panels, threads));
}

// Splits C into a grid of rectangles cut at panel boundaries: first row_parts x col_parts
// = threads, choosing the grid that leaves the fewest idle panel slots (ties go to more
// column parts: cutting the rows makes every part pack the whole of B); then each column
// part is cut up to kColumnOversplit times more, so that threads which get their cores
// take more parts when the machine is shared. Each part reads all its rows of packed A, so
// more parts cost more: 4 per thread made 2048^3 8 % slower than 2 (the EPYC, session 9).
constexpr int64_t kColumnOversplit = 2;

std::vector<Region> split_output(int64_t M, int64_t N, int64_t threads, const MicroKernel& kernel) {
  const int64_t row_panels = ceil_div(M, kernel.mr), col_panels = ceil_div(N, kernel.nr);
  int64_t best_rows = 1;
  double best_balance = -1.0;
  for (int64_t rows = threads; rows >= 1; --rows) {
    if (threads % rows != 0) continue;
    const double b = balance(row_panels, rows) * balance(col_panels, threads / rows);
    if (b >= best_balance) {
      best_balance = b;
      best_rows = rows;
    }
  }
  int64_t best_cols = threads / best_rows;
  if (threads > 1)
    best_cols *= std::clamp(col_panels / (best_cols * 2), int64_t{1}, kColumnOversplit);
  std::vector<Region> regions;
  for (int64_t r = 0; r < best_rows; ++r) {
    for (int64_t c = 0; c < best_cols; ++c) {
      regions.push_back({std::min(M, row_panels * r / best_rows * kernel.mr),
                         std::min(M, row_panels * (r + 1) / best_rows * kernel.mr),
                         std::min(N, col_panels * c / best_cols * kernel.nr),
                         std::min(N, col_panels * (c + 1) / best_cols * kernel.nr)});
    }
  }
  return regions;
}

// Writes (or adds, when `accumulate`) a computed tile (rows, cols), row stride nr, at (i0, j0)
// of C through the output's column mapping, adding the bias when `add_bias`.
void scatter_tile(const float* tile, int64_t nr, int64_t i0, int64_t rows, int64_t j0, int64_t cols,
                  bool accumulate, bool add_bias, const GemmOutput& c) {
  const std::vector<int64_t> columns = axis_offsets(c.columns, j0, cols);
  for (int64_t i = 0; i < rows; ++i) {
    float* row = c.data + (i0 + i) * c.row_stride;
    const float bias = add_bias ? c.row_bias[i0 + i] : 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      const float value = tile[i * nr + j] + bias;
      row[columns[j]] = accumulate ? row[columns[j]] + value : value;
    }
  }
}

// C tile at (i0, j0) (rows, cols) = A panel x B panel, + C when `accumulate`, + bias when
// `add_bias`. Full tiles whose columns are contiguous in C are written by the micro-kernel
// directly; the rest go through a tile in registers' spill buffer.
void multiply_tile(const MicroKernel& kernel, int64_t depth, const float* a_panel,
                   const float* b_panel, int64_t i0, int64_t rows, int64_t j0, int64_t cols,
                   bool accumulate, bool add_bias, const GemmOutput& c) {
  const bool one_group = j0 / c.columns.group == (j0 + cols - 1) / c.columns.group;
  if (rows == kernel.mr && cols == kernel.nr && one_group) {
    float* target = c.data + i0 * c.row_stride + c.columns.offset(j0);
    kernel.run(depth, a_panel, b_panel, target, c.row_stride, accumulate);
    if (!add_bias) return;
    for (int64_t i = 0; i < rows; ++i) {
      float* row = target + i * c.row_stride;
      for (int64_t j = 0; j < cols; ++j) row[j] += c.row_bias[i0 + i];
    }
    return;
  }
  alignas(64) float tile[64 * 64];  // holds any tile up to 64 x 64
  kernel.run(depth, a_panel, b_panel, tile, kernel.nr, false);
  scatter_tile(tile, kernel.nr, i0, rows, j0, cols, accumulate, add_bias, c);
}

// All of op(A), packed once and shared by the threads: for each depth slice of
// kDepthBlock, the micro-panels of every row, so that the panels of rows [i0, i0 + rows)
// of a slice are contiguous (at slice(d0) + i0 * depth).
class PackedA {
 public:
  // Rows [first, first + M) of op(A).
  PackedA(int64_t M, int64_t K, const GemmOperand& a, int64_t first, int64_t mr, int64_t threads)
      : padded_rows_(round_up_to_panels(M, mr)), packed_(padded_rows_ * K) {
    const int64_t slices = ceil_div(K, kDepthBlock), row_panels = padded_rows_ / mr;
    // One task per (slice, run of panels): enough tasks for the threads, whatever the shape.
    const int64_t panels_per_task = std::max<int64_t>(1, row_panels * slices / (8 * threads));
    const int64_t tasks_per_slice = ceil_div(row_panels, panels_per_task);
#pragma omp parallel for num_threads(threads) if (threads > 1)
    for (int64_t task = 0; task < slices * tasks_per_slice; ++task) {
      const int64_t d0 = task / tasks_per_slice * kDepthBlock;
      const int64_t depth = std::min(kDepthBlock, K - d0);
      const int64_t i0 = task % tasks_per_slice * panels_per_task * mr;
      const int64_t rows = std::min(panels_per_task * mr, M - i0);
      if (rows > 0) a.pack(first + i0, rows, d0, depth, mr, slice(d0) + i0 * depth);
    }
  }
  // The first panel of depth slice d0 (a multiple of kDepthBlock).
  const float* slice(int64_t d0) const { return packed_.get() + d0 * padded_rows_; }

 private:
  float* slice(int64_t d0) { return packed_.get() + d0 * padded_rows_; }
  int64_t padded_rows_;
  ScratchBuffer<float> packed_;
};

// One thread's rectangle of C, by depth slice and column block: each block of B is packed
// once and multiplied by every A panel of the rectangle (A is packed whole, PackedA).
void multiply_region(const Region& region, int64_t K, const PackedA& a, const GemmOperand& b,
                     const GemmOutput& c, const MicroKernel& kernel) {
  if (region.row_end <= region.row_begin || region.col_end <= region.col_begin) return;
  // Whole panels only: the last panel of a block is padded up to nr.
  const int64_t col_block =
      std::min(round_up_to_panels(region.col_end - region.col_begin, kernel.nr),
               kColumnBlock / kernel.nr * kernel.nr);
  const int64_t depth_block = std::min(K, kDepthBlock);
  ScratchBuffer<float> packed_b(depth_block * col_block);
  for (int64_t d0 = 0; d0 < K; d0 += depth_block) {
    const int64_t depth = std::min(depth_block, K - d0);
    const bool first_slice = d0 == 0;
    const bool add_bias = c.row_bias != nullptr && first_slice;
    for (int64_t j0 = region.col_begin; j0 < region.col_end; j0 += col_block) {
      const int64_t block_cols = std::min(col_block, region.col_end - j0);
      b.pack(j0, block_cols, d0, depth, kernel.nr, packed_b.get());
      for (int64_t i = region.row_begin; i < region.row_end; i += kernel.mr) {
        const float* a_panel = a.slice(d0) + i * depth;
        const int64_t rows = std::min(kernel.mr, region.row_end - i);
        for (int64_t j = 0; j < block_cols; j += kernel.nr) {
          multiply_tile(kernel, depth, a_panel, packed_b.get() + j * depth, i, rows, j0 + j,
                        std::min(kernel.nr, block_cols - j), !first_slice, add_bias, c);
        }
      }
    }
  }
}

// C = bias (or zero) when the inner dimension is empty.
void write_empty_product(int64_t M, int64_t N, const GemmOutput& c) {
  const std::vector<int64_t> columns = axis_offsets(c.columns, 0, N);
  for (int64_t i = 0; i < M; ++i) {
    const float value = c.row_bias != nullptr ? c.row_bias[i] : 0.0f;
    for (int64_t j = 0; j < N; ++j) c.data[i * c.row_stride + columns[j]] = value;
  }
}

}  // namespace

void StridedOperand::pack(int64_t first, int64_t count, int64_t d0, int64_t depth, int64_t width,
                          float* out) const {
  const std::vector<int64_t> depth_offsets = axis_offsets(depth_axis_, d0, depth);
  for (int64_t panel_first = 0; panel_first < count; panel_first += width) {
    float* panel = out + panel_first * depth;
    const int64_t valid = std::min(width, count - panel_first);
    const std::vector<int64_t> index_offsets =
        axis_offsets(index_axis_, first + panel_first, valid);
    if (is_contiguous(index_offsets)) {
      // The panel's indices are adjacent in memory: copy `valid` values per depth.
      for (int64_t d = 0; d < depth; ++d) {
        const float* source = data_ + index_offsets[0] + depth_offsets[d];
        float* target = panel + d * width;
        for (int64_t u = 0; u < valid; ++u) target[u] = source[u];
        for (int64_t u = valid; u < width; ++u) target[u] = 0.0f;
      }
      continue;
    }
    // Otherwise gather one value from each index per depth (a transposing copy when the
    // depths are adjacent, as for the rows of a row-major A).
    const float* sources[64];  // width <= 64 (micro-kernel tiles are at most 64 wide)
    for (int64_t u = 0; u < valid; ++u) sources[u] = data_ + index_offsets[u];
    for (int64_t d = 0; d < depth; ++d) {
      float* target = panel + d * width;
      const int64_t offset = depth_offsets[d];
      for (int64_t u = 0; u < valid; ++u) target[u] = sources[u][offset];
      for (int64_t u = valid; u < width; ++u) target[u] = 0.0f;
    }
  }
}

StridedOperand left_operand(const float* A, int64_t lda, bool transpose_a) {
  // op(A)(i, p) = A[i * lda + p], or A[p * lda + i] when transposed.
  return transpose_a ? StridedOperand(A, {.stride = 1}, {.stride = lda})
                     : StridedOperand(A, {.stride = lda}, {.stride = 1});
}

StridedOperand right_operand(const float* B, int64_t ldb, bool transpose_b) {
  // op(B)(p, j) = B[p * ldb + j], or B[j * ldb + p] when transposed; the index is j.
  return transpose_b ? StridedOperand(B, {.stride = ldb}, {.stride = 1})
                     : StridedOperand(B, {.stride = 1}, {.stride = ldb});
}

void gemm_packed(int64_t M, int64_t N, int64_t K, const GemmOperand& a, const GemmOperand& b,
                 const GemmOutput& c, const MicroKernel* kernel) {
  if (M == 0 || N == 0) return;
  if (K == 0) return write_empty_product(M, N, c);
  const MicroKernel& chosen = kernel != nullptr ? *kernel : micro_kernel_for(M);
  const int64_t threads = M * N * K >= kParallelWork ? omp_get_max_threads() : 1;
  // Row bands whose packed A fits kPackedALimit (one band unless A is very large).
  const int64_t band = std::max(chosen.mr, kPackedALimit / K / chosen.mr * chosen.mr);
  for (int64_t i0 = 0; i0 < M; i0 += band) {
    const int64_t rows = std::min(band, M - i0);
    const PackedA packed_a(rows, K, a, i0, chosen.mr, threads);
    const GemmOutput band_output{.data = c.data + i0 * c.row_stride,
                                 .row_stride = c.row_stride,
                                 .columns = c.columns,
                                 .row_bias = c.row_bias != nullptr ? c.row_bias + i0 : nullptr};
    const std::vector<Region> regions = split_output(rows, N, threads, chosen);
    const int64_t count = static_cast<int64_t>(regions.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (int64_t r = 0; r < count; ++r) {
      multiply_region(regions[r], K, packed_a, b, band_output, chosen);
    }
  }
}

}  // namespace fsa
