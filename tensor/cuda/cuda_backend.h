// cuda_backend.h: the CUDA backend. It owns one stream, a cuBLAS and a cuDNN handle (each
// created on first use), the caching device allocator and the cache of cuDNN convolution
// algorithms. Each group of methods is defined in the cuda/ file named beside it, the twin
// of the cpu/ file of the same stem. Kernels run float32 (plus int32 where the interface
// moves labels and indices); float64 is CPU-only and throws.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

#include "tensor/backend.h"
#include "tensor/cuda/allocator.h"
#include "tensor/cuda/check.h"

namespace fsa {

// The shape of one convolution call, the key of the algorithm cache:
// {direction, input N, C, H, W, weight K, C, R, S, stride, padding}.
using ConvKey = std::array<int64_t, 11>;
struct ConvAlgorithm {
  int algorithm = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t
  int math_type = 0;  // the cudnnMathType_t the algorithm was chosen for
  size_t workspace_bytes = 0;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend() = default;  // touches no CUDA: a build with CUDA runs fine without a GPU
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  // memory.cu: memory, casts, fills, random numbers
  void* allocate(size_t bytes) const override;
  void deallocate(void* data, size_t bytes) const noexcept override;
  void copy_from_host(void* dst, const void* host_src, size_t bytes) const override;
  void copy_to_host(void* host_dst, const void* src, size_t bytes) const override;
  void copy_within(void* dst, const void* src, size_t bytes) const override;
  void synchronize() const override;
  bool supports_capture() const override;
  std::shared_ptr<CapturedWork> capture(const std::function<void()>& work) const override;
  Tensor cast(const Tensor& x, DType dtype) const override;
  void fill(const Tensor& x, double value) const override;
  void fill_uniform(const Tensor& x, double lo, double hi, uint64_t seed,
                    uint64_t offset) const override;
  void fill_normal(const Tensor& x, double mean, double std, uint64_t seed,
                   uint64_t offset) const override;

  // elementwise.cu
  Tensor unary_forward(UnaryOp op, const Tensor& x, const UnaryArgs& args) const override;
  Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                        const UnaryArgs& args) const override;
  Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) const override;
  BinaryGrads binary_backward(BinaryOp op, const Tensor& a, const Tensor& b,
                              const Tensor& dy) const override;

  // reduce.cu
  Tensor sum_axes(const Tensor& x, const std::vector<int64_t>& axes) const override;
  Tensor broadcast_to(const Tensor& x, const Shape& shape) const override;
  Tensor topk_indices(const Tensor& x, int64_t k) const override;
  Tensor channel_std_forward(const Tensor& x, double eps) const override;
  Tensor channel_std_backward(const Tensor& x, const Tensor& std, const Tensor& dy) const override;

  // gemm.cu
  Tensor gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b) const override;

  // conv.cu
  Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                        const Conv2dParams& p) const override;
  Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                              const Conv2dParams& p) const override;
  Tensor conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape,
                                const Conv2dParams& p) const override;

  // pool.cu: padding, pooling, nearest upsampling
  Tensor reflection_pad2d_forward(const Tensor& x, int64_t pad) const override;
  Tensor reflection_pad2d_backward(const Tensor& dy, int64_t pad) const override;
  Tensor max_pool2d_forward(const Tensor& x, const Pool2dParams& p) const override;
  Tensor max_pool2d_backward(const Tensor& x, const Tensor& dy,
                             const Pool2dParams& p) const override;
  Tensor avg_pool2d_forward(const Tensor& x, const Pool2dParams& p) const override;
  Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape,
                             const Pool2dParams& p) const override;
  Tensor upsample_nearest_forward(const Tensor& x, int64_t scale) const override;
  Tensor upsample_nearest_backward(const Tensor& dy, int64_t scale) const override;

  // resize.cu
  Tensor resize_bilinear_forward(const Tensor& x, int64_t out_h, int64_t out_w,
                                 ResizeMode mode) const override;
  Tensor resize_bilinear_backward(const Tensor& dy, const Shape& x_shape,
                                  ResizeMode mode) const override;

  // norm.cu
  BatchNormStats batch_norm_stats(const Tensor& x) const override;
  Tensor batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                            const Tensor& gamma, const Tensor& beta, double eps) const override;
  BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                     const Tensor& var, const Tensor& gamma, double eps,
                                     bool training) const override;

  // layout.cu
  Tensor permute(const Tensor& x, const std::vector<int64_t>& order) const override;
  Tensor flip(const Tensor& x, int64_t axis) const override;
  Tensor concat(const std::vector<Tensor>& parts, int64_t axis) const override;
  Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t step,
               int64_t count) const override;
  Tensor slice_backward(const Tensor& dy, const Shape& x_shape, int64_t axis, int64_t start,
                        int64_t step) const override;

  // loss.cu
  Tensor softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels) const override;
  Tensor softmax_cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                                        const Tensor& dy) const override;
  Tensor cw_margin_forward(const Tensor& logits, const Tensor& labels,
                           const CwMarginParams& p) const override;
  Tensor cw_margin_backward(const Tensor& logits, const Tensor& labels, const Tensor& dy,
                            const CwMarginParams& p) const override;

  // optim.cu
  void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& velocity,
                  const SgdParams& p) const override;
  void adam_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                   const AdamParams& p) const override;

  // --- the context the kernel files share (cuda_backend.cpp) --------------------------
  cudaStream_t stream() const;    // every kernel, copy and library call runs here
  cublasHandle_t cublas() const;  // bound to stream()
  cudnnHandle_t cudnn() const;    // bound to stream()
  CachingAllocator& allocator() const { return allocator_; }
  // The algorithm cached for `key`, chosen by `choose` on the first call with that key
  // (printed to stderr then when FSA_CUDNN_LOG=1: key, algorithm, math type, workspace).
  ConvAlgorithm conv_algorithm(const ConvKey& key,
                               const std::function<ConvAlgorithm()>& choose) const;

 private:
  mutable std::once_flag stream_created_, cublas_created_, cudnn_created_;
  mutable cudaStream_t stream_ = nullptr;
  mutable cublasHandle_t cublas_ = nullptr;
  mutable cudnnHandle_t cudnn_ = nullptr;
  mutable CachingAllocator allocator_;
  mutable std::mutex conv_algorithms_mutex_;
  mutable std::map<ConvKey, ConvAlgorithm> conv_algorithms_;
};

// The process-wide CUDA backend (also reachable as cuda_backend() from cuda_entry.h).
const CudaBackend& cuda_backend_instance();

// A non-negative integer from the environment, or `fallback` when the variable is unset or
// empty; anything else throws, naming the variable.
long environment_integer(const char* name, long fallback);

// Whether float32 products may use TF32 tensor cores (Ampere and later), as PyTorch's
// allow_tf32: FSA_CUDA_TF32=1. Several times faster for training, about 1e-3 relative error
// per product, so parity checks run without it. Default 0: full float32, like the CPU.
bool tf32_allowed();

// Throws "[op] float64 is CPU-only" for float64, and unless x is float32 on the GPU.
void check_cuda_f32(const char* op, const Tensor& x);
// Throws unless x is an int32 tensor on the GPU (labels).
void check_cuda_i32(const char* op, const Tensor& x);

}  // namespace fsa
