// conv_direct.cpp: float32 convolution passes without im2col: the forward (any stride) and
// the input gradient of a convolution that is not itself a stride-1 convolution (stride > 1).
// A source tensor is copied, zero-padded, into planes that each hold a chunk of images: the
// rows of an image lie Ws apart, the images Hs rows apart. The output is computed on the grid
// of Hs rows of Ws positions per image (the positions past the output's extent are thrown
// away), because on that grid output position G and tap (c, r, s) read one plane at G + a
// fixed offset: nr consecutive outputs read nr consecutive inputs. The micro-kernel's B rows
// are then read straight from the planes (run_indirect, one offset per tap), so nothing is
// packed per tap; the price is the thrown-away positions.
//   Forward, stride 1: one plane per channel, rows Ws = W + padding apart, so that the zeros
//   between two rows (two images) are the padding of both; tap (c, r, s) reads at r Ws + s.
//   Forward, stride t > 1: t x t planes per channel, one per phase (a, b), holding the padded
//   pixels (i t + a, j t + b) at row i, position j; output (p, q) and tap (r, s) read phase
//   (r mod t, s mod t) at (p + r / t, q + s / t), so the grid is again a stride-1 one.
//   Input gradient, stride t: dx's pixels (i t + a, j t + b) form phase (a, b), and
//     dx[c][i t + a][j t + b] = sum of w[k][c][r][s] dy[k][i + e_r][j + e_s]
//   over k and the taps with e_r = (a + padding - r) / t and e_s = (b + padding - s) / t
//   whole numbers: a stride-1 product on dy's planes for each phase, written t apart.
// Each panel of nr grid positions is accumulated over all taps in a small tile that stays in
// L1, and its valid columns are then written out. Where a pass's output rows are whole runs
// of nr / 2 positions (ResNet-20's rows of 32 and 16, for AVX-512), a panel is two such runs
// ("segments") instead, wherever they lie on the grid: the micro-kernel reads each half of a
// B row from its own run, no position is thrown away, and each half is written as one run.
//   Chunks: each thread pads a few images at a time into its own planes, small enough to stay
// in its core's L2 cache, and computes all of their panels, so the B rows come from L2 and
// the padded copy never goes out to memory. With too few images for that (a batch of one
// photo), one chunk holds the whole batch and the threads share its panels.
#include <omp.h>

#include <algorithm>
#include <deque>
#include <vector>

#include "tensor/cpu/conv_packed.h"
#include "tensor/cpu/gemm_packed.h"
#include "tensor/cpu/host_memory.h"

namespace fsa {

namespace {

constexpr int64_t kDepthBlock = 256;  // taps per micro-kernel call (as gemm_packed.cpp)
constexpr int64_t kParallelWork = int64_t{1} << 20;  // multiply-adds
// Chunks per thread, at least, for each thread to pad its own: fewer would leave a thread
// idle while another finishes a large chunk.
constexpr int64_t kChunksPerThread = 4;

// The tensor the planes are copied from: per image `channels` planes of height x width,
// with `padding` zero rows and columns before the pixels; t x t phases for a stride t > 1.
struct Source {
  const float* data;
  int64_t images, channels, height, width;
  int64_t padding, stride;
};

// How far from its grid position a tap reads, at most: rows down, positions right.
struct Reach {
  int64_t rows, columns;
};

// The planes and the output grid of one chunk of images.
struct Grid {
  int64_t Hs, Ws;  // rows from one image to the next; positions from one row to the next
  int64_t phases;  // planes per channel: stride x stride
  int64_t images;  // images per chunk
  int64_t plane;   // floats per plane: images Hs + extra rows of Ws
  Reach reach;
  int64_t planes_floats(const Source& source) const { return source.channels * phases * plane; }
};

Grid make_grid(const Source& source, int64_t Hs, int64_t Ws, Reach reach, int64_t images) {
  // Stride 1: `padding` zero rows, then the images' Hs rows each; then the rows that the
  // grid's last row reads.
  const int64_t rows = images * Hs + std::max(source.padding, reach.rows + 1);
  return {.Hs = Hs,
          .Ws = Ws,
          .phases = source.stride * source.stride,
          .images = images,
          .plane = rows * Ws,
          .reach = reach};
}

// Images per chunk: planes of about kCacheChunkFloats, at least one image, and few enough for
// kChunksPerThread chunks per thread (on many cores the chunks get smaller). Zero: one
// chunk for the whole batch (too few images for that).
int64_t chunk_images(const Source& source, int64_t Hs, int64_t Ws, int64_t threads) {
  const int64_t chunks = kChunksPerThread * threads;
  if (source.images < chunks) return 0;
  const int64_t per_image = source.channels * source.stride * source.stride * Hs * Ws;
  return std::clamp<int64_t>(kCacheChunkFloats / per_image, 1, source.images / chunks);
}

// The planes of one chunk, followed by zeros that the last panel may read past the last
// plane: less than nr positions past the grid's end plus the taps' reach to the right.
class Planes {
 public:
  Planes(const Source& source, const Grid& grid, const MicroKernel& kernel)
      : size_(grid.planes_floats(source)),
        slack_(kernel.nr + grid.reach.columns),
        buffer_(size_ + slack_) {
    std::fill(buffer_.get() + size_, buffer_.get() + size_ + slack_, 0.0f);
  }
  float* get() const { return buffer_.get(); }

 private:
  int64_t size_, slack_;
  ScratchBuffer<float> buffer_;
};

// Stride 1: channel c's plane for images [n0, n0 + count): `padding` zero rows; each image's
// rows (padding zeros, the pixels, zeros up to Ws), then zero rows up to Hs; after the last
// image, zeros to the end of the plane.
void pad_channel(const Source& source, const Grid& grid, int64_t n0, int64_t count, int64_t c,
                 float* planes) {
  const int64_t H = source.height, W = source.width, padding = source.padding;
  float* plane = planes + c * grid.plane;
  std::fill(plane, plane + padding * grid.Ws, 0.0f);
  for (int64_t n = 0; n < count; ++n) {
    const float* in = source.data + ((n0 + n) * source.channels + c) * H * W;
    float* image = plane + (n * grid.Hs + padding) * grid.Ws;
    for (int64_t h = 0; h < H; ++h) {
      float* row = image + h * grid.Ws;
      std::fill(row, row + padding, 0.0f);
      std::copy(in + h * W, in + (h + 1) * W, row + padding);
      std::fill(row + padding + W, row + grid.Ws, 0.0f);
    }
    float* end = n == count - 1 ? plane + grid.plane : image + grid.Hs * grid.Ws;
    std::fill(image + H * grid.Ws, end, 0.0f);
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
// n Hs + i, position j; zeros after the last image. Each image's rows of the t x t planes are
// zeroed first, then each input row is dealt out to the t planes of its phase a: pixel w goes
// to phase b = (w + padding) mod t.
void split_channel(const Source& source, const Grid& grid, int64_t n0, int64_t count, int64_t c,
                   float* planes) {
  const int64_t t = source.stride, H = source.height, W = source.width, pad = source.padding;
  const int64_t image_floats = grid.Hs * grid.Ws;
  float* channel = planes + c * grid.phases * grid.plane;
  // Phase b's pixels of a row: the first is w = first, at position `position`.
  struct PhaseColumns {
    int64_t first, position, pixels;
  };
  std::vector<PhaseColumns> columns;
  for (int64_t b = 0; b < t; ++b) {
    const int64_t first = ((b - pad) % t + t) % t, position = (first + pad) / t;
    const int64_t pixels = first < W ? (W - first + t - 1) / t : 0;
    columns.push_back(
        {first, position, std::max<int64_t>(0, std::min(pixels, grid.Ws - position))});
  }
  for (int64_t n = 0; n < count; ++n) {
    for (int64_t phase = 0; phase < grid.phases; ++phase) {
      float* image = channel + phase * grid.plane + n * image_floats;
      std::fill(image, image + image_floats, 0.0f);
    }
    const float* in = source.data + ((n0 + n) * source.channels + c) * H * W;
    int64_t a = pad % t, i = pad / t;  // input row h is padded row i t + a
    for (int64_t h = 0; h < H && i < grid.Hs; ++h) {
      for (int64_t b = 0; b < t; ++b) {
        const PhaseColumns& phase = columns[static_cast<size_t>(b)];
        float* row = channel + (a * t + b) * grid.plane + (n * grid.Hs + i) * grid.Ws;
        copy_strided(in + h * W + phase.first, t, phase.pixels, row + phase.position);
      }
      if (++a == t) {
        a = 0;
        ++i;
      }
    }
  }
  for (int64_t phase = 0; phase < grid.phases; ++phase) {
    float* plane = channel + phase * grid.plane;
    std::fill(plane + count * image_floats, plane + grid.plane, 0.0f);
  }
}

void fill_planes(const Source& source, const Grid& grid, int64_t n0, int64_t count, int64_t c,
                 float* planes) {
  if (source.stride == 1) {
    pad_channel(source, grid, n0, count, c, planes);
  } else {
    split_channel(source, grid, n0, count, c, planes);
  }
}

// One product on the planes: A (rows, taps) packed in micro-panels of mr rows, and where each
// tap reads relative to the output's grid position.
struct Operands {
  Operands(const GemmOperand& a, int64_t rows, std::vector<int64_t> tap_offsets,
           const MicroKernel& kernel)
      : rows(rows),
        taps(static_cast<int64_t>(tap_offsets.size())),
        row_panels(round_up_to_panels(rows, kernel.mr) / kernel.mr),
        packed(row_panels * kernel.mr * taps),
        offsets(std::move(tap_offsets)) {
    a.pack(0, rows, 0, taps, kernel.mr, packed.get());
  }
  int64_t rows, taps, row_panels;
  ScratchBuffer<float> packed;
  std::vector<int64_t> offsets;
};

// Where grid position (n, i, j) of a product goes: row k of the product to pixel
// (i stride + row0, j stride + column0) of channel k, for i < rows and j < columns.
struct Output {
  float* data;
  int64_t channels, height, width;  // the output tensor, per image
  int64_t rows, columns;
  int64_t stride, row0, column0;
  OutputEpilogue epilogue;
};

struct Pass {
  Pass(const GemmOperand& a, int64_t rows, std::vector<int64_t> tap_offsets,
       const MicroKernel& kernel, const Output& output)
      : operands(a, rows, std::move(tap_offsets), kernel), output(output) {}
  Operands operands;
  Output output;
};
using Passes = std::deque<Pass>;  // built in place: the packed operands do not move

// tile (rows, nr) = A x the B rows of one panel, summed over every tap slice; the rows'
// second halves lie b_split after their first. Each slice's B rows (kDepthBlock x nr floats,
// 32 KiB) are read from L2 by the first row panel of mr output channels and found in L1 by
// the others.
void multiply_panel(const Operands& operands, const float* b, int64_t b_split,
                    const MicroKernel& kernel, float* tile) {
  if (operands.taps == 0) {  // a phase that no tap reaches
    std::fill(tile, tile + operands.row_panels * kernel.mr * kernel.nr, 0.0f);
    return;
  }
  for (int64_t d0 = 0; d0 < operands.taps; d0 += kDepthBlock) {
    const int64_t depth = std::min(kDepthBlock, operands.taps - d0);
    for (int64_t k0 = 0; k0 < operands.rows; k0 += kernel.mr) {
      const float* a = operands.packed.get() + (k0 * operands.taps + d0 * kernel.mr);
      kernel.run_indirect(depth, a, b, operands.offsets.data() + d0, b_split, tile + k0 * kernel.nr,
                          kernel.nr, d0 > 0);
    }
  }
}

// The outputs among the chunk's grid positions [g0, g0 + nr) (n < count, i < rows, j <
// columns), from tile (rows, nr), through the epilogue.
void write_panel(const float* tile, const Output& output, const Grid& grid, int64_t n0,
                 int64_t count, int64_t g0, int64_t nr) {
  for (int64_t j = 0; j < nr;) {  // one piece per grid row
    const int64_t row = (g0 + j) / grid.Ws, q = (g0 + j) % grid.Ws;
    const int64_t n = row / grid.Hs, p = row % grid.Hs;
    const int64_t length = std::min(nr - j, grid.Ws - q);
    if (n >= count) break;
    const int64_t valid =
        p < output.rows ? std::max<int64_t>(0, std::min(length, output.columns - q)) : 0;
    const int64_t t = output.stride, out_row = p * t + output.row0;
    for (int64_t k = 0; valid > 0 && k < output.channels; ++k) {
      float* out = output.data +
                   (((n0 + n) * output.channels + k) * output.height + out_row) * output.width +
                   q * t + output.column0;
      store_outputs(tile + k * nr + j, valid, output.epilogue.bias_of(k), output.epilogue.relu, out,
                    t);
    }
    j += length;
  }
}

// A pass's output rows as runs of `length` = nr / 2 positions, when they divide into them.
struct Segments {
  int64_t length;
  int64_t per_row, per_image;
  static bool fit(const Output& output, const MicroKernel& kernel) {
    return output.columns % (kernel.nr / 2) == 0;
  }
  Segments(const Output& output, const MicroKernel& kernel)
      : length(kernel.nr / 2), per_row(output.columns / length), per_image(output.rows * per_row) {}
  // Segment s of a chunk: image n, output row i, first column j.
  struct Place {
    int64_t n, i, j;
  };
  Place place(int64_t s) const {
    return {s / per_image, s % per_image / per_row, s % per_row * length};
  }
};

// Output (i, j) of image n lies at grid position (n Hs + i) Ws + j of the chunk.
int64_t grid_position(const Grid& grid, const Segments::Place& place) {
  return (place.n * grid.Hs + place.i) * grid.Ws + place.j;
}

// Segment `place`'s outputs, from columns [first, first + length) of tile (rows, nr), through
// the epilogue.
void write_segment(const float* tile, int64_t first, const Output& output,
                   const Segments::Place& place, int64_t n0, int64_t length, int64_t nr) {
  const int64_t t = output.stride;
  for (int64_t k = 0; k < output.channels; ++k) {
    float* out =
        output.data +
        (((n0 + place.n) * output.channels + k) * output.height + place.i * t + output.row0) *
            output.width +
        place.j * t + output.column0;
    store_outputs(tile + k * nr + first, length, output.epilogue.bias_of(k), output.epilogue.relu,
                  out, t);
  }
}

// Panel `panel` of the pass over the chunk of `count` images from n0: nr grid positions, or
// two segments.
void run_panel(const Pass& pass, const float* planes, const Grid& grid, const MicroKernel& kernel,
               int64_t n0, int64_t count, int64_t panel, float* tile) {
  if (!Segments::fit(pass.output, kernel)) {
    const int64_t g0 = panel * kernel.nr;
    multiply_panel(pass.operands, planes + g0, kernel.nr / 2, kernel, tile);
    write_panel(tile, pass.output, grid, n0, count, g0, kernel.nr);
    return;
  }
  const Segments segments(pass.output, kernel);
  const Segments::Place low = segments.place(2 * panel), high = segments.place(2 * panel + 1);
  const bool has_high = high.n < count;  // an odd number of segments: the last panel has one
  const int64_t g_low = grid_position(grid, low);
  const int64_t split = has_high ? grid_position(grid, high) - g_low : segments.length;
  multiply_panel(pass.operands, planes + g_low, split, kernel, tile);
  write_segment(tile, 0, pass.output, low, n0, segments.length, kernel.nr);
  if (has_high)
    write_segment(tile, segments.length, pass.output, high, n0, segments.length, kernel.nr);
}

// The panels of a pass over `count` images.
int64_t panels_of(const Pass& pass, const Grid& grid, int64_t count, const MicroKernel& kernel) {
  if (pass.output.rows <= 0 || pass.output.columns <= 0) return 0;  // no outputs
  if (!Segments::fit(pass.output, kernel)) {
    return round_up_to_panels(count * grid.Hs * grid.Ws, kernel.nr) / kernel.nr;
  }
  const int64_t segments = count * Segments(pass.output, kernel).per_image;
  return (segments + 1) / 2;
}

int64_t tile_floats(const Passes& passes, const MicroKernel& kernel) {
  int64_t rows = 0;
  for (const Pass& pass : passes) rows = std::max(rows, pass.operands.row_panels * kernel.mr);
  return rows * kernel.nr;
}

// Each thread pads chunks into its own planes and runs every pass on all of their panels.
void run_by_chunks(const Source& source, const Grid& grid, const Passes& passes,
                   const MicroKernel& kernel, bool parallel) {
  const int64_t chunks = (source.images + grid.images - 1) / grid.images;
#pragma omp parallel if (parallel)
  {
    const Planes planes(source, grid, kernel);
    ScratchBuffer<float> tile(tile_floats(passes, kernel));
    // Dynamic: on a shared machine a thread that loses its core does not hold up the rest.
#pragma omp for schedule(dynamic)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t n0 = chunk * grid.images, count = std::min(grid.images, source.images - n0);
      for (int64_t c = 0; c < source.channels; ++c) {
        fill_planes(source, grid, n0, count, c, planes.get());
      }
      for (const Pass& pass : passes) {
        const int64_t panels = panels_of(pass, grid, count, kernel);
        for (int64_t panel = 0; panel < panels; ++panel) {
          run_panel(pass, planes.get(), grid, kernel, n0, count, panel, tile.get());
        }
      }
    }
  }
}

// One chunk holds the whole batch; the threads pad its channels, then share its panels.
void run_whole_batch(const Source& source, const Grid& grid, const Passes& passes,
                     const MicroKernel& kernel, bool parallel) {
  const Planes planes(source, grid, kernel);
  std::vector<int64_t> first_item{0};  // the pass's panels are items [first, next first)
  for (const Pass& pass : passes) {
    first_item.push_back(first_item.back() + panels_of(pass, grid, source.images, kernel));
  }
#pragma omp parallel if (parallel)
  {
#pragma omp for
    for (int64_t c = 0; c < source.channels; ++c) {
      fill_planes(source, grid, 0, source.images, c, planes.get());
    }
    ScratchBuffer<float> tile(tile_floats(passes, kernel));
#pragma omp for schedule(dynamic, 4)
    for (int64_t item = 0; item < first_item.back(); ++item) {
      const auto next = std::upper_bound(first_item.begin(), first_item.end(), item);
      const size_t pass = static_cast<size_t>(next - first_item.begin()) - 1;
      run_panel(passes[pass], planes.get(), grid, kernel, 0, source.images, item - first_item[pass],
                tile.get());
    }
  }
}

// The grid of a chunk of images, or of the whole batch when there are too few images.
struct Plan {
  Grid grid;
  bool by_chunks;
};

Plan plan_of(const Source& source, int64_t Hs, int64_t Ws, Reach reach, bool parallel) {
  const int64_t threads = parallel ? omp_get_max_threads() : 1;
  const int64_t images = chunk_images(source, Hs, Ws, threads);
  return {make_grid(source, Hs, Ws, reach, images > 0 ? images : source.images), images > 0};
}

void run(const Source& source, const Plan& plan, const Passes& passes, const MicroKernel& kernel,
         bool parallel) {
  if (plan.by_chunks) {
    run_by_chunks(source, plan.grid, passes, kernel, parallel);
  } else {
    run_whole_batch(source, plan.grid, passes, kernel, parallel);
  }
}

// The forward's grid rows and positions per image, and how far its taps reach.
struct ForwardGrid {
  int64_t Hs, Ws;
  Reach reach;
};
ForwardGrid forward_grid(const ConvGeometry& g) {
  const Reach reach{(g.R - 1) / g.stride, (g.S - 1) / g.stride};
  if (g.stride == 1) {  // rows share their padding
    return {std::max(g.H + g.padding, g.P), std::max(g.W + g.padding, g.Q), reach};
  }
  return {g.P + reach.rows, g.Q + reach.columns, reach};
}

// The input gradient's taps along one axis for output phase a: kernel offsets r in [0, R)
// with dx's row i t + a reading dy's row i + shift, shift = (a + padding - r) / t whole.
struct AxisTap {
  int64_t r, shift;
};
std::vector<AxisTap> axis_taps(int64_t a, int64_t R, const ConvGeometry& g) {
  std::vector<AxisTap> taps;
  for (int64_t r = 0; r < R; ++r) {
    if ((a + g.padding - r) % g.stride == 0) taps.push_back({r, (a + g.padding - r) / g.stride});
  }
  return taps;
}

// Outputs along one axis of `extent` pixels that fall in phase a of stride t.
int64_t phase_extent(int64_t extent, int64_t a, int64_t t) {
  return a < extent ? (extent - a + t - 1) / t : 0;
}

}  // namespace

double direct_conv_overhead(const ConvGeometry& g, const MicroKernel& kernel) {
  const ForwardGrid fg = forward_grid(g);
  const int64_t computed = g.Q % (kernel.nr / 2) == 0  // segments: only the outputs
                               ? round_up_to_panels(g.N * g.P * g.Q, kernel.nr)
                               : round_up_to_panels(g.N * fg.Hs * fg.Ws, kernel.nr);
  return static_cast<double>(computed) / static_cast<double>(g.N * g.P * g.Q);
}

void conv2d_forward_direct(const float* x, const float* w, const OutputEpilogue& epilogue,
                           const ConvGeometry& g, float* y, const MicroKernel& kernel) {
  const Source source{x, g.N, g.C, g.H, g.W, g.padding, g.stride};
  const ForwardGrid fg = forward_grid(g);
  const bool parallel = g.K * g.col_rows() * g.N * g.P * g.Q >= kParallelWork;
  const Plan plan = plan_of(source, fg.Hs, fg.Ws, fg.reach, parallel);
  const int64_t taps = g.col_rows(), t = g.stride;
  std::vector<int64_t> offsets(static_cast<size_t>(taps));
  for (int64_t tap = 0; tap < taps; ++tap) {
    const int64_t c = tap / (g.R * g.S), r = tap / g.S % g.R, s = tap % g.S;
    const int64_t plane = (c * t + r % t) * t + s % t;
    offsets[tap] = plane * plan.grid.plane + (r / t) * fg.Ws + s / t;
  }
  Passes passes;
  passes.emplace_back(StridedOperand(w, {.stride = taps}, {.stride = 1}), g.K, std::move(offsets),
                      kernel,
                      Output{.data = y,
                             .channels = g.K,
                             .height = g.P,
                             .width = g.Q,
                             .rows = g.P,
                             .columns = g.Q,
                             .stride = 1,
                             .row0 = 0,
                             .column0 = 0,
                             .epilogue = epilogue});
  run(source, plan, passes, kernel, parallel);
}

void conv2d_backward_data_direct(const float* dy, const float* w, const ConvGeometry& g, float* dx,
                                 const MicroKernel& kernel) {
  const int64_t t = g.stride;
  std::vector<std::vector<AxisTap>> rows, columns;
  int64_t lowest = 0, highest = 0;  // the extreme shifts
  for (int64_t a = 0; a < t; ++a) {
    rows.push_back(axis_taps(a, g.R, g));
    columns.push_back(axis_taps(a, g.S, g));
    for (const auto* axis : {&rows.back(), &columns.back()}) {
      for (const AxisTap& tap : *axis) {
        lowest = std::min(lowest, tap.shift);
        highest = std::max(highest, tap.shift);
      }
    }
  }
  // dy's planes, padded so that the lowest shift reads in front of each row; the grid covers
  // every phase's outputs, and the zeros after each image its highest shift.
  const int64_t m = -lowest;
  const Source source{dy, g.N, g.K, g.P, g.Q, m, 1};
  const int64_t rows_out = (g.H + t - 1) / t, columns_out = (g.W + t - 1) / t;
  const int64_t Hs = std::max({g.P + m, rows_out + highest, rows_out});
  const int64_t Ws = std::max({g.Q + m, columns_out + highest, columns_out});
  const bool parallel = g.K * g.col_rows() * g.N * g.P * g.Q >= kParallelWork;
  const Plan plan = plan_of(source, Hs, Ws, {highest + m, highest + m}, parallel);

  Passes passes;
  for (int64_t a = 0; a < t; ++a) {
    for (int64_t b = 0; b < t; ++b) {
      // The phase's taps (k, r, s), each reading dy[k] shifted; A (C, taps) holds
      // w[k][c][r][s].
      std::vector<int64_t> offsets, weight_indices;  // per tap; w[k][c][r][s] at index + c R S
      for (int64_t k = 0; k < g.K; ++k) {
        for (const AxisTap& row : rows[a]) {
          for (const AxisTap& column : columns[b]) {
            offsets.push_back(k * plan.grid.plane + (row.shift + m) * Ws + column.shift + m);
            weight_indices.push_back((k * g.C * g.R + row.r) * g.S + column.r);
          }
        }
      }
      const int64_t taps = static_cast<int64_t>(offsets.size());
      std::vector<float> weights(static_cast<size_t>(g.C * taps));
      for (int64_t c = 0; c < g.C; ++c) {
        for (int64_t tap = 0; tap < taps; ++tap) {
          weights[c * taps + tap] = w[weight_indices[tap] + c * g.R * g.S];
        }
      }
      passes.emplace_back(StridedOperand(weights.data(), {.stride = taps}, {.stride = 1}), g.C,
                          std::move(offsets), kernel,
                          Output{.data = dx,
                                 .channels = g.C,
                                 .height = g.H,
                                 .width = g.W,
                                 .rows = phase_extent(g.H, a, t),
                                 .columns = phase_extent(g.W, b, t),
                                 .stride = t,
                                 .row0 = a,
                                 .column0 = b,
                                 .epilogue = {}});
    }
  }
  run(source, plan, passes, kernel, parallel);
}

}  // namespace fsa
