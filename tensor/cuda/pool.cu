// pool.cu: reflection padding, max and average pooling and nearest upsampling over the
// H, W axes of (N,C,H,W), the twin of cpu/pool.cpp. Kernels walk the N*C planes along the
// grid's y and index within a plane in 32 bits. Each output element is written by one
// thread, which gathers its inputs: no atomics, so results are reproducible. Window rules
// (tensor/params.h) follow PyTorch.
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

// The extents the pooling kernels share, checked on the host to fit 32-bit plane indices.
struct PoolGeometry {
  int in_h, in_w, out_h, out_w, kernel, stride, padding;
};

PoolGeometry pool_geometry(const Shape& x, const Shape& y, const Pool2dParams& p) {
  FSA_CHECK(x[2] * x[3] < kMaxPlaneSize && y[2] * y[3] < kMaxPlaneSize && p.kernel < 65536 &&
                p.stride < 65536 && p.padding < 65536,
            "[pool2d] input ", x, " or output ", y, " is too large for the cuda kernels");
  return {static_cast<int>(x[2]),     static_cast<int>(x[3]),     static_cast<int>(y[2]),
          static_cast<int>(y[3]),     static_cast<int>(p.kernel), static_cast<int>(p.stride),
          static_cast<int>(p.padding)};
}

// Windows that tile the input exactly (kernel = stride, no padding, no remainder, like
// VGG's 2x2 pooling on even extents): every input element lies in exactly one window.
bool windows_tile_input(const PoolGeometry& g) {
  return g.padding == 0 && g.kernel == g.stride && g.out_h * g.kernel == g.in_h &&
         g.out_w * g.kernel == g.in_w;
}

// The first and last output index whose window covers input index i.
__device__ inline void covering_windows(int i, int out, const PoolGeometry& g, int& first,
                                        int& last) {
  const int lowest_start = i + g.padding - g.kernel + 1;
  first = lowest_start <= 0 ? 0 : (lowest_start + g.stride - 1) / g.stride;
  last = min((i + g.padding) / g.stride, out - 1);
}

// Offset (within the plane) of the first maximum, row-major, of window (oh, ow).
__device__ inline int window_argmax(const float* plane, int oh, int ow, const PoolGeometry& g) {
  const int h0 = oh * g.stride - g.padding, w0 = ow * g.stride - g.padding;
  const int h_begin = max(h0, 0), h_end = min(h0 + g.kernel, g.in_h);
  const int w_begin = max(w0, 0), w_end = min(w0 + g.kernel, g.in_w);
  int best = -1;
  float best_value = -INFINITY;
  for (int h = h_begin; h < h_end; ++h) {
    for (int w = w_begin; w < w_end; ++w) {
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
__device__ inline float window_divisor(int oh, int ow, const PoolGeometry& g) {
  const int h0 = oh * g.stride - g.padding, w0 = ow * g.stride - g.padding;
  const int h_end = min(h0 + g.kernel, g.in_h + g.padding);
  const int w_end = min(w0 + g.kernel, g.in_w + g.padding);
  return static_cast<float>((h_end - h0) * (w_end - w0));
}

__global__ void max_pool_forward_kernel(const float* x, PoolGeometry g, float* y, int64_t planes) {
  const int in_size = g.in_h * g.in_w, out_size = g.out_h * g.out_w;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float* in = x + plane * in_size;
    for (int i = plane_position_index(); i < out_size; i += plane_position_count()) {
      const int best = window_argmax(in, i / g.out_w, i % g.out_w, g);
      y[plane * out_size + i] = best < 0 ? -INFINITY : in[best];
    }
  }
}

// dx at (ih, iw) gathers dy of every window whose first maximum is (ih, iw).
__global__ void max_pool_backward_kernel(const float* x, const float* dy, PoolGeometry g, float* dx,
                                         int64_t planes) {
  const int in_size = g.in_h * g.in_w, out_size = g.out_h * g.out_w;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float* in = x + plane * in_size;
    const float* grad = dy + plane * out_size;
    for (int i = plane_position_index(); i < in_size; i += plane_position_count()) {
      const int ih = i / g.in_w, iw = i % g.in_w;
      int oh_first, oh_last, ow_first, ow_last;
      covering_windows(ih, g.out_h, g, oh_first, oh_last);
      covering_windows(iw, g.out_w, g, ow_first, ow_last);
      float total = 0.0f;
      for (int oh = oh_first; oh <= oh_last; ++oh) {
        for (int ow = ow_first; ow <= ow_last; ++ow) {
          if (window_argmax(in, oh, ow, g) == i) total += grad[oh * g.out_w + ow];
        }
      }
      dx[plane * in_size + i] = total;
    }
  }
}

// The same when the windows tile the input: one thread per window writes its whole block,
// dy at the window's first maximum and zero elsewhere, so each maximum is found once.
__global__ void max_pool_backward_tiled_kernel(const float* x, const float* dy, PoolGeometry g,
                                               float* dx, int64_t planes) {
  const int in_size = g.in_h * g.in_w, out_size = g.out_h * g.out_w;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float* in = x + plane * in_size;
    float* out = dx + plane * in_size;
    for (int i = plane_position_index(); i < out_size; i += plane_position_count()) {
      const int oh = i / g.out_w, ow = i % g.out_w;
      const int best = window_argmax(in, oh, ow, g);
      const float grad = dy[plane * out_size + i];
      for (int h = oh * g.kernel; h < (oh + 1) * g.kernel; ++h) {
        for (int w = ow * g.kernel; w < (ow + 1) * g.kernel; ++w) {
          out[h * g.in_w + w] = h * g.in_w + w == best ? grad : 0.0f;
        }
      }
    }
  }
}

__global__ void avg_pool_forward_kernel(const float* x, PoolGeometry g, float* y, int64_t planes) {
  const int in_size = g.in_h * g.in_w, out_size = g.out_h * g.out_w;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float* in = x + plane * in_size;
    for (int i = plane_position_index(); i < out_size; i += plane_position_count()) {
      const int oh = i / g.out_w, ow = i % g.out_w;
      const int h0 = oh * g.stride - g.padding, w0 = ow * g.stride - g.padding;
      float total = 0.0f;
      for (int h = max(h0, 0); h < min(h0 + g.kernel, g.in_h); ++h) {
        for (int w = max(w0, 0); w < min(w0 + g.kernel, g.in_w); ++w) total += in[h * g.in_w + w];
      }
      y[plane * out_size + i] = total / window_divisor(oh, ow, g);
    }
  }
}

__global__ void avg_pool_backward_kernel(const float* dy, PoolGeometry g, float* dx,
                                         int64_t planes) {
  const int in_size = g.in_h * g.in_w, out_size = g.out_h * g.out_w;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float* grad = dy + plane * out_size;
    for (int i = plane_position_index(); i < in_size; i += plane_position_count()) {
      int oh_first, oh_last, ow_first, ow_last;
      covering_windows(i / g.in_w, g.out_h, g, oh_first, oh_last);
      covering_windows(i % g.in_w, g.out_w, g, ow_first, ow_last);
      float total = 0.0f;
      for (int oh = oh_first; oh <= oh_last; ++oh) {
        for (int ow = ow_first; ow <= ow_last; ++ow) {
          total += grad[oh * g.out_w + ow] / window_divisor(oh, ow, g);
        }
      }
      dx[plane * in_size + i] = total;
    }
  }
}

// The extents of a padding or upsampling launch: an input plane and its output plane.
struct PlanePair {
  int in_h, in_w, out_h, out_w;
};

PlanePair plane_pair(const Shape& in, const Shape& out, const char* op) {
  FSA_CHECK(in[2] * in[3] < kMaxPlaneSize && out[2] * out[3] < kMaxPlaneSize, "[", op, "] input ",
            in, " or output ", out, " is too large for the cuda kernels");
  return {static_cast<int>(in[2]), static_cast<int>(in[3]), static_cast<int>(out[2]),
          static_cast<int>(out[3])};
}

// Mirror index without repeating the edge: -1 -> 1, n -> n - 2.
__device__ inline int reflect(int i, int n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

// The (one to three) padded indices that reflect onto input index i of extent n.
__device__ inline int reflection_sources(int i, int n, int pad, int sources[3]) {
  int count = 0;
  sources[count++] = i + pad;
  if (i >= 1 && i <= pad) sources[count++] = pad - i;                            // left mirror
  if (i <= n - 2 && i >= n - 1 - pad) sources[count++] = 2 * (n - 1) - i + pad;  // right mirror
  return count;
}

__global__ void reflection_pad_forward_kernel(const float* x, PlanePair e, int pad, float* y,
                                              int64_t planes) {
  const int in_size = e.in_h * e.in_w, out_size = e.out_h * e.out_w;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float* in = x + plane * in_size;
    for (int i = plane_position_index(); i < out_size; i += plane_position_count()) {
      const int oh = i / e.out_w, ow = i % e.out_w;
      y[plane * out_size + i] = in[reflect(oh - pad, e.in_h) * e.in_w + reflect(ow - pad, e.in_w)];
    }
  }
}

__global__ void reflection_pad_backward_kernel(const float* dy, PlanePair e, int pad, float* dx,
                                               int64_t planes) {
  const int in_size = e.in_h * e.in_w, out_size = e.out_h * e.out_w;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float* grad = dy + plane * out_size;
    for (int i = plane_position_index(); i < in_size; i += plane_position_count()) {
      int rows[3], cols[3];
      const int row_count = reflection_sources(i / e.in_w, e.in_h, pad, rows);
      const int col_count = reflection_sources(i % e.in_w, e.in_w, pad, cols);
      float total = 0.0f;
      for (int r = 0; r < row_count; ++r) {
        for (int c = 0; c < col_count; ++c) total += grad[rows[r] * e.out_w + cols[c]];
      }
      dx[plane * in_size + i] = total;
    }
  }
}

__global__ void upsample_forward_kernel(const float* x, PlanePair e, int scale, float* y,
                                        int64_t planes) {
  const int in_size = e.in_h * e.in_w, out_size = e.out_h * e.out_w;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float* in = x + plane * in_size;
    for (int i = plane_position_index(); i < out_size; i += plane_position_count()) {
      y[plane * out_size + i] = in[(i / e.out_w / scale) * e.in_w + (i % e.out_w) / scale];
    }
  }
}

// dx sums its scale x scale block of dy.
__global__ void upsample_backward_kernel(const float* dy, PlanePair e, int scale, float* dx,
                                         int64_t planes) {
  const int in_size = e.in_h * e.in_w, out_size = e.out_h * e.out_w;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float* grad = dy + plane * out_size;
    for (int i = plane_position_index(); i < in_size; i += plane_position_count()) {
      const int ih = i / e.in_w, iw = i % e.in_w;
      float total = 0.0f;
      for (int a = 0; a < scale; ++a) {
        for (int b = 0; b < scale; ++b) total += grad[(ih * scale + a) * e.out_w + iw * scale + b];
      }
      dx[plane * in_size + i] = total;
    }
  }
}

// Planes of (N, C, H, W): N * C.
int64_t planes_of(const Shape& nchw) { return nchw[0] * nchw[1]; }

}  // namespace

Tensor CudaBackend::reflection_pad2d_forward(const Tensor& x, int64_t pad) const {
  check_cuda_f32("reflection_pad2d_forward", x);
  const int64_t in_h = x.dim(2), in_w = x.dim(3);
  FSA_CHECK(pad >= 0 && pad < in_h && pad < in_w, "[reflection_pad2d] pad ", pad,
            " must be below the extents of ", x.shape());
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), in_h + 2 * pad, in_w + 2 * pad}, DType::f32,
                           Device::cuda);
  if (y.numel() == 0) return y;
  const PlanePair e = plane_pair(x.shape(), y.shape(), "reflection_pad2d");
  reflection_pad_forward_kernel<<<plane_grid(planes_of(y.shape()), y.dim(2) * y.dim(3),
                                             "reflection_pad2d"),
                                  kBlockSize, 0, stream()>>>(
      x.data<float>(), e, static_cast<int>(pad), y.data<float>(), planes_of(y.shape()));
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::reflection_pad2d_backward(const Tensor& dy, int64_t pad) const {
  check_cuda_f32("reflection_pad2d_backward", dy);
  const int64_t in_h = dy.dim(2) - 2 * pad, in_w = dy.dim(3) - 2 * pad;
  FSA_CHECK(pad >= 0 && pad < in_h && pad < in_w, "[reflection_pad2d_backward] pad ", pad,
            " does not fit dy ", dy.shape());
  Tensor dx = Tensor::empty(Shape{dy.dim(0), dy.dim(1), in_h, in_w}, DType::f32, Device::cuda);
  if (dx.numel() == 0) return dx;
  const PlanePair e = plane_pair(dx.shape(), dy.shape(), "reflection_pad2d_backward");
  reflection_pad_backward_kernel<<<plane_grid(planes_of(dx.shape()), in_h * in_w,
                                              "reflection_pad2d_backward"),
                                   kBlockSize, 0, stream()>>>(
      dy.data<float>(), e, static_cast<int>(pad), dx.data<float>(), planes_of(dx.shape()));
  CUDA_CHECK_LAUNCH();
  return dx;
}

Tensor CudaBackend::max_pool2d_forward(const Tensor& x, const Pool2dParams& p) const {
  check_cuda_f32("max_pool2d_forward", x);
  const Shape y_shape = pooled_shape(x.shape(), p);
  Tensor y = Tensor::empty(y_shape, DType::f32, Device::cuda);  // (N, C, P, Q)
  if (y.numel() == 0) return y;
  const PoolGeometry g = pool_geometry(x.shape(), y_shape, p);
  const int64_t planes = planes_of(y_shape);
  max_pool_forward_kernel<<<plane_grid(planes, y_shape[2] * y_shape[3], "max_pool2d"), kBlockSize,
                            0, stream()>>>(x.data<float>(), g, y.data<float>(), planes);
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
  if (dx.numel() == 0) return dx;
  const PoolGeometry g = pool_geometry(x.shape(), dy.shape(), p);
  const int64_t planes = planes_of(x.shape());
  if (windows_tile_input(g)) {
    max_pool_backward_tiled_kernel<<<plane_grid(planes, dy.dim(2) * dy.dim(3),
                                                "max_pool2d_backward"),
                                     kBlockSize, 0, stream()>>>(x.data<float>(), dy.data<float>(),
                                                                g, dx.data<float>(), planes);
  } else {
    max_pool_backward_kernel<<<plane_grid(planes, x.dim(2) * x.dim(3), "max_pool2d_backward"),
                               kBlockSize, 0, stream()>>>(x.data<float>(), dy.data<float>(), g,
                                                          dx.data<float>(), planes);
  }
  CUDA_CHECK_LAUNCH();
  return dx;
}

Tensor CudaBackend::avg_pool2d_forward(const Tensor& x, const Pool2dParams& p) const {
  check_cuda_f32("avg_pool2d_forward", x);
  const Shape y_shape = pooled_shape(x.shape(), p);
  Tensor y = Tensor::empty(y_shape, DType::f32, Device::cuda);  // (N, C, P, Q)
  if (y.numel() == 0) return y;
  const PoolGeometry g = pool_geometry(x.shape(), y_shape, p);
  const int64_t planes = planes_of(y_shape);
  avg_pool_forward_kernel<<<plane_grid(planes, y_shape[2] * y_shape[3], "avg_pool2d"), kBlockSize,
                            0, stream()>>>(x.data<float>(), g, y.data<float>(), planes);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::avg_pool2d_backward(const Tensor& dy, const Shape& x_shape,
                                        const Pool2dParams& p) const {
  check_cuda_f32("avg_pool2d_backward", dy);
  FSA_CHECK(pooled_shape(x_shape, p) == dy.shape(), "[avg_pool2d_backward] dy ", dy.shape(),
            " does not match input ", x_shape);
  Tensor dx = Tensor::empty(x_shape, DType::f32, Device::cuda);
  if (dx.numel() == 0) return dx;
  const PoolGeometry g = pool_geometry(x_shape, dy.shape(), p);
  const int64_t planes = planes_of(x_shape);
  avg_pool_backward_kernel<<<plane_grid(planes, x_shape[2] * x_shape[3], "avg_pool2d_backward"),
                             kBlockSize, 0, stream()>>>(dy.data<float>(), g, dx.data<float>(),
                                                        planes);
  CUDA_CHECK_LAUNCH();
  return dx;
}

Tensor CudaBackend::upsample_nearest_forward(const Tensor& x, int64_t scale) const {
  check_cuda_f32("upsample_nearest_forward", x);
  FSA_CHECK(scale >= 1 && scale < 65536, "[upsample_nearest] scale must be in [1, 65535], got ",
            scale);
  const int64_t in_h = x.dim(2), in_w = x.dim(3);
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), in_h * scale, in_w * scale}, DType::f32,
                           Device::cuda);
  if (y.numel() == 0) return y;
  const PlanePair e = plane_pair(x.shape(), y.shape(), "upsample_nearest");
  const int64_t planes = planes_of(y.shape());
  upsample_forward_kernel<<<plane_grid(planes, y.dim(2) * y.dim(3), "upsample_nearest"), kBlockSize,
                            0, stream()>>>(x.data<float>(), e, static_cast<int>(scale),
                                           y.data<float>(), planes);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::upsample_nearest_backward(const Tensor& dy, int64_t scale) const {
  check_cuda_f32("upsample_nearest_backward", dy);
  FSA_CHECK(scale >= 1 && scale < 65536 && dy.dim(2) % scale == 0 && dy.dim(3) % scale == 0,
            "[upsample_nearest_backward] dy ", dy.shape(), " is not a multiple of scale ", scale);
  const int64_t in_h = dy.dim(2) / scale, in_w = dy.dim(3) / scale;
  Tensor dx = Tensor::empty(Shape{dy.dim(0), dy.dim(1), in_h, in_w}, DType::f32, Device::cuda);
  if (dx.numel() == 0) return dx;
  const PlanePair e = plane_pair(dx.shape(), dy.shape(), "upsample_nearest_backward");
  const int64_t planes = planes_of(dx.shape());
  upsample_backward_kernel<<<plane_grid(planes, in_h * in_w, "upsample_nearest_backward"),
                             kBlockSize, 0, stream()>>>(
      dy.data<float>(), e, static_cast<int>(scale), dx.data<float>(), planes);
  CUDA_CHECK_LAUNCH();
  return dx;
}

}  // namespace fsa
