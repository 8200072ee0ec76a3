// gradcheck.cpp: analytic gradients from the engine against central differences.
#include "tests/gradcheck.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tests/test_util.h"

namespace fsa::testing {

namespace {

double weighted_output(const OpFunction& f, const std::vector<Tensor>& inputs, const Tensor& cotangent) {
  NoGradGuard no_grad;
  const std::vector<double> y = f(inputs).to_vector(), r = cotangent.to_vector();
  double total = 0.0;
  for (size_t i = 0; i < y.size(); ++i) total += y[i] * r[i];
  return total;
}

Tensor numeric_gradient(const OpFunction& f, const std::vector<Tensor>& inputs, size_t which,
                        const Tensor& cotangent, double eps) {
  const Tensor& x = inputs[which];
  double* values = x.data<double>();
  std::vector<double> result(static_cast<size_t>(x.numel()));
  for (int64_t j = 0; j < x.numel(); ++j) {
    const double saved = values[j];
    values[j] = saved + eps;
    const double plus = weighted_output(f, inputs, cotangent);
    values[j] = saved - eps;
    const double minus = weighted_output(f, inputs, cotangent);
    values[j] = saved;
    result[static_cast<size_t>(j)] = (plus - minus) / (2.0 * eps);
  }
  return Tensor::from_vector(result, x.shape(), DType::f64);
}

}  // namespace

void expect_gradients_match(const char* op, const OpFunction& f, const std::vector<Tensor>& inputs,
                            const GradcheckOptions& options) {
  std::vector<Tensor> leaves;
  for (const Tensor& x : inputs) {
    Tensor leaf = x.defined() ? x.clone() : Tensor();
    if (leaf.defined() && leaf.dtype() == DType::f64) set_requires_grad(leaf, true);
    leaves.push_back(leaf);
  }
  const Tensor y = f(leaves);
  const Tensor cotangent = random_tensor(y.shape(), 12345, -1.0, 1.0);
  backward(y, cotangent);
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!leaves[i].defined() || leaves[i].dtype() != DType::f64) continue;
    const Tensor analytic = grad(leaves[i]).defined() ? grad(leaves[i]) : Tensor::zeros(leaves[i].shape(), DType::f64);
    const Tensor numeric = numeric_gradient(f, leaves, i, cotangent, options.eps);
    EXPECT_TRUE(tensors_near(analytic, numeric, options.rtol, options.atol))
        << "[" << op << "] gradient of input " << i << " " << leaves[i].shape()
        << " (analytic vs finite differences)";
  }
}

}  // namespace fsa::testing
