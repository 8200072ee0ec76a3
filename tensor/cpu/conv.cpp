// conv.cpp: 2-D convolution (PyTorch cross-correlation, zero padding), and the convolution
// followed by a ReLU. float32 runs the packed implicit-im2col GEMM of conv_packed.cpp; float64
// runs the reference here, im2col + the reference GEMM one image at a time, which is also the
// tests' oracle:
//   forward          y_n (K, PQ) = w (K, CRS) col(x_n) (CRS, PQ) + b
//   backward data    dx_n = col2im(w^T dy_n), the adjoint of im2col
//   backward weight  dw (K, CRS) = sum_n dy_n col(x_n)^T
#include <algorithm>
#include <memory>
#include <type_traits>

#include "tensor/cpu/conv_packed.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"
#include "tensor/cpu/gemm.h"

namespace fsa {

ConvGeometry conv_geometry(const Shape& x, const Shape& w, const Conv2dParams& p, const char* op) {
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

namespace {

constexpr int64_t kParallelElements = 32768;  // below this, loops stay on one thread

void check_output_gradient(const Tensor& dy, const ConvGeometry& g, const char* op) {
  FSA_CHECK(dy.shape() == (Shape{g.N, g.K, g.P, g.Q}), "[", op, "] output gradient ", dy.shape(),
            " should be ", Shape{g.N, g.K, g.P, g.Q});
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

// The GEMM operand col(x_n) (CRS, PQ) written into `buffer`.
template <typename T>
const T* columns(const T* x_n, const ConvGeometry& g, T* buffer) {
  im2col(x_n, g, buffer);
  return buffer;
}

template <typename T>
std::unique_ptr<T[]> column_buffer(const ConvGeometry& g) {
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

template <typename T>
void reference_forward(const T* x, const T* w, const T* bias, const ConvGeometry& g, T* y) {
  std::unique_ptr<T[]> buffer = column_buffer<T>(g);
  for (int64_t n = 0; n < g.N; ++n) {
    T* y_n = y + n * g.output_size();
    const T* col = columns(x + n * g.image_size(), g, buffer.get());
    gemm_reference(false, false, g.K, g.col_cols(), g.col_rows(), w, g.col_rows(), col,
                   g.col_cols(), y_n, g.col_cols());
    if (bias != nullptr) add_bias(bias, g, y_n);
  }
}

template <typename T>
void reference_backward_data(const T* dy, const T* w, const ConvGeometry& g, T* dx) {
  std::unique_ptr<T[]> buffer = column_buffer<T>(g);
  for (int64_t n = 0; n < g.N; ++n) {
    // dcol (CRS, PQ) = w^T (CRS, K) dy_n (K, PQ)
    gemm_reference(true, false, g.col_rows(), g.col_cols(), g.K, w, g.col_rows(),
                   dy + n * g.output_size(), g.col_cols(), buffer.get(), g.col_cols());
    col2im(buffer.get(), g.col_cols(), g, dx + n * g.image_size());
  }
}

template <typename T>
void reference_backward_weight(const T* dy, const T* x, const ConvGeometry& g, T* dw) {
  const int64_t weight_size = g.K * g.col_rows();
  std::fill(dw, dw + weight_size, T(0));
  std::unique_ptr<T[]> buffer = column_buffer<T>(g);
  auto partial = std::make_unique_for_overwrite<T[]>(static_cast<size_t>(weight_size));
  for (int64_t n = 0; n < g.N; ++n) {
    const T* col = columns(x + n * g.image_size(), g, buffer.get());
    // (K, CRS) = dy_n (K, PQ) col^T (PQ, CRS), then added into dw
    gemm_reference(false, true, g.K, g.col_rows(), g.col_cols(), dy + n * g.output_size(),
                   g.col_cols(), col, g.col_cols(), partial.get(), g.col_rows());
    for (int64_t i = 0; i < weight_size; ++i) dw[i] += partial[i];
  }
}

// The forward, followed by a ReLU when `relu`: float32 applies it as it stores each output,
// the reference in a pass after it.
Tensor forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p, bool relu,
               const char* op) {
  const ConvGeometry g = conv_geometry(x.shape(), w.shape(), p, op);
  Tensor y = Tensor::empty(Shape{g.N, g.K, g.P, g.Q}, x.dtype());  // (N, K, P, Q)
  dispatch_float(x.dtype(), op, [&]<typename T>() {
    const T* bias = b.defined() ? b.const_data<T>() : nullptr;
    if constexpr (std::is_same_v<T, float>) {
      conv2d_forward_f32(x.const_data<T>(), w.const_data<T>(), {.bias = bias, .relu = relu}, g,
                         y.data<T>());
    } else {
      reference_forward(x.const_data<T>(), w.const_data<T>(), bias, g, y.data<T>());
      if (relu) {
        T* values = y.data<T>();
        for (int64_t i = 0; i < y.numel(); ++i) values[i] = values[i] > T(0) ? values[i] : T(0);
      }
    }
  });
  return y;
}

}  // namespace

Tensor CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                                  const Conv2dParams& p) const {
  return forward(x, w, b, p, false, "conv2d_forward");
}

Tensor CpuBackend::conv2d_relu_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                                       const Conv2dParams& p) const {
  return forward(x, w, b, p, true, "conv2d_relu_forward");
}

Tensor CpuBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                                        const Conv2dParams& p) const {
  const ConvGeometry g = conv_geometry(x_shape, w.shape(), p, "conv2d_backward_data");
  check_output_gradient(dy, g, "conv2d_backward_data");
  Tensor dx = Tensor::empty(x_shape, dy.dtype());  // (N, C, H, W)
  dispatch_float(dy.dtype(), "conv2d_backward_data", [&]<typename T>() {
    if constexpr (std::is_same_v<T, float>) {
      conv2d_backward_data_f32(dy.const_data<T>(), w.const_data<T>(), g, dx.data<T>());
    } else {
      reference_backward_data(dy.const_data<T>(), w.const_data<T>(), g, dx.data<T>());
    }
  });
  return dx;
}

Tensor CpuBackend::conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape,
                                          const Conv2dParams& p) const {
  const ConvGeometry g = conv_geometry(x.shape(), w_shape, p, "conv2d_backward_weight");
  check_output_gradient(dy, g, "conv2d_backward_weight");
  Tensor dw = Tensor::empty(w_shape, dy.dtype());  // (K, C, R, S)
  dispatch_float(dy.dtype(), "conv2d_backward_weight", [&]<typename T>() {
    if constexpr (std::is_same_v<T, float>) {
      conv2d_backward_weight_f32(dy.const_data<T>(), x.const_data<T>(), g, dw.data<T>());
    } else {
      reference_backward_weight(dy.const_data<T>(), x.const_data<T>(), g, dw.data<T>());
    }
  });
  return dw;
}

}  // namespace fsa
