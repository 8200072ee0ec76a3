// optimizer.h: the base of the optimizers (sgd.h, adam.h). It holds the parameter tensors,
// clears their gradients, and step() updates each parameter in place from fsa::grad(param)
// with graph recording off; parameters without a gradient are skipped. state() and
// load_state() expose what an optimizer keeps between steps, for training checkpoints.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

// What an optimizer keeps between steps: tensors named "<parameter index>.<slot>" (Adam
// "3.m", "3.v"; SGD "3.velocity") and integer counters (Adam "3.steps"). Slots not yet
// created (before a parameter's first update) are absent.
struct OptimizerState {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, int64_t> counters;
};

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
  // The live state tensors (handles, not copies) and counters.
  virtual OptimizerState state() const = 0;
  // Replaces the whole state by `state` (as state() gave it, possibly read back from a file):
  // every name must belong to this optimizer and every tensor must have its parameter's
  // shape; values are copied onto the parameters' devices and dtypes.
  virtual void load_state(const OptimizerState& state) = 0;

 protected:
  // Updates params()[index] in place from `grad` (same shape, dtype and device).
  virtual void update(size_t index, const Tensor& param, const Tensor& grad) = 0;
  // Shared by load_state(): the slot tensor `name` of `state` as a copy on the device and
  // dtype of params()[index], or undefined when absent; a wrong shape is an fsa::Error.
  Tensor state_slot(const OptimizerState& state, size_t index, const std::string& slot) const;
  // Throws unless every tensor and counter name of `state` is "<index>.<slot>" with an index
  // below params().size() and a slot in `tensor_slots` / `counter_slots`.
  void check_state_names(const OptimizerState& state, const std::vector<std::string>& tensor_slots,
                         const std::vector<std::string>& counter_slots) const;

 private:
  std::vector<Tensor> params_;
};

}  // namespace fsa
