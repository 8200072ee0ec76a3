// batch_norm.cpp: batch normalisation of x (N,C,H,W) or (N,C) per channel. Training uses
// and differentiates through the batch statistics and updates the running buffers in place;
// eval uses the running statistics as constants. Backward: one kernel gives dx, dgamma, dbeta
// (in eval mode without parameter gradients, a per-channel scale of dy).
#include "autograd/ops/batch_norm_statistics.h"
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/normalization.h"

namespace fsa {

namespace {

struct BatchNormBackward final : Node {
  Tensor x;  // not in eval mode with frozen parameters, whose backward does not read it
  Tensor mean, var, gamma;  // mean/var: the batch statistics, or a copy of the running ones
  double eps = 1e-5;
  bool training = true;
  const char* name() const override { return "batch_norm"; }
  bool reads_x() const { return training || needs_grad(1) || needs_grad(2); }
  std::vector<Tensor> backward(const Tensor& dy) override {
    const Backend& backend = backend_for(dy.device());
    if (!reads_x()) {
      // Eval mode with frozen parameters (the attacks): dx = dy gamma / sqrt(var + eps), which
      // is the eval-mode normalisation of dy with a zero mean and no shift. One pass, and no
      // sums for dgamma and dbeta.
      const Tensor zero_mean = Tensor::zeros(mean.shape(), mean.dtype(), mean.device());
      return {backend.batch_norm_forward(dy, zero_mean, var, gamma, Tensor(), eps), Tensor(),
              Tensor()};
    }
    const BatchNormGrads grads =
        backend.batch_norm_backward(dy, x, mean, var, gamma, eps, training);
    return {needs_grad(0) ? grads.dx : Tensor(), needs_grad(1) ? grads.dgamma : Tensor(),
            needs_grad(2) ? grads.dbeta : Tensor()};
  }
};

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, BatchNormState& state,
                  bool training) {
  const auto [mean, var] = batch_norm_statistics("batch_norm", x, gamma, beta, state, training);
  const Backend& backend = backend_for(x.device());
  Tensor y = backend.batch_norm_forward(x, mean, var, gamma, beta, state.eps);
  if (auto node = make_node<BatchNormBackward>({x, gamma, beta})) {
    node->training = training;
    if (node->reads_x()) node->x = x;
    // Eval saves copies: the buffers change in place at the next training step, the graph
    // must not.
    node->mean = training ? mean : mean.clone();
    node->var = training ? var : var.clone();
    node->gamma = gamma;
    node->eps = state.eps;
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
