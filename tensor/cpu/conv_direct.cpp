// conv_direct.cpp: float32 stride-1 convolution without im2col. The input is copied once
// with its zero padding into planes of Hp x Wp, and the output is computed on a grid of P
// rows of Wp positions per image (the Wp - Q last of each row are thrown away), because on
// that grid output position g and tap (c, r, s) read padded input c * Hp Wp + g + r Wp + s:
// nr consecutive outputs read nr consecutive inputs. The micro-kernel's B rows are then
// read straight from the padded planes (run_indirect, one offset per tap), so nothing is
// packed per tap; the price is the thrown-away columns, 2 padding / (Q + 2 padding). Each
// panel of nr grid positions is accumulated over all taps in a small tile that stays in
// L1, and its valid columns are then written to y with the bias.
#include <algorithm>
#include <vector>

#include "tensor/check.h"
#include "tensor/cpu/conv_packed.h"
#include "tensor/cpu/gemm_packed.h"
#include "tensor/cpu/host_memory.h"

namespace fsa {

namespace {

constexpr int64_t kDepthBlock = 256;  // taps per micro-kernel call (as gemm_packed.cpp)
constexpr int64_t kParallelWork = int64_t{1} << 20;  // multiply-adds

// The padded input planes and the output grid of one convolution.
struct Grid {
  int64_t Hp, Wp;   // padded input plane
  int64_t plane;    // Hp * Wp
  int64_t columns;  // output grid positions per image, P * Wp rounded up to whole panels
  int64_t slack;    // zeros after the last plane: the last panel reads up to nr + S - 2 past
};

Grid grid_of(const ConvGeometry& g, const MicroKernel& kernel) {
  Grid grid{.Hp = g.H + 2 * g.padding,
            .Wp = g.W + 2 * g.padding,
            .plane = 0,
            .columns = 0,
            .slack = kernel.nr + g.S};
  grid.plane = grid.Hp * grid.Wp;
  grid.columns = round_up_to_panels(g.P * grid.Wp, kernel.nr);
  return grid;
}

// x_pad (N, C, Hp, Wp) = x with `padding` zeros on every side, then `slack` zeros.
void pad_images(const float* x, const ConvGeometry& g, const Grid& grid, float* x_pad) {
  const int64_t planes = g.N * g.C;
#pragma omp parallel for if (planes * grid.plane > 32768)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* in = x + plane * g.H * g.W;
    float* out = x_pad + plane * grid.plane;
    for (int64_t i = 0; i < g.padding * grid.Wp; ++i) out[i] = 0.0f;
    for (int64_t h = 0; h < g.H; ++h) {
      float* row = out + (g.padding + h) * grid.Wp;
      for (int64_t w = 0; w < g.padding; ++w) row[w] = 0.0f;
      for (int64_t w = 0; w < g.W; ++w) row[g.padding + w] = in[h * g.W + w];
      for (int64_t w = g.padding + g.W; w < grid.Wp; ++w) row[w] = 0.0f;
    }
    for (int64_t i = (g.padding + g.H) * grid.Wp; i < grid.plane; ++i) out[i] = 0.0f;
  }
  std::fill(x_pad + planes * grid.plane, x_pad + planes * grid.plane + grid.slack, 0.0f);
}

// tile (K, nr) = w x the B rows of one panel, summed over every tap slice. Each slice's B
// rows (kDepthBlock x nr floats, 32 KiB) are read from L2 by the first row panel of mr
// output channels and found in L1 by the others.
void multiply_panel(const float* packed_weights, const float* b, const int64_t* offsets,
                    const ConvGeometry& g, const MicroKernel& kernel, float* tile) {
  const int64_t taps = g.col_rows();
  for (int64_t d0 = 0; d0 < taps; d0 += kDepthBlock) {
    const int64_t depth = std::min(kDepthBlock, taps - d0);
    for (int64_t k0 = 0; k0 < g.K; k0 += kernel.mr) {
      const float* a = packed_weights + (k0 * taps + d0 * kernel.mr);
      kernel.run_indirect(depth, a, b, offsets + d0, tile + k0 * kernel.nr, kernel.nr, d0 > 0);
    }
  }
}

// y[n][k][p][q] (+ bias[k]) for the grid positions [g0, g0 + nr) of image n that are real
// outputs (q < Q, p < P), from tile (K, nr).
void write_panel(const float* tile, const float* bias, const ConvGeometry& g, const Grid& grid,
                 int64_t n, int64_t g0, int64_t nr, float* y) {
  for (int64_t j = 0; j < nr;) {  // one piece per grid row
    const int64_t p = (g0 + j) / grid.Wp, q = (g0 + j) % grid.Wp;
    const int64_t length = std::min(nr - j, grid.Wp - q);
    if (p >= g.P) break;
    const int64_t valid = std::max<int64_t>(0, std::min(length, g.Q - q));
    for (int64_t k = 0; k < g.K; ++k) {
      const float* in = tile + k * nr + j;
      float* out = y + ((n * g.K + k) * g.P + p) * g.Q + q;
      const float b = bias != nullptr ? bias[k] : 0.0f;
      for (int64_t i = 0; i < valid; ++i) out[i] = in[i] + b;
    }
    j += length;
  }
}

}  // namespace

double direct_conv_overhead(const ConvGeometry& g, const MicroKernel& kernel) {
  const Grid grid = grid_of(g, kernel);
  return static_cast<double>(grid.columns) / static_cast<double>(g.P * g.Q);
}

void conv2d_forward_direct(const float* x, const float* w, const float* bias, const ConvGeometry& g,
                           float* y, const MicroKernel& kernel) {
  FSA_CHECK(g.stride == 1, "[conv2d] the direct convolution needs stride 1, got ", g.stride);
  const Grid grid = grid_of(g, kernel);
  const int64_t taps = g.col_rows();
  ScratchBuffer<float> x_pad(g.N * g.C * grid.plane + grid.slack);
  pad_images(x, g, grid, x_pad.get());
  // The weights as A panels of mr output channels over all taps, packed once.
  const int64_t row_panels = (g.K + kernel.mr - 1) / kernel.mr;
  ScratchBuffer<float> packed_weights(row_panels * kernel.mr * taps);
  StridedOperand(w, {.stride = taps}, {.stride = 1})
      .pack(0, g.K, 0, taps, kernel.mr, packed_weights.get());
  std::vector<int64_t> offsets(static_cast<size_t>(taps));  // tap (c, r, s) -> c Hp Wp + r Wp + s
  for (int64_t tap = 0; tap < taps; ++tap) {
    const int64_t c = tap / (g.R * g.S), r = tap / g.S % g.R, s = tap % g.S;
    offsets[tap] = c * grid.plane + r * grid.Wp + s;
  }
  const int64_t panels_per_image = grid.columns / kernel.nr;
  const int64_t panels = g.N * panels_per_image;
  const bool parallel = g.K * taps * g.N * g.P * g.Q >= kParallelWork;
#pragma omp parallel if (parallel)
  {
    ScratchBuffer<float> tile(row_panels * kernel.mr * kernel.nr);  // (K rounded up, nr)
    // Dynamic: on a shared machine a thread that loses its core does not hold up the rest.
#pragma omp for schedule(dynamic, 4)
    for (int64_t panel = 0; panel < panels; ++panel) {
      const int64_t n = panel / panels_per_image, g0 = panel % panels_per_image * kernel.nr;
      multiply_panel(packed_weights.get(), x_pad.get() + n * g.C * grid.plane + g0, offsets.data(),
                     g, kernel, tile.get());
      write_panel(tile.get(), bias, g, grid, n, g0, kernel.nr, y);
    }
  }
}

}  // namespace fsa
