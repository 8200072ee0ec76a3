// cpu_backend.h: the CPU backend, the engine's readable reference. Each group of methods
// is defined in the cpu/ file named beside it; the math lives in plain templated loops that
// run in float32 and float64.
#pragma once

#include "tensor/backend.h"

namespace fsa {

class CpuBackend final : public Backend {
 public:
  // memory.cpp: memory, casts, fills, random numbers
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

  // elementwise.cpp
  Tensor unary_forward(UnaryOp op, const Tensor& x, const UnaryArgs& args) const override;
  Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                        const UnaryArgs& args) const override;
  Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) const override;
  BinaryGrads binary_backward(BinaryOp op, const Tensor& a, const Tensor& b,
                              const Tensor& dy) const override;

  // reduce.cpp
  Tensor sum_axes(const Tensor& x, const std::vector<int64_t>& axes) const override;
  Tensor broadcast_to(const Tensor& x, const Shape& shape) const override;
  Tensor topk_indices(const Tensor& x, int64_t k) const override;
  Tensor channel_std_forward(const Tensor& x, double eps) const override;
  Tensor channel_std_backward(const Tensor& x, const Tensor& std, const Tensor& dy) const override;

  // gemm.cpp
  Tensor gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b) const override;

  // conv.cpp
  Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                        const Conv2dParams& p) const override;
  Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                              const Conv2dParams& p) const override;
  Tensor conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape,
                                const Conv2dParams& p) const override;
  Tensor conv2d_relu_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                             const Conv2dParams& p) const override;

  // pool.cpp: padding, pooling, nearest upsampling
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

  // resize.cpp
  Tensor resize_bilinear_forward(const Tensor& x, int64_t out_h, int64_t out_w,
                                 ResizeMode mode) const override;
  Tensor resize_bilinear_backward(const Tensor& dy, const Shape& x_shape,
                                  ResizeMode mode) const override;

  // norm.cpp
  BatchNormStats batch_norm_stats(const Tensor& x) const override;
  Tensor batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                            const Tensor& gamma, const Tensor& beta, double eps) const override;
  BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                     const Tensor& var, const Tensor& gamma, double eps,
                                     bool training) const override;
  Tensor batch_norm_relu_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                                 const Tensor& gamma, const Tensor& beta,
                                 double eps) const override;
  BatchNormGrads batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x,
                                          const Tensor& mean, const Tensor& var,
                                          const Tensor& gamma, double eps,
                                          bool training) const override;
  Tensor batch_norm_add_relu_forward(const Tensor& x, const Tensor& residual, const Tensor& mean,
                                     const Tensor& var, const Tensor& gamma, const Tensor& beta,
                                     double eps) const override;

  // layout.cpp
  Tensor permute(const Tensor& x, const std::vector<int64_t>& order) const override;
  Tensor flip(const Tensor& x, int64_t axis) const override;
  Tensor concat(const std::vector<Tensor>& parts, int64_t axis) const override;
  Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t step,
               int64_t count) const override;
  Tensor slice_backward(const Tensor& dy, const Shape& x_shape, int64_t axis, int64_t start,
                        int64_t step) const override;

  // loss.cpp
  Tensor softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels) const override;
  Tensor softmax_cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                                        const Tensor& dy) const override;
  Tensor cw_margin_forward(const Tensor& logits, const Tensor& labels,
                           const CwMarginParams& p) const override;
  Tensor cw_margin_backward(const Tensor& logits, const Tensor& labels, const Tensor& dy,
                            const CwMarginParams& p) const override;

  // optim.cpp
  void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& velocity,
                  const SgdParams& p) const override;
  void adam_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                   const AdamParams& p) const override;
};

const CpuBackend& cpu_backend();

}  // namespace fsa
