// batch_norm_statistics.h: what batch_norm.cpp and batch_norm_relu.cpp share: the checks of
// their inputs, the statistics they normalise with, and what their backward nodes keep.
#pragma once

#include "autograd/ops/normalization.h"

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

// Fills what a batch norm node keeps: x where its backward reads it (node.reads_x(), which
// needs `training` set first), the statistics (eval: copies, since the running buffers change
// in place at the next training step and the graph must not), gamma and eps.
template <typename BatchNormNode>
void save_batch_norm_inputs(BatchNormNode& node, const Tensor& x,
                            const BatchNormStatistics& statistics, const Tensor& gamma,
                            const BatchNormState& state, bool training) {
  node.training = training;
  if (node.reads_x()) node.x = x;
  node.mean = training ? statistics.mean : statistics.mean.clone();
  node.var = training ? statistics.var : statistics.var.clone();
  node.gamma = gamma;
  node.eps = state.eps;
}

}  // namespace fsa
