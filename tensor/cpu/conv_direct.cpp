// conv_direct.cpp: float32 stride-1 convolution without im2col. The input is copied once,
// zero-padded, into one plane per channel that holds the whole batch: the rows of an image
// lie Ws = max(W + padding, Q) apart, the images Hs = max(H + padding, P) rows apart, and
// the zeros between two rows (two images) are the padding of both. The output is computed
// on the grid of N Hs rows of Ws positions (the positions past P or Q are thrown away),
// because on that grid output position G and tap (c, r, s) read plane c at G + r Ws + s:
// nr consecutive outputs read nr consecutive inputs. The micro-kernel's B rows are then
// read straight from the planes (run_indirect, one offset per tap), so nothing is packed
// per tap; the price is the thrown-away positions, about padding / W + padding / H. Each
// panel of nr grid positions is accumulated over all taps in a small tile that stays in L1,
// and its valid columns are then written to y with the bias.
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
  int64_t Hs, Ws;   // rows from one image to the next; positions from one row to the next
  int64_t plane;    // floats per channel: N Hs + max(padding, R) rows of Ws
  int64_t columns;  // output grid positions, N Hs Ws rounded up to whole panels
  int64_t slack;    // zeros after the last plane: the last panel reads up to nr + S - 2 past
};

Grid grid_of(const ConvGeometry& g, const MicroKernel& kernel) {
  Grid grid{.Hs = std::max(g.H + g.padding, g.P),
            .Ws = std::max(g.W + g.padding, g.Q),
            .plane = 0,
            .columns = 0,
            .slack = kernel.nr + g.S};
  // Rows: `padding` zero rows, then N images of Hs rows (N Hs + padding in all); and the
  // grid's last row, N Hs - 1, reads R - 1 rows further.
  grid.plane = (g.N * grid.Hs + std::max(g.padding, g.R)) * grid.Ws;
  grid.columns = round_up_to_panels(g.N * grid.Hs * grid.Ws, kernel.nr);
  return grid;
}

// Writes image n's rows of every channel plane: `padding` zero rows before the first image;
// each image's H rows (padding zeros, W values, zeros up to Ws), then Hs - H zero rows; after
// the last image, zeros to the end of the plane. Then `slack` zeros after the last plane.
void pad_images(const float* x, const ConvGeometry& g, const Grid& grid, float* x_pad) {
  const int64_t blocks = g.C * g.N;
#pragma omp parallel for if (blocks * grid.Hs * grid.Ws > 32768)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t c = block / g.N, n = block % g.N;
    const float* in = x + (n * g.C + c) * g.H * g.W;
    float* plane = x_pad + c * grid.plane;
    float* image = plane + (n * grid.Hs + g.padding) * grid.Ws;
    if (n == 0) std::fill(plane, image, 0.0f);
    for (int64_t h = 0; h < g.H; ++h) {
      float* row = image + h * grid.Ws;
      std::fill(row, row + g.padding, 0.0f);
      std::copy(in + h * g.W, in + (h + 1) * g.W, row + g.padding);
      std::fill(row + g.padding + g.W, row + grid.Ws, 0.0f);
    }
    float* end = n == g.N - 1 ? plane + grid.plane : image + grid.Hs * grid.Ws;
    std::fill(image + g.H * grid.Ws, end, 0.0f);
  }
  std::fill(x_pad + g.C * grid.plane, x_pad + g.C * grid.plane + grid.slack, 0.0f);
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

// y[n][k][p][q] (+ bias[k]) for the grid positions [g0, g0 + nr) that are real outputs
// (n < N, p < P, q < Q), from tile (K, nr).
void write_panel(const float* tile, const float* bias, const ConvGeometry& g, const Grid& grid,
                 int64_t g0, int64_t nr, float* y) {
  for (int64_t j = 0; j < nr;) {  // one piece per grid row
    const int64_t row = (g0 + j) / grid.Ws, q = (g0 + j) % grid.Ws;
    const int64_t n = row / grid.Hs, p = row % grid.Hs;
    const int64_t length = std::min(nr - j, grid.Ws - q);
    if (n >= g.N) break;
    const int64_t valid = p < g.P ? std::max<int64_t>(0, std::min(length, g.Q - q)) : 0;
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
  return static_cast<double>(grid.columns) / static_cast<double>(g.N * g.P * g.Q);
}

void conv2d_forward_direct(const float* x, const float* w, const float* bias, const ConvGeometry& g,
                           float* y, const MicroKernel& kernel) {
  FSA_CHECK(g.stride == 1, "[conv2d] the direct convolution needs stride 1, got ", g.stride);
  const Grid grid = grid_of(g, kernel);
  const int64_t taps = g.col_rows();
  ScratchBuffer<float> x_pad(g.C * grid.plane + grid.slack);
  pad_images(x, g, grid, x_pad.get());
  // The weights as A panels of mr output channels over all taps, packed once.
  const int64_t row_panels = round_up_to_panels(g.K, kernel.mr) / kernel.mr;
  ScratchBuffer<float> packed_weights(row_panels * kernel.mr * taps);
  StridedOperand(w, {.stride = taps}, {.stride = 1})
      .pack(0, g.K, 0, taps, kernel.mr, packed_weights.get());
  std::vector<int64_t> offsets(static_cast<size_t>(taps));  // tap (c, r, s) -> c plane + r Ws + s
  for (int64_t tap = 0; tap < taps; ++tap) {
    const int64_t c = tap / (g.R * g.S), r = tap / g.S % g.R, s = tap % g.S;
    offsets[tap] = c * grid.plane + r * grid.Ws + s;
  }
  const int64_t panels = grid.columns / kernel.nr;
  const bool parallel = g.K * taps * g.N * g.P * g.Q >= kParallelWork;
#pragma omp parallel if (parallel)
  {
    ScratchBuffer<float> tile(row_panels * kernel.mr * kernel.nr);  // (K rounded up, nr)
    // Dynamic: on a shared machine a thread that loses its core does not hold up the rest.
#pragma omp for schedule(dynamic, 4)
    for (int64_t panel = 0; panel < panels; ++panel) {
      const int64_t g0 = panel * kernel.nr;
      multiply_panel(packed_weights.get(), x_pad.get() + g0, offsets.data(), g, kernel,
                     tile.get());
      write_panel(tile.get(), bias, g, grid, g0, kernel.nr, y);
    }
  }
}

}  // namespace fsa
