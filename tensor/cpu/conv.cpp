// conv.cpp: 2-D convolution (PyTorch cross-correlation, zero padding) as im2col + GEMM, one
// image at a time; the threads work inside each image (im2col, col2im and the GEMM):
//   forward          y_n (K, PQ) = w (K, CRS) col(x_n) (CRS, PQ) + b
//   backward data    dx_n = col2im(w^T dy_n), the adjoint of im2col
//   backward weight  dw (K, CRS) = sum_n dy_n col(x_n)^T
// A 1x1, stride-1, unpadded convolution needs no im2col: col(x_n) is x_n seen as (C, HW).
#include <algorithm>
#include <memory>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"
#include "tensor/cpu/gemm.h"

namespace fsa {

namespace {

constexpr int64_t kParallelElements = 32768;  // below this, loops stay on one thread

// The extents of one convolution, with the letters of tensor/tensor.h.
struct ConvGeometry {
  int64_t N, C, H, W, K, R, S, P, Q, stride, padding;
  int64_t image_size() const { return C * H * W; }
  int64_t output_size() const { return K * P * Q; }
  int64_t col_rows() const { return C * R * S; }
  int64_t col_cols() const { return P * Q; }
  bool is_pointwise() const { return R == 1 && S == 1 && stride == 1 && padding == 0; }
};

ConvGeometry geometry(const Shape& x, const Shape& w, const Conv2dParams& p, const char* op) {
  FSA_CHECK(x.ndim() == 4 && w.ndim() == 4 && x[1] == w[1], "[", op, "] input ", x,
            " does not match weight ", w);
  FSA_CHECK(p.stride >= 1 && p.padding >= 0, "[", op, "] needs stride >= 1 and padding >= 0, got ",
            p.stride, " and ", p.padding);
  ConvGeometry g{.N = x[0],
                 .C = x[1],
                 .H = x[2],
                 .W = x[3],
                 .K = w[0],
                 .R = w[2],
                 .S = w[3],
                 .P = 0,
                 .Q = 0,
                 .stride = p.stride,
                 .padding = p.padding};
  FSA_CHECK(g.H + 2 * g.padding >= g.R && g.W + 2 * g.padding >= g.S, "[", op, "] kernel ", w,
            " is larger than the padded input ", x);
  g.P = (g.H + 2 * g.padding - g.R) / g.stride + 1;
  g.Q = (g.W + 2 * g.padding - g.S) / g.stride + 1;
  return g;
}

void check_output_gradient(const Tensor& dy, const ConvGeometry& g, const char* op) {
  FSA_CHECK(dy.shape() == (Shape{g.N, g.K, g.P, g.Q}), "[", op, "] output gradient ", dy.shape(),
            " should be ", Shape{g.N, g.K, g.P, g.Q});
}

// The output positions o in [first, last) whose input index o * stride - padding + offset
// lies inside [0, in_extent).
struct ValidRange {
  int64_t first, last;
};

ValidRange valid_outputs(int64_t offset, int64_t in_extent, int64_t out_extent,
                         const ConvGeometry& g) {
  const int64_t shift = offset - g.padding;  // input index = o * stride + shift
  const int64_t first = shift >= 0 ? 0 : (-shift + g.stride - 1) / g.stride;
  const int64_t last_input = in_extent - 1 - shift;  // o * stride <= last_input
  const int64_t last = last_input < 0 ? 0 : std::min(out_extent, last_input / g.stride + 1);
  return {first, std::max(first, last)};
}

// col (CRS, PQ): col[(c R + r) S + s][p Q + q] = x[c][p stride - padding + r][q stride -
// padding + s], zero where that falls in the padding. x is one image (C, H, W).
template <typename T>
void im2col(const T* x, const ConvGeometry& g, T* col) {
  const int64_t rows = g.col_rows();
#pragma omp parallel for if (rows * g.col_cols() > kParallelElements)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t c = row / (g.R * g.S), r = row / g.S % g.R, s = row % g.S;
    const ValidRange ps = valid_outputs(r, g.H, g.P, g), qs = valid_outputs(s, g.W, g.Q, g);
    const T* x_plane = x + c * g.H * g.W;
    for (int64_t p = 0; p < g.P; ++p) {
      T* out = col + row * g.col_cols() + p * g.Q;
      if (p < ps.first || p >= ps.last) {
        std::fill(out, out + g.Q, T(0));
        continue;
      }
      const T* x_row = x_plane + (p * g.stride - g.padding + r) * g.W;
      std::fill(out, out + qs.first, T(0));
      for (int64_t q = qs.first; q < qs.last; ++q) out[q] = x_row[q * g.stride - g.padding + s];
      std::fill(out + qs.last, out + g.Q, T(0));
    }
  }
}

// dx (C, H, W) = the adjoint of im2col: each pixel sums the col entries that copied it.
// One thread per channel, so no two threads write the same pixel.
template <typename T>
void col2im(const T* col, const ConvGeometry& g, T* dx) {
#pragma omp parallel for if (g.col_rows() * g.col_cols() > kParallelElements)
  for (int64_t c = 0; c < g.C; ++c) {
    T* dx_plane = dx + c * g.H * g.W;
    std::fill(dx_plane, dx_plane + g.H * g.W, T(0));
    for (int64_t r = 0; r < g.R; ++r) {
      for (int64_t s = 0; s < g.S; ++s) {
        const T* in = col + ((c * g.R + r) * g.S + s) * g.col_cols();
        const ValidRange ps = valid_outputs(r, g.H, g.P, g), qs = valid_outputs(s, g.W, g.Q, g);
        for (int64_t p = ps.first; p < ps.last; ++p) {
          T* dx_row = dx_plane + (p * g.stride - g.padding + r) * g.W;
          for (int64_t q = qs.first; q < qs.last; ++q) {
            dx_row[q * g.stride - g.padding + s] += in[p * g.Q + q];
          }
        }
      }
    }
  }
}

// The GEMM operand col(x_n) (CRS, PQ): x_n itself for a pointwise convolution, otherwise
// im2col written into `buffer`.
template <typename T>
const T* columns(const T* x_n, const ConvGeometry& g, T* buffer) {
  if (g.is_pointwise()) return x_n;
  im2col(x_n, g, buffer);
  return buffer;
}

// A scratch buffer for col(x_n), left empty when the convolution is pointwise.
template <typename T>
std::unique_ptr<T[]> column_buffer(const ConvGeometry& g) {
  if (g.is_pointwise()) return nullptr;
  return std::make_unique_for_overwrite<T[]>(static_cast<size_t>(g.col_rows() * g.col_cols()));
}

// y_n (K, PQ) += b (K) broadcast along each row.
template <typename T>
void add_bias(const T* bias, const ConvGeometry& g, T* y_n) {
  for (int64_t k = 0; k < g.K; ++k) {
    T* row = y_n + k * g.col_cols();
    for (int64_t i = 0; i < g.col_cols(); ++i) row[i] += bias[k];
  }
}

}  // namespace

Tensor CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                                  const Conv2dParams& p) const {
  const ConvGeometry g = geometry(x.shape(), w.shape(), p, "conv2d_forward");
  Tensor y = Tensor::empty(Shape{g.N, g.K, g.P, g.Q}, x.dtype());  // (N, K, P, Q)
  dispatch_float(x.dtype(), "conv2d_forward", [&]<typename T>() {
    const T* bias = b.defined() ? b.data<T>() : nullptr;
    std::unique_ptr<T[]> buffer = column_buffer<T>(g);
    for (int64_t n = 0; n < g.N; ++n) {
      T* y_n = y.data<T>() + n * g.output_size();
      const T* col = columns(x.data<T>() + n * g.image_size(), g, buffer.get());
      gemm_kernel(false, false, g.K, g.col_cols(), g.col_rows(), w.data<T>(), g.col_rows(), col,
                  g.col_cols(), y_n, g.col_cols());
      if (bias != nullptr) add_bias(bias, g, y_n);
    }
  });
  return y;
}

Tensor CpuBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                                        const Conv2dParams& p) const {
  const ConvGeometry g = geometry(x_shape, w.shape(), p, "conv2d_backward_data");
  check_output_gradient(dy, g, "conv2d_backward_data");
  Tensor dx = Tensor::empty(x_shape, dy.dtype());  // (N, C, H, W)
  dispatch_float(dy.dtype(), "conv2d_backward_data", [&]<typename T>() {
    std::unique_ptr<T[]> buffer = column_buffer<T>(g);
    for (int64_t n = 0; n < g.N; ++n) {
      const T* dy_n = dy.data<T>() + n * g.output_size();
      T* dx_n = dx.data<T>() + n * g.image_size();
      // dcol (CRS, PQ) = w^T (CRS, K) dy_n (K, PQ); pointwise: dcol is dx_n itself.
      T* dcol = g.is_pointwise() ? dx_n : buffer.get();
      gemm_kernel(true, false, g.col_rows(), g.col_cols(), g.K, w.data<T>(), g.col_rows(), dy_n,
                  g.col_cols(), dcol, g.col_cols());
      if (!g.is_pointwise()) col2im(dcol, g, dx_n);
    }
  });
  return dx;
}

Tensor CpuBackend::conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape,
                                          const Conv2dParams& p) const {
  const ConvGeometry g = geometry(x.shape(), w_shape, p, "conv2d_backward_weight");
  check_output_gradient(dy, g, "conv2d_backward_weight");
  Tensor dw = Tensor::empty(w_shape, dy.dtype());  // (K, C, R, S)
  dispatch_float(dy.dtype(), "conv2d_backward_weight", [&]<typename T>() {
    const int64_t weight_size = g.K * g.col_rows();
    T* dws = dw.data<T>();
    if (g.N == 0) std::fill(dws, dws + weight_size, T(0));
    std::unique_ptr<T[]> buffer = column_buffer<T>(g);
    // Image 0 writes dw; each later image writes `partial`, which is then added in.
    auto partial = std::make_unique_for_overwrite<T[]>(static_cast<size_t>(weight_size));
    const T* partials = partial.get();
    for (int64_t n = 0; n < g.N; ++n) {
      const T* dy_n = dy.data<T>() + n * g.output_size();
      const T* col = columns(x.data<T>() + n * g.image_size(), g, buffer.get());
      T* target = n == 0 ? dws : partial.get();
      // (K, CRS) = dy_n (K, PQ) col^T (PQ, CRS)
      gemm_kernel(false, true, g.K, g.col_rows(), g.col_cols(), dy_n, g.col_cols(), col,
                  g.col_cols(), target, g.col_rows());
      if (n == 0) continue;
#pragma omp parallel for if (weight_size > kParallelElements)
      for (int64_t i = 0; i < weight_size; ++i) dws[i] += partials[i];
    }
  });
  return dw;
}

}  // namespace fsa
