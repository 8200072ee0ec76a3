// conv_winograd.cpp: float32 3x3 stride-1 convolution by Winograd's minimal filtering
// F(2x2, 3x3) (Lavin and Gray, 2016). Each 2x2 block of outputs is A^T [U ⊙ V] A summed over
// channels, with U = G w G^T the 4x4 transform of a 3x3 filter and V = B^T d B that of the
// block's 4x4 input tile d. Per position xi of the 4x4 transforms the sum over channels is a
// product M_xi (K, tiles) = U_xi (K, C) V_xi (C, tiles): 16 GEMMs, with 16 multiply-adds per
// 4 outputs instead of 36.
// The images of a channel are laid side by side, zero-padded, in one wide plane (the zeros
// between two images are the padding of both, as in conv_direct.cpp), so that every row of
// tiles spans the whole batch and the transforms run on long vectors even for 4x4 maps; the
// tiles that straddle two images are thrown away. The tiles go in chunks whose V and M stay
// in L2: per chunk the input is transformed straight into the micro-kernel's B panels, the
// 16 products run, and the output transform writes y (with few chunks per thread, all
// chunks go through each of these steps together, in smaller pieces, and each thread
// transforms the filters of its products just before them). The filter transforms have
// versions per instruction set: winograd_filters.h.
#include <omp.h>

#include <algorithm>

#include "tensor/check.h"
#include "tensor/cpu/conv_packed.h"
#include "tensor/cpu/gemm_packed.h"
#include "tensor/cpu/host_memory.h"
#include "tensor/cpu/winograd_filters.h"

namespace fsa {

namespace {

constexpr int64_t kPositions = 16;    // 4 x 4 transformed values per tile
constexpr int64_t kDepthBlock = 256;  // channels per micro-kernel call (as gemm_packed.cpp)
constexpr int64_t kParallelWork = int64_t{1} << 20;  // multiply-adds

// The wide plane and its tiles. Image n's pixel (h, w) lies at plane row padding + h,
// column padding + n (W + padding) + w; output (n, p, q) at grid row p, grid column
// n (W + padding) + q (q < Q <= W + padding), which reads plane rows p..p+2 and columns
// from that grid column on. Tile (row, col) holds grid rows 2 row + i, columns 2 col + j.
// The plane is stored split by column parity: plane column 2 m + parity of plane row r at
// split[(2 r + parity) half_width + m], so that consecutive tiles read consecutive floats.
struct Tiling {
  int64_t image_width;  // W + padding: grid columns per image
  int64_t rows, cols;   // tile rows and tile columns
  int64_t count;        // rows x cols
  int64_t half_width;   // floats per row of each parity: cols + 1
  int64_t plane;        // floats of one channel's split plane: (2 rows + 2) 2 half_width
  int64_t chunk;        // tiles per chunk, whole panels of nr
};

// The 16 positions of a transform's output (a chunk's V, chunk C floats each; a panel's
// filter transforms, C mr floats each) lie one cache line more than their size apart: at
// their size, often a multiple of 4 KiB, the transform's 16 stores of a step all fell on one
// L1 set (torchvision VGG-19 to relu4_1 at batch 8: its input transforms took a quarter less
// time so, and conv4_1's forward 4 % less with the filters' gap).
int64_t position_stride_for(int64_t floats) { return floats + 16; }
int64_t v_position_stride(const ConvGeometry& g, int64_t chunk) {
  return position_stride_for(chunk * g.C);
}

// Channels [begin, end).
struct Range {
  int64_t begin, end;
};

// Piece `index` of `count` channels cut into pieces of kChannelsPerPiece.
constexpr int64_t kChannelsPerPiece = 32;
int64_t piece_count(int64_t count) { return (count + kChannelsPerPiece - 1) / kChannelsPerPiece; }
Range piece(int64_t index, int64_t count) {
  return {index * kChannelsPerPiece, std::min(count, (index + 1) * kChannelsPerPiece)};
}

// The tile rows and columns of the wide grid (see Tiling).
int64_t tile_rows(const ConvGeometry& g) { return (g.P + 1) / 2; }
int64_t tile_cols(const ConvGeometry& g) { return (g.N * (g.W + g.padding) + 1) / 2; }

Tiling tiling_of(const ConvGeometry& g, const MicroKernel& kernel, int threads) {
  const int64_t image_width = g.W + g.padding;
  const int64_t rows = tile_rows(g), cols = tile_cols(g), count = rows * cols;
  const int64_t panels_in_l2 =
      std::clamp<int64_t>(kCacheChunkFloats / (kPositions * g.C * kernel.nr), 1, 8);
  // At least two chunks per thread where the tiles allow it, so that no thread idles.
  const int64_t panels_per_thread =
      round_up_to_panels(count, kernel.nr) / kernel.nr / (2 * threads);
  return {.image_width = image_width,
          .rows = rows,
          .cols = cols,
          .count = count,
          .half_width = cols + 1,
          .plane = (2 * rows + 2) * 2 * (cols + 1),
          .chunk = kernel.nr * std::clamp<int64_t>(panels_per_thread, 1, panels_in_l2)};
}

// out[m] = in[2 m] for the `count` values in[0], in[2], ... (count may be 0 or negative).
void deinterleave(const float* __restrict in, int64_t count, float* __restrict out) {
  for (int64_t m = 0; 2 * m < count; ++m) out[m] = in[2 * m];
}

// out[2 m] = first[m], out[2 m + 1] = second[m], for the `count` values of out.
void interleave(const float* __restrict first, const float* __restrict second, int64_t count,
                float* __restrict out) {
  for (int64_t m = 0; 2 * m + 1 < count; ++m) {
    out[2 * m] = first[m];
    out[2 * m + 1] = second[m];
  }
  if (count % 2 == 1) out[count - 1] = first[count / 2];
}

// Columns [column, column + count) of one row split by parity (even column 2 m at row[m],
// odd column 2 m + 1 at row[half_width + m]) into out.
void merge_row(const float* row, int64_t half_width, int64_t column, int64_t count, float* out) {
  const float* even = row + (column + 1) / 2;        // the first even column's value
  const float* odd = row + half_width + column / 2;  // the first odd column's value
  if (column % 2 == 0) {
    interleave(even, odd, count, out);
  } else {
    interleave(odd, even, count, out);
  }
}

// Each channel's split plane (see Tiling) from x, zero where no pixel lies.
void split_planes(const float* x, const ConvGeometry& g, const Tiling& t, float* split) {
#pragma omp parallel for if (g.C * t.plane > 32768)
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t r = 0; r < 2 * t.rows + 2; ++r) {
      float* row = split + c * t.plane + r * 2 * t.half_width;
      std::fill(row, row + 2 * t.half_width, 0.0f);  // still in L1 for the copies below
      const int64_t h = r - g.padding;
      if (h < 0 || h >= g.H) continue;
      for (int64_t n = 0; n < g.N; ++n) {
        const float* in = x + ((n * g.C + c) * g.H + h) * g.W;
        // Plane column first + w; w = parity takes the first even column, first + parity.
        const int64_t first = g.padding + n * t.image_width, parity = first % 2;
        deinterleave(in + parity, g.W - parity, row + (first + parity) / 2);
        deinterleave(in + 1 - parity, g.W - 1 + parity,
                     row + t.half_width + (first + 1 - parity) / 2);
      }
    }
  }
}

// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] applied to one column (or row) of 4 values.
struct Four {
  float v0, v1, v2, v3;
};

inline Four apply_bt(float d0, float d1, float d2, float d3) {
  return {d0 - d2, d1 + d2, d2 - d1, d1 - d3};
}

// Four values `stride` apart.
inline void store_four(Four values, int64_t stride, float* __restrict out) {
  out[0] = values.v0;
  out[stride] = values.v1;
  out[2 * stride] = values.v2;
  out[3 * stride] = values.v3;
}

// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] applied to one column (or row) of 3 values.
inline Four apply_g(float w0, float w1, float w2) {
  return {w0, 0.5f * (w0 + w1 + w2), 0.5f * (w0 - w1 + w2), w2};
}

// u = G w G^T for `count` filters, tap (r, s) of filter f at taps[(3 r + s) tap_stride + f];
// u[xi] of filter f goes to u[xi position_stride + f]. The loop over filters runs on whole
// vectors.
void transform_filters(const float* taps, int64_t tap_stride, int64_t count,
                       int64_t position_stride, float* __restrict u) {
  const float* __restrict w = taps;
#pragma GCC ivdep
  for (int64_t f = 0; f < count; ++f) {
    const auto tap = [&](int64_t r, int64_t s) { return w[(3 * r + s) * tap_stride + f]; };
    // G w, column by column: column s holds row a of G w in its value a.
    const Four g0 = apply_g(tap(0, 0), tap(1, 0), tap(2, 0));
    const Four g1 = apply_g(tap(0, 1), tap(1, 1), tap(2, 1));
    const Four g2 = apply_g(tap(0, 2), tap(1, 2), tap(2, 2));
    // (G w) G^T, row by row.
    store_four(apply_g(g0.v0, g1.v0, g2.v0), position_stride, u + f);
    store_four(apply_g(g0.v1, g1.v1, g2.v1), position_stride, u + 4 * position_stride + f);
    store_four(apply_g(g0.v2, g1.v2, g2.v2), position_stride, u + 8 * position_stride + f);
    store_four(apply_g(g0.v3, g1.v3, g2.v3), position_stride, u + 12 * position_stride + f);
  }
}

// Filters are gathered for their transform this many channels at a time, so that the taps
// stay in L1. The taps' 9 rows lie a constant kTapRow floats apart (1,088 bytes, so that no
// two share L1 sets; C mr floats apart, at 256 channels and mr = 12, they were all 12 KiB
// apart): the filter transforms of VGG-19's conv4_1 at batch 8 ran 5-10 % faster so.
constexpr int64_t kChannelsPerGather = 16;
constexpr int64_t kMostRowsPerPanel = 16;  // mr of every micro-kernel is at most this
constexpr int64_t kTapRow = kChannelsPerGather * kMostRowsPerPanel + 16;

// The taps of mr filters from k0 and the channels in `channels` in the order of
// transform_filters: taps[tap kTapRow + (c - channels.begin) mr + i] = tap of filter k0 + i,
// channel c (zero past K). kFlipped: the filters are read rotated by 180 degrees.
template <bool kFlipped>
void gather_taps(const float* w, const FilterLayout& layout, const ConvGeometry& g, int64_t mr,
                 int64_t k0, Range channels, float* taps) {
  const int64_t filters = std::min(mr, g.K - k0);
  if (filters < mr) std::fill(taps, taps + 9 * kTapRow, 0.0f);
  for (int64_t c = channels.begin; c < channels.end; ++c) {
    for (int64_t i = 0; i < filters; ++i) {
      const float* filter = w + (k0 + i) * layout.output_stride + c * layout.input_stride;
      float* column = taps + (c - channels.begin) * mr + i;
      for (int64_t tap = 0; tap < 9; ++tap) {
        column[tap * kTapRow] = filter[kFlipped ? 8 - tap : tap];
      }
    }
  }
}

}  // namespace

// The portable filter transform of winograd_filters.h: the taps of 16 channels at a time
// gathered into scratch on the stack (9 kTapRow floats), then transformed on whole vectors.
void transform_filter_panel_portable(const float* w, const FilterLayout& layout,
                                     const ConvGeometry& g, int64_t mr, int64_t k0,
                                     int64_t position_stride, float* u) {
  FSA_CHECK(mr <= kMostRowsPerPanel, "[conv2d] Winograd filter panels of ", mr, " rows; at most ",
            kMostRowsPerPanel, " are supported");
  alignas(64) float taps[9 * kTapRow];
  for (int64_t c0 = 0; c0 < g.C; c0 += kChannelsPerGather) {
    const Range channels{c0, std::min(g.C, c0 + kChannelsPerGather)};
    if (layout.flipped) {
      gather_taps<true>(w, layout, g, mr, k0, channels, taps);
    } else {
      gather_taps<false>(w, layout, g, mr, k0, channels, taps);
    }
    transform_filters(taps, kTapRow, (channels.end - channels.begin) * mr, position_stride,
                      u + c0 * mr);
  }
}

const std::vector<FilterPanelTransform>& supported_filter_panel_transforms() {
  // The CPU does not change while the program runs: detect once.
  static const std::vector<FilterPanelTransform> transforms = [] {
    std::vector<FilterPanelTransform> list = extension_filter_panel_transforms();
    list.push_back({"portable", transform_filter_panel_portable});
    return list;
  }();
  return transforms;
}

namespace {

// The fastest filter transform this CPU runs.
FilterPanelTransformFn transform_filter_panel() {
  return supported_filter_panel_transforms().front().run;
}

// The 16 filter transforms as A panels: position xi's (K, C) matrix packed for the
// micro-kernel, row panel t of mr filters, channel c, filter t mr + i at
// packed[xi rows C + (t C + c) mr + i] (rows: K rounded up to mr; zero past K). Within a
// row panel, (c, i) runs contiguously, so each panel is one transform of C mr filters.
void pack_filters(const float* w, const FilterLayout& layout, const ConvGeometry& g,
                  const MicroKernel& kernel, float* packed) {
  const int64_t mr = kernel.mr, rows = round_up_to_panels(g.K, mr), panels = rows / mr;
  const FilterPanelTransformFn transform = transform_filter_panel();
#pragma omp parallel for if (9 * rows * g.C > 32768)
  for (int64_t panel = 0; panel < panels; ++panel) {
    transform(w, layout, g, mr, panel * mr, rows * g.C, packed + panel * mr * g.C);
  }
}

// v = B^T d B for `count` consecutive tiles of one tile row of a split plane, from tile
// column `col`; rows points at the row's first plane row. Value xi of tile k goes to
// v[xi position_stride + k]. The loop over tiles runs on whole vectors.
void transform_tiles(const float* rows, int64_t half_width, int64_t col, int64_t count,
                     int64_t position_stride, float* __restrict v) {
  // Plane row i of the tiles' d: even_i[k], odd_i[k], even_i[k + 1], odd_i[k + 1].
  const float* __restrict even0 = rows + col;
  const float* __restrict odd0 = even0 + half_width;
  const float* __restrict even1 = odd0 + half_width;
  const float* __restrict odd1 = even1 + half_width;
  const float* __restrict even2 = odd1 + half_width;
  const float* __restrict odd2 = even2 + half_width;
  const float* __restrict even3 = odd2 + half_width;
  const float* __restrict odd3 = even3 + half_width;
#pragma GCC ivdep
  for (int64_t k = 0; k < count; ++k) {
    // B^T d, column by column: column j holds row i of e = B^T d in its value i.
    const Four e0 = apply_bt(even0[k], even1[k], even2[k], even3[k]);
    const Four e1 = apply_bt(odd0[k], odd1[k], odd2[k], odd3[k]);
    const Four e2 = apply_bt(even0[k + 1], even1[k + 1], even2[k + 1], even3[k + 1]);
    const Four e3 = apply_bt(odd0[k + 1], odd1[k + 1], odd2[k + 1], odd3[k + 1]);
    // (B^T d) B, row by row.
    store_four(apply_bt(e0.v0, e1.v0, e2.v0, e3.v0), position_stride, v + k);
    store_four(apply_bt(e0.v1, e1.v1, e2.v1, e3.v1), position_stride, v + 4 * position_stride + k);
    store_four(apply_bt(e0.v2, e1.v2, e2.v2, e3.v2), position_stride, v + 8 * position_stride + k);
    store_four(apply_bt(e0.v3, e1.v3, e2.v3, e3.v3), position_stride, v + 12 * position_stride + k);
  }
}

// The input transform of the chunk from tile t0, for the channels in `channels`, written as B
// panels: position xi, panel u / nr, channel c, column u % nr at
// v[xi v_position_stride + (u / nr C + c) nr + u % nr]. Tiles past the last are zero.
void transform_inputs(const float* split, const ConvGeometry& g, const Tiling& t, int64_t t0,
                      int64_t nr, Range channels, float* v) {
  const int64_t position_stride = v_position_stride(g, t.chunk);
  const int64_t count = std::min(t.chunk, t.count - t0);
  for (int64_t u = count; u < t.chunk; u += nr - u % nr) {  // to the end of u's panel
    for (int64_t xi = 0; xi < kPositions; ++xi) {
      for (int64_t c = channels.begin; c < channels.end; ++c) {
        std::fill_n(v + xi * position_stride + ((u / nr) * g.C + c) * nr + u % nr, nr - u % nr,
                    0.0f);
      }
    }
  }
  for (int64_t c = channels.begin; c < channels.end; ++c) {
    // Pieces that stay in one tile row and one panel are contiguous on both sides.
    for (int64_t u = 0; u < count;) {
      const int64_t row = (t0 + u) / t.cols, col = (t0 + u) % t.cols;
      const int64_t length = std::min({count - u, t.cols - col, nr - u % nr});
      transform_tiles(split + c * t.plane + 2 * row * 2 * t.half_width, t.half_width, col, length,
                      position_stride, v + ((u / nr) * g.C + c) * nr + u % nr);
      u += length;
    }
  }
}

// M_xi (K rounded up, chunk) = U_xi V_xi for position xi, m[xi][k][j], row stride chunk.
void multiply_position(const float* packed_filters, const float* v, const ConvGeometry& g,
                       const MicroKernel& kernel, int64_t chunk, int64_t xi, float* m) {
  const int64_t rows = round_up_to_panels(g.K, kernel.mr), panels = chunk / kernel.nr;
  const float* u = packed_filters + xi * rows * g.C;
  for (int64_t panel = 0; panel < panels; ++panel) {
    const float* b = v + xi * v_position_stride(g, chunk) + panel * g.C * kernel.nr;
    float* tile = m + xi * rows * chunk + panel * kernel.nr;
    for (int64_t d0 = 0; d0 < g.C; d0 += kDepthBlock) {
      const int64_t depth = std::min(kDepthBlock, g.C - d0);
      for (int64_t k0 = 0; k0 < g.K; k0 += kernel.mr) {
        kernel.run(depth, u + k0 * g.C + d0 * kernel.mr, b + d0 * kernel.nr, tile + k0 * chunk,
                   chunk, d0 > 0);
      }
    }
  }
}

// A^T = [1 1 1 0; 0 1 -1 -1] applied to one column (or row) of 4 values.
struct Two {
  float v0, v1;
};

inline Two apply_at(float m0, float m1, float m2, float m3) { return {m0 + m1 + m2, m1 - m2 - m3}; }

// The value an output is stored as: z, or relu(z) (z > 0 ? z : 0, as the relu op).
template <bool Relu>
inline float rectified(float z) {
  if constexpr (Relu) return z > 0.0f ? z : 0.0f;
  return z;
}

// y = A^T m A + b (through the ReLU when Relu) for `count` consecutive tiles of one tile row
// of one output channel, value xi of tile k at m[xi position_stride + k]: output (i, j) of
// tile k goes to grid row i, parity j, at rows[(2 i + j) half_width + k]. The loop over tiles
// runs on whole vectors.
template <bool Relu>
void inverse_transform_tiles(const float* m, int64_t position_stride, int64_t count, float b,
                             int64_t half_width, float* __restrict rows) {
  const float* __restrict values = m;
#pragma GCC ivdep
  for (int64_t k = 0; k < count; ++k) {
    const auto at = [&](int64_t xi) { return values[xi * position_stride + k]; };
    // A^T m, column by column: column j holds row i of A^T m in its value i.
    const Two f0 = apply_at(at(0), at(4), at(8), at(12));
    const Two f1 = apply_at(at(1), at(5), at(9), at(13));
    const Two f2 = apply_at(at(2), at(6), at(10), at(14));
    const Two f3 = apply_at(at(3), at(7), at(11), at(15));
    // (A^T m) A, row by row.
    const Two top = apply_at(f0.v0, f1.v0, f2.v0, f3.v0);
    const Two bottom = apply_at(f0.v1, f1.v1, f2.v1, f3.v1);
    rows[k] = rectified<Relu>(top.v0 + b);
    rows[half_width + k] = rectified<Relu>(top.v1 + b);
    rows[2 * half_width + k] = rectified<Relu>(bottom.v0 + b);
    rows[3 * half_width + k] = rectified<Relu>(bottom.v1 + b);
  }
}

// Grid row p, grid columns [first, first + count) of a run of tiles, split by parity in
// `row` (half_width floats per parity, from column first), into the outputs they hold:
// output (n, k, p, q) lies at grid column n image_width + q.
void write_grid_row(const float* row, int64_t half_width, const ConvGeometry& g, const Tiling& t,
                    int64_t k, int64_t p, int64_t first, int64_t count, float* y) {
  for (int64_t n = first / t.image_width; n < g.N && n * t.image_width < first + count; ++n) {
    const int64_t begin = std::max(first, n * t.image_width);
    const int64_t end = std::min(first + count, n * t.image_width + g.Q);
    if (begin >= end) continue;
    merge_row(row, half_width, begin - first, end - begin,
              y + ((n * g.K + k) * g.P + p) * g.Q + (begin - n * t.image_width));
  }
}

// y for the chunk's tiles and the output channels in `output_channels` from m[xi][k][u] (row
// stride chunk), through the epilogue: run by run
// (the chunk's pieces of one tile row), through `buffer` (4 chunk floats), which holds a
// run's grid rows 2 row + i, parity j, at (2 i + j) length.
void transform_outputs(const float* m, const OutputEpilogue& epilogue, const ConvGeometry& g,
                       const Tiling& t, int64_t t0, int64_t rows, Range output_channels,
                       float* buffer, float* y) {
  const int64_t count = std::min(t.chunk, t.count - t0);
  const auto inverse_transform =
      epilogue.relu ? inverse_transform_tiles<true> : inverse_transform_tiles<false>;
  for (int64_t k = output_channels.begin; k < output_channels.end; ++k) {
    const float b = epilogue.bias_of(k);
    for (int64_t u = 0; u < count;) {
      const int64_t row = (t0 + u) / t.cols, col = (t0 + u) % t.cols;
      const int64_t length = std::min(count - u, t.cols - col);
      inverse_transform(m + k * t.chunk + u, rows * t.chunk, length, b, length, buffer);
      for (int64_t i = 0; i < 2 && 2 * row + i < g.P; ++i) {
        write_grid_row(buffer + 2 * i * length, length, g, t, k, 2 * row + i, 2 * col, 2 * length,
                       y);
      }
      u += length;
    }
  }
}

// One call's operands: the split planes, the filters and their layout, and where y goes.
struct WinogradPass {
  const float* split;
  const float* w;
  const FilterLayout& layout;
  const OutputEpilogue& epilogue;
  const ConvGeometry& g;
  const Tiling& tiling;
  const MicroKernel& kernel;
  int64_t chunks;
  float* y;
};

// Chunk after chunk, each on one thread: its input transform, 16 products and output
// transform, with V and M in L2. Every chunk multiplies by all filters, so they are
// transformed once, up front, for the whole call.
void run_chunk_by_chunk(const WinogradPass& pass, bool parallel) {
  const ConvGeometry& g = pass.g;
  const Tiling& t = pass.tiling;
  const int64_t rows = round_up_to_panels(g.K, pass.kernel.mr);
  ScratchBuffer<float> filters(kPositions * rows * g.C);
  pack_filters(pass.w, pass.layout, g, pass.kernel, filters.get());
#pragma omp parallel if (parallel)
  {
    ScratchBuffer<float> v(kPositions * v_position_stride(g, t.chunk));
    ScratchBuffer<float> m(kPositions * rows * t.chunk);
    ScratchBuffer<float> output_rows(4 * t.chunk);
#pragma omp for schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < pass.chunks; ++chunk) {
      const int64_t t0 = chunk * t.chunk;
      transform_inputs(pass.split, g, t, t0, pass.kernel.nr, {0, g.C}, v.get());
      for (int64_t xi = 0; xi < kPositions; ++xi) {
        multiply_position(filters.get(), v.get(), g, pass.kernel, t.chunk, xi, m.get());
      }
      transform_outputs(m.get(), pass.epilogue, g, t, t0, rows, {0, g.K}, output_rows.get(),
                        pass.y);
    }
  }
}

// Rows [k0, k0 + mr) of M_xi for one chunk: the row panel's A panel `a` (depth-major, C mr
// floats) times the chunk's B panels of position xi; m as in multiply_position.
void multiply_row_panel(const float* a, const float* v, const ConvGeometry& g,
                        const MicroKernel& kernel, int64_t chunk, int64_t xi, int64_t k0,
                        float* m) {
  const int64_t rows = round_up_to_panels(g.K, kernel.mr), panels = chunk / kernel.nr;
  for (int64_t panel = 0; panel < panels; ++panel) {
    const float* b = v + xi * v_position_stride(g, chunk) + panel * g.C * kernel.nr;
    float* tile = m + xi * rows * chunk + k0 * chunk + panel * kernel.nr;
    for (int64_t d0 = 0; d0 < g.C; d0 += kDepthBlock) {
      const int64_t depth = std::min(kDepthBlock, g.C - d0);
      kernel.run(depth, a + d0 * kernel.mr, b + d0 * kernel.nr, tile, chunk, d0 > 0);
    }
  }
}

// With few chunks per thread the loop above leaves threads idle (5 chunks on 2 threads: 3
// against 2, VGG-19's 8x8 maps at batch 8), and its up-front filter transform is a large
// part of the call (few tiles per filter). Then all chunks go through each step together,
// in many more pieces: the input transforms by chunk and 32 channels; the products by row
// panel of filters, each panel transformed by its thread just before its products (so the
// transforms stay in cache and no copy of all of them is made); the output transforms by
// chunk and 32 output channels. V and M of the whole call are kept (a few MiB at most,
// since the chunks are few).
constexpr int64_t kChunksPerThreadForPhases = 4;

void run_in_phases(const WinogradPass& pass) {
  const ConvGeometry& g = pass.g;
  const Tiling& t = pass.tiling;
  const int64_t mr = pass.kernel.mr, rows = round_up_to_panels(g.K, mr);
  const int64_t v_floats = kPositions * v_position_stride(g, t.chunk);
  const int64_t m_floats = kPositions * rows * t.chunk;
  ScratchBuffer<float> v(pass.chunks * v_floats), m(pass.chunks * m_floats);
  const int64_t input_pieces = piece_count(g.C), output_pieces = piece_count(g.K);
  const int64_t panel_stride = position_stride_for(g.C * mr);
  const FilterPanelTransformFn transform = transform_filter_panel();
#pragma omp parallel
  {
    ScratchBuffer<float> filters(kPositions * panel_stride);
    ScratchBuffer<float> output_rows(4 * t.chunk);
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < pass.chunks * input_pieces; ++item) {
      const int64_t chunk = item / input_pieces;
      transform_inputs(pass.split, g, t, chunk * t.chunk, pass.kernel.nr,
                       piece(item % input_pieces, g.C), v.get() + chunk * v_floats);
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t k0 = 0; k0 < rows; k0 += mr) {
      transform(pass.w, pass.layout, g, mr, k0, panel_stride, filters.get());
      for (int64_t xi = 0; xi < kPositions; ++xi) {
        for (int64_t chunk = 0; chunk < pass.chunks; ++chunk) {
          multiply_row_panel(filters.get() + xi * panel_stride, v.get() + chunk * v_floats, g,
                             pass.kernel, t.chunk, xi, k0, m.get() + chunk * m_floats);
        }
      }
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < pass.chunks * output_pieces; ++item) {
      const int64_t chunk = item / output_pieces;
      transform_outputs(m.get() + chunk * m_floats, pass.epilogue, g, t, chunk * t.chunk, rows,
                        piece(item % output_pieces, g.K), output_rows.get(), pass.y);
    }
  }
}

}  // namespace

bool winograd_applies(const ConvGeometry& g) {
  return g.stride == 1 && g.R == 3 && g.S == 3 && g.padding <= 2;
}

int64_t winograd_tile_count(const ConvGeometry& g) { return tile_rows(g) * tile_cols(g); }

void conv2d_forward_winograd(const float* x, const float* w, const FilterLayout& layout,
                             const OutputEpilogue& epilogue, const ConvGeometry& g, float* y,
                             const MicroKernel& kernel) {
  FSA_CHECK(winograd_applies(g),
            "[conv2d] the Winograd convolution needs a 3x3 kernel, stride 1 and padding <= 2, "
            "got ",
            g.R, "x", g.S, ", stride ", g.stride, ", padding ", g.padding);
  const bool parallel = g.K * g.C * 9 * g.N * g.P * g.Q >= kParallelWork;
  const Tiling tiling = tiling_of(g, kernel, parallel ? omp_get_max_threads() : 1);
  ScratchBuffer<float> split(g.C * tiling.plane);
  split_planes(x, g, tiling, split.get());
  const int64_t chunks = (tiling.count + tiling.chunk - 1) / tiling.chunk;
  const WinogradPass pass{.split = split.get(),
                          .w = w,
                          .layout = layout,
                          .epilogue = epilogue,
                          .g = g,
                          .tiling = tiling,
                          .kernel = kernel,
                          .chunks = chunks,
                          .y = y};
  if (parallel && chunks < kChunksPerThreadForPhases * omp_get_max_threads()) {
    run_in_phases(pass);
  } else {
    run_chunk_by_chunk(pass, parallel);
  }
}

}  // namespace fsa
