// gradcheck.cpp: the per-op check on top of autograd/gradcheck.h: every element compared
// with the op's own tolerances.
#include "tests/gradcheck.h"

#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "autograd/variable.h"
#include "tests/test_util.h"

namespace fsa::testing {

void expect_gradients_match(const char* op, const OpFunction& f, const std::vector<Tensor>& inputs,
                            const GradcheckOptions& options) {
  std::vector<Tensor> arguments, leaves;
  std::vector<size_t> which;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor argument = inputs[i].defined() ? inputs[i].clone() : Tensor();
    if (argument.defined() && argument.dtype() == DType::f64) {
      set_requires_grad(argument, true);
      leaves.push_back(argument);
      which.push_back(i);
    }
    arguments.push_back(argument);
  }
  const std::vector<LeafGradients> gradients =
      compare_gradients([&] { return f(arguments); }, leaves, {.step = options.eps});
  for (size_t j = 0; j < leaves.size(); ++j) {
    const Tensor analytic =
        Tensor::from_vector(gradients[j].analytic, leaves[j].shape(), DType::f64);
    const Tensor numeric = Tensor::from_vector(gradients[j].numeric, leaves[j].shape(), DType::f64);
    EXPECT_TRUE(tensors_near(analytic, numeric, options.rtol, options.atol))
        << "[" << op << "] gradient of input " << which[j] << " " << leaves[j].shape()
        << " (analytic vs finite differences)";
  }
}

}  // namespace fsa::testing
