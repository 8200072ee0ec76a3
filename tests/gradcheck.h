// gradcheck.h: the finite-difference gradient check of every differentiable op (the core is
// autograd/gradcheck.h, shared with `fsa gradcheck`).
// The scalar checked is <r, f(inputs)> with a random cotangent r (a plain sum can hide
// transposition bugs); inputs are float64 and central differences run in float64.
#pragma once

#include <functional>
#include <vector>

#include "tensor/tensor.h"

namespace fsa::testing {

using OpFunction = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double rtol = 1e-5;  // per-op tolerances: |analytic - numeric| <= atol + rtol |numeric|
  double atol = 1e-7;
};

// Checks d<r, f>/d input for every float input (int32 inputs such as labels are passed
// through unchecked). Reports the op, the input, the element and both values.
void expect_gradients_match(const char* op, const OpFunction& f, const std::vector<Tensor>& inputs,
                            const GradcheckOptions& options = {});

}  // namespace fsa::testing
