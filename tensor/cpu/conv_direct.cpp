// conv_direct.cpp: float32 convolution without im2col. The input is copied, zero-padded, into
// planes that each hold a chunk of images: the rows of an image lie Ws apart, the images Hs
// rows apart. The output is computed on the grid of Hs rows of Ws positions per image (the
// positions past P or Q are thrown away), because on that grid output position G and tap
// (c, r, s) read one plane at G + a fixed offset: nr consecutive outputs read nr consecutive
// inputs. The micro-kernel's B rows are then read straight from the planes (run_indirect,
// one offset per tap), so nothing is packed per tap; the price is the thrown-away positions.
//   Stride 1: one plane per channel, rows Ws = W + padding apart, so that the zeros between
//   two rows (two images) are the padding of both; tap (c, r, s) reads at r Ws + s.
//   Stride t > 1: t x t planes per channel, one per phase (a, b), holding the padded pixels
//   (i t + a, j t + b) at row i, position j; output (p, q) and tap (r, s) read phase
//   (r mod t, s mod t) at (p + r / t, q + s / t), so the grid is again a stride-1 one, with
//   Hs = P + (R - 1) / t rows and Ws = Q + (S - 1) / t positions per image.
// Each panel of nr grid positions is accumulated over all taps in a small tile that stays in
// L1, and its valid columns are then written to y with the bias.
//   Chunks: each thread pads a few images at a time into its own planes, small enough to stay
// in its core's L2 cache, and computes all of their panels, so the B rows come from L2 and
// the padded copy never goes out to memory. With too few images for that (a batch of one
// photo), one chunk holds the whole batch and the threads share its panels.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "tensor/cpu/conv_packed.h"
#include "tensor/cpu/gemm_packed.h"
#include "tensor/cpu/host_memory.h"

namespace fsa {

namespace {

constexpr int64_t kDepthBlock = 256;  // taps per micro-kernel call (as gemm_packed.cpp)
constexpr int64_t kParallelWork = int64_t{1} << 20;  // multiply-adds
// A chunk's planes: 256 KiB, a quarter of the EPYC's L2 (an eighth of the Xeon's).
constexpr int64_t kChunkFloats = int64_t{1} << 16;
// Chunks per thread, at least, for each thread to pad its own: fewer would leave a thread
// idle while another finishes a large chunk.
constexpr int64_t kChunksPerThread = 4;

// The padded input planes and the output grid of one chunk of images.
struct Grid {
  int64_t Hs, Ws;  // rows from one image to the next; positions from one row to the next
  int64_t phases;  // planes per channel: stride x stride
  int64_t images;  // images per chunk
  int64_t plane;   // floats per plane: images Hs + max(padding, R) rows of Ws
  int64_t planes_floats(const ConvGeometry& g) const { return g.C * phases * plane; }
};

Grid grid_of(const ConvGeometry& g, int64_t images) {
  Grid grid{.Hs = g.P + (g.R - 1) / g.stride,
            .Ws = g.Q + (g.S - 1) / g.stride,
            .phases = g.stride * g.stride,
            .images = images,
            .plane = 0};
  if (g.stride == 1) {  // rows share their padding
    grid.Hs = std::max(g.H + g.padding, g.P);
    grid.Ws = std::max(g.W + g.padding, g.Q);
  }
  // Stride 1: `padding` zero rows, then the images' Hs rows each; and the grid's last row
  // reads R - 1 rows further.
  grid.plane = (images * grid.Hs + std::max(g.padding, g.R)) * grid.Ws;
  return grid;
}

// The planes of one chunk, followed by zeros that the last panel may read: up to nr + S - 2
// past the last plane.
class Planes {
 public:
  Planes(const ConvGeometry& g, const Grid& grid, const MicroKernel& kernel)
      : size_(grid.planes_floats(g)), slack_(kernel.nr + g.S), buffer_(size_ + slack_) {
    std::fill(buffer_.get() + size_, buffer_.get() + size_ + slack_, 0.0f);
  }
  float* get() const { return buffer_.get(); }

 private:
  int64_t size_, slack_;
  ScratchBuffer<float> buffer_;
};

// Grid positions of a chunk of `count` images, rounded up to whole panels.
int64_t chunk_columns(const Grid& grid, int64_t count, const MicroKernel& kernel) {
  return round_up_to_panels(count * grid.Hs * grid.Ws, kernel.nr);
}

// Stride 1: channel c's plane for images [n0, n0 + count): `padding` zero rows; each image's
// H rows (padding zeros, W values, zeros up to Ws), then Hs - H zero rows; after the last
// image, zeros to the end of the plane.
void pad_channel(const float* x, const ConvGeometry& g, const Grid& grid, int64_t n0, int64_t count,
                 int64_t c, float* planes) {
  float* plane = planes + c * grid.plane;
  std::fill(plane, plane + g.padding * grid.Ws, 0.0f);
  for (int64_t n = 0; n < count; ++n) {
    const float* in = x + ((n0 + n) * g.C + c) * g.H * g.W;
    float* image = plane + (n * grid.Hs + g.padding) * grid.Ws;
    for (int64_t h = 0; h < g.H; ++h) {
      float* row = image + h * grid.Ws;
      std::fill(row, row + g.padding, 0.0f);
      std::copy(in + h * g.W, in + (h + 1) * g.W, row + g.padding);
      std::fill(row + g.padding + g.W, row + grid.Ws, 0.0f);
    }
    float* end = n == count - 1 ? plane + grid.plane : image + grid.Hs * grid.Ws;
    std::fill(image + g.H * grid.Ws, end, 0.0f);
  }
}

// out[j] = in[j t] for j < count. Stride 2 (ResNet's) has its own loop: with a constant
// stride the compiler vectorises it.
void copy_strided(const float* in, int64_t t, int64_t count, float* out) {
  if (t == 2) {
    for (int64_t j = 0; j < count; ++j) out[j] = in[2 * j];
    return;
  }
  for (int64_t j = 0; j < count; ++j) out[j] = in[j * t];
}

// Stride t > 1: plane (c, a, b) holds image n0 + n's padded pixel (i t + a, j t + b) at row
// n Hs + i, position j; zeros after the last image.
void split_channel(const float* x, const ConvGeometry& g, const Grid& grid, int64_t n0,
                   int64_t count, int64_t c, float* planes) {
  const int64_t t = g.stride;
  for (int64_t phase = 0; phase < grid.phases; ++phase) {
    const int64_t a = phase / t, b = phase % t;
    float* plane = planes + (c * grid.phases + phase) * grid.plane;
    // Positions j of a row that hold pixels: w = j t + b - padding in [0, W).
    const ValidRange columns = valid_outputs(b, g.W, grid.Ws, g);
    for (int64_t n = 0; n < count; ++n) {
      const float* image = x + ((n0 + n) * g.C + c) * g.H * g.W;
      for (int64_t i = 0; i < grid.Hs; ++i) {
        float* row = plane + (n * grid.Hs + i) * grid.Ws;
        const int64_t h = i * t + a - g.padding;
        if (h < 0 || h >= g.H) {
          std::fill(row, row + grid.Ws, 0.0f);
          continue;
        }
        const float* in = image + h * g.W + columns.first * t + b - g.padding;
        std::fill(row, row + columns.first, 0.0f);
        copy_strided(in, t, columns.last - columns.first, row + columns.first);
        std::fill(row + columns.last, row + grid.Ws, 0.0f);
      }
    }
    std::fill(plane + count * grid.Hs * grid.Ws, plane + grid.plane, 0.0f);
  }
}

void fill_planes(const float* x, const ConvGeometry& g, const Grid& grid, int64_t n0, int64_t count,
                 int64_t c, float* planes) {
  if (g.stride == 1) {
    pad_channel(x, g, grid, n0, count, c, planes);
  } else {
    split_channel(x, g, grid, n0, count, c, planes);
  }
}

// Where tap (c, r, s) reads, relative to the output's grid position.
int64_t tap_offset(const ConvGeometry& g, const Grid& grid, int64_t c, int64_t r, int64_t s) {
  const int64_t t = g.stride;
  const int64_t plane = (c * t + r % t) * t + s % t;
  return plane * grid.plane + (r / t) * grid.Ws + s / t;
}

// The weights as A panels of mr output channels over all taps, packed once, and where each
// tap reads.
struct Operands {
  Operands(const float* w, const ConvGeometry& g, const Grid& grid, const MicroKernel& kernel)
      : row_panels(round_up_to_panels(g.K, kernel.mr) / kernel.mr),
        packed_weights(row_panels * kernel.mr * g.col_rows()),
        offsets(static_cast<size_t>(g.col_rows())) {
    const int64_t taps = g.col_rows();
    StridedOperand(w, {.stride = taps}, {.stride = 1})
        .pack(0, g.K, 0, taps, kernel.mr, packed_weights.get());
    for (int64_t tap = 0; tap < taps; ++tap) {
      offsets[tap] = tap_offset(g, grid, tap / (g.R * g.S), tap / g.S % g.R, tap % g.S);
    }
  }
  int64_t row_panels;
  ScratchBuffer<float> packed_weights;
  std::vector<int64_t> offsets;
};

// tile (K, nr) = w x the B rows of one panel, summed over every tap slice. Each slice's B
// rows (kDepthBlock x nr floats, 32 KiB) are read from L2 by the first row panel of mr
// output channels and found in L1 by the others.
void multiply_panel(const Operands& operands, const float* b, const ConvGeometry& g,
                    const MicroKernel& kernel, float* tile) {
  const int64_t taps = g.col_rows();
  for (int64_t d0 = 0; d0 < taps; d0 += kDepthBlock) {
    const int64_t depth = std::min(kDepthBlock, taps - d0);
    for (int64_t k0 = 0; k0 < g.K; k0 += kernel.mr) {
      const float* a = operands.packed_weights.get() + (k0 * taps + d0 * kernel.mr);
      kernel.run_indirect(depth, a, b, operands.offsets.data() + d0, tile + k0 * kernel.nr,
                          kernel.nr, d0 > 0);
    }
  }
}

// y[n0 + n][k][p][q] (+ bias[k]) for the chunk's grid positions [g0, g0 + nr) that are real
// outputs (n < count, p < P, q < Q), from tile (K, nr).
void write_panel(const float* tile, const float* bias, const ConvGeometry& g, const Grid& grid,
                 int64_t n0, int64_t count, int64_t g0, int64_t nr, float* y) {
  for (int64_t j = 0; j < nr;) {  // one piece per grid row
    const int64_t row = (g0 + j) / grid.Ws, q = (g0 + j) % grid.Ws;
    const int64_t n = row / grid.Hs, p = row % grid.Hs;
    const int64_t length = std::min(nr - j, grid.Ws - q);
    if (n >= count) break;
    const int64_t valid = p < g.P ? std::max<int64_t>(0, std::min(length, g.Q - q)) : 0;
    for (int64_t k = 0; k < g.K; ++k) {
      const float* in = tile + k * nr + j;
      float* out = y + (((n0 + n) * g.K + k) * g.P + p) * g.Q + q;
      const float b = bias != nullptr ? bias[k] : 0.0f;
      for (int64_t i = 0; i < valid; ++i) out[i] = in[i] + b;
    }
    j += length;
  }
}

// Images per chunk: planes of about kChunkFloats, at least one image, and no more than an
// even share of the batch.
int64_t chunk_images(const ConvGeometry& g, int64_t threads) {
  const Grid one = grid_of(g, 1);
  const int64_t per_image = g.C * one.phases * one.Hs * one.Ws;
  const int64_t share = (g.N + threads - 1) / threads;
  return std::clamp<int64_t>(kChunkFloats / per_image, 1, std::max<int64_t>(1, share));
}

// Each thread pads chunks into its own planes and computes all of their panels.
void run_by_chunks(const float* x, const float* bias, const ConvGeometry& g, const Grid& grid,
                   const Operands& operands, const MicroKernel& kernel, bool parallel, float* y) {
  const int64_t chunks = (g.N + grid.images - 1) / grid.images;
#pragma omp parallel if (parallel)
  {
    const Planes planes(g, grid, kernel);
    ScratchBuffer<float> tile(operands.row_panels * kernel.mr * kernel.nr);  // (K rounded up, nr)
    // Dynamic: on a shared machine a thread that loses its core does not hold up the rest.
#pragma omp for schedule(dynamic)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t n0 = chunk * grid.images, count = std::min(grid.images, g.N - n0);
      for (int64_t c = 0; c < g.C; ++c) fill_planes(x, g, grid, n0, count, c, planes.get());
      const int64_t columns = chunk_columns(grid, count, kernel);
      for (int64_t g0 = 0; g0 < columns; g0 += kernel.nr) {
        multiply_panel(operands, planes.get() + g0, g, kernel, tile.get());
        write_panel(tile.get(), bias, g, grid, n0, count, g0, kernel.nr, y);
      }
    }
  }
}

// One chunk holds the whole batch; the threads pad its channels, then share its panels.
void run_whole_batch(const float* x, const float* bias, const ConvGeometry& g, const Grid& grid,
                     const Operands& operands, const MicroKernel& kernel, bool parallel, float* y) {
  const Planes planes(g, grid, kernel);
  const int64_t panels = chunk_columns(grid, g.N, kernel) / kernel.nr;
#pragma omp parallel if (parallel)
  {
#pragma omp for
    for (int64_t c = 0; c < g.C; ++c) fill_planes(x, g, grid, 0, g.N, c, planes.get());
    ScratchBuffer<float> tile(operands.row_panels * kernel.mr * kernel.nr);
#pragma omp for schedule(dynamic, 4)
    for (int64_t panel = 0; panel < panels; ++panel) {
      const int64_t g0 = panel * kernel.nr;
      multiply_panel(operands, planes.get() + g0, g, kernel, tile.get());
      write_panel(tile.get(), bias, g, grid, 0, g.N, g0, kernel.nr, y);
    }
  }
}

}  // namespace

double direct_conv_overhead(const ConvGeometry& g, const MicroKernel& kernel) {
  const Grid grid = grid_of(g, g.N);
  return static_cast<double>(chunk_columns(grid, g.N, kernel)) /
         static_cast<double>(g.N * g.P * g.Q);
}

void conv2d_forward_direct(const float* x, const float* w, const float* bias, const ConvGeometry& g,
                           float* y, const MicroKernel& kernel) {
  const int64_t taps = g.col_rows();
  const bool parallel = g.K * taps * g.N * g.P * g.Q >= kParallelWork;
  const int64_t threads = parallel ? omp_get_max_threads() : 1;
  const int64_t images = chunk_images(g, threads);
  const bool by_chunks = (g.N + images - 1) / images >= kChunksPerThread * threads;
  const Grid grid = grid_of(g, by_chunks ? images : g.N);
  const Operands operands(w, g, grid, kernel);
  if (by_chunks) {
    run_by_chunks(x, bias, g, grid, operands, kernel, parallel, y);
  } else {
    run_whole_batch(x, bias, g, grid, operands, kernel, parallel, y);
  }
}

}  // namespace fsa
