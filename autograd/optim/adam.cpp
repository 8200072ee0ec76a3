// adam.cpp: Adam bookkeeping (lazy moments, step counts); the arithmetic is the backend's
// adam_update kernel.
#include "autograd/optim/adam.h"

#include "tensor/backend.h"

namespace fsa {

Adam::Adam(std::vector<Tensor> params, const AdamParams& options)
    : Optimizer(std::move(params)), options_(options), state_(this->params().size()) {
  set_lr(options.lr);
  FSA_CHECK(options.beta1 >= 0.0 && options.beta1 < 1.0, "[adam] beta1 must be in [0, 1), got ",
            options.beta1);
  FSA_CHECK(options.beta2 >= 0.0 && options.beta2 < 1.0, "[adam] beta2 must be in [0, 1), got ",
            options.beta2);
  FSA_CHECK(options.eps >= 0.0, "[adam] eps must be non-negative, got ", options.eps);
  FSA_CHECK(options.weight_decay >= 0.0, "[adam] weight_decay must be non-negative, got ",
            options.weight_decay);
}

void Adam::set_lr(double lr) {
  FSA_CHECK(lr >= 0.0, "[adam] learning rate must be non-negative, got ", lr);
  options_.lr = lr;
}

void Adam::reset_state() {
  for (State& state : state_) state = State();
}

void Adam::update(size_t index, const Tensor& param, const Tensor& grad) {
  State& state = state_[index];
  if (!state.m.defined()) {
    state.m = Tensor::zeros(param.shape(), param.dtype(), param.device());
    state.v = Tensor::zeros(param.shape(), param.dtype(), param.device());
  }
  AdamParams current = options_;
  current.step = ++state.steps;
  backend_for(param.device()).adam_update(param, grad, state.m, state.v, current);
}

}  // namespace fsa
