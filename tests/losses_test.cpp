// losses_test.cpp: softmax cross-entropy, the Carlini-Wagner margin (untargeted top-1 and
// top-k, targeted, tie-breaking) and mse: gradients, hand-computed values, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Inputs = std::vector<Tensor>;

TEST(CrossEntropyForward, KnownLogits) {
  const Tensor logits = Tensor::from_vector({0, 0, 0, 1, 2, 3}, {2, 3}, DType::f64);
  const Tensor loss = softmax_cross_entropy(logits, Tensor::from_labels({0, 2}));
  const double second = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  EXPECT_TRUE(tensors_near(loss, Tensor::from_vector({std::log(3.0), second}, {2}, DType::f64),
                           1e-12, 1e-12));
}

TEST(CrossEntropyForward, StableForLargeLogits) {
  for (DType dtype : {DType::f32, DType::f64}) {
    const Tensor logits = Tensor::from_vector({1000, 0, 1000, 0}, {2, 2}, dtype);
    const Tensor loss = softmax_cross_entropy(logits, Tensor::from_labels({1, 0}));
    EXPECT_TRUE(tensors_near(loss, Tensor::from_vector({1000, 0}, {2}), 1e-6, 1e-6)) << dtype;
  }
}

TEST(CrossEntropyGrad, RandomLogits) {
  const Inputs in = {random_tensor({4, 5}, 300, -2, 2), Tensor::from_labels({0, 3, 4, 1})};
  expect_gradients_match(
      "softmax_cross_entropy", [](const Inputs& x) { return softmax_cross_entropy(x[0], x[1]); },
      in);
}

TEST(CrossEntropyErrors, LabelsAreChecked) {
  const Tensor logits = Tensor::zeros({2, 5});
  expect_error_containing(
      "[softmax_cross_entropy] label 5 of sample 1 is outside [0, 5) for logits (2,5)", [&] {
        softmax_cross_entropy(logits, Tensor::from_labels({1, 5}));
      });
  expect_error_containing("label -1 of sample 1", [&] {
    softmax_cross_entropy(logits, Tensor::from_labels({1, -1}));
  });
  expect_error_containing(
      "[softmax_cross_entropy] labels (3) do not match logits (2,5): expected (2)", [&] {
        softmax_cross_entropy(logits, Tensor::from_labels({1, 2, 3}));
      });
  expect_error_containing("[softmax_cross_entropy] labels must be int32, got float32 (2)",
                          [&] { softmax_cross_entropy(logits, Tensor::zeros({2})); });
  expect_error_containing(
      "[softmax_cross_entropy] input 'logits' must have 2 dimensions, got (2,5,1)", [&] {
        softmax_cross_entropy(Tensor::zeros({2, 5, 1}), Tensor::from_labels({1, 2}));
      });
}

// Two samples: z0 = (3, 1, 2.5, 0) with label 0, z1 = (5, 0, 1, 2) with label 1.
Tensor hand_logits() { return Tensor::from_vector({3, 1, 2.5, 0, 5, 0, 1, 2}, {2, 4}, DType::f64); }

TEST(CwMarginForward, UntargetedTopOneAndTopTwo) {
  const Tensor labels = Tensor::from_labels({0, 1});
  // top-1: max(0, 3 - 2.5 + 1) = 1.5; max(0, 0 - 5 + 1) = 0 (already misclassified).
  EXPECT_TRUE(tensors_near(cw_margin(hand_logits(), labels, {.kappa = 1, .top_k = 1}),
                           Tensor::from_vector({1.5, 0}, {2}), 1e-12, 0));
  // top-2: 1.5 + max(0, 3 - 1 + 1) = 4.5; 0 + max(0, 0 - 2 + 1) = 0.
  EXPECT_TRUE(tensors_near(cw_margin(hand_logits(), labels, {.kappa = 1, .top_k = 2}),
                           Tensor::from_vector({4.5, 0}, {2}), 1e-12, 0));
  // top-3 with kappa 2: sample 1 gains max(0, 0 - 2 + 2) = 0 and max(0, 0 - 1 + 2) = 1.
  EXPECT_TRUE(tensors_near(cw_margin(hand_logits(), labels, {.kappa = 2, .top_k = 3}),
                           Tensor::from_vector({2.5 + 4 + 5, 1}, {2}), 1e-12, 0));
}

TEST(CwMarginForward, Targeted) {
  // The label is the target: max(0, max_{j != t} z_j - z_t + kappa).
  const Tensor targets = Tensor::from_labels({3, 0});
  const CwMarginParams targeted{.kappa = 1, .top_k = 1, .targeted = true};
  // sample 0: 3 - 0 + 1 = 4; sample 1: 2 - 5 + 1 < 0 -> 0.
  EXPECT_TRUE(tensors_near(cw_margin(hand_logits(), targets, targeted),
                           Tensor::from_vector({4, 0}, {2}), 1e-12, 0));
  // top_k is ignored when targeted.
  const CwMarginParams targeted_k{.kappa = 1, .top_k = 3, .targeted = true};
  EXPECT_TRUE(tensors_near(cw_margin(hand_logits(), Tensor::from_labels({0, 2}), targeted_k),
                           Tensor::from_vector({0.5, 5}, {2}), 1e-12, 0));
}

TEST(CwMarginBackward, HandGradientAndTiesGoToLowerIndex) {
  // z = (4, 2, 2, 0.5), label 0: wrong logits 1 and 2 tie; index 1 is taken first.
  const Tensor logits = Tensor::from_vector({4, 2, 2, 0.5}, {1, 4}, DType::f64);
  set_requires_grad(logits, true);
  backward(sum(cw_margin(logits, Tensor::from_labels({0}), {.kappa = 1, .top_k = 1})));
  EXPECT_EQ(grad(logits).to_vector(), (std::vector<double>{1, -1, 0, 0}));
  zero_grad(logits);
  // top-2 takes both tied logits; the hinge on 0.5 (rank 3) is left out.
  backward(sum(cw_margin(logits, Tensor::from_labels({0}), {.kappa = 1, .top_k = 2})));
  EXPECT_EQ(grad(logits).to_vector(), (std::vector<double>{2, -1, -1, 0}));
  zero_grad(logits);
  // Targeted at class 3: +1 on the largest wrong logit (index 0), -1 on the target.
  backward(sum(cw_margin(logits, Tensor::from_labels({3}), {.kappa = 1, .targeted = true})));
  EXPECT_EQ(grad(logits).to_vector(), (std::vector<double>{1, 0, 0, -1}));
}

// Logits 0.5 apart and distinct within each row; with kappa 0.75 no hinge sits at its kink.
Tensor spaced_logits() {
  std::vector<double> values;
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t j = 0; j < 6; ++j) values.push_back(0.5 * ((n * 7 + j * 5) % 6) + 0.1 * n);
  return Tensor::from_vector(values, {4, 6}, DType::f64);
}

TEST(CwMarginGrad, AwayFromTiesAndKinks) {
  const Inputs in = {spaced_logits(), Tensor::from_labels({0, 2, 5, 3})};
  for (int64_t k : {1, 2, 3, 5}) {
    const CwMarginParams p{.kappa = 0.75, .top_k = k};
    expect_gradients_match(
        "cw_margin", [p](const Inputs& x) { return cw_margin(x[0], x[1], p); }, in);
  }
  const CwMarginParams targeted{.kappa = 0.75, .targeted = true};
  expect_gradients_match(
      "cw_margin", [targeted](const Inputs& x) { return cw_margin(x[0], x[1], targeted); }, in);
}

TEST(CwMarginErrors, TopKAndClasses) {
  const Tensor logits = Tensor::zeros({2, 4});
  const Tensor labels = Tensor::from_labels({0, 3});
  expect_error_containing(
      "[cw_margin] top_k = 4 must lie in [1, 3] (the wrong classes) for logits (2,4)",
      [&] { cw_margin(logits, labels, {.top_k = 4}); });
  expect_error_containing("[cw_margin] top_k = 0",
                          [&] { cw_margin(logits, labels, {.top_k = 0}); });
  expect_error_containing("[cw_margin] needs at least 2 classes, logits (2,1)", [&] {
    cw_margin(Tensor::zeros({2, 1}), Tensor::from_labels({0, 0}), {});
  });
  expect_error_containing("[cw_margin] label 4 of sample 1 is outside [0, 4)", [&] {
    cw_margin(logits, Tensor::from_labels({0, 4}), {});
  });
}

TEST(Mse, ValuesGradientAndErrors) {
  const Tensor a = Tensor::from_vector({1, 2, 3}, {3}, DType::f64);
  const Tensor b = Tensor::from_vector({1, 0, 0}, {3}, DType::f64);
  EXPECT_NEAR(mse(a, b).item(), 13.0 / 3.0, 1e-12);
  EXPECT_EQ(mse(a, b).shape(), Shape{});
  const Inputs in = {random_tensor({2, 3, 4}, 301), random_tensor({2, 3, 4}, 302)};
  expect_gradients_match(
      "mse", [](const Inputs& x) { return mse(x[0], x[1]); }, in);
  expect_error_containing("[mse] shapes (2,3) and (3) differ", [] {
    mse(Tensor::zeros({2, 3}), Tensor::zeros({3}));
  });
}

}  // namespace
}  // namespace fsa::testing
