// normalization.h: batch normalisation. Defined in batch_norm.cpp.
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

}  // namespace fsa
