// kl_divergence_test.cpp: log_softmax and kl_divergence_logits (the TRADES loss): values
// against the formulas, stability for large logits, finite-difference gradients in both
// arguments, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "autograd/ops.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Inputs = std::vector<Tensor>;

TEST(LogSoftmaxForward, KnownLogits) {
  const Tensor logits = Tensor::from_vector({0, 0, 0, 1, 2, 3}, {2, 3}, DType::f64);
  const double z = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const Tensor expected = Tensor::from_vector(
      {-std::log(3.0), -std::log(3.0), -std::log(3.0), 1 - z, 2 - z, 3 - z}, {2, 3}, DType::f64);
  EXPECT_TRUE(tensors_near(log_softmax(logits), expected, 1e-12, 1e-12));
}

TEST(LogSoftmaxForward, StableForLargeLogits) {
  const Tensor logits = Tensor::from_vector({1000, 0, -1000, 1000}, {2, 2});
  const Tensor expected = Tensor::from_vector({0, -1000, -2000, 0}, {2, 2});
  EXPECT_TRUE(tensors_near(log_softmax(logits), expected, 1e-6, 1e-6));
}

TEST(LogSoftmaxGrad, RandomLogits) {
  expect_gradients_match("log_softmax", [](const Inputs& x) { return log_softmax(x[0]); },
                         {random_tensor({3, 5}, 410, -3, 3)});
}

TEST(KlDivergenceForward, MatchesTheFormula) {
  const Tensor p = random_tensor({2, 4}, 411, -2, 2), q = random_tensor({2, 4}, 412, -2, 2);
  const std::vector<double> pv = p.to_vector(), qv = q.to_vector();
  std::vector<double> expected;
  for (int n = 0; n < 2; ++n) {
    double zp = 0, zq = 0, kl = 0;
    for (int j = 0; j < 4; ++j) {
      zp += std::exp(pv[n * 4 + j]);
      zq += std::exp(qv[n * 4 + j]);
    }
    for (int j = 0; j < 4; ++j) {
      const double log_p = pv[n * 4 + j] - std::log(zp), log_q = qv[n * 4 + j] - std::log(zq);
      kl += std::exp(log_p) * (log_p - log_q);
    }
    expected.push_back(kl);
  }
  EXPECT_TRUE(tensors_near(kl_divergence_logits(p, q),
                           Tensor::from_vector(expected, {2}, DType::f64), 1e-12, 1e-12));
}

TEST(KlDivergenceForward, ZeroForEqualDistributions) {
  const Tensor p = random_tensor({3, 10}, 413, -2, 2);
  // Shifting every logit of a row leaves its softmax unchanged.
  const std::vector<double> kl = kl_divergence_logits(p, p + 5.0).to_vector();
  for (double value : kl) EXPECT_NEAR(value, 0.0, 1e-12);
}

TEST(KlDivergenceGrad, BothArguments) {
  expect_gradients_match("kl_divergence_logits",
                         [](const Inputs& x) { return kl_divergence_logits(x[0], x[1]); },
                         {random_tensor({3, 4}, 414, -2, 2), random_tensor({3, 4}, 415, -2, 2)});
}

TEST(KlDivergenceErrors, ShapesMustAgree) {
  expect_error_containing("[kl_divergence_logits] logits (2,3) and (2,4)", [] {
    kl_divergence_logits(Tensor::zeros({2, 3}), Tensor::zeros({2, 4}));
  });
}

}  // namespace
}  // namespace fsa::testing
