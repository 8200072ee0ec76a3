// batch_norm.cpp: batch normalisation of x (N,C,H,W) or (N,C) per channel. Training uses
// and differentiates through the batch statistics and updates the running buffers in place;
// eval uses the running statistics as constants. Backward: one kernel gives dx, dgamma, dbeta
// (in eval mode without parameter gradients, a per-channel scale of dy).
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

// Throws unless `t` is a (C) tensor on x's device and dtype.
void check_per_channel(const char* name, const Tensor& t, const Tensor& x) {
  check_input("batch_norm", name, t, 1);
  check_same_device_and_dtype("batch_norm", x, t);
  FSA_CHECK(t.dim(0) == x.dim(1), "[batch_norm] ", name, " has shape ", t.shape(), " but input ",
            x.shape(), " has ", x.dim(1), " channels");
}

void check_batch_norm_inputs(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                             const BatchNormState& state, bool training) {
  check_input("batch_norm", "x", x);
  FSA_CHECK(x.ndim() == 2 || x.ndim() == 4, "[batch_norm] input must be (N,C) or (N,C,H,W), got ",
            x.shape());
  FSA_CHECK(x.numel() > 0, "[batch_norm] input ", x.shape(), " is empty");
  FSA_CHECK(gamma.defined() == beta.defined(),
            "[batch_norm] gamma and beta must be both defined or both undefined (input ", x.shape(),
            ")");
  if (gamma.defined()) {
    check_per_channel("gamma", gamma, x);
    check_per_channel("beta", beta, x);
  }
  check_per_channel("running_mean", state.running_mean, x);
  check_per_channel("running_var", state.running_var, x);
  FSA_CHECK(state.eps > 0.0, "[batch_norm] eps must be positive, got ", state.eps);
  FSA_CHECK(state.momentum >= 0.0 && state.momentum <= 1.0,
            "[batch_norm] momentum must lie in [0, 1], got ", state.momentum);
  const int64_t per_channel = x.numel() / x.dim(1);
  FSA_CHECK(!training || per_channel > 1,
            "[batch_norm] training needs more than one value per channel, input ", x.shape());
}

// running = (1 - momentum) * running + momentum * scale * batch, in running's storage.
void update_running(const Tensor& running, const Tensor& batch, double momentum, double scale) {
  NoGradGuard no_grad;
  running.copy_from(add(mul_scalar(running, 1.0 - momentum), mul_scalar(batch, momentum * scale)));
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, BatchNormState& state,
                  bool training) {
  check_batch_norm_inputs(x, gamma, beta, state, training);
  const Backend& backend = backend_for(x.device());
  Tensor mean, var;  // (C)
  if (training) {
    const BatchNormStats stats = backend.batch_norm_stats(x);
    mean = stats.mean;
    var = stats.var;
    // PyTorch rule: the running variance tracks the unbiased batch variance.
    const double count = static_cast<double>(x.numel() / x.dim(1));
    update_running(state.running_mean, mean, state.momentum, 1.0);
    update_running(state.running_var, var, state.momentum, count / (count - 1.0));
  } else {
    mean = state.running_mean;
    var = state.running_var;
  }
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
