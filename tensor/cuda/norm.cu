// norm.cu: batch normalisation statistics, forward and backward per channel of x (N,C,H,W)
// or (N,C), the twin of cpu/norm.cpp. The sums over N and H, W run in double through
// segmented_sum.cuh (several blocks per channel); gamma and beta may be undefined (scale
// 1, shift 0).
#include <cmath>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"
#include "tensor/cuda/segmented_sum.cuh"

namespace fsa {

namespace {

// x viewed as (N, C, inner): channel c's r-th value, r over N * inner.
struct ChannelView {
  int64_t batch, channels, inner;
  __device__ int64_t count() const { return batch * inner; }
  __device__ int64_t offset(int64_t c, int64_t r) const {
    return ((r / inner) * channels + c) * inner + r % inner;
  }
};

ChannelView channel_view(const Tensor& x) {
  const int64_t batch = x.dim(0), channels = x.dim(1);
  const int64_t inner = batch * channels == 0 ? 0 : x.numel() / (batch * channels);
  return {batch, channels, inner};
}

// Term r of channel c: x itself, then its squared distance from the channel mean.
struct ChannelValues {
  const float* x;
  ChannelView v;
  __device__ double operator()(int64_t c, int64_t r) const { return x[v.offset(c, r)]; }
};
struct CentredSquares {
  const float* x;
  ChannelView v;
  const double* sums;  // per channel
  __device__ double operator()(int64_t c, int64_t r) const {
    const double centred = x[v.offset(c, r)] - sums[c] / static_cast<double>(v.count());
    return centred * centred;
  }
};

// mean = sum / count and biased var = squares / count, as float.
__global__ void batch_norm_stats_kernel(const double* sums, const double* squares, ChannelView v,
                                        float* mean, float* var) {
  for (int64_t c = global_thread_index(); c < v.channels; c += global_thread_count()) {
    mean[c] = static_cast<float>(sums[c] / static_cast<double>(v.count()));
    var[c] = static_cast<float>(squares[c] / static_cast<double>(v.count()));
  }
}

// Index is uint32_t where n allows it: 64-bit divisions cost several times more.
template <typename Index>
__global__ void batch_norm_forward_kernel(const float* x, const float* mean, const float* var,
                                          const float* gamma, const float* beta, float eps,
                                          Index channels, Index inner, float* y, Index n) {
  const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const Index c = (i / inner) % channels;
    const float scale = gamma == nullptr ? 1.0f : gamma[c];
    const float shift = beta == nullptr ? 0.0f : beta[c];
    y[i] = (x[i] - mean[c]) / sqrtf(var[c] + eps) * scale + shift;
  }
}

// With xhat = (x - mean) / sqrt(var + eps) and M values per channel:
//   dbeta = sum dy, dgamma = sum dy xhat,
//   training: dx = gamma / sqrt(var + eps) (dy - dbeta / M - xhat dgamma / M)
//   eval:     dx = gamma / sqrt(var + eps) dy
struct NormalizedInput {
  const float *x, *mean, *var;
  float eps;
  ChannelView v;
  __device__ float xhat(int64_t c, int64_t at) const {
    return (x[at] - mean[c]) * (1.0f / sqrtf(var[c] + eps));
  }
};
struct GradientValues {  // the terms of dbeta
  const float* dy;
  ChannelView v;
  __device__ double operator()(int64_t c, int64_t r) const { return dy[v.offset(c, r)]; }
};
struct GradientTimesXhat {  // the terms of dgamma
  const float* dy;
  NormalizedInput in;
  __device__ double operator()(int64_t c, int64_t r) const {
    const int64_t at = in.v.offset(c, r);
    return static_cast<double>(dy[at]) * in.xhat(c, at);
  }
};

__global__ void batch_norm_input_grad_kernel(const float* dy, NormalizedInput in,
                                             const float* gamma, bool training,
                                             const double* sum_dy, const double* sum_dy_xhat,
                                             float* dx, int64_t n) {
  const double count = static_cast<double>(in.v.count());
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t c = (i / in.v.inner) % in.v.channels;
    const float inv_std = 1.0f / sqrtf(in.var[c] + in.eps);
    const float scale = gamma == nullptr ? 1.0f : gamma[c];
    const float mean_dy = static_cast<float>(sum_dy[c] / count);
    const float mean_dy_xhat = static_cast<float>(sum_dy_xhat[c] / count);
    const float centred_dy = training ? dy[i] - mean_dy - in.xhat(c, i) * mean_dy_xhat : dy[i];
    dx[i] = scale * inv_std * centred_dy;
  }
}

const float* data_or_null(const Tensor& t, const char* op) {
  if (!t.defined()) return nullptr;
  check_cuda_f32(op, t);
  return t.data<float>();
}

}  // namespace

BatchNormStats CudaBackend::batch_norm_stats(const Tensor& x) const {
  check_cuda_f32("batch_norm_stats", x);
  const ChannelView v = channel_view(x);
  BatchNormStats stats{Tensor::empty(Shape{v.channels}, DType::f32, Device::cuda),
                       Tensor::empty(Shape{v.channels}, DType::f32, Device::cuda)};
  if (v.channels == 0) return stats;
  const int64_t count = v.batch * v.inner;
  const Tensor sums = segmented_sum(*this, ChannelValues{x.data<float>(), v}, v.channels, count);
  const Tensor squares = segmented_sum(
      *this, CentredSquares{x.data<float>(), v, sums.data<double>()}, v.channels, count);
  batch_norm_stats_kernel<<<grid_for(v.channels), kBlockSize, 0, stream()>>>(
      sums.data<double>(), squares.data<double>(), v, stats.mean.data<float>(),
      stats.var.data<float>());
  CUDA_CHECK_LAUNCH();
  return stats;
}

Tensor CudaBackend::batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                                       const Tensor& gamma, const Tensor& beta, double eps) const {
  check_cuda_f32("batch_norm_forward", x);
  check_cuda_f32("batch_norm_forward", mean);
  check_cuda_f32("batch_norm_forward", var);
  Tensor y = Tensor::empty(x.shape(), DType::f32, Device::cuda);
  const int64_t n = x.numel();
  if (n == 0) return y;
  const ChannelView v = channel_view(x);
  const float* scale = data_or_null(gamma, "batch_norm_forward");
  const float* shift = data_or_null(beta, "batch_norm_forward");
  if (n + int64_t{grid_for(n)} * kBlockSize < (int64_t{1} << 32)) {  // no index overflows
    batch_norm_forward_kernel<uint32_t><<<grid_for(n), kBlockSize, 0, stream()>>>(
        x.data<float>(), mean.data<float>(), var.data<float>(), scale, shift,
        static_cast<float>(eps), static_cast<uint32_t>(v.channels), static_cast<uint32_t>(v.inner),
        y.data<float>(), static_cast<uint32_t>(n));
  } else {
    batch_norm_forward_kernel<int64_t><<<grid_for(n), kBlockSize, 0, stream()>>>(
        x.data<float>(), mean.data<float>(), var.data<float>(), scale, shift,
        static_cast<float>(eps), v.channels, v.inner, y.data<float>(), n);
  }
  CUDA_CHECK_LAUNCH();
  return y;
}

BatchNormGrads CudaBackend::batch_norm_backward(const Tensor& dy, const Tensor& x,
                                                const Tensor& mean, const Tensor& var,
                                                const Tensor& gamma, double eps,
                                                bool training) const {
  check_cuda_f32("batch_norm_backward", dy);
  check_cuda_f32("batch_norm_backward", x);
  check_cuda_f32("batch_norm_backward", mean);
  check_cuda_f32("batch_norm_backward", var);
  const ChannelView v = channel_view(x);
  if (v.channels == 0) {
    return {Tensor::empty(x.shape(), DType::f32, Device::cuda),
            Tensor::empty(Shape{0}, DType::f32, Device::cuda),
            Tensor::empty(Shape{0}, DType::f32, Device::cuda)};
  }
  const NormalizedInput in{x.data<float>(), mean.data<float>(), var.data<float>(),
                           static_cast<float>(eps), v};
  const int64_t count = v.batch * v.inner;
  const Tensor sum_dy =
      segmented_sum(*this, GradientValues{dy.data<float>(), v}, v.channels, count);
  const Tensor sum_dy_xhat =
      segmented_sum(*this, GradientTimesXhat{dy.data<float>(), in}, v.channels, count);
  Tensor dx = Tensor::empty(x.shape(), DType::f32, Device::cuda);
  const int64_t n = x.numel();
  if (n > 0) {
    batch_norm_input_grad_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
        dy.data<float>(), in, data_or_null(gamma, "batch_norm_backward"), training,
        sum_dy.data<double>(), sum_dy_xhat.data<double>(), dx.data<float>(), n);
    CUDA_CHECK_LAUNCH();
  }
  return {dx, cast(sum_dy_xhat, DType::f32), cast(sum_dy, DType::f32)};
}

}  // namespace fsa
