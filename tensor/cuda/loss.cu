// loss.cu: per-sample softmax cross-entropy and Carlini-Wagner margin, forward and
// backward, the twin of cpu/loss.cpp. One block per sample (row of logits (N,M)).
// NOTE: a label outside [0, M) cannot throw from the GPU: that sample's loss is NaN.
#include <cmath>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"

namespace fsa {

namespace {

struct MaxOp {
  __device__ float operator()(float a, float b) const { return a >= b ? a : b; }
};

// log sum_j exp(z_j) of one row, stably (shifted by the row maximum); block-wide.
__device__ float block_log_sum_exp(const float* row, int64_t cols) {
  float local_max = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local_max = fmaxf(local_max, row[j]);
  const float row_max = block_reduce(local_max, MaxOp{});
  double total = 0.0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) total += expf(row[j] - row_max);
  total = block_reduce(total, SumOp{});
  return row_max + static_cast<float>(log(total));
}

__device__ inline bool valid_label(int32_t label, int64_t cols) {
  return label >= 0 && label < cols;
}

// loss_n = log sum_j exp(z_nj) - z_n,label
__global__ void cross_entropy_forward_kernel(const float* logits, const int32_t* labels,
                                             int64_t cols, float* loss) {
  const float* row = logits + static_cast<int64_t>(blockIdx.x) * cols;
  const float lse = block_log_sum_exp(row, cols);
  const int32_t label = labels[blockIdx.x];
  if (threadIdx.x == 0) loss[blockIdx.x] = valid_label(label, cols) ? lse - row[label] : NAN;
}

// dz_nj = dy_n (softmax(z_n)_j - [j == label])
__global__ void cross_entropy_backward_kernel(const float* logits, const int32_t* labels,
                                              const float* dy, int64_t cols, float* dz) {
  const int64_t n = blockIdx.x;
  const float* row = logits + n * cols;
  const float lse = block_log_sum_exp(row, cols);
  const int32_t label = labels[n];
  const float scale = valid_label(label, cols) ? dy[n] : NAN;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float target = j == label ? 1.0f : 0.0f;
    dz[n * cols + j] = scale * (expf(row[j] - lse) - target);
  }
}

// Visits the hinges of one sample's margin (tensor/params.h): visit(wrong class j, hinge
// value u) once per term, where the term is max(0, u) and u = z_y - z_j + kappa
// (untargeted, the top_k largest wrong logits) or z_j - z_y + kappa (targeted, the
// largest). Ties rank as in topk_indices. Block-wide.
template <typename Visit>
__device__ void visit_cw_terms(const float* row, int64_t cols, int32_t label, CwMarginParams p,
                               Visit visit) {
  const float kappa = static_cast<float>(p.kappa);
  const int64_t terms = p.targeted ? 1 : p.top_k;
  Candidate previous{0.0f, -1};
  for (int64_t t = 0; t < terms; ++t) {
    previous = block_next_ranked(row, cols, previous, label);
    if (previous.index < 0) return;  // fewer wrong classes than top_k
    const float u =
        p.targeted ? previous.value - row[label] + kappa : row[label] - previous.value + kappa;
    visit(previous.index, u);
  }
}

__global__ void cw_margin_forward_kernel(const float* logits, const int32_t* labels, int64_t cols,
                                         CwMarginParams p, float* loss) {
  const float* row = logits + static_cast<int64_t>(blockIdx.x) * cols;
  const int32_t label = labels[blockIdx.x];
  if (!valid_label(label, cols)) {
    if (threadIdx.x == 0) loss[blockIdx.x] = NAN;
    return;  // the whole block leaves together
  }
  float total = 0.0f;
  visit_cw_terms(row, cols, label, p, [&](int32_t, float u) { total += fmaxf(u, 0.0f); });
  if (threadIdx.x == 0) loss[blockIdx.x] = total;
}

// Each active hinge (u > 0; NOTE: none at u = 0) sends +-dy to the true and the wrong logit.
__global__ void cw_margin_backward_kernel(const float* logits, const int32_t* labels,
                                          const float* dy, int64_t cols, CwMarginParams p,
                                          float* dz) {
  const int64_t n = blockIdx.x;
  const float* row = logits + n * cols;
  float* grad = dz + n * cols;
  const int32_t label = labels[n];
  const bool valid = valid_label(label, cols);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) grad[j] = valid ? 0.0f : NAN;
  if (!valid) return;
  __syncthreads();  // the zeros are in place before thread 0 adds the terms
  const float sign = p.targeted ? -1.0f : 1.0f;  // d u / d z_label
  visit_cw_terms(row, cols, label, p, [&](int32_t wrong, float u) {
    if (threadIdx.x == 0 && u > 0.0f) {
      grad[label] += sign * dy[n];
      grad[wrong] -= sign * dy[n];
    }
  });
}

void check_logits_and_labels(const char* op, const Tensor& logits, const Tensor& labels) {
  check_cuda_f32(op, logits);
  check_cuda_i32(op, labels);
  FSA_CHECK(logits.ndim() == 2 && labels.ndim() == 1 && labels.dim(0) == logits.dim(0), "[", op,
            "] logits ", logits.shape(), " and labels ", labels.shape(), " do not match");
}

}  // namespace

Tensor CudaBackend::softmax_cross_entropy_forward(const Tensor& logits,
                                                  const Tensor& labels) const {
  check_logits_and_labels("softmax_cross_entropy_forward", logits, labels);
  const int64_t rows = logits.dim(0), cols = logits.dim(1);
  Tensor loss = Tensor::empty(Shape{rows}, DType::f32, Device::cuda);  // (N)
  if (rows == 0) return loss;
  cross_entropy_forward_kernel<<<grid_for_items(rows), kBlockSize, 0, stream()>>>(
      logits.data<float>(), labels.data<int32_t>(), cols, loss.data<float>());
  CUDA_CHECK_LAUNCH();
  return loss;
}

Tensor CudaBackend::softmax_cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                                                   const Tensor& dy) const {
  check_logits_and_labels("softmax_cross_entropy_backward", logits, labels);
  check_cuda_f32("softmax_cross_entropy_backward", dy);
  const int64_t rows = logits.dim(0), cols = logits.dim(1);
  Tensor dz = Tensor::empty(logits.shape(), DType::f32, Device::cuda);  // (N, M)
  if (dz.numel() == 0) return dz;
  cross_entropy_backward_kernel<<<grid_for_items(rows), kBlockSize, 0, stream()>>>(
      logits.data<float>(), labels.data<int32_t>(), dy.data<float>(), cols, dz.data<float>());
  CUDA_CHECK_LAUNCH();
  return dz;
}

Tensor CudaBackend::cw_margin_forward(const Tensor& logits, const Tensor& labels,
                                      const CwMarginParams& p) const {
  check_logits_and_labels("cw_margin_forward", logits, labels);
  FSA_CHECK(p.top_k >= 1, "[cw_margin_forward] top_k must be at least 1, got ", p.top_k);
  const int64_t rows = logits.dim(0), cols = logits.dim(1);
  Tensor loss = Tensor::empty(Shape{rows}, DType::f32, Device::cuda);  // (N)
  if (rows == 0) return loss;
  cw_margin_forward_kernel<<<grid_for_items(rows), kBlockSize, 0, stream()>>>(
      logits.data<float>(), labels.data<int32_t>(), cols, p, loss.data<float>());
  CUDA_CHECK_LAUNCH();
  return loss;
}

Tensor CudaBackend::cw_margin_backward(const Tensor& logits, const Tensor& labels, const Tensor& dy,
                                       const CwMarginParams& p) const {
  check_logits_and_labels("cw_margin_backward", logits, labels);
  check_cuda_f32("cw_margin_backward", dy);
  FSA_CHECK(p.top_k >= 1, "[cw_margin_backward] top_k must be at least 1, got ", p.top_k);
  const int64_t rows = logits.dim(0), cols = logits.dim(1);
  Tensor dz = Tensor::empty(logits.shape(), DType::f32, Device::cuda);  // (N, M)
  if (dz.numel() == 0) return dz;
  cw_margin_backward_kernel<<<grid_for_items(rows), kBlockSize, 0, stream()>>>(
      logits.data<float>(), labels.data<int32_t>(), dy.data<float>(), cols, p, dz.data<float>());
  CUDA_CHECK_LAUNCH();
  return dz;
}

}  // namespace fsa
