// batch_norm_common.cpp: the input checks, statistics and frozen eval gradient of
// batch_norm_common.h.
#include "autograd/ops/batch_norm_common.h"

#include "autograd/grad_mode.h"
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"

namespace fsa {

namespace {

// Throws unless `t` is a (C) tensor on x's device and dtype.
void check_per_channel(const char* op, const char* name, const Tensor& t, const Tensor& x) {
  check_input(op, name, t, 1);
  check_same_device_and_dtype(op, x, t);
  FSA_CHECK(t.dim(0) == x.dim(1), "[", op, "] ", name, " has shape ", t.shape(), " but input ",
            x.shape(), " has ", x.dim(1), " channels");
}

void check_inputs(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const BatchNormState& state, bool training) {
  check_input(op, "x", x);
  FSA_CHECK(x.ndim() == 2 || x.ndim() == 4, "[", op, "] input must be (N,C) or (N,C,H,W), got ",
            x.shape());
  FSA_CHECK(x.numel() > 0, "[", op, "] input ", x.shape(), " is empty");
  FSA_CHECK(gamma.defined() == beta.defined(), "[", op,
            "] gamma and beta must be both defined or both undefined (input ", x.shape(), ")");
  if (gamma.defined()) {
    check_per_channel(op, "gamma", gamma, x);
    check_per_channel(op, "beta", beta, x);
  }
  check_per_channel(op, "running_mean", state.running_mean, x);
  check_per_channel(op, "running_var", state.running_var, x);
  FSA_CHECK(state.eps > 0.0, "[", op, "] eps must be positive, got ", state.eps);
  FSA_CHECK(state.momentum >= 0.0 && state.momentum <= 1.0, "[", op,
            "] momentum must lie in [0, 1], got ", state.momentum);
  const int64_t per_channel = x.numel() / x.dim(1);
  FSA_CHECK(!training || per_channel > 1, "[", op,
            "] training needs more than one value per channel, input ", x.shape());
}

// running = (1 - momentum) * running + momentum * scale * batch, in running's storage.
void update_running(const Tensor& running, const Tensor& batch, double momentum, double scale) {
  NoGradGuard no_grad;
  running.copy_from(add(mul_scalar(running, 1.0 - momentum), mul_scalar(batch, momentum * scale)));
}

}  // namespace

BatchNormStatistics batch_norm_statistics(const char* op, const Tensor& x, const Tensor& gamma,
                                          const Tensor& beta, BatchNormState& state,
                                          bool training) {
  check_inputs(op, x, gamma, beta, state, training);
  if (!training) return {state.running_mean, state.running_var};
  const BatchNormStats stats = backend_for(x.device()).batch_norm_stats(x);
  // PyTorch rule: the running variance tracks the unbiased batch variance.
  const double count = static_cast<double>(x.numel() / x.dim(1));
  update_running(state.running_mean, stats.mean, state.momentum, 1.0);
  update_running(state.running_var, stats.var, state.momentum, count / (count - 1.0));
  return {stats.mean, stats.var};
}

Tensor frozen_eval_input_gradient(const Tensor& dy, const Tensor& var, const Tensor& gamma,
                                  double eps) {
  const Tensor zero_mean = Tensor::zeros(var.shape(), var.dtype(), var.device());
  return backend_for(dy.device()).batch_norm_forward(dy, zero_mean, var, gamma, Tensor(), eps);
}

}  // namespace fsa
