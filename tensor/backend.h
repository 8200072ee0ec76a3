// backend.h: every kernel the engine needs, on one screen. A backend implements them for
// one device; backend_for(device) is the only place that branches on the device.
//
// Rules for implementations:
//   - inputs are contiguous and on this backend's device; the caller (autograd/ops)
//     has already validated shapes and dtypes, kernels re-check only what is cheap;
//   - a kernel allocates and WRITES its outputs; it never accumulates into an input.
//     The one exception is the optimizer updates at the end, which update in place;
//   - float kernels accept float32 and float64 (the CPU backend runs both; the CUDA
//     backend runs float32 and throws on float64).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "tensor/device_graph.h"
#include "tensor/params.h"
#include "tensor/tensor.h"

namespace fsa {

struct BinaryGrads {
  Tensor da, db;  // both in the broadcast shape; autograd sums them down to a and b
};

struct BatchNormStats {
  Tensor mean, var;  // (C), biased variance
};

struct BatchNormGrads {
  Tensor dx, dgamma, dbeta;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // --- memory -------------------------------------------------------------------------
  virtual void* allocate(size_t bytes) const = 0;
  virtual void deallocate(void* data, size_t bytes) const noexcept = 0;
  virtual void copy_from_host(void* dst, const void* host_src, size_t bytes) const = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) const = 0;
  virtual void copy_within(void* dst, const void* src, size_t bytes) const = 0;
  // Waits until every kernel queued on this device has finished (a no-op on the CPU).
  virtual void synchronize() const = 0;
  // Graph recording (tensor/device_graph.h): capture returns the work's kernels, recorded
  // and not run; only backends whose supports_capture() is true implement it.
  virtual bool supports_capture() const = 0;
  virtual std::shared_ptr<CapturedWork> capture(const std::function<void()>& work) const = 0;
  virtual Tensor cast(const Tensor& x, DType dtype) const = 0;
  virtual void fill(const Tensor& x, double value) const = 0;
  // Philox-4x32 streams: element i depends only on (seed, offset + i), never on threads.
  virtual void fill_uniform(const Tensor& x, double lo, double hi, uint64_t seed,
                            uint64_t offset) const = 0;
  virtual void fill_normal(const Tensor& x, double mean, double std, uint64_t seed,
                           uint64_t offset) const = 0;

  // --- elementwise --------------------------------------------------------------------
  virtual Tensor unary_forward(UnaryOp op, const Tensor& x, const UnaryArgs& args) const = 0;
  // dx from x, y = op(x) and dy; each op reads what its derivative needs
  // (unary_derivative_reads), and the other may be undefined.
  virtual Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                const UnaryArgs& args) const = 0;
  virtual Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) const = 0;
  virtual BinaryGrads binary_backward(BinaryOp op, const Tensor& a, const Tensor& b,
                                      const Tensor& dy) const = 0;

  // --- reductions and broadcasting ----------------------------------------------------
  // Sums over `axes` keeping them as extent-1 dimensions.
  virtual Tensor sum_axes(const Tensor& x, const std::vector<int64_t>& axes) const = 0;
  // Repeats x along its extent-1 dimensions (and new leading ones) to `shape`.
  virtual Tensor broadcast_to(const Tensor& x, const Shape& shape) const = 0;
  // Indices (N, k) of the k largest entries of each row of x (N, M), largest first.
  virtual Tensor topk_indices(const Tensor& x, int64_t k) const = 0;

  // --- per-channel statistics (AdaIN) ------------------------------------------------
  // std (N,C,1,1) over H, W of x (N,C,H,W): sqrt(biased var + eps).
  virtual Tensor channel_std_forward(const Tensor& x, double eps) const = 0;
  virtual Tensor channel_std_backward(const Tensor& x, const Tensor& std,
                                      const Tensor& dy) const = 0;

  // --- linear algebra and convolution -------------------------------------------------
  // C = op(A) op(B) for 2-D A, B; op transposes when asked.
  virtual Tensor gemm(const Tensor& a, bool transpose_a, const Tensor& b,
                      bool transpose_b) const = 0;
  // x (N,C,H,W), w (K,C,R,S), b (K) or undefined -> y (N,K,P,Q)
  virtual Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                                const Conv2dParams& p) const = 0;
  virtual Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                                      const Conv2dParams& p) const = 0;
  virtual Tensor conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape,
                                        const Conv2dParams& p) const = 0;
  // relu(conv2d_forward(...)) (z > 0 ? z : 0). The default (backend.cpp) composes the two; a
  // backend overrides it where the ReLU can be applied as each output is stored (the CPU's).
  virtual Tensor conv2d_relu_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                                     const Conv2dParams& p) const;

  // --- spatial ------------------------------------------------------------------------
  virtual Tensor reflection_pad2d_forward(const Tensor& x, int64_t pad) const = 0;
  virtual Tensor reflection_pad2d_backward(const Tensor& dy, int64_t pad) const = 0;
  virtual Tensor max_pool2d_forward(const Tensor& x, const Pool2dParams& p) const = 0;
  // NOTE: ties send the gradient to the first maximum in the window (row-major).
  virtual Tensor max_pool2d_backward(const Tensor& x, const Tensor& dy,
                                     const Pool2dParams& p) const = 0;
  virtual Tensor avg_pool2d_forward(const Tensor& x, const Pool2dParams& p) const = 0;
  virtual Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape,
                                     const Pool2dParams& p) const = 0;
  virtual Tensor upsample_nearest_forward(const Tensor& x, int64_t scale) const = 0;
  virtual Tensor upsample_nearest_backward(const Tensor& dy, int64_t scale) const = 0;
  virtual Tensor resize_bilinear_forward(const Tensor& x, int64_t out_h, int64_t out_w,
                                         ResizeMode mode) const = 0;
  virtual Tensor resize_bilinear_backward(const Tensor& dy, const Shape& x_shape,
                                          ResizeMode mode) const = 0;

  // --- normalisation ------------------------------------------------------------------
  virtual BatchNormStats batch_norm_stats(const Tensor& x) const = 0;
  // y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel of x (N,C,H,W) or (N,C).
  virtual Tensor batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                                    const Tensor& gamma, const Tensor& beta, double eps) const = 0;
  // training: mean/var are x's batch statistics and dx includes their dependence on x.
  virtual BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                             const Tensor& var, const Tensor& gamma, double eps,
                                             bool training) const = 0;
  // The normalisation followed by a ReLU (y = z > 0 ? z : 0, z as batch_norm_forward gives it),
  // and its backward: batch_norm_backward of dy where y > 0 and 0 elsewhere. The defaults
  // (backend.cpp) compose the ops above; a backend overrides them where one pass over the
  // values pays (the CPU's).
  virtual Tensor batch_norm_relu_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                                         const Tensor& gamma, const Tensor& beta, double eps) const;
  virtual BatchNormGrads batch_norm_relu_backward(const Tensor& dy, const Tensor& y,
                                                  const Tensor& x, const Tensor& mean,
                                                  const Tensor& var, const Tensor& gamma,
                                                  double eps, bool training) const;
  // The normalisation, plus a residual of x's shape, followed by a ReLU: the end of a ResNet
  // block. Its backward needs no entry of its own: dy masked by y is the residual's gradient,
  // and batch_norm_backward of it gives the rest.
  virtual Tensor batch_norm_add_relu_forward(const Tensor& x, const Tensor& residual,
                                             const Tensor& mean, const Tensor& var,
                                             const Tensor& gamma, const Tensor& beta,
                                             double eps) const;

  // --- layout -------------------------------------------------------------------------
  virtual Tensor permute(const Tensor& x, const std::vector<int64_t>& order) const = 0;
  virtual Tensor flip(const Tensor& x, int64_t axis) const = 0;
  virtual Tensor concat(const std::vector<Tensor>& parts, int64_t axis) const = 0;
  // Elements start, start+step, ... (count of them) along `axis`.
  virtual Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t step,
                       int64_t count) const = 0;
  // Scatters dy into zeros of x_shape: the adjoint of slice.
  virtual Tensor slice_backward(const Tensor& dy, const Shape& x_shape, int64_t axis, int64_t start,
                                int64_t step) const = 0;

  // --- losses (per sample; labels are int32 (N)) --------------------------------------
  virtual Tensor softmax_cross_entropy_forward(const Tensor& logits,
                                               const Tensor& labels) const = 0;
  virtual Tensor softmax_cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                                                const Tensor& dy) const = 0;
  virtual Tensor cw_margin_forward(const Tensor& logits, const Tensor& labels,
                                   const CwMarginParams& p) const = 0;
  virtual Tensor cw_margin_backward(const Tensor& logits, const Tensor& labels, const Tensor& dy,
                                    const CwMarginParams& p) const = 0;

  // --- optimizer updates (in place) ---------------------------------------------------
  virtual void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& velocity,
                          const SgdParams& p) const = 0;
  virtual void adam_update(const Tensor& param, const Tensor& grad, const Tensor& m,
                           const Tensor& v, const AdamParams& p) const = 0;
};

// The backend of a device: the only branch on the device in the engine.
const Backend& backend_for(Device device);

}  // namespace fsa
