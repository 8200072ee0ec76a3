// conv_weight_direct.cpp: the float32 weight gradient without im2col,
//   dw[k][c][r][s] = sum over n, p, q of dy[n][k][p][q] x_pad[n][c][p stride + r][q stride + s].
// The padded images are stored channels-last: the S C values (s, c) of kernel row r at
// output position (n, p, q) are then contiguous from pixel (p stride + r, q stride). For
// each kernel row r,
//   dw_r (K, S C) = dy (K, N P Q) x_r (N P Q, S C),
// a product whose depth runs over the output positions and whose operands the micro-kernel
// reads in place (run_gathered): A's column at position (n, p, q) is dy[n][.][p][q], its
// values P Q apart, and B's row is the S C values above. The R kernel rows' S C columns are
// cut into segments of nr / 2, and a tile of nr columns takes two segments, of one kernel
// row or of two (the micro-kernel reads each half of a B row from its own place): with 16
// channels (S C = 48) the three kernel rows need 5 tiles, not 6. Each thread takes a range
// of positions and sums its own partial dw, tile by tile; the partials are added at the
// end. A thread makes its images channels-last a few at a time, into a buffer that stays in
// its core's L2 cache.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "tensor/cpu/channels_last.h"
#include "tensor/cpu/conv_packed.h"
#include "tensor/cpu/host_memory.h"

namespace fsa {

namespace {

constexpr int64_t kDepthBlock = 256;                 // positions per micro-kernel call
constexpr int64_t kParallelWork = int64_t{1} << 20;  // multiply-adds

// Each thread sums into its own partial dw, read and written once per depth block. With few
// positions per thread the blocks are short and that traffic shows: VGG-19's conv4_1 on 4x4
// images at batch 8 (64 positions per thread, partials of 4.7 MB) runs at half the speed of
// im2col. Per element of dw and block it costs about this many multiply-adds.
constexpr double kPartialCostInMultiplyAdds = 32.0;

// The extents of the product for one convolution and micro-kernel.
struct WeightGrid {
  int64_t Hp, Wp;            // padded image
  int64_t pixels;            // Hp Wp, pixels per padded image
  int64_t positions;         // P Q, output positions per image
  int64_t columns;           // S C, the columns (s, c) of one kernel row's product
  int64_t padded_rows;       // K rounded up to whole micro-panels (mr)
  int64_t segment;           // nr / 2 columns
  int64_t segments_per_row;  // S C rounded up to whole segments, per kernel row
  int64_t tiles;             // R segments_per_row segments, two per tile
  // A partial dw's row (one output channel): the kernel rows' segments one after the other,
  // tile by tile (tiles nr columns; the last half is unused for an odd segment count).
  // Column j of kernel row r lies at r segments_per_row segment + j.
  int64_t partial_columns;
};

WeightGrid weight_grid_of(const ConvGeometry& g, const MicroKernel& kernel) {
  WeightGrid grid{};
  grid.Hp = g.H + 2 * g.padding;
  grid.Wp = g.W + 2 * g.padding;
  grid.pixels = grid.Hp * grid.Wp;
  grid.positions = g.P * g.Q;
  grid.columns = g.S * g.C;
  grid.padded_rows = round_up_to_panels(g.K, kernel.mr);
  grid.segment = kernel.nr / 2;
  grid.segments_per_row = round_up_to_panels(grid.columns, grid.segment) / grid.segment;
  grid.tiles = (g.R * grid.segments_per_row + 1) / 2;
  grid.partial_columns = grid.tiles * kernel.nr;
  return grid;
}

// Where segment `index`'s columns start in the channels-last images (relative to a
// position's pixel): kernel row r one padded row down per r, column j of that row.
int64_t segment_start(const ConvGeometry& g, const WeightGrid& grid, int64_t index) {
  const int64_t r = index / grid.segments_per_row;
  const int64_t j = index % grid.segments_per_row * grid.segment;
  return r * grid.Wp * g.C + j;
}

// x_nhwc (count, Hp, Wp, C) = images [n0, n0 + count) of x (N, C, H, W), zero-padded and
// made channels-last by the fastest copy this CPU runs (channels_last.h).
void pad_channels_last(const float* x, const ConvGeometry& g, const WeightGrid& grid, int64_t n0,
                       int64_t count, float* x_nhwc) {
  const ChannelsLastCopyFn copy = supported_channels_last_copies().front().run;
  const int64_t padded_image = grid.pixels * g.C;
  const int64_t row_floats = grid.Wp * g.C, border = g.padding * g.C;
  for (int64_t n = 0; n < count; ++n) {
    float* out = x_nhwc + n * padded_image;
    std::fill(out, out + g.padding * row_floats, 0.0f);  // the zero rows above and below
    std::fill(out + (g.padding + g.H) * row_floats, out + padded_image, 0.0f);
    for (int64_t h = 0; h < g.H; ++h) {  // the zero columns left and right of each row
      float* padded_row = out + (g.padding + h) * row_floats;
      std::fill(padded_row, padded_row + border, 0.0f);
      std::fill(padded_row + row_floats - border, padded_row + row_floats, 0.0f);
    }
    copy(x + (n0 + n) * g.C * g.H * g.W, {g.C, g.H, g.W}, row_floats,
         out + g.padding * row_floats + border);
  }
}

// dy (N, padded rows, P, Q): dy itself when K fills whole micro-panels, else a copy whose
// rows past K are zero, so that every panel of A reads mr real rows.
class GradientRows {
 public:
  GradientRows(const float* dy, const ConvGeometry& g, const WeightGrid& grid)
      : copy_(g.K == grid.padded_rows ? 0 : g.N * grid.padded_rows * grid.positions) {
    if (g.K == grid.padded_rows) {
      rows_ = dy;
      return;
    }
    const int64_t image = g.K * grid.positions, padded_image = grid.padded_rows * grid.positions;
    for (int64_t n = 0; n < g.N; ++n) {
      float* out = copy_.get() + n * padded_image;
      std::copy(dy + n * image, dy + (n + 1) * image, out);
      std::fill(out + image, out + padded_image, 0.0f);
    }
    rows_ = copy_.get();
  }
  const float* get() const { return rows_; }

 private:
  ScratchBuffer<float> copy_;
  const float* rows_ = nullptr;
};

// For the output positions [d0, d0 + depth) (position d = n P Q + p Q + q): where A's column
// starts in the gradient rows, and where B's row starts, for kernel row 0, in the
// channels-last images from n0 on.
void position_offsets(const ConvGeometry& g, const WeightGrid& grid, int64_t n0, int64_t d0,
                      int64_t depth, int64_t* a_offsets, int64_t* b_offsets) {
  // (n, p, q) of position d0, then counted on: no division per position.
  int64_t n = d0 / grid.positions, p = d0 % grid.positions / g.Q, q = d0 % g.Q;
  for (int64_t d = 0; d < depth; ++d) {
    a_offsets[d] = n * grid.padded_rows * grid.positions + p * g.Q + q;
    b_offsets[d] = ((n - n0) * grid.pixels + p * g.stride * grid.Wp + q * g.stride) * g.C;
    if (++q == g.Q) {
      q = 0;
      if (++p == g.P) {
        p = 0;
        ++n;
      }
    }
  }
}

// Images per channels-last chunk.
int64_t chunk_images(const ConvGeometry& g, const WeightGrid& grid) {
  return std::clamp<int64_t>(kCacheChunkFloats / (grid.pixels * g.C), 1, g.N);
}

// partial (padded rows, partial columns) += the products of positions [begin, end), a chunk
// of images at a time.
void accumulate_range(const float* dy_rows, const float* x, const ConvGeometry& g,
                      const WeightGrid& grid, const MicroKernel& kernel, int64_t begin, int64_t end,
                      float* partial) {
  const int64_t images = chunk_images(g, grid), chunk_floats = images * grid.pixels * g.C;
  // The last B row's last segment reads up to nr - 1 floats past its S C values.
  ScratchBuffer<float> x_nhwc(chunk_floats + kernel.nr);
  std::fill(x_nhwc.get() + chunk_floats, x_nhwc.get() + chunk_floats + kernel.nr, 0.0f);
  std::vector<int64_t> a_offsets(static_cast<size_t>(kDepthBlock));
  std::vector<int64_t> b_offsets(static_cast<size_t>(kDepthBlock));
  const int64_t segments = g.R * grid.segments_per_row;
  for (int64_t n0 = begin / grid.positions; n0 * grid.positions < end; n0 += images) {
    const int64_t count = std::min(images, g.N - n0);
    pad_channels_last(x, g, grid, n0, count, x_nhwc.get());
    const int64_t chunk_end = std::min(end, (n0 + count) * grid.positions);
    for (int64_t d0 = std::max(begin, n0 * grid.positions); d0 < chunk_end; d0 += kDepthBlock) {
      const int64_t depth = std::min(kDepthBlock, chunk_end - d0);
      position_offsets(g, grid, n0, d0, depth, a_offsets.data(), b_offsets.data());
      for (int64_t tile = 0; tile < grid.tiles; ++tile) {
        const int64_t low = segment_start(g, grid, 2 * tile);
        const int64_t split =  // an odd segment count leaves the last tile one segment
            2 * tile + 1 < segments ? segment_start(g, grid, 2 * tile + 1) - low : grid.segment;
        for (int64_t k0 = 0; k0 < grid.padded_rows; k0 += kernel.mr) {
          kernel.run_gathered(depth, dy_rows + k0 * grid.positions, a_offsets.data(),
                              grid.positions, x_nhwc.get() + low, b_offsets.data(), split,
                              partial + k0 * grid.partial_columns + tile * kernel.nr,
                              grid.partial_columns, true);
        }
      }
    }
  }
}

// dw[k][c][r][s] = the sum over the team's partials of partial[k][r row + s C + c], row =
// segments_per_row segment columns per kernel row.
void add_partials(const float* partials, int64_t team, int64_t partial_size, const ConvGeometry& g,
                  const WeightGrid& grid, float* dw) {
  const int64_t row_columns = grid.segments_per_row * grid.segment;
#pragma omp parallel for if (team > 1)
  for (int64_t k = 0; k < g.K; ++k) {
    for (int64_t r = 0; r < g.R; ++r) {
      const float* row = partials + k * grid.partial_columns + r * row_columns;
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
  const int64_t per_thread = g.N * grid.positions / omp_get_max_threads();
  const double block = static_cast<double>(std::clamp<int64_t>(per_thread, 1, kDepthBlock));
  const double columns =
      static_cast<double>(grid.partial_columns) / static_cast<double>(g.R * grid.columns);
  return columns * (1.0 + kPartialCostInMultiplyAdds / block);
}

void conv2d_backward_weight_direct(const float* dy, const float* x, const ConvGeometry& g,
                                   float* dw, const MicroKernel& kernel) {
  const WeightGrid grid = weight_grid_of(g, kernel);
  const GradientRows dy_rows(dy, g, grid);

  const int64_t total = g.N * grid.positions;  // the product's depth
  const bool parallel = g.K * g.col_rows() * g.N * g.P * g.Q >= kParallelWork;
  const int64_t threads = parallel ? omp_get_max_threads() : 1;
  const int64_t partial_size = grid.padded_rows * grid.partial_columns;
  ScratchBuffer<float> partials(threads * partial_size);
  int64_t team = 1;  // the threads that ran, each with its partial
#pragma omp parallel num_threads(threads) if (parallel)
  {
    const int64_t size = omp_get_num_threads(), t = omp_get_thread_num();
#pragma omp master
    team = size;
    float* partial = partials.get() + t * partial_size;
    std::fill(partial, partial + partial_size, 0.0f);
    accumulate_range(dy_rows.get(), x, g, grid, kernel, total * t / size, total * (t + 1) / size,
                     partial);
  }
  add_partials(partials.get(), team, partial_size, g, grid, dw);
}

}  // namespace fsa
