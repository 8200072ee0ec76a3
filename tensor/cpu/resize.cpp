// resize.cpp: bilinear resizing of (N,C,H,W) with the three coordinate rules of ResizeMode
// (tensor/params.h). Each axis gets a table of (lower, upper, weight) samples; forward blends
// four source pixels and backward scatters dy with the same four weights (the exact adjoint).
#include <algorithm>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"

namespace fsa {

namespace {

// Output index d reads (1 - weight) * x[lower] + weight * x[upper].
struct AxisSample {
  int64_t lower, upper;
  double weight;
};

// The source coordinate s = numerator / denominator, with its integer and fractional parts
// taken in integer arithmetic, so that e.g. legacy_tf's s = 7i / 7 is exactly i. Past the
// last pixel both neighbours are that pixel; weight 0 then keeps its value exact.
AxisSample sample_at(int64_t numerator, int64_t denominator, int64_t in) {
  const int64_t lower = numerator / denominator;
  if (lower >= in - 1) return {in - 1, in - 1, 0.0};
  const double weight =
      static_cast<double>(numerator % denominator) / static_cast<double>(denominator);
  return {lower, lower + 1, weight};
}

AxisSample axis_sample(int64_t d, int64_t in, int64_t out, ResizeMode mode) {
  switch (mode) {
    case ResizeMode::align_corners:  // s = d * (in-1) / (out-1); s = 0 when out == 1
      if (out == 1) return {0, std::min<int64_t>(1, in - 1), 0.0};
      return sample_at(d * (in - 1), out - 1, in);
    case ResizeMode::half_pixel: {  // s = (d + 0.5) * in/out - 0.5 = ((2d+1) in - out) / (2 out)
      const int64_t numerator = (2 * d + 1) * in - out;
      return sample_at(std::max<int64_t>(numerator, 0), 2 * out, in);
    }
    case ResizeMode::legacy_tf:  // s = d * in/out
      return sample_at(d * in, out, in);
  }
  fail("[resize_bilinear] unknown ResizeMode");
}

std::vector<AxisSample> axis_samples(int64_t in, int64_t out, ResizeMode mode) {
  std::vector<AxisSample> samples;
  samples.reserve(static_cast<size_t>(out));
  for (int64_t d = 0; d < out; ++d) samples.push_back(axis_sample(d, in, out, mode));
  return samples;
}

}  // namespace

Tensor CpuBackend::resize_bilinear_forward(const Tensor& x, int64_t out_h, int64_t out_w,
                                           ResizeMode mode) const {
  const int64_t planes = x.dim(0) * x.dim(1), in_h = x.dim(2), in_w = x.dim(3);
  const std::vector<AxisSample> rows = axis_samples(in_h, out_h, mode);
  const std::vector<AxisSample> cols = axis_samples(in_w, out_w, mode);
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), out_h, out_w}, x.dtype());
  dispatch_float(x.dtype(), "resize_bilinear_forward", [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* out = y.data<T>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* src = in + plane * in_h * in_w;
      T* dst = out + plane * out_h * out_w;
      for (int64_t h = 0; h < out_h; ++h) {
        const AxisSample& r = rows[static_cast<size_t>(h)];
        const T* top = src + r.lower * in_w;
        const T* bottom = src + r.upper * in_w;
        for (int64_t w = 0; w < out_w; ++w) {
          const AxisSample& c = cols[static_cast<size_t>(w)];
          const double top_blend = (1.0 - c.weight) * top[c.lower] + c.weight * top[c.upper];
          const double bottom_blend =
              (1.0 - c.weight) * bottom[c.lower] + c.weight * bottom[c.upper];
          dst[h * out_w + w] =
              static_cast<T>((1.0 - r.weight) * top_blend + r.weight * bottom_blend);
        }
      }
    }
  });
  return y;
}

Tensor CpuBackend::resize_bilinear_backward(const Tensor& dy, const Shape& x_shape,
                                            ResizeMode mode) const {
  const int64_t planes = x_shape[0] * x_shape[1], in_h = x_shape[2], in_w = x_shape[3];
  const int64_t out_h = dy.dim(2), out_w = dy.dim(3);
  const std::vector<AxisSample> rows = axis_samples(in_h, out_h, mode);
  const std::vector<AxisSample> cols = axis_samples(in_w, out_w, mode);
  Tensor dx = Tensor::zeros(x_shape, dy.dtype());
  dispatch_float(dy.dtype(), "resize_bilinear_backward", [&]<typename T>() {
    const T* dys = dy.const_data<T>();
    T* dxs = dx.data<T>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* src = dys + plane * out_h * out_w;
      T* dst = dxs + plane * in_h * in_w;
      for (int64_t h = 0; h < out_h; ++h) {
        const AxisSample& r = rows[static_cast<size_t>(h)];
        T* top = dst + r.lower * in_w;
        T* bottom = dst + r.upper * in_w;
        for (int64_t w = 0; w < out_w; ++w) {
          const AxisSample& c = cols[static_cast<size_t>(w)];
          const double g = src[h * out_w + w];
          top[c.lower] += static_cast<T>((1.0 - r.weight) * (1.0 - c.weight) * g);
          top[c.upper] += static_cast<T>((1.0 - r.weight) * c.weight * g);
          bottom[c.lower] += static_cast<T>(r.weight * (1.0 - c.weight) * g);
          bottom[c.upper] += static_cast<T>(r.weight * c.weight * g);
        }
      }
    }
  });
  return dx;
}

}  // namespace fsa
