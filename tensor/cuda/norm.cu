// norm.cu: batch normalisation statistics, forward and backward per channel of x (N,C,H,W)
// or (N,C), the twin of cpu/norm.cpp. One block per channel reduces over N and H, W in
// double; gamma and beta may be undefined (scale 1, shift 0).
#include <cmath>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"

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

// mean and biased variance of each channel (two passes, as the CPU).
__global__ void batch_norm_stats_kernel(const float* x, ChannelView v, float* mean, float* var) {
  const int64_t c = blockIdx.x, count = v.count();
  double total = 0.0;
  for (int64_t r = threadIdx.x; r < count; r += blockDim.x) total += x[v.offset(c, r)];
  const double channel_mean = block_reduce(total, SumOp{}) / static_cast<double>(count);
  double squares = 0.0;
  for (int64_t r = threadIdx.x; r < count; r += blockDim.x) {
    const double centred = x[v.offset(c, r)] - channel_mean;
    squares += centred * centred;
  }
  squares = block_reduce(squares, SumOp{});
  if (threadIdx.x == 0) {
    mean[c] = static_cast<float>(channel_mean);
    var[c] = static_cast<float>(squares / static_cast<double>(count));
  }
}

__global__ void batch_norm_forward_kernel(const float* x, const float* mean, const float* var,
                                          const float* gamma, const float* beta, float eps,
                                          ChannelView v, float* y, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t c = (i / v.inner) % v.channels;
    const float scale = gamma == nullptr ? 1.0f : gamma[c];
    const float shift = beta == nullptr ? 0.0f : beta[c];
    y[i] = (x[i] - mean[c]) / sqrtf(var[c] + eps) * scale + shift;
  }
}

// With xhat = (x - mean) / sqrt(var + eps) and M values per channel:
//   dbeta = sum dy, dgamma = sum dy xhat,
//   training: dx = gamma / sqrt(var + eps) (dy - dbeta / M - xhat dgamma / M)
//   eval:     dx = gamma / sqrt(var + eps) dy
__global__ void batch_norm_backward_kernel(const float* dy, const float* x, const float* mean,
                                           const float* var, const float* gamma, float eps,
                                           bool training, ChannelView v, float* dx, float* dgamma,
                                           float* dbeta) {
  const int64_t c = blockIdx.x, count = v.count();
  const float inv_std = 1.0f / sqrtf(var[c] + eps);
  const float scale = gamma == nullptr ? 1.0f : gamma[c];
  double sum_dy = 0.0, sum_dy_xhat = 0.0;
  for (int64_t r = threadIdx.x; r < count; r += blockDim.x) {
    const int64_t at = v.offset(c, r);
    sum_dy += dy[at];
    sum_dy_xhat += static_cast<double>(dy[at]) * ((x[at] - mean[c]) * inv_std);
  }
  sum_dy = block_reduce(sum_dy, SumOp{});
  sum_dy_xhat = block_reduce(sum_dy_xhat, SumOp{});
  if (threadIdx.x == 0) {
    dgamma[c] = static_cast<float>(sum_dy_xhat);
    dbeta[c] = static_cast<float>(sum_dy);
  }
  const float mean_dy = static_cast<float>(sum_dy / static_cast<double>(count));
  const float mean_dy_xhat = static_cast<float>(sum_dy_xhat / static_cast<double>(count));
  for (int64_t r = threadIdx.x; r < count; r += blockDim.x) {
    const int64_t at = v.offset(c, r);
    const float xhat = (x[at] - mean[c]) * inv_std;
    const float centred_dy = training ? dy[at] - mean_dy - xhat * mean_dy_xhat : dy[at];
    dx[at] = scale * inv_std * centred_dy;
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
  batch_norm_stats_kernel<<<grid_for_items(v.channels), kBlockSize, 0, stream()>>>(
      x.data<float>(), v, stats.mean.data<float>(), stats.var.data<float>());
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
  batch_norm_forward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      x.data<float>(), mean.data<float>(), var.data<float>(),
      data_or_null(gamma, "batch_norm_forward"), data_or_null(beta, "batch_norm_forward"),
      static_cast<float>(eps), channel_view(x), y.data<float>(), n);
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
  BatchNormGrads grads{Tensor::empty(x.shape(), DType::f32, Device::cuda),
                       Tensor::empty(Shape{v.channels}, DType::f32, Device::cuda),
                       Tensor::empty(Shape{v.channels}, DType::f32, Device::cuda)};
  if (v.channels == 0) return grads;
  batch_norm_backward_kernel<<<grid_for_items(v.channels), kBlockSize, 0, stream()>>>(
      dy.data<float>(), x.data<float>(), mean.data<float>(), var.data<float>(),
      data_or_null(gamma, "batch_norm_backward"), static_cast<float>(eps), training, v,
      grads.dx.data<float>(), grads.dgamma.data<float>(), grads.dbeta.data<float>());
  CUDA_CHECK_LAUNCH();
  return grads;
}

}  // namespace fsa
