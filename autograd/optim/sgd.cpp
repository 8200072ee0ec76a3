// sgd.cpp: SGD bookkeeping; the arithmetic is the backend's sgd_update kernel.
#include "autograd/optim/sgd.h"

#include "tensor/backend.h"

namespace fsa {

Sgd::Sgd(std::vector<Tensor> params, const SgdParams& options)
    : Optimizer(std::move(params)), options_(options), velocity_(this->params().size()) {
  set_lr(options.lr);
  FSA_CHECK(options.momentum >= 0.0, "[sgd] momentum must be non-negative, got ", options.momentum);
  FSA_CHECK(options.weight_decay >= 0.0, "[sgd] weight_decay must be non-negative, got ",
            options.weight_decay);
  FSA_CHECK(!options.nesterov || options.momentum > 0.0, "[sgd] nesterov needs a momentum > 0");
}

void Sgd::set_lr(double lr) {
  FSA_CHECK(lr >= 0.0, "[sgd] learning rate must be non-negative, got ", lr);
  options_.lr = lr;
}

void Sgd::reset_state() {
  for (Tensor& velocity : velocity_) velocity = Tensor();
}

void Sgd::update(size_t index, const Tensor& param, const Tensor& grad) {
  Tensor& velocity = velocity_[index];
  if (options_.momentum != 0.0 && !velocity.defined()) {
    velocity = Tensor::zeros(param.shape(), param.dtype(), param.device());
  }
  backend_for(param.device()).sgd_update(param, grad, velocity, options_);
}

OptimizerState Sgd::state() const {
  OptimizerState result;
  for (size_t i = 0; i < velocity_.size(); ++i) {
    if (velocity_[i].defined()) result.tensors[std::to_string(i) + ".velocity"] = velocity_[i];
  }
  return result;
}

void Sgd::load_state(const OptimizerState& state) {
  check_state_names(state, {"velocity"}, {});
  std::vector<Tensor> loaded(velocity_.size());
  for (size_t i = 0; i < loaded.size(); ++i) loaded[i] = state_slot(state, i, "velocity");
  velocity_ = std::move(loaded);
}

}  // namespace fsa
