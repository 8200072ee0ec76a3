// pool.cu: reflection padding, max and average pooling and nearest upsampling over the
// H, W axes of (N,C,H,W), the twin of cpu/pool.cpp. Every kernel, backward included, has
// one thread per element it writes and gathers its inputs: no atomics, so results are
// reproducible. Window rules (tensor/params.h) follow PyTorch.
#include <cmath>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"

namespace fsa {

namespace {

// PyTorch's pooled extent; with ceil_mode the last window must start inside the input or
// the left padding.
int64_t pooled_extent(int64_t in, const Pool2dParams& p) {
  const int64_t span = in + 2 * p.padding - p.kernel + (p.ceil_mode ? p.stride - 1 : 0);
  FSA_CHECK(span >= 0, "[pool2d] kernel ", p.kernel, " is larger than the padded input ", in);
  int64_t out = span / p.stride + 1;
  if (p.ceil_mode && (out - 1) * p.stride >= in + p.padding) --out;
  return out;
}

Shape pooled_shape(const Shape& x, const Pool2dParams& p) {
  return Shape{x[0], x[1], pooled_extent(x[2], p), pooled_extent(x[3], p)};
}

// Window bounds along one axis as the kernels share them.
struct PoolGeometry {
  int64_t in_h, in_w, out_h, out_w, kernel, stride, padding;
};

PoolGeometry pool_geometry(const Shape& x, const Shape& y, const Pool2dParams& p) {
  return {x[2], x[3], y[2], y[3], p.kernel, p.stride, p.padding};
}

// The first and last output index whose window covers input index i.
__device__ inline void covering_windows(int64_t i, int64_t out, const PoolGeometry& g,
                                        int64_t& first, int64_t& last) {
  const int64_t lowest_start = i + g.padding - g.kernel + 1;
  first = lowest_start <= 0 ? 0 : (lowest_start + g.stride - 1) / g.stride;
  last = min((i + g.padding) / g.stride, out - 1);
}

// Flat offset (within the plane) of the first maximum, row-major, of window (oh, ow).
__device__ inline int64_t window_argmax(const float* plane, int64_t oh, int64_t ow,
                                        const PoolGeometry& g) {
  const int64_t h0 = oh * g.stride - g.padding, w0 = ow * g.stride - g.padding;
  const int64_t h_begin = max(h0, int64_t{0}), h_end = min(h0 + g.kernel, g.in_h);
  const int64_t w_begin = max(w0, int64_t{0}), w_end = min(w0 + g.kernel, g.in_w);
  int64_t best = -1;
  float best_value = -INFINITY;
  for (int64_t h = h_begin; h < h_end; ++h) {
    for (int64_t w = w_begin; w < w_end; ++w) {
      const float value = plane[h * g.in_w + w];
      if (best < 0 || value > best_value) {
        best = h * g.in_w + w;
        best_value = value;
      }
    }
  }
  return best;
}

// Divisor of window (oh, ow): its extent inside the padded input (count_include_pad).
__device__ inline float window_divisor(int64_t oh, int64_t ow, const PoolGeometry& g) {
  const int64_t h0 = oh * g.stride - g.padding, w0 = ow * g.stride - g.padding;
  const int64_t h_end = min(h0 + g.kernel, g.in_h + g.padding);
  const int64_t w_end = min(w0 + g.kernel, g.in_w + g.padding);
  return static_cast<float>((h_end - h0) * (w_end - w0));
}

__global__ void max_pool_forward_kernel(const float* x, PoolGeometry g, float* y, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, plane = i / (g.out_w * g.out_h);
    const float* in = x + plane * g.in_h * g.in_w;
    const int64_t best = window_argmax(in, oh, ow, g);
    y[i] = best < 0 ? -INFINITY : in[best];
  }
}

// dx at (ih, iw) gathers dy of every window whose first maximum is (ih, iw).
__global__ void max_pool_backward_kernel(const float* x, const float* dy, PoolGeometry g, float* dx,
                                         int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t iw = i % g.in_w, ih = (i / g.in_w) % g.in_h, plane = i / (g.in_w * g.in_h);
    const float* in = x + plane * g.in_h * g.in_w;
    const float* grad = dy + plane * g.out_h * g.out_w;
    int64_t oh_first, oh_last, ow_first, ow_last;
    covering_windows(ih, g.out_h, g, oh_first, oh_last);
    covering_windows(iw, g.out_w, g, ow_first, ow_last);
    float total = 0.0f;
    for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
      for (int64_t ow = ow_first; ow <= ow_last; ++ow) {
        if (window_argmax(in, oh, ow, g) == ih * g.in_w + iw) total += grad[oh * g.out_w + ow];
      }
    }
    dx[i] = total;
  }
}

__global__ void avg_pool_forward_kernel(const float* x, PoolGeometry g, float* y, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, plane = i / (g.out_w * g.out_h);
    const float* in = x + plane * g.in_h * g.in_w;
    const int64_t h0 = oh * g.stride - g.padding, w0 = ow * g.stride - g.padding;
    float total = 0.0f;
    for (int64_t h = max(h0, int64_t{0}); h < min(h0 + g.kernel, g.in_h); ++h) {
      for (int64_t w = max(w0, int64_t{0}); w < min(w0 + g.kernel, g.in_w); ++w) {
        total += in[h * g.in_w + w];
      }
    }
    y[i] = total / window_divisor(oh, ow, g);
  }
}

__global__ void avg_pool_backward_kernel(const float* dy, PoolGeometry g, float* dx, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t iw = i % g.in_w, ih = (i / g.in_w) % g.in_h, plane = i / (g.in_w * g.in_h);
    const float* grad = dy + plane * g.out_h * g.out_w;
    int64_t oh_first, oh_last, ow_first, ow_last;
    covering_windows(ih, g.out_h, g, oh_first, oh_last);
    covering_windows(iw, g.out_w, g, ow_first, ow_last);
    float total = 0.0f;
    for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
      for (int64_t ow = ow_first; ow <= ow_last; ++ow) {
        total += grad[oh * g.out_w + ow] / window_divisor(oh, ow, g);
      }
    }
    dx[i] = total;
  }
}

// Mirror index without repeating the edge: -1 -> 1, n -> n - 2.
__device__ inline int64_t reflect(int64_t i, int64_t n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

// The (one to three) padded indices that reflect onto input index i of extent n.
__device__ inline int reflection_sources(int64_t i, int64_t n, int64_t pad, int64_t sources[3]) {
  int count = 0;
  sources[count++] = i + pad;
  if (i >= 1 && i <= pad) sources[count++] = pad - i;                            // left mirror
  if (i <= n - 2 && i >= n - 1 - pad) sources[count++] = 2 * (n - 1) - i + pad;  // right mirror
  return count;
}

__global__ void reflection_pad_forward_kernel(const float* x, int64_t in_h, int64_t in_w,
                                              int64_t pad, float* y, int64_t n) {
  const int64_t out_h = in_h + 2 * pad, out_w = in_w + 2 * pad;
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t ow = i % out_w, oh = (i / out_w) % out_h, plane = i / (out_w * out_h);
    y[i] = x[(plane * in_h + reflect(oh - pad, in_h)) * in_w + reflect(ow - pad, in_w)];
  }
}

__global__ void reflection_pad_backward_kernel(const float* dy, int64_t in_h, int64_t in_w,
                                               int64_t pad, float* dx, int64_t n) {
  const int64_t out_h = in_h + 2 * pad, out_w = in_w + 2 * pad;
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t iw = i % in_w, ih = (i / in_w) % in_h, plane = i / (in_w * in_h);
    int64_t rows[3], cols[3];
    const int row_count = reflection_sources(ih, in_h, pad, rows);
    const int col_count = reflection_sources(iw, in_w, pad, cols);
    float total = 0.0f;
    for (int r = 0; r < row_count; ++r) {
      for (int c = 0; c < col_count; ++c) total += dy[(plane * out_h + rows[r]) * out_w + cols[c]];
    }
    dx[i] = total;
  }
}

__global__ void upsample_forward_kernel(const float* x, int64_t in_h, int64_t in_w, int64_t scale,
                                        float* y, int64_t n) {
  const int64_t out_h = in_h * scale, out_w = in_w * scale;
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t ow = i % out_w, oh = (i / out_w) % out_h, plane = i / (out_w * out_h);
    y[i] = x[(plane * in_h + oh / scale) * in_w + ow / scale];
  }
}

// dx sums its scale x scale block of dy.
__global__ void upsample_backward_kernel(const float* dy, int64_t in_h, int64_t in_w, int64_t scale,
                                         float* dx, int64_t n) {
  const int64_t out_h = in_h * scale, out_w = in_w * scale;
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t iw = i % in_w, ih = (i / in_w) % in_h, plane = i / (in_w * in_h);
    float total = 0.0f;
    for (int64_t a = 0; a < scale; ++a) {
      for (int64_t b = 0; b < scale; ++b) {
        total += dy[(plane * out_h + ih * scale + a) * out_w + iw * scale + b];
      }
    }
    dx[i] = total;
  }
}

}  // namespace

Tensor CudaBackend::reflection_pad2d_forward(const Tensor& x, int64_t pad) const {
  check_cuda_f32("reflection_pad2d_forward", x);
  const int64_t in_h = x.dim(2), in_w = x.dim(3);
  FSA_CHECK(pad >= 0 && pad < in_h && pad < in_w, "[reflection_pad2d] pad ", pad,
            " must be below the extents of ", x.shape());
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), in_h + 2 * pad, in_w + 2 * pad}, DType::f32,
                           Device::cuda);
  const int64_t n = y.numel();
  if (n == 0) return y;
  reflection_pad_forward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      x.data<float>(), in_h, in_w, pad, y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::reflection_pad2d_backward(const Tensor& dy, int64_t pad) const {
  check_cuda_f32("reflection_pad2d_backward", dy);
  const int64_t in_h = dy.dim(2) - 2 * pad, in_w = dy.dim(3) - 2 * pad;
  FSA_CHECK(pad >= 0 && pad < in_h && pad < in_w, "[reflection_pad2d_backward] pad ", pad,
            " does not fit dy ", dy.shape());
  Tensor dx = Tensor::empty(Shape{dy.dim(0), dy.dim(1), in_h, in_w}, DType::f32, Device::cuda);
  const int64_t n = dx.numel();
  if (n == 0) return dx;
  reflection_pad_backward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      dy.data<float>(), in_h, in_w, pad, dx.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return dx;
}

Tensor CudaBackend::max_pool2d_forward(const Tensor& x, const Pool2dParams& p) const {
  check_cuda_f32("max_pool2d_forward", x);
  const Shape y_shape = pooled_shape(x.shape(), p);
  Tensor y = Tensor::empty(y_shape, DType::f32, Device::cuda);  // (N, C, P, Q)
  const int64_t n = y.numel();
  if (n == 0) return y;
  max_pool_forward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      x.data<float>(), pool_geometry(x.shape(), y_shape, p), y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::max_pool2d_backward(const Tensor& x, const Tensor& dy,
                                        const Pool2dParams& p) const {
  check_cuda_f32("max_pool2d_backward", x);
  check_cuda_f32("max_pool2d_backward", dy);
  FSA_CHECK(pooled_shape(x.shape(), p) == dy.shape(), "[max_pool2d_backward] dy ", dy.shape(),
            " does not match input ", x.shape());
  Tensor dx = Tensor::empty(x.shape(), DType::f32, Device::cuda);
  const int64_t n = dx.numel();
  if (n == 0) return dx;
  max_pool_backward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      x.data<float>(), dy.data<float>(), pool_geometry(x.shape(), dy.shape(), p), dx.data<float>(),
      n);
  CUDA_CHECK_LAUNCH();
  return dx;
}

Tensor CudaBackend::avg_pool2d_forward(const Tensor& x, const Pool2dParams& p) const {
  check_cuda_f32("avg_pool2d_forward", x);
  const Shape y_shape = pooled_shape(x.shape(), p);
  Tensor y = Tensor::empty(y_shape, DType::f32, Device::cuda);  // (N, C, P, Q)
  const int64_t n = y.numel();
  if (n == 0) return y;
  avg_pool_forward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      x.data<float>(), pool_geometry(x.shape(), y_shape, p), y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::avg_pool2d_backward(const Tensor& dy, const Shape& x_shape,
                                        const Pool2dParams& p) const {
  check_cuda_f32("avg_pool2d_backward", dy);
  FSA_CHECK(pooled_shape(x_shape, p) == dy.shape(), "[avg_pool2d_backward] dy ", dy.shape(),
            " does not match input ", x_shape);
  Tensor dx = Tensor::empty(x_shape, DType::f32, Device::cuda);
  const int64_t n = dx.numel();
  if (n == 0) return dx;
  avg_pool_backward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      dy.data<float>(), pool_geometry(x_shape, dy.shape(), p), dx.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return dx;
}

Tensor CudaBackend::upsample_nearest_forward(const Tensor& x, int64_t scale) const {
  check_cuda_f32("upsample_nearest_forward", x);
  FSA_CHECK(scale >= 1, "[upsample_nearest] scale must be at least 1, got ", scale);
  const int64_t in_h = x.dim(2), in_w = x.dim(3);
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), in_h * scale, in_w * scale}, DType::f32,
                           Device::cuda);
  const int64_t n = y.numel();
  if (n == 0) return y;
  upsample_forward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(x.data<float>(), in_h, in_w,
                                                                    scale, y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::upsample_nearest_backward(const Tensor& dy, int64_t scale) const {
  check_cuda_f32("upsample_nearest_backward", dy);
  FSA_CHECK(scale >= 1 && dy.dim(2) % scale == 0 && dy.dim(3) % scale == 0,
            "[upsample_nearest_backward] dy ", dy.shape(), " is not a multiple of scale ", scale);
  const int64_t in_h = dy.dim(2) / scale, in_w = dy.dim(3) / scale;
  Tensor dx = Tensor::empty(Shape{dy.dim(0), dy.dim(1), in_h, in_w}, DType::f32, Device::cuda);
  const int64_t n = dx.numel();
  if (n == 0) return dx;
  upsample_backward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(dy.data<float>(), in_h, in_w,
                                                                     scale, dx.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return dx;
}

}  // namespace fsa
