// conv_packed.h: float32 convolution on the GEMM micro-kernels, in three ways:
//   im2col (conv_packed.cpp): the packed GEMM with the im2col matrix of the whole batch
//     packed straight from the images (never materialised); any stride;
//   direct (conv_direct.cpp): any stride; B rows read in place from a zero-padded copy of a
//     few images (split into phases for a stride > 1), on an output grid that includes the
//     padding shared by neighbouring rows and images (thrown-away positions);
//   winograd (conv_winograd.cpp): 3x3, stride 1, padding <= 2; F(2x2, 3x3), 16 products of
//     the transformed filters and the transformed input tiles.
// The three passes:
//   forward          y (K, N PQ) = w (K, CRS) col(x) (CRS, N PQ) + b
//   backward data    direct or winograd (stride 1): dx = dy convolved with the flipped,
//                    transposed w (as forward); direct (stride > 1): one such product per
//                    phase of dx; im2col: dx = col2im(w^T dy), in chunks of images
//   backward weight  im2col: dw (K, CRS) = dy (K, N PQ) col(x)^T (N PQ, CRS), one packed GEMM;
//                    direct (conv_weight_direct.cpp, any stride): per kernel row r,
//                    dw_r (K, S C) = dy (K, N PQ) x_r (N PQ, S C), x channels-last, read in place
// Pointers are contiguous NCHW / KCRS arrays of the geometry's extents; outputs are written.
#pragma once

#include "tensor/cpu/conv_geometry.h"
#include "tensor/cpu/gemm_micro_kernel.h"

namespace fsa {

enum class ConvMethod { automatic, im2col, direct, winograd };

// The floats of a per-thread chunk (padded planes, channels-last images, Winograd's V):
// 256 KiB, a quarter of the EPYC's 1 MiB L2 (an eighth of the Xeon's), so that it stays there.
constexpr int64_t kCacheChunkFloats = int64_t{1} << 16;

// What the forward does to each output as it stores it: adds its channel's bias (none when
// null), then applies a ReLU when `relu` (z > 0 ? z : 0, as the relu op): conv2d_relu's
// forward, with no pass of its own over y.
struct OutputEpilogue {
  const float* bias = nullptr;
  bool relu = false;
  float bias_of(int64_t k) const { return bias != nullptr ? bias[k] : 0.0f; }
};

// out[i stride] = in[i] + b for i < count, through the ReLU when `relu`. Inline: the direct
// convolution calls it for every run of a tile row.
inline void store_outputs(const float* in, int64_t count, float b, bool relu, float* out,
                          int64_t stride) {
  if (stride == 1 && relu) {
    for (int64_t i = 0; i < count; ++i) out[i] = in[i] + b > 0.0f ? in[i] + b : 0.0f;
  } else if (stride == 1) {
    for (int64_t i = 0; i < count; ++i) out[i] = in[i] + b;
  } else {
    for (int64_t i = 0; i < count; ++i) {
      const float z = in[i] + b;
      out[i * stride] = relu && !(z > 0.0f) ? 0.0f : z;
    }
  }
}

// Tests force a micro-kernel or a method; by default each GEMM picks micro_kernel_for(rows)
// and each pass picks the method it expects to be faster (choose_*_method below). A forced
// `winograd` applies where the pass has a Winograd form (forward and backward data of a
// 3x3 stride-1 convolution) and falls back to direct elsewhere; a forced `direct` applies
// where the pass has a direct form (every pass, any stride).
struct ConvOptions {
  const MicroKernel* kernel = nullptr;
  ConvMethod method = ConvMethod::automatic;
};

void conv2d_forward_f32(const float* x, const float* w, const OutputEpilogue& epilogue,
                        const ConvGeometry& g, float* y, const ConvOptions& options = {});

void conv2d_backward_data_f32(const float* dy, const float* w, const ConvGeometry& g, float* dx,
                              const ConvOptions& options = {});

void conv2d_backward_weight_f32(const float* dy, const float* x, const ConvGeometry& g, float* dw,
                                const ConvOptions& options = {});

// The method the forward of `g` uses with `kernel`: Winograd where it applies with at least
// 64 input channels (its products have depth C) and 32 tiles (it transforms all K C filters
// per call); otherwise direct (any stride) when its thrown-away columns cost less than
// packing im2col panels (which grows as 1 / K), and im2col below a depth of 64 taps.
ConvMethod choose_conv_method(const ConvGeometry& g, const MicroKernel& kernel);

// The method the input gradient of `g` uses: direct (a convolution with C output channels,
// or one per phase of dx for a stride > 1) unless C leaves more of its micro-panels empty
// than the columns' GEMM (C R S rows) does: the 3 colour channels of a first layer.
ConvMethod choose_backward_data_method(const ConvGeometry& g);

// The method the weight gradient of `g` uses with `kernel`: direct (any stride) when its
// extra work costs less than packing the transposed im2col operand (which grows as 1 / K).
ConvMethod choose_weight_gradient_method(const ConvGeometry& g, const MicroKernel& kernel);

// conv_direct.cpp: the direct forward (any stride), and the work it computes per output
// (grid positions / (N P Q)); the direct input gradient (any stride, any padding: one product
// per phase of dx).
void conv2d_forward_direct(const float* x, const float* w, const OutputEpilogue& epilogue,
                           const ConvGeometry& g, float* y, const MicroKernel& kernel);
void conv2d_backward_data_direct(const float* dy, const float* w, const ConvGeometry& g, float* dx,
                                 const MicroKernel& kernel);
double direct_conv_overhead(const ConvGeometry& g, const MicroKernel& kernel);

// conv_weight_direct.cpp: the direct weight gradient (any stride), and the work it costs per
// useful multiply-add (its columns rounded up to whole panels, its partials' traffic).
void conv2d_backward_weight_direct(const float* dy, const float* x, const ConvGeometry& g,
                                   float* dw, const MicroKernel& kernel);
double direct_weight_gradient_overhead(const ConvGeometry& g, const MicroKernel& kernel);

// conv_winograd.cpp: the forward by Winograd's F(2x2, 3x3), for 3x3 kernels with stride 1
// and padding <= 2 (winograd_applies): 16 multiply-adds per 2x2 outputs and channel
// instead of 36.
bool winograd_applies(const ConvGeometry& g);
// Where the Winograd convolution reads filter (output channel o, input channel c): 9 taps in
// row-major order at w + o output_stride + c input_stride, or in reverse order (flipped in
// space). The input gradient reads the forward's weights so, transposed and flipped, with
// no copy.
struct FilterLayout {
  int64_t output_stride, input_stride;
  bool flipped = false;
};
inline FilterLayout weights_layout(const ConvGeometry& g) {  // w (K, C, 3, 3) as stored
  return {.output_stride = g.C * 9, .input_stride = 9};
}
// Its 2x2 output tiles, counted on the grid of the whole batch.
int64_t winograd_tile_count(const ConvGeometry& g);
void conv2d_forward_winograd(const float* x, const float* w, const FilterLayout& layout,
                             const OutputEpilogue& epilogue, const ConvGeometry& g, float* y,
                             const MicroKernel& kernel);

}  // namespace fsa
