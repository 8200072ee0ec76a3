// resize.cu: bilinear resize of (N,C,H,W) with the three coordinate rules of ResizeMode
// (tensor/params.h), the twin of cpu/resize.cpp. The backward pass gathers: each input
// pixel sums the output pixels that read it, found from the inverse of the coordinate
// map and confirmed with the forward map itself, so no atomics are needed.
#include <cmath>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"

namespace fsa {

namespace {

// The coordinate map of one axis: output index d reads input i0 with weight 1 - frac and
// i1 with weight frac, from the source coordinate s(d) of the mode.
struct AxisMap {
  int64_t in = 0, out = 0;
  ResizeMode mode = ResizeMode::align_corners;

  // The source coordinate, in double so integer coordinates (legacy_tf at scale 7) are exact.
  __device__ double source(int64_t d) const {
    switch (mode) {
      case ResizeMode::align_corners:
        return out > 1 ? static_cast<double>(d * (in - 1)) / static_cast<double>(out - 1) : 0.0;
      case ResizeMode::half_pixel: {
        const double s = (d + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
        return s > 0.0 ? s : 0.0;
      }
      case ResizeMode::legacy_tf:
        return static_cast<double>(d * in) / static_cast<double>(out);
    }
    return 0.0;
  }

  __device__ void taps(int64_t d, int64_t& i0, int64_t& i1, float& frac) const {
    const double s = source(d);
    i0 = min(static_cast<int64_t>(floor(s)), in - 1);
    i1 = min(i0 + 1, in - 1);
    frac = static_cast<float>(s - static_cast<double>(i0));
  }

  // The weight with which output d reads input i (0 when it does not).
  __device__ float weight(int64_t d, int64_t i) const {
    int64_t i0, i1;
    float frac;
    taps(d, i0, i1, frac);
    return (i0 == i ? 1.0f - frac : 0.0f) + (i1 == i ? frac : 0.0f);
  }

  // Output indices that may read input i: those with s(d) in [i - 1, i + 1), widened by one
  // on each side against rounding (weight() has the final word).
  __device__ void readers(int64_t i, int64_t& first, int64_t& last) const {
    double slope = static_cast<double>(in) / static_cast<double>(out), offset = 0.0;
    if (mode == ResizeMode::align_corners) {
      slope = out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
    } else if (mode == ResizeMode::half_pixel) {
      offset = 0.5 * slope - 0.5;
    }
    first = 0;
    last = out - 1;
    if (slope <= 0.0) return;
    first = max(first, static_cast<int64_t>(floor((i - 1 - offset) / slope)) - 1);
    last = min(last, static_cast<int64_t>(ceil((i + 1 - offset) / slope)) + 1);
  }
};

__global__ void resize_forward_kernel(const float* x, AxisMap rows, AxisMap cols, float* y,
                                      int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t ow = i % cols.out, oh = (i / cols.out) % rows.out;
    const int64_t plane = i / (cols.out * rows.out);
    const float* in = x + plane * rows.in * cols.in;
    int64_t h0, h1, w0, w1;
    float fy, fx;
    rows.taps(oh, h0, h1, fy);
    cols.taps(ow, w0, w1, fx);
    const float top = (1.0f - fx) * in[h0 * cols.in + w0] + fx * in[h0 * cols.in + w1];
    const float bottom = (1.0f - fx) * in[h1 * cols.in + w0] + fx * in[h1 * cols.in + w1];
    y[i] = (1.0f - fy) * top + fy * bottom;
  }
}

__global__ void resize_backward_kernel(const float* dy, AxisMap rows, AxisMap cols, float* dx,
                                       int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t iw = i % cols.in, ih = (i / cols.in) % rows.in;
    const int64_t plane = i / (cols.in * rows.in);
    const float* grad = dy + plane * rows.out * cols.out;
    int64_t oh_first, oh_last, ow_first, ow_last;
    rows.readers(ih, oh_first, oh_last);
    cols.readers(iw, ow_first, ow_last);
    float total = 0.0f;
    for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
      const float row_weight = rows.weight(oh, ih);
      if (row_weight == 0.0f) continue;
      for (int64_t ow = ow_first; ow <= ow_last; ++ow) {
        const float col_weight = cols.weight(ow, iw);
        if (col_weight != 0.0f) total += row_weight * col_weight * grad[oh * cols.out + ow];
      }
    }
    dx[i] = total;
  }
}

}  // namespace

Tensor CudaBackend::resize_bilinear_forward(const Tensor& x, int64_t out_h, int64_t out_w,
                                            ResizeMode mode) const {
  check_cuda_f32("resize_bilinear_forward", x);
  FSA_CHECK(out_h >= 1 && out_w >= 1 && x.dim(2) >= 1 && x.dim(3) >= 1,
            "[resize_bilinear] cannot resize ", x.shape(), " to ", out_h, "x", out_w);
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), out_h, out_w}, DType::f32, Device::cuda);
  const int64_t n = y.numel();
  if (n == 0) return y;
  const AxisMap rows{x.dim(2), out_h, mode}, cols{x.dim(3), out_w, mode};
  resize_forward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(x.data<float>(), rows, cols,
                                                                  y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::resize_bilinear_backward(const Tensor& dy, const Shape& x_shape,
                                             ResizeMode mode) const {
  check_cuda_f32("resize_bilinear_backward", dy);
  FSA_CHECK(x_shape[2] >= 1 && x_shape[3] >= 1 && dy.dim(2) >= 1 && dy.dim(3) >= 1,
            "[resize_bilinear_backward] cannot map dy ", dy.shape(), " to ", x_shape);
  Tensor dx = Tensor::empty(x_shape, DType::f32, Device::cuda);
  const int64_t n = dx.numel();
  if (n == 0) return dx;
  const AxisMap rows{x_shape[2], dy.dim(2), mode}, cols{x_shape[3], dy.dim(3), mode};
  resize_backward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(dy.data<float>(), rows, cols,
                                                                   dx.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return dx;
}

}  // namespace fsa
