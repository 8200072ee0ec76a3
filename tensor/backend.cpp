// backend.cpp: backend_for(), the one place the engine branches on the device; and the
// Backend's composed defaults.
#include "tensor/backend.h"

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cuda_entry.h"

namespace fsa {

const Backend& backend_for(Device device) {
  if (device == Device::cpu) return cpu_backend();
  return cuda_backend();
}

Tensor Backend::conv2d_relu_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                                    const Conv2dParams& p) const {
  return unary_forward(UnaryOp::relu, conv2d_forward(x, w, b, p), {});
}

Tensor Backend::batch_norm_relu_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                                        const Tensor& gamma, const Tensor& beta, double eps) const {
  return unary_forward(UnaryOp::relu, batch_norm_forward(x, mean, var, gamma, beta, eps), {});
}

BatchNormGrads Backend::batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x,
                                                 const Tensor& mean, const Tensor& var,
                                                 const Tensor& gamma, double eps,
                                                 bool training) const {
  const Tensor masked = unary_backward(UnaryOp::relu, Tensor(), y, dy, {});
  return batch_norm_backward(masked, x, mean, var, gamma, eps, training);
}

Tensor Backend::batch_norm_add_relu_forward(const Tensor& x, const Tensor& residual,
                                            const Tensor& mean, const Tensor& var,
                                            const Tensor& gamma, const Tensor& beta,
                                            double eps) const {
  const Tensor normalized = batch_norm_forward(x, mean, var, gamma, beta, eps);
  return unary_forward(UnaryOp::relu, binary_forward(BinaryOp::add, normalized, residual), {});
}

}  // namespace fsa
