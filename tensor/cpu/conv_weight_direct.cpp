// conv_weight_direct.cpp: the float32 stride-1 weight gradient without im2col,
//   dw[k][c][r][s] = sum over n, p, q of dy[n][k][p][q] x_pad[n][c][p + r][q + s].
// As in conv_direct.cpp, the output positions are taken on a grid of P rows of Wp = W + 2
// padding positions per image (dy is zero on the Wp - Q extra positions of each row), so
// that grid position g reads the padded pixel g + r Wp + s for tap (r, s). The padded
// images are stored channels-last: the S C values (s, c) of kernel row r at grid position g
// are then S consecutive pixels, contiguous from pixel g + r Wp. For each kernel row r,
//   dw_r (K, S C) = dy (K, grid positions) x_r (grid positions, S C),
// a product whose B rows the micro-kernel reads in place (run_indirect). dy is packed once
// per depth slice and serves all R kernel rows. Each thread takes a range of grid
// positions and sums its own partial dw; the partials are added at the end.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "tensor/check.h"
#include "tensor/cpu/conv_packed.h"
#include "tensor/cpu/host_memory.h"

namespace fsa {

namespace {

constexpr int64_t kDepthBlock = 256;                 // grid positions per micro-kernel call
constexpr int64_t kParallelWork = int64_t{1} << 20;  // multiply-adds

// The extents of the product for one convolution and micro-kernel.
struct WeightGrid {
  int64_t Hp, Wp;          // padded image
  int64_t pixels;          // Hp Wp, pixels per padded image
  int64_t positions;       // P Wp, grid positions per image
  int64_t columns;         // S C, the columns (s, c) of one kernel row's product
  int64_t padded_rows;     // K rounded up to whole micro-panels (mr)
  int64_t padded_columns;  // S C rounded up to whole micro-panels (nr)
};

WeightGrid weight_grid_of(const ConvGeometry& g, const MicroKernel& kernel) {
  WeightGrid grid{};
  grid.Hp = g.H + 2 * g.padding;
  grid.Wp = g.W + 2 * g.padding;
  grid.pixels = grid.Hp * grid.Wp;
  grid.positions = g.P * grid.Wp;
  grid.columns = g.S * g.C;
  grid.padded_rows = round_up_to_panels(g.K, kernel.mr);
  grid.padded_columns = round_up_to_panels(grid.columns, kernel.nr);
  return grid;
}

// x_nhwc (N, Hp, Wp, C) = x (N, C, H, W) zero-padded and made channels-last, followed by
// `slack` zeros: the last B row of the last image reads up to S C - C + nr - 1 values past
// its pixel.
void pad_channels_last(const float* x, const ConvGeometry& g, const WeightGrid& grid, int64_t slack,
                       float* x_nhwc) {
  const int64_t padded_image = grid.pixels * g.C;
#pragma omp parallel for if (g.N * padded_image > 32768)
  for (int64_t n = 0; n < g.N; ++n) {
    float* out = x_nhwc + n * padded_image;
    const int64_t row_floats = grid.Wp * g.C, border = g.padding * g.C;
    std::fill(out, out + g.padding * row_floats, 0.0f);  // the zero rows above and below
    std::fill(out + (g.padding + g.H) * row_floats, out + padded_image, 0.0f);
    // Row by row: the C input rows of h are read in turn into one output row (in cache).
    for (int64_t h = 0; h < g.H; ++h) {
      float* padded_row = out + (g.padding + h) * row_floats;
      std::fill(padded_row, padded_row + border, 0.0f);
      std::fill(padded_row + row_floats - border, padded_row + row_floats, 0.0f);
      float* row = padded_row + border;
      for (int64_t c = 0; c < g.C; ++c) {
        const float* in = x + ((n * g.C + c) * g.H + h) * g.W;
        for (int64_t w = 0; w < g.W; ++w) row[w * g.C + c] = in[w];
      }
    }
  }
  std::fill(x_nhwc + g.N * padded_image, x_nhwc + g.N * padded_image + slack, 0.0f);
}

// The A panels of dy for grid positions [d0, d0 + depth) (position d = n P Wp + g):
// panel t holds rows t mr ... as packed[(t depth + d) mr + i] = dy[n][t mr + i][p][q], zero
// where q >= Q (the grid's extra positions) or the row is past K. Also sets each position's
// channels-last pixel offset, offsets[d] = (n Hp Wp + g) C. Walks the slice grid row by grid
// row, so that each row of dy is read contiguously.
void pack_gradient_slice(const float* dy, const ConvGeometry& g, const WeightGrid& grid, int64_t mr,
                         int64_t d0, int64_t depth, float* packed, int64_t* offsets) {
  std::fill(packed, packed + grid.padded_rows * depth, 0.0f);  // rows past K, q >= Q
  for (int64_t d = 0; d < depth;) {
    const int64_t n = (d0 + d) / grid.positions, position = (d0 + d) % grid.positions;
    const int64_t p = position / grid.Wp, q0 = position % grid.Wp;
    const int64_t length = std::min(depth - d, grid.Wp - q0);  // to the grid row's end
    for (int64_t j = 0; j < length; ++j) offsets[d + j] = (n * grid.pixels + position + j) * g.C;
    const int64_t valid = std::max<int64_t>(0, std::min(length, g.Q - q0));
    for (int64_t k = 0; k < g.K; ++k) {
      const float* source = dy + ((n * g.K + k) * g.P + p) * g.Q + q0;  // dy[n][k][p][q0]
      float* target = packed + ((k / mr) * depth + d) * mr + k % mr;
      for (int64_t j = 0; j < valid; ++j) target[j * mr] = source[j];
    }
    d += length;
  }
}

// partial (R, padded rows, padded columns) += the products of grid positions [begin, end).
void accumulate_range(const float* dy, const float* x_nhwc, const ConvGeometry& g,
                      const WeightGrid& grid, const MicroKernel& kernel, int64_t begin, int64_t end,
                      float* partial) {
  ScratchBuffer<float> packed(grid.padded_rows * kDepthBlock);
  std::vector<int64_t> offsets(static_cast<size_t>(kDepthBlock));
  const int64_t row_stride = grid.padded_columns;
  for (int64_t d0 = begin; d0 < end; d0 += kDepthBlock) {
    const int64_t depth = std::min(kDepthBlock, end - d0);
    pack_gradient_slice(dy, g, grid, kernel.mr, d0, depth, packed.get(), offsets.data());
    for (int64_t r = 0; r < g.R; ++r) {
      const float* x_r = x_nhwc + r * grid.Wp * g.C;  // kernel row r: pixel g + r Wp
      float* out_r = partial + r * grid.padded_rows * row_stride;
      for (int64_t j0 = 0; j0 < grid.padded_columns; j0 += kernel.nr) {
        for (int64_t k0 = 0; k0 < grid.padded_rows; k0 += kernel.mr) {
          kernel.run_indirect(depth, packed.get() + k0 * depth, x_r + j0, offsets.data(),
                              out_r + k0 * row_stride + j0, row_stride, true);
        }
      }
    }
  }
}

// dw[k][c][r][s] = the sum over the team's partials of partial[r][k][s C + c].
void add_partials(const float* partials, int64_t team, int64_t partial_size, const ConvGeometry& g,
                  const WeightGrid& grid, float* dw) {
#pragma omp parallel for if (team > 1)
  for (int64_t k = 0; k < g.K; ++k) {
    for (int64_t r = 0; r < g.R; ++r) {
      const float* row = partials + (r * grid.padded_rows + k) * grid.padded_columns;
      for (int64_t s = 0; s < g.S; ++s) {
        for (int64_t c = 0; c < g.C; ++c) {
          float sum = 0.0f;
          for (int64_t t = 0; t < team; ++t) sum += row[t * partial_size + s * g.C + c];
          dw[((k * g.C + c) * g.R + r) * g.S + s] = sum;
        }
      }
    }
  }
}

}  // namespace

double direct_weight_gradient_overhead(const ConvGeometry& g, const MicroKernel& kernel) {
  const WeightGrid grid = weight_grid_of(g, kernel);
  return static_cast<double>(grid.positions * grid.padded_columns) /
         static_cast<double>(g.P * g.Q * grid.columns);
}

void conv2d_backward_weight_direct(const float* dy, const float* x, const ConvGeometry& g,
                                   float* dw, const MicroKernel& kernel) {
  FSA_CHECK(g.stride == 1,
            "[conv2d_backward_weight] the direct weight gradient needs stride 1, got ", g.stride);
  const WeightGrid grid = weight_grid_of(g, kernel);
  const int64_t slack = grid.padded_columns + kernel.nr;
  ScratchBuffer<float> x_nhwc(g.N * grid.pixels * g.C + slack);
  pad_channels_last(x, g, grid, slack, x_nhwc.get());

  const int64_t total = g.N * grid.positions;  // the product's depth
  const bool parallel = g.K * g.col_rows() * g.N * g.P * g.Q >= kParallelWork;
  const int64_t threads = parallel ? omp_get_max_threads() : 1;
  const int64_t partial_size = g.R * grid.padded_rows * grid.padded_columns;
  ScratchBuffer<float> partials(threads * partial_size);
  int64_t team = 1;  // the threads that ran, each with its partial
#pragma omp parallel num_threads(threads) if (parallel)
  {
    const int64_t size = omp_get_num_threads(), t = omp_get_thread_num();
#pragma omp master
    team = size;
    float* partial = partials.get() + t * partial_size;
    std::fill(partial, partial + partial_size, 0.0f);
    accumulate_range(dy, x_nhwc.get(), g, grid, kernel, total * t / size, total * (t + 1) / size,
                     partial);
  }
  add_partials(partials.get(), team, partial_size, g, grid, dw);
}

}  // namespace fsa
