// batch_norm_common.h: what batch_norm.cpp and batch_norm_relu.cpp share: the checks of
// their inputs, the statistics they normalise with, and what their backward nodes keep.
#pragma once

#include "autograd/node.h"
#include "autograd/ops/normalization.h"
#include "tensor/backend.h"

namespace fsa {

struct BatchNormStatistics {
  Tensor mean, var;  // (C)
};

// Checks the inputs (errors name `op`); then, training: x's batch statistics (biased
// variance), with the running buffers updated in place (PyTorch's rule); eval: the running
// statistics.
BatchNormStatistics batch_norm_statistics(const char* op, const Tensor& x, const Tensor& gamma,
                                          const Tensor& beta, BatchNormState& state, bool training);

// dx in eval mode with frozen gamma and beta (the attacks): dy gamma / sqrt(var + eps), which
// is the eval-mode normalisation of dy with a zero mean and no shift. One pass, and no sums
// for dgamma and dbeta.
Tensor frozen_eval_input_gradient(const Tensor& dy, const Tensor& var, const Tensor& gamma,
                                  double eps);

// What a batch norm node keeps (batch_norm and batch_norm_relu), and how it is filled.
struct BatchNormNode : Node {
  Tensor x;  // not in eval mode with frozen parameters, whose backward does not read it
  Tensor mean, var, gamma;  // mean/var: the batch statistics, or a copy of the running ones
  double eps = 1e-5;
  bool training = true;
  bool reads_x() const { return training || needs_grad(1) || needs_grad(2); }
  // The gradients of x, gamma and beta that the graph asked for.
  std::vector<Tensor> requested(const BatchNormGrads& grads) const {
    return {needs_grad(0) ? grads.dx : Tensor(), needs_grad(1) ? grads.dgamma : Tensor(),
            needs_grad(2) ? grads.dbeta : Tensor()};
  }
  // x where backward reads it, the statistics (eval: copies, since the running buffers change
  // in place at the next training step and the graph must not), gamma and eps.
  void save(const Tensor& input, const BatchNormStatistics& statistics, const Tensor& scale,
            const BatchNormState& state, bool is_training) {
    training = is_training;
    if (reads_x()) x = input;
    mean = training ? statistics.mean : statistics.mean.clone();
    var = training ? statistics.var : statistics.var.clone();
    gamma = scale;
    eps = state.eps;
  }
};

}  // namespace fsa
