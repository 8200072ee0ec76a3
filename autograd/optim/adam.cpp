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

OptimizerState Adam::state() const {
  OptimizerState result;
  for (size_t i = 0; i < state_.size(); ++i) {
    if (!state_[i].m.defined()) continue;
    const std::string prefix = std::to_string(i) + ".";
    result.tensors[prefix + "m"] = state_[i].m;
    result.tensors[prefix + "v"] = state_[i].v;
    result.counters[prefix + "steps"] = state_[i].steps;
  }
  return result;
}

void Adam::load_state(const OptimizerState& state) {
  check_state_names(state, {"m", "v"}, {"steps"});
  std::vector<State> loaded(state_.size());
  for (size_t i = 0; i < loaded.size(); ++i) {
    loaded[i].m = state_slot(state, i, "m");
    loaded[i].v = state_slot(state, i, "v");
    const auto steps = state.counters.find(std::to_string(i) + ".steps");
    loaded[i].steps = steps == state.counters.end() ? 0 : steps->second;
    const bool complete = loaded[i].m.defined() == loaded[i].v.defined() &&
                          loaded[i].m.defined() == (loaded[i].steps > 0);
    FSA_CHECK(complete, "[adam] the state of parameter ", i,
              " is incomplete: m, v and a positive step count go together");
  }
  state_ = std::move(loaded);
}

}  // namespace fsa
