// optimizer.h: the base of the optimizers (sgd.h, adam.h). It holds the parameter tensors,
// clears their gradients, and step() updates each parameter in place from fsa::grad(param)
// with graph recording off; parameters without a gradient are skipped.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace fsa {

class Optimizer {
 public:
  // Every parameter must be a defined float tensor; the handles are shared, not copied.
  explicit Optimizer(std::vector<Tensor> params);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  const std::vector<Tensor>& params() const { return params_; }
  // Drops the accumulated gradient of every parameter.
  void zero_grad();
  // One update of every parameter that has a gradient.
  void step();

  virtual const char* name() const = 0;
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  // Forgets the per-parameter state (momentum, Adam moments and step counts).
  virtual void reset_state() = 0;

 protected:
  // Updates params()[index] in place from `grad` (same shape, dtype and device).
  virtual void update(size_t index, const Tensor& param, const Tensor& grad) = 0;

 private:
  std::vector<Tensor> params_;
};

}  // namespace fsa
