// batch_norm_statistics.h: what batch_norm.cpp and batch_norm_relu.cpp share: the checks of
// their inputs and the statistics they normalise with.
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

}  // namespace fsa
