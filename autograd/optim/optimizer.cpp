// optimizer.cpp: parameter bookkeeping shared by every optimizer.
#include "autograd/optim/optimizer.h"

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

}  // namespace fsa
