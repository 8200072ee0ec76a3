// adam.h: Adam in the PyTorch or the TF-1 form (AdamParams in tensor/params.h). Each
// parameter's moments m, v are created as zeros at its first update, and its step count
// starts at 1 then; reset_state() forgets them all (a fresh Adam, e.g. per attack batch).
// NOTE: step counts are per parameter (PyTorch); they equal TF-1's shared beta powers
// whenever every parameter has a gradient at every step.
#pragma once

#include "autograd/optim/optimizer.h"
#include "tensor/params.h"

namespace fsa {

class Adam final : public Optimizer {
 public:
  // options.step is ignored: each update uses the parameter's own step count.
  Adam(std::vector<Tensor> params, const AdamParams& options);

  const AdamParams& options() const { return options_; }
  const char* name() const override { return "adam"; }
  double lr() const override { return options_.lr; }
  void set_lr(double lr) override;
  void reset_state() override;
  OptimizerState state() const override;
  void load_state(const OptimizerState& state) override;
  // Updates applied so far to params()[index] since construction or reset_state().
  int64_t step_count(size_t index) const { return state_.at(index).steps; }

 private:
  struct State {
    Tensor m, v;  // first and second moments, shaped like the parameter
    int64_t steps = 0;
  };
  void update(size_t index, const Tensor& param, const Tensor& grad) override;

  AdamParams options_;
  std::vector<State> state_;
};

}  // namespace fsa
