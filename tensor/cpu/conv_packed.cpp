// conv_packed.cpp: float32 convolution as one packed GEMM per batch (see conv_packed.h).
// Im2colOperand packs micro-panels of the im2col matrix straight from the images, so the
// matrix (9x the input for a 3x3 kernel) is never written out, and the GEMM sees the whole
// batch at once: small images (4x4 at relu4_1 of a 32x32 input) still give wide products.
#include "tensor/cpu/conv_packed.h"

#include <algorithm>
#include <vector>

#include "tensor/cpu/gemm_packed.h"
#include "tensor/cpu/host_memory.h"

namespace fsa {

namespace {

// A row of the im2col matrix: input channel c, kernel offsets (r, s).
struct Tap {
  int64_t c, r, s;
};

// The im2col matrix of a batch: tap (c, r, s), pixel (n, p, q) holds x[n][c][p stride -
// padding + r][q stride - padding + s], zero in the padding. As a GEMM operand, the pixels
// are the index (forward, B = col) or the depth (weight gradient, B = col^T).
class Im2colOperand final : public GemmOperand {
 public:
  Im2colOperand(const float* x, const ConvGeometry& g, bool pixels_as_depth)
      : x_(x), g_(g), pixels_as_depth_(pixels_as_depth) {
    for (int64_t r = 0; r < g.R; ++r) rows_.push_back(valid_outputs(r, g.H, g.P, g));
    for (int64_t s = 0; s < g.S; ++s) columns_.push_back(valid_outputs(s, g.W, g.Q, g));
  }

  void pack(int64_t first, int64_t count, int64_t d0, int64_t depth, int64_t width,
            float* out) const override {
    if (pixels_as_depth_) {
      pack_taps(first, count, d0, depth, width, out);
    } else {
      pack_pixels(first, count, d0, depth, width, out);
    }
  }

 private:
  // A pixel (n, p, q) of the batch's output, walked through a range without divisions.
  struct Pixel {
    int64_t n, p, q;
  };

  Pixel pixel_at(int64_t index) const {
    const int64_t pixels = g_.P * g_.Q;
    return {index / pixels, index % pixels / g_.Q, index % g_.Q};
  }

  Tap tap_at(int64_t index) const {
    return {index / (g_.R * g_.S), index / g_.S % g_.R, index % g_.S};
  }

  void next_tap(Tap& tap) const {
    if (++tap.s < g_.S) return;
    tap.s = 0;
    if (++tap.r < g_.R) return;
    tap.r = 0;
    ++tap.c;
  }

  // out[i * out_stride] = the tap's value at pixel i of the `count` pixels from `start`,
  // one output row (a run of q) at a time. kUnitStride: out_stride is 1.
  template <bool kUnitStride>
  void copy_tap(const Tap& tap, Pixel start, int64_t count, float* out, int64_t out_stride) const {
    const ValidRange rows = rows_[tap.r], columns = columns_[tap.s];
    const int64_t shift = tap.s - g_.padding;  // input column = q stride + shift
    const auto at = [out, out_stride](int64_t i) -> float& {
      return out[kUnitStride ? i : i * out_stride];
    };
    Pixel pixel = start;
    for (int64_t position = 0; position < count;) {
      const int64_t length = std::min(g_.Q - pixel.q, count - position);
      const int64_t q_end = pixel.q + length;
      const int64_t base = position - pixel.q;  // output index of column q is base + q
      if (pixel.p < rows.first || pixel.p >= rows.last) {
        for (int64_t q = pixel.q; q < q_end; ++q) at(base + q) = 0.0f;
      } else {
        const int64_t h = pixel.p * g_.stride - g_.padding + tap.r;
        const float* x_row = x_ + ((pixel.n * g_.C + tap.c) * g_.H + h) * g_.W;
        const int64_t q0 = std::clamp(columns.first, pixel.q, q_end);
        const int64_t q1 = std::clamp(columns.last, q0, q_end);
        for (int64_t q = pixel.q; q < q0; ++q) at(base + q) = 0.0f;
        if (g_.stride == 1) {
          for (int64_t q = q0; q < q1; ++q) at(base + q) = x_row[q + shift];
        } else {
          for (int64_t q = q0; q < q1; ++q) at(base + q) = x_row[q * g_.stride + shift];
        }
        for (int64_t q = q1; q < q_end; ++q) at(base + q) = 0.0f;
      }
      position += length;
      pixel.q = 0;
      if (++pixel.p == g_.P) {
        pixel.p = 0;
        ++pixel.n;
      }
    }
  }

  // Index = pixel, depth = tap: each depth row of a panel is `width` consecutive pixels.
  void pack_pixels(int64_t first, int64_t count, int64_t d0, int64_t depth, int64_t width,
                   float* out) const {
    for (int64_t panel_first = 0; panel_first < count; panel_first += width) {
      float* panel = out + panel_first * depth;
      const int64_t valid = std::min(width, count - panel_first);
      Pixel pixel = pixel_at(first + panel_first);
      if (g_.stride == 1) {
        // One piece per output row that the panel's pixels cover.
        for (int64_t u = 0; u < valid;) {
          const int64_t length = std::min(g_.Q - pixel.q, valid - u);
          pack_row_segment(pixel, length, d0, depth, width, panel + u);
          u += length;
          pixel = {pixel.n + (pixel.p + 1) / g_.P, (pixel.p + 1) % g_.P, 0};
        }
      } else {
        Tap tap = tap_at(d0);
        for (int64_t d = 0; d < depth; ++d, next_tap(tap)) {
          copy_tap<true>(tap, pixel, valid, panel + d * width, 1);
        }
      }
      for (int64_t d = 0; d < depth; ++d) {
        for (int64_t u = valid; u < width; ++u) panel[d * width + u] = 0.0f;
      }
    }
  }

  // For stride 1: out[d * width + u] for u < length = tap d0 + d at pixels (n, p, q + u),
  // all in one output row, so every tap reads one contiguous piece of an input row, with
  // zeros where it overhangs the padding.
  void pack_row_segment(Pixel start, int64_t length, int64_t d0, int64_t depth, int64_t width,
                        float* out) const {
    Tap tap = tap_at(d0);
    for (int64_t d = 0; d < depth; ++d, next_tap(tap)) {
      float* row = out + d * width;
      const int64_t h = start.p - g_.padding + tap.r;
      int64_t begin = 0, end = 0;  // the pixels [begin, end) of the piece that read x
      int64_t source = 0;          // pixel u reads x_[source + u]
      if (h >= 0 && h < g_.H) {
        begin = std::clamp(columns_[tap.s].first - start.q, int64_t{0}, length);
        end = std::clamp(columns_[tap.s].last - start.q, begin, length);
        source = ((start.n * g_.C + tap.c) * g_.H + h) * g_.W + start.q - g_.padding + tap.s;
      }
      for (int64_t u = 0; u < begin; ++u) row[u] = 0.0f;
      for (int64_t u = begin; u < end; ++u) row[u] = x_[source + u];
      for (int64_t u = end; u < length; ++u) row[u] = 0.0f;
    }
  }

  // Index = tap, depth = pixel: each tap fills one column of a panel.
  void pack_taps(int64_t first, int64_t count, int64_t d0, int64_t depth, int64_t width,
                 float* out) const {
    const Pixel start = pixel_at(d0);
    for (int64_t panel_first = 0; panel_first < count; panel_first += width) {
      float* panel = out + panel_first * depth;
      const int64_t valid = std::min(width, count - panel_first);
      Tap tap = tap_at(first + panel_first);
      for (int64_t u = 0; u < valid; ++u, next_tap(tap)) {
        copy_tap<false>(tap, start, depth, panel + u, width);
      }
      for (int64_t d = 0; d < depth; ++d) {
        for (int64_t u = valid; u < width; ++u) panel[d * width + u] = 0.0f;
      }
    }
  }

  const float* x_;
  ConvGeometry g_;
  bool pixels_as_depth_;
  std::vector<ValidRange> rows_, columns_;  // valid output rows per r, columns per s
};

// Images per GEMM in the strided backward-data path: dcol stays near 16 MiB.
constexpr int64_t kColumnChunkElements = int64_t{1} << 22;

// Stride 1 and a square kernel with padding <= R - 1: dx is a convolution of dy.
bool backward_data_is_convolution(const ConvGeometry& g) {
  return g.stride == 1 && g.R == g.S && g.padding <= g.R - 1;
}

// dx = dy convolved (padding R - 1 - padding) with w flipped in space and with its channel
// axes swapped: w' (C, K, R, S), w'[c][k][r][s] = w[k][c][R-1-r][S-1-s]. Winograd reads w'
// straight from w; the other methods get a copy.
void backward_data_as_convolution(const float* dy, const float* w, const ConvGeometry& g, float* dx,
                                  const ConvOptions& options) {
  const ConvGeometry transposed{.N = g.N,
                                .C = g.K,
                                .H = g.P,
                                .W = g.Q,
                                .K = g.C,
                                .R = g.R,
                                .S = g.S,
                                .P = g.H,
                                .Q = g.W,
                                .stride = 1,
                                .padding = g.R - 1 - g.padding};
  const MicroKernel& kernel =
      options.kernel != nullptr ? *options.kernel : micro_kernel_for(transposed.K);
  const ConvMethod method = options.method == ConvMethod::automatic
                                ? choose_conv_method(transposed, kernel)
                                : options.method;
  if (method == ConvMethod::winograd && winograd_applies(transposed)) {
    const FilterLayout flipped{.output_stride = 9, .input_stride = g.C * 9, .flipped = true};
    return conv2d_forward_winograd(dy, w, flipped, {}, transposed, dx, kernel);
  }
  ScratchBuffer<float> flipped(g.C * g.K * g.R * g.S);  // (C, K, R, S)
  for (int64_t k = 0; k < g.K; ++k) {
    for (int64_t c = 0; c < g.C; ++c) {
      for (int64_t r = 0; r < g.R; ++r) {
        for (int64_t s = 0; s < g.S; ++s) {
          flipped.get()[((c * g.K + k) * g.R + (g.R - 1 - r)) * g.S + (g.S - 1 - s)] =
              w[((k * g.C + c) * g.R + r) * g.S + s];
        }
      }
    }
  }
  conv2d_forward_f32(dy, flipped.get(), {}, transposed, dx, {.kernel = &kernel, .method = method});
}

// dx = col2im(w^T dy) for any stride, a chunk of images per GEMM.
void backward_data_through_columns(const float* dy, const float* w, const ConvGeometry& g,
                                   float* dx, const ConvOptions& options) {
  const int64_t taps = g.col_rows(), pixels = g.col_cols();
  const int64_t chunk = std::clamp(kColumnChunkElements / std::max<int64_t>(1, taps * pixels),
                                   int64_t{1}, std::max<int64_t>(1, g.N));
  ScratchBuffer<float> dcol(taps * chunk * pixels);  // (CRS, chunk PQ)
  // op(A)(tap, k) = w[k][tap]
  const StridedOperand transposed_weights(w, {.stride = 1}, {.stride = taps});
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t images = std::min(chunk, g.N - n0);
    // op(B)(k, pixel (n, pq)) = dy[n0 + n][k][pq]
    const StridedOperand grads(dy + n0 * g.output_size(),
                               {.stride = 1, .group = pixels, .group_stride = g.output_size()},
                               {.stride = pixels});
    gemm_packed(taps, images * pixels, g.K, transposed_weights, grads,
                {.data = dcol.get(), .row_stride = images * pixels, .columns = {.stride = 1}},
                options.kernel);
    // One parallel loop over the chunk's images and channels (a loop per image would wake
    // the threads once per image, for a few microseconds of work each).
    const int64_t planes = images * g.C;
#pragma omp parallel for if (planes * g.R * g.S * pixels > 32768)
    for (int64_t plane = 0; plane < planes; ++plane) {
      const int64_t i = plane / g.C, c = plane % g.C;
      col2im_channel(dcol.get() + i * pixels, images * pixels, g, c,
                     dx + (n0 + i) * g.image_size() + c * g.H * g.W);
    }
  }
}

}  // namespace

// Packing an im2col element costs about as much as this many multiply-adds (measured on
// the AVX-512 Xeon: VGG conv1_2 at 32x32, K = 64, spends 0.6 of the kernel time packing).
constexpr double kPackingCostInMultiplyAdds = 32.0;

// Measured with BM_conv2d_forward/.../{im2col,direct,winograd} on the VGG-19 and ResNet-20
// shapes: Winograd wins on every shape with 64 channels or more, down to VGG-19's 4x4 maps
// at batch 8 (40 tiles), and loses with 32 channels since the direct convolution works in
// L2-sized chunks (ResNet-20's 16x16 stage: 2.5 against 3.0 ms), 16 (its first stage: its
// products have depth 16) or 3 (VGG-19's first layer). Below a few dozen tiles,
// transforming all K C filters costs more than the multiply-adds it saves.
constexpr int64_t kWinogradMinChannels = 64;
constexpr int64_t kWinogradMinTiles = 32;

// Below this depth (C R S taps) the direct convolution's fixed costs per panel (a
// micro-kernel call, its tile copied to y) outweigh the multiply-adds: VGG-19's first layer
// (3 channels, depth 27) runs 2-2.6x faster through im2col on the Xeon and on the EPYC
// (PERFORMANCE.md, change 17), ResNet-20's 16-channel layers (depth 144) faster direct.
constexpr int64_t kDirectMinDepth = 64;

ConvMethod choose_conv_method(const ConvGeometry& g, const MicroKernel& kernel) {
  if (winograd_applies(g) && g.C >= kWinogradMinChannels &&
      winograd_tile_count(g) >= kWinogradMinTiles) {
    return ConvMethod::winograd;
  }
  if (g.col_rows() < kDirectMinDepth) return ConvMethod::im2col;
  const double packing = 1.0 + kPackingCostInMultiplyAdds / static_cast<double>(g.K);
  return direct_conv_overhead(g, kernel) < packing ? ConvMethod::direct : ConvMethod::im2col;
}

// The weight gradient's im2col operand is packed transposed (a strided write per element),
// which costs about twice the forward's packing: measured with BM_conv2d_backward_weight on
// the VGG-19 and ResNet-20 shapes, this constant puts every shape on its faster side.
constexpr double kTransposedPackingCostInMultiplyAdds = 64.0;

ConvMethod choose_weight_gradient_method(const ConvGeometry& g, const MicroKernel& kernel) {
  const double packing = 1.0 + kTransposedPackingCostInMultiplyAdds / static_cast<double>(g.K);
  return direct_weight_gradient_overhead(g, kernel) < packing ? ConvMethod::direct
                                                              : ConvMethod::im2col;
}

void conv2d_forward_f32(const float* x, const float* w, const OutputEpilogue& epilogue,
                        const ConvGeometry& g, float* y, const ConvOptions& options) {
  const MicroKernel& kernel = options.kernel != nullptr ? *options.kernel : micro_kernel_for(g.K);
  const ConvMethod method =
      options.method == ConvMethod::automatic ? choose_conv_method(g, kernel) : options.method;
  if (method == ConvMethod::winograd && winograd_applies(g)) {
    return conv2d_forward_winograd(x, w, weights_layout(g), epilogue, g, y, kernel);
  }
  if (method != ConvMethod::im2col) return conv2d_forward_direct(x, w, epilogue, g, y, kernel);
  const int64_t pixels = g.col_cols();
  const StridedOperand weights(w, {.stride = g.col_rows()}, {.stride = 1});  // (K, CRS)
  const Im2colOperand columns(x, g, /*pixels_as_depth=*/false);              // (CRS, N PQ)
  // Column (n, pq) of the product is y[n][.][pq].
  const GemmOutput output{
      .data = y,
      .row_stride = pixels,
      .columns = {.stride = 1, .group = pixels, .group_stride = g.output_size()},
      .row_bias = epilogue.bias};
  gemm_packed(g.K, g.N * pixels, g.col_rows(), weights, columns, output, &kernel);
  // The GEMM's output is summed over depth slices, so the ReLU takes a pass of its own here
  // (im2col runs only the first layers, whose inputs have few channels).
  if (epilogue.relu) {
    const int64_t planes = g.N * g.K;
    constexpr int64_t kParallelElements = 32768;  // as the elementwise ops
#pragma omp parallel for if (planes * pixels > kParallelElements)
    for (int64_t plane = 0; plane < planes; ++plane) {
      store_outputs(y + plane * pixels, pixels, 0.0f, true, y + plane * pixels, 1);
    }
  }
}

namespace {

// The fraction of computed rows that are real when `rows` rows run in micro-panels.
double row_efficiency(int64_t rows) {
  const int64_t computed = round_up_to_panels(rows, micro_kernel_for(rows).mr);
  return static_cast<double>(rows) / static_cast<double>(computed);
}

}  // namespace

ConvMethod choose_backward_data_method(const ConvGeometry& g) {
  // The direct passes compute C rows, the columns' GEMM C R S rows; the columns also pay for
  // col2im and their buffer, so they must waste clearly less (1/8 of the rows) to win.
  return row_efficiency(g.C) + 0.125 >= row_efficiency(g.col_rows()) ? ConvMethod::direct
                                                                     : ConvMethod::im2col;
}

void conv2d_backward_data_f32(const float* dy, const float* w, const ConvGeometry& g, float* dx,
                              const ConvOptions& options) {
  const ConvMethod method =
      options.method == ConvMethod::automatic ? choose_backward_data_method(g) : options.method;
  if (method == ConvMethod::im2col) return backward_data_through_columns(dy, w, g, dx, options);
  if (backward_data_is_convolution(g)) return backward_data_as_convolution(dy, w, g, dx, options);
  const MicroKernel& kernel = options.kernel != nullptr ? *options.kernel : micro_kernel_for(g.C);
  conv2d_backward_data_direct(dy, w, g, dx, kernel);
}

void conv2d_backward_weight_f32(const float* dy, const float* x, const ConvGeometry& g, float* dw,
                                const ConvOptions& options) {
  const MicroKernel& kernel = options.kernel != nullptr ? *options.kernel : micro_kernel_for(g.K);
  const ConvMethod method = options.method == ConvMethod::automatic
                                ? choose_weight_gradient_method(g, kernel)
                                : options.method;
  if (method == ConvMethod::direct) return conv2d_backward_weight_direct(dy, x, g, dw, kernel);
  const int64_t pixels = g.col_cols();
  // op(A)(k, pixel (n, pq)) = dy[n][k][pq]
  const StridedOperand grads(dy, {.stride = pixels},
                             {.stride = 1, .group = pixels, .group_stride = g.output_size()});
  const Im2colOperand columns(x, g, /*pixels_as_depth=*/true);  // col^T (N PQ, CRS)
  gemm_packed(g.K, g.col_rows(), g.N * pixels, grads, columns,
              {.data = dw, .row_stride = g.col_rows(), .columns = {.stride = 1}}, &kernel);
}

}  // namespace fsa
