// autograd_engine_test.cpp: graph traversal, accumulation, no-grad, reuse of a tensor,
// leaf rules and error messages of the engine.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

TEST(Engine, TensorUsedTwiceAccumulates) {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}, DType::f64);
  set_requires_grad(x, true);
  backward(sum(x * x + x));  // d/dx = 2x + 1
  EXPECT_EQ(grad(x).to_vector(), (std::vector<double>{3, 5, 7}));
}

TEST(Engine, GradientsAccumulateAcrossCallsUntilZeroed) {
  Tensor x = Tensor::from_vector({1, 2}, {2}, DType::f64);
  set_requires_grad(x, true);
  backward(sum(x * 3.0));
  backward(sum(x * 3.0));
  EXPECT_EQ(grad(x).to_vector(), (std::vector<double>{6, 6}));
  zero_grad(x);
  EXPECT_FALSE(grad(x).defined());
}

TEST(Engine, DiamondGraphRunsEachNodeOnce) {
  Tensor x = Tensor::from_vector({2}, {1}, DType::f64);
  set_requires_grad(x, true);
  const Tensor h = exp(x);
  backward(sum(h * h + h));  // d/dx = 2 e^{2x} + e^x
  EXPECT_NEAR(grad(x).item(), 2 * std::exp(4.0) + std::exp(2.0), 1e-9);
}

TEST(Engine, DeepChainDoesNotOverflowTheStack) {
  Tensor x = Tensor::from_vector({1}, {1}, DType::f64);
  set_requires_grad(x, true);
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y + 0.0;
  backward(sum(y));
  EXPECT_EQ(grad(x).item(), 1.0);
}

TEST(Engine, NoGradGuardRecordsNothing) {
  Tensor x = Tensor::ones({2}, DType::f64);
  set_requires_grad(x, true);
  NoGradGuard guard;
  EXPECT_FALSE(requires_grad(x * 2.0));
}

TEST(Engine, OnlyMarkedLeavesReceiveGradients) {
  Tensor x = Tensor::ones({2}, DType::f64), w = Tensor::ones({2}, DType::f64);
  set_requires_grad(x, true);
  backward(sum(x * w));
  EXPECT_TRUE(grad(x).defined());
  EXPECT_FALSE(grad(w).defined());
}

TEST(Engine, DetachCutsTheGraph) {
  Tensor x = Tensor::from_vector({3}, {1}, DType::f64);
  set_requires_grad(x, true);
  backward(sum(x * detach(x)));
  EXPECT_EQ(grad(x).item(), 3.0);
}

TEST(Engine, ClearErrors) {
  Tensor x = Tensor::ones({2}, DType::f64);
  EXPECT_THROW(backward(sum(x)), Error);  // nothing requires a gradient
  set_requires_grad(x, true);
  EXPECT_THROW(backward(x * 2.0), Error);  // not a scalar and no seed
  EXPECT_THROW(set_requires_grad(x * 2.0, true), Error);  // not a leaf
}

}  // namespace
}  // namespace fsa::testing
