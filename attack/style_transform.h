// style_transform.h: the interface of a differentiable change of an embedding's per-channel
// style that the feature-space attacks optimise: FA's bounded scaling (style.h) and FI's
// interpolation between style prototypes (style_interpolation.h). The attack loop
// (feature_attack.h) only sees this interface: begin, variables, perturbed, then per step
// prepare_gradients and project.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace fsa {

class StyleTransform {
 public:
  virtual ~StyleTransform() = default;

  // Starts a batch from the clean embedding (N,C,H,W) of images labelled `labels` (int32
  // (N)); the variables go to their starting point. Keeps the variable tensors (same
  // handles) when their shape is unchanged, so an optimiser built on variables() can carry
  // its state; returns true when they were re-created.
  virtual bool begin(const Tensor& clean_features, const Tensor& labels) = 0;
  // The autograd leaves to optimise, each with the batch as its first axis.
  virtual const std::vector<Tensor>& variables() const = 0;
  // The transformed embedding t (N,C,H,W), recorded for autograd.
  virtual Tensor perturbed() const = 0;
  // Called on the variables' gradients before clipping and the optimiser step: a transform
  // whose feasible set ignores a direction removes it here. Default: nothing.
  virtual void prepare_gradients() {}
  // Projects the variables onto the feasible set, in place.
  virtual void project() = 0;
  // σ'/σ_C and |μ'|/|μ_C| (1 where μ_C = 0) of the current point, (N,C,1,1).
  virtual Tensor sigma_factor() const = 0;
  virtual Tensor mean_factor() const = 0;
};

}  // namespace fsa
