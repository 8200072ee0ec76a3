// norm.cpp: batch normalisation kernels. x (N,C,H,W) or (N,C) is read as (N, C, S) with
// S = H*W (or 1); statistics are per channel over the N*S values, accumulated in double.
// The caller passes undefined gamma/beta for "no affine transform".
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

// Visits the per_channel() values of channel c: body(flat_index).
template <typename Body>
void for_each_in_channel(const ChannelLayout& layout, int64_t c, Body&& body) {
  for (int64_t n = 0; n < layout.batch; ++n) {
    const int64_t base = (n * layout.channels + c) * layout.spatial;
    for (int64_t s = 0; s < layout.spatial; ++s) body(base + s);
  }
}

// The data of an optional per-channel tensor (gamma, beta), or null when it is undefined.
template <typename T>
const T* optional_data(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

BatchNormStats CpuBackend::batch_norm_stats(const Tensor& x) const {
  const ChannelLayout layout(x.shape());
  BatchNormStats stats{Tensor::empty(Shape{layout.channels}, x.dtype()),
                       Tensor::empty(Shape{layout.channels}, x.dtype())};
  dispatch_float(x.dtype(), "batch_norm_stats", [&]<typename T>() {
    const T* in = x.data<T>();
    T* means = stats.mean.data<T>();
    T* vars = stats.var.data<T>();
    const double count = static_cast<double>(layout.per_channel());
#pragma omp parallel for if (x.numel() > 32768)
    for (int64_t c = 0; c < layout.channels; ++c) {
      // Two passes: the mean first, then the squared deviations (no cancellation).
      double total = 0.0;
      for_each_in_channel(layout, c, [&](int64_t i) { total += in[i]; });
      const double mean = total / count;
      double squares = 0.0;
      for_each_in_channel(layout, c,
                          [&](int64_t i) { squares += (in[i] - mean) * (in[i] - mean); });
      means[c] = static_cast<T>(mean);
      vars[c] = static_cast<T>(squares / count);
    }
  });
  return stats;
}

Tensor CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                                      const Tensor& gamma, const Tensor& beta, double eps) const {
  const ChannelLayout layout(x.shape());
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "batch_norm_forward", [&]<typename T>() {
    const T* in = x.data<T>();
    const T* means = mean.data<T>();
    const T* vars = var.data<T>();
    const T* gammas = optional_data<T>(gamma);
    const T* betas = optional_data<T>(beta);
    T* out = y.data<T>();
    const int64_t planes = layout.batch * layout.channels;
#pragma omp parallel for if (planes * layout.spatial > 32768)
    for (int64_t plane = 0; plane < planes; ++plane) {
      const int64_t c = plane % layout.channels;
      const double scale = (gammas ? gammas[c] : 1.0) / std::sqrt(vars[c] + eps);
      const double shift = (betas ? betas[c] : 0.0) - means[c] * scale;
      const int64_t base = plane * layout.spatial;
      for (int64_t s = 0; s < layout.spatial; ++s)
        out[base + s] = static_cast<T>(in[base + s] * scale + shift);
    }
  });
  return y;
}

// With xhat = (x - mean) * inv_std and M values per channel:
//   dbeta = sum dy, dgamma = sum dy * xhat;
//   eval:     dx = dy * gamma * inv_std;
//   training: dx = gamma * inv_std * (dy - dbeta / M - xhat * dgamma / M),
//             the extra terms coming from the batch mean and variance depending on x.
BatchNormGrads CpuBackend::batch_norm_backward(const Tensor& dy, const Tensor& x,
                                               const Tensor& mean, const Tensor& var,
                                               const Tensor& gamma, double eps,
                                               bool training) const {
  const ChannelLayout layout(x.shape());
  BatchNormGrads grads;
  grads.dx = Tensor::empty(x.shape(), x.dtype());
  if (gamma.defined()) {
    grads.dgamma = Tensor::empty(Shape{layout.channels}, x.dtype());
    grads.dbeta = Tensor::empty(Shape{layout.channels}, x.dtype());
  }
  dispatch_float(x.dtype(), "batch_norm_backward", [&]<typename T>() {
    const T* in = x.data<T>();
    const T* dys = dy.data<T>();
    const T* means = mean.data<T>();
    const T* vars = var.data<T>();
    const T* gammas = optional_data<T>(gamma);
    T* dxs = grads.dx.data<T>();
    T* dgammas = gammas ? grads.dgamma.data<T>() : nullptr;
    T* dbetas = gammas ? grads.dbeta.data<T>() : nullptr;
    const double count = static_cast<double>(layout.per_channel());
#pragma omp parallel for if (x.numel() > 32768)
    for (int64_t c = 0; c < layout.channels; ++c) {
      const double inv_std = 1.0 / std::sqrt(vars[c] + eps);
      const double channel_mean = means[c];
      double dy_sum = 0.0, dy_xhat_sum = 0.0;
      for_each_in_channel(layout, c, [&](int64_t i) {
        dy_sum += dys[i];
        dy_xhat_sum += dys[i] * (in[i] - channel_mean) * inv_std;
      });
      const double scale = (gammas ? gammas[c] : 1.0) * inv_std;
      if (training) {
        const double dy_mean = dy_sum / count, dy_xhat_mean = dy_xhat_sum / count;
        for_each_in_channel(layout, c, [&](int64_t i) {
          const double xhat = (in[i] - channel_mean) * inv_std;
          dxs[i] = static_cast<T>(scale * (dys[i] - dy_mean - xhat * dy_xhat_mean));
        });
      } else {
        for_each_in_channel(layout, c, [&](int64_t i) { dxs[i] = static_cast<T>(scale * dys[i]); });
      }
      if (gammas) {
        dgammas[c] = static_cast<T>(dy_xhat_sum);
        dbetas[c] = static_cast<T>(dy_sum);
      }
    }
  });
  return grads;
}

}  // namespace fsa
