// sgd.h: stochastic gradient descent as in PyTorch (momentum, Nesterov, L2 weight decay;
// the formula is on SgdParams in tensor/params.h). The velocity of each parameter is
// created, as zeros, at its first update when momentum is used.
#pragma once

#include "autograd/optim/optimizer.h"
#include "tensor/params.h"

namespace fsa {

class Sgd final : public Optimizer {
 public:
  Sgd(std::vector<Tensor> params, const SgdParams& options);

  const SgdParams& options() const { return options_; }
  const char* name() const override { return "sgd"; }
  double lr() const override { return options_.lr; }
  void set_lr(double lr) override;
  void reset_state() override;
  OptimizerState state() const override;
  void load_state(const OptimizerState& state) override;

 private:
  void update(size_t index, const Tensor& param, const Tensor& grad) override;

  SgdParams options_;
  std::vector<Tensor> velocity_;  // one per parameter; undefined until needed
};

}  // namespace fsa
