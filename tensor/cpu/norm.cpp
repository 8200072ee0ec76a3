// norm.cpp: batch normalisation kernels. x (N,C,H,W) or (N,C) is read as (N, C, S) with
// S = H*W (or 1); statistics are per channel over the N*S values, summed in blocks in the
// tensor's type and the block sums in double.
// The elementwise passes run in the tensor's type, with per-channel coefficients computed in
// double.
// The caller passes undefined gamma/beta for "no affine transform". The batch_norm_relu_*
// entries run the ReLU that follows in the same passes: forward, the select after the
// normalisation; backward, dy masked by the output (y > 0) inside the sums and the dx pass.
// batch_norm_add_relu_forward adds a residual before that select.
#include <algorithm>
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"

namespace fsa {

namespace {

// x viewed as (batch, channels, spatial): statistics run over batch and spatial.
struct ChannelLayout {
  int64_t batch, channels, spatial;
  explicit ChannelLayout(const Shape& shape)
      : batch(shape[0]), channels(shape[1]), spatial(shape.numel() / (shape[0] * shape[1])) {}
  int64_t per_channel() const { return batch * spatial; }
};

// Channel c's values are `batch` runs of `spatial` contiguous values. Each run is summed in
// blocks of kSumBlock as SIMD reductions in the tensor's type T (vector lanes, then the lanes
// added; float lanes are twice as wide as double ones and need no conversions), and the block
// sums in double. A float lane then adds at most kSumBlock / 16 values, so the rounding stays
// near float's own; the order differs from a left-to-right sum but is fixed for a build, so
// results repeat. The block functions take plain pointers: with an index computed inside the
// loop the compiler cannot see that the values are contiguous and gathers them one by one.
constexpr int64_t kSumBlock = 256;

template <typename T>
struct BlockSums {
  T first = 0, second = 0;
};

// Sums of d and d^2 over x[0, count), d = x - shift.
template <typename T>
BlockSums<T> shifted_sums(const T* __restrict x, int64_t count, T shift) {
  T sum = 0, squares = 0;
#pragma omp simd reduction(+ : sum, squares)
  for (int64_t i = 0; i < count; ++i) {
    const T d = x[i] - shift;
    sum += d;
    squares += d * d;
  }
  return {sum, squares};
}

// Sums of dy and dy (x - mean) over dy[0, count) and x[0, count).
template <typename T>
BlockSums<T> gradient_sums(const T* __restrict dy, const T* __restrict x, int64_t count, T mean) {
  T sum = 0, products = 0;
#pragma omp simd reduction(+ : sum, products)
  for (int64_t i = 0; i < count; ++i) {
    sum += dy[i];
    products += dy[i] * (x[i] - mean);
  }
  return {sum, products};
}

// The same sums of g and g (x - mean), g = dy where the ReLU after the normalisation let its
// output y through (y > 0), 0 elsewhere: the fused batch norm + ReLU's backward.
template <typename T>
BlockSums<T> masked_gradient_sums(const T* __restrict dy, const T* __restrict y,
                                  const T* __restrict x, int64_t count, T mean) {
  T sum = 0, products = 0;
#pragma omp simd reduction(+ : sum, products)
  for (int64_t i = 0; i < count; ++i) {
    const T g = y[i] > T(0) ? dy[i] : T(0);
    sum += g;
    products += g * (x[i] - mean);
  }
  return {sum, products};
}

struct SumPair {
  double first = 0.0, second = 0.0;
};

// The sums in double over channel c's values of block_sums(offset, count), which sums the
// values at flat indices [offset, offset + count).
template <typename T, typename BlockSumsOf>
SumPair channel_sums(const ChannelLayout& layout, int64_t c, BlockSumsOf&& block_sums) {
  SumPair total;
  for (int64_t n = 0; n < layout.batch; ++n) {
    const int64_t base = (n * layout.channels + c) * layout.spatial;
    for (int64_t begin = 0; begin < layout.spatial; begin += kSumBlock) {
      const int64_t count = std::min(kSumBlock, layout.spatial - begin);
      const BlockSums<T> block = block_sums(base + begin, count);
      total.first += block.first;
      total.second += block.second;
    }
  }
  return total;
}

// out = (in - mean) scale + shift over one run of values; no aliasing, so it vectorises.
template <typename T>
void normalize_run(const T* __restrict in, T* __restrict out, int64_t count, T mean, T scale,
                   T shift) {
  for (int64_t i = 0; i < count; ++i) out[i] = (in[i] - mean) * scale + shift;
}

// The same followed by a ReLU, as unary_value computes it (z > 0 ? z : 0).
template <typename T>
void normalize_relu_run(const T* __restrict in, T* __restrict out, int64_t count, T mean, T scale,
                        T shift) {
  for (int64_t i = 0; i < count; ++i) {
    const T z = (in[i] - mean) * scale + shift;
    out[i] = z > T(0) ? z : T(0);
  }
}

// The same with a residual added before the ReLU (the end of a ResNet block).
template <typename T>
void normalize_add_relu_run(const T* __restrict in, const T* __restrict residual, T* __restrict out,
                            int64_t count, T mean, T scale, T shift) {
  for (int64_t i = 0; i < count; ++i) {
    const T z = (in[i] - mean) * scale + shift + residual[i];
    out[i] = z > T(0) ? z : T(0);
  }
}

// dx = scale dy + centred_scale (x - mean) + offset over one run of values.
template <typename T>
void input_gradient_run(const T* __restrict dy, const T* __restrict x, T* __restrict dx,
                        int64_t count, T scale, T mean, T centred_scale, T offset) {
  for (int64_t i = 0; i < count; ++i)
    dx[i] = scale * dy[i] + centred_scale * (x[i] - mean) + offset;
}

// The same and the eval one (dx = scale g) for g = dy masked by the ReLU's output y.
template <typename T>
void masked_input_gradient_run(const T* __restrict dy, const T* __restrict y, const T* __restrict x,
                               T* __restrict dx, int64_t count, T scale, T mean, T centred_scale,
                               T offset) {
  for (int64_t i = 0; i < count; ++i) {
    const T g = y[i] > T(0) ? dy[i] : T(0);
    dx[i] = scale * g + centred_scale * (x[i] - mean) + offset;
  }
}

template <typename T>
void masked_scale_run(const T* __restrict dy, const T* __restrict y, T* __restrict dx,
                      int64_t count, T scale) {
  for (int64_t i = 0; i < count; ++i) dx[i] = (y[i] > T(0) ? dy[i] : T(0)) * scale;
}

// The data of an optional per-channel tensor (gamma, beta), or null when it is undefined.
template <typename T>
const T* optional_data(const Tensor& t) {
  return t.defined() ? t.const_data<T>() : nullptr;
}

}  // namespace

BatchNormStats CpuBackend::batch_norm_stats(const Tensor& x) const {
  const ChannelLayout layout(x.shape());
  BatchNormStats stats{Tensor::empty(Shape{layout.channels}, x.dtype()),
                       Tensor::empty(Shape{layout.channels}, x.dtype())};
  dispatch_float(x.dtype(), "batch_norm_stats", [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* means = stats.mean.data<T>();
    T* vars = stats.var.data<T>();
    const double count = static_cast<double>(layout.per_channel());
#pragma omp parallel for if (x.numel() > 32768)
    for (int64_t c = 0; c < layout.channels; ++c) {
      // One pass over the values shifted by the channel's first value: sums of d and d^2,
      // d = x - shift. With the shift inside the data's range, var = E[d^2] - E[d]^2 keeps
      // the precision of T for any mean (no cancellation of large squares).
      const T shift = in[c * layout.spatial];
      const SumPair sums = channel_sums<T>(layout, c, [in, shift](int64_t offset, int64_t count) {
        return shifted_sums(in + offset, count, shift);
      });
      const double shifted_mean = sums.first / count;
      const double mean = static_cast<double>(shift) + shifted_mean;
      const double variance = std::max(0.0, sums.second / count - shifted_mean * shifted_mean);
      means[c] = static_cast<T>(mean);
      vars[c] = static_cast<T>(variance);
    }
  });
  return stats;
}

namespace {

// What follows the normalisation in the same pass.
enum class Epilogue { none, relu, add_relu };

const char* forward_name(Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::none:
      return "batch_norm_forward";
    case Epilogue::relu:
      return "batch_norm_relu_forward";
    case Epilogue::add_relu:
      return "batch_norm_add_relu_forward";
  }
  return "";
}

// batch_norm_forward, followed in the same pass by the epilogue (add_relu: `residual`, of x's
// shape and dtype, is added before the ReLU).
Tensor normalize(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& gamma,
                 const Tensor& beta, double eps, Epilogue epilogue,
                 const Tensor& residual = Tensor()) {
  const ChannelLayout layout(x.shape());
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), forward_name(epilogue), [&]<typename T>() {
    const T* in = x.const_data<T>();
    const T* residuals = optional_data<T>(residual);
    const T* means = mean.const_data<T>();
    const T* vars = var.const_data<T>();
    const T* gammas = optional_data<T>(gamma);
    const T* betas = optional_data<T>(beta);
    T* out = y.data<T>();
    const int64_t planes = layout.batch * layout.channels;
#pragma omp parallel for if (planes * layout.spatial > 32768)
    for (int64_t plane = 0; plane < planes; ++plane) {
      const int64_t c = plane % layout.channels;
      const T scale = static_cast<T>((gammas ? gammas[c] : 1.0) / std::sqrt(vars[c] + eps));
      const T shift = betas ? betas[c] : T(0);
      const int64_t base = plane * layout.spatial;
      switch (epilogue) {
        case Epilogue::none:
          normalize_run(in + base, out + base, layout.spatial, means[c], scale, shift);
          break;
        case Epilogue::relu:
          normalize_relu_run(in + base, out + base, layout.spatial, means[c], scale, shift);
          break;
        case Epilogue::add_relu:
          normalize_add_relu_run(in + base, residuals + base, out + base, layout.spatial, means[c],
                                 scale, shift);
          break;
      }
    }
  });
  return y;
}

// With xhat = (x - mean) * inv_std and M values per channel:
//   dbeta = sum dy, dgamma = sum dy * xhat;
//   eval:     dx = dy * gamma * inv_std;
//   training: dx = gamma * inv_std * (dy - dbeta / M - xhat * dgamma / M),
//             the extra terms coming from the batch mean and variance depending on x.
// batch_norm_backward of dy, or of dy masked by the ReLU's output y (y > 0) when y is defined.
BatchNormGrads gradients(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& mean,
                         const Tensor& var, const Tensor& gamma, double eps, bool training) {
  const ChannelLayout layout(x.shape());
  BatchNormGrads grads;
  grads.dx = Tensor::empty(x.shape(), x.dtype());
  if (gamma.defined()) {
    grads.dgamma = Tensor::empty(Shape{layout.channels}, x.dtype());
    grads.dbeta = Tensor::empty(Shape{layout.channels}, x.dtype());
  }
  const char* op = y.defined() ? "batch_norm_relu_backward" : "batch_norm_backward";
  dispatch_float(x.dtype(), op, [&]<typename T>() {
    const T* in = x.const_data<T>();
    const T* dys = dy.const_data<T>();
    const T* mask = optional_data<T>(y);
    const T* means = mean.const_data<T>();
    const T* vars = var.const_data<T>();
    const T* gammas = optional_data<T>(gamma);
    T* dxs = grads.dx.data<T>();
    T* dgammas = gammas ? grads.dgamma.data<T>() : nullptr;
    T* dbetas = gammas ? grads.dbeta.data<T>() : nullptr;
    const double count = static_cast<double>(layout.per_channel());
#pragma omp parallel for if (x.numel() > 32768)
    for (int64_t c = 0; c < layout.channels; ++c) {
      const double inv_std = 1.0 / std::sqrt(vars[c] + eps);
      const T channel_mean = means[c];
      const SumPair sums = channel_sums<T>(layout, c, [=](int64_t offset, int64_t count) {
        return mask ? masked_gradient_sums(dys + offset, mask + offset, in + offset, count,
                                           channel_mean)
                    : gradient_sums(dys + offset, in + offset, count, channel_mean);
      });
      const double dy_sum = sums.first, dy_xhat_sum = inv_std * sums.second;
      const double scale = (gammas ? gammas[c] : 1.0) * inv_std;
      // Training: dx = scale dy + centred_scale (x - mean) + offset. Eval: dx = scale dy (x
      // is not read, so a non-finite input cannot leak into dx).
      const double dy_mean = dy_sum / count, dy_xhat_mean = dy_xhat_sum / count;
      const T centred_scale = static_cast<T>(-scale * inv_std * dy_xhat_mean);
      const T offset = static_cast<T>(-scale * dy_mean);
      const T run_scale = static_cast<T>(scale);
      for (int64_t n = 0; n < layout.batch; ++n) {
        const int64_t base = (n * layout.channels + c) * layout.spatial;
        if (training && mask) {
          masked_input_gradient_run(dys + base, mask + base, in + base, dxs + base, layout.spatial,
                                    run_scale, means[c], centred_scale, offset);
        } else if (training) {
          input_gradient_run(dys + base, in + base, dxs + base, layout.spatial, run_scale, means[c],
                             centred_scale, offset);
        } else if (mask) {
          masked_scale_run(dys + base, mask + base, dxs + base, layout.spatial, run_scale);
        } else {
          normalize_run(dys + base, dxs + base, layout.spatial, T(0), run_scale, T(0));
        }
      }
      if (gammas) {
        dgammas[c] = static_cast<T>(dy_xhat_sum);
        dbetas[c] = static_cast<T>(dy_sum);
      }
    }
  });
  return grads;
}

}  // namespace

Tensor CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                                      const Tensor& gamma, const Tensor& beta, double eps) const {
  return normalize(x, mean, var, gamma, beta, eps, Epilogue::none);
}

Tensor CpuBackend::batch_norm_relu_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                                           const Tensor& gamma, const Tensor& beta,
                                           double eps) const {
  return normalize(x, mean, var, gamma, beta, eps, Epilogue::relu);
}

Tensor CpuBackend::batch_norm_add_relu_forward(const Tensor& x, const Tensor& residual,
                                               const Tensor& mean, const Tensor& var,
                                               const Tensor& gamma, const Tensor& beta,
                                               double eps) const {
  return normalize(x, mean, var, gamma, beta, eps, Epilogue::add_relu, residual);
}

BatchNormGrads CpuBackend::batch_norm_backward(const Tensor& dy, const Tensor& x,
                                               const Tensor& mean, const Tensor& var,
                                               const Tensor& gamma, double eps,
                                               bool training) const {
  return gradients(dy, Tensor(), x, mean, var, gamma, eps, training);
}

BatchNormGrads CpuBackend::batch_norm_relu_backward(const Tensor& dy, const Tensor& y,
                                                    const Tensor& x, const Tensor& mean,
                                                    const Tensor& var, const Tensor& gamma,
                                                    double eps, bool training) const {
  return gradients(dy, y, x, mean, var, gamma, eps, training);
}

}  // namespace fsa
