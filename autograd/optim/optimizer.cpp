// optimizer.cpp: parameter bookkeeping shared by every optimizer.
#include "autograd/optim/optimizer.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/variable.h"

namespace fsa {

Optimizer::Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {
  for (size_t i = 0; i < params_.size(); ++i) {
    FSA_CHECK(params_[i].defined(), "[optimizer] parameter ", i, " is undefined");
    check_floating("optimizer", params_[i]);
  }
}

void Optimizer::zero_grad() {
  for (const Tensor& param : params_) fsa::zero_grad(param);
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor gradient = grad(params_[i]);
    if (!gradient.defined()) continue;
    FSA_CHECK(gradient.shape() == params_[i].shape(), "[", name(), "] gradient ", gradient.shape(),
              " does not match parameter ", i, " ", params_[i].shape());
    check_same_device_and_dtype(name(), params_[i], gradient);
    update(i, params_[i], gradient);
  }
}

namespace {

std::string slot_name(size_t index, const std::string& slot) {
  return std::to_string(index) + "." + slot;
}

// Splits "<index>.<slot>"; false when the name has another form.
bool parse_slot_name(const std::string& name, size_t& index, std::string& slot) {
  const size_t dot = name.find('.');
  if (dot == 0 || dot == std::string::npos) return false;
  const std::string digits = name.substr(0, dot);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  index = std::stoull(digits);
  slot = name.substr(dot + 1);
  return true;
}

}  // namespace

Tensor Optimizer::state_slot(const OptimizerState& state, size_t index,
                             const std::string& slot) const {
  const auto found = state.tensors.find(slot_name(index, slot));
  if (found == state.tensors.end()) return Tensor();
  const Tensor& param = params_[index];
  FSA_CHECK(found->second.shape() == param.shape(), "[", name(), "] state '", found->first, "' is ",
            found->second.shape(), " but parameter ", index, " is ", param.shape());
  Tensor copy = Tensor::empty(param.shape(), param.dtype(), param.device());
  copy.copy_from(found->second);
  return copy;
}

void Optimizer::check_state_names(const OptimizerState& state,
                                  const std::vector<std::string>& tensor_slots,
                                  const std::vector<std::string>& counter_slots) const {
  const auto check = [&](const std::string& name, const std::vector<std::string>& slots) {
    size_t index = 0;
    std::string slot;
    const bool known = parse_slot_name(name, index, slot) && index < params_.size() &&
                       std::find(slots.begin(), slots.end(), slot) != slots.end();
    FSA_CHECK(known, "[", this->name(), "] unknown state entry '", name, "' for ", params_.size(),
              " parameters (a state saved by another optimizer or for another model?)");
  };
  for (const auto& [name, tensor] : state.tensors) check(name, tensor_slots);
  for (const auto& [name, value] : state.counters) check(name, counter_slots);
}

}  // namespace fsa
