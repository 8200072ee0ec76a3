// batch_norm.cpp: batch normalisation of x (N,C,H,W) or (N,C) per channel. Training uses
// and differentiates through the batch statistics and updates the running buffers in place;
// eval uses the running statistics as constants. Backward: one kernel gives dx, dgamma, dbeta
// (in eval mode without parameter gradients, a per-channel scale of dy).
#include "autograd/ops/batch_norm_common.h"
#include "autograd/ops/normalization.h"

namespace fsa {

namespace {

struct BatchNormBackward final : BatchNormNode {
  const char* name() const override { return "batch_norm"; }
  std::vector<Tensor> backward(Tensor dy) override {
    const Backend& backend = backend_for(dy.device());
    if (!reads_x()) return {frozen_eval_input_gradient(dy, var, gamma, eps), Tensor(), Tensor()};
    const BatchNormGrads grads =
        backend.batch_norm_backward(dy, x, mean, var, gamma, eps, training);
    return requested(grads);
  }
};

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, BatchNormState& state,
                  bool training) {
  const BatchNormStatistics statistics =
      batch_norm_statistics("batch_norm", x, gamma, beta, state, training);
  Tensor y = backend_for(x.device())
                 .batch_norm_forward(x, statistics.mean, statistics.var, gamma, beta, state.eps);
  if (auto node = make_node<BatchNormBackward>({x, gamma, beta})) {
    node->save(x, statistics, gamma, state, training);
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
