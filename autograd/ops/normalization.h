// normalization.h: batch normalisation (batch_norm.cpp), and batch normalisation followed by a
// ReLU (batch_norm_relu.cpp) or by a residual add and a ReLU (batch_norm_add_relu.cpp) as one op.
#pragma once

#include "tensor/tensor.h"

namespace fsa {

// y = (x - mean) / sqrt(var + eps) * gamma + beta per channel of x (N,C,H,W) or (N,C).
// training: batch statistics (biased variance) are used and differentiated through, and
//   the running buffers are updated in place (PyTorch rule: unbiased variance,
//   running = (1 - momentum) * running + momentum * batch);
// eval: the running statistics are used as constants.
// gamma/beta may be undefined (no affine transform).
struct BatchNormState {
  Tensor running_mean;  // (C)
  Tensor running_var;   // (C)
  double momentum = 0.1;
  double eps = 1e-5;
};
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, BatchNormState& state,
                  bool training);

// relu(batch_norm(x, gamma, beta, state, training)), the same values and gradients, in fewer
// passes over memory where the backend fuses the two (the CPU's).
Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                       BatchNormState& state, bool training);

// relu(batch_norm(x, gamma, beta, state, training) + residual), residual of x's shape: the end
// of a ResNet block, in one pass over the values where the backend fuses it (the CPU's).
Tensor batch_norm_add_relu(const Tensor& x, const Tensor& residual, const Tensor& gamma,
                           const Tensor& beta, BatchNormState& state, bool training);

}  // namespace fsa
