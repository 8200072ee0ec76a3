// normalization_test.cpp: batch norm gradients (training and eval, with and without the
// affine transform), forward values and the running-statistic update on a hand-computed
// case, and the error messages; batch norm followed by a ReLU as one op (batch_norm_relu):
// its gradients, the same values and gradients as the two ops, and the Backend's composed
// defaults (what CUDA runs) against the CPU's fused kernels.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tensor/backend.h"
#include "tensor/cpu/cpu_backend.h"
#include "tests/batch_norm_fusion.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Inputs = std::vector<Tensor>;

// Fresh buffers: running mean 0, running variance 1 (PyTorch's initial values).
BatchNormState fresh_state(int64_t channels, DType dtype = DType::f64) {
  return BatchNormState{.running_mean = Tensor::zeros({channels}, dtype),
                        .running_var = Tensor::ones({channels}, dtype)};
}

TEST(BatchNormGrad, TrainingImagesWithAffine) {
  const Inputs in = {random_tensor({3, 2, 2, 3}, 100), random_tensor({2}, 101, 0.5, 1.5),
                     random_tensor({2}, 102)};
  expect_gradients_match(
      "batch_norm",
      [](const Inputs& v) {
        BatchNormState state = fresh_state(2);
        return batch_norm(v[0], v[1], v[2], state, true);
      },
      in);
}

TEST(BatchNormGrad, TrainingFeaturesWithoutAffine) {
  const Inputs in = {random_tensor({5, 3}, 103), Tensor(), Tensor()};
  expect_gradients_match(
      "batch_norm",
      [](const Inputs& v) {
        BatchNormState state = fresh_state(3);
        return batch_norm(v[0], v[1], v[2], state, true);
      },
      in);
}

TEST(BatchNormGrad, EvalUsesRunningStatisticsAsConstants) {
  const Inputs in = {random_tensor({2, 3, 2, 2}, 104), random_tensor({3}, 105, 0.5, 1.5),
                     random_tensor({3}, 106)};
  const Tensor running_mean = random_tensor({3}, 107),
               running_var = random_tensor({3}, 108, 0.5, 2);
  expect_gradients_match(
      "batch_norm",
      [&](const Inputs& v) {
        BatchNormState state{.running_mean = running_mean, .running_var = running_var};
        return batch_norm(v[0], v[1], v[2], state, false);
      },
      in);
}

// Frozen gamma and beta (the attacks' case): the input gradient alone, by a per-channel scale.
TEST(BatchNormGrad, EvalWithFrozenParameters) {
  const Tensor gamma = random_tensor({3}, 110, 0.5, 1.5), beta = random_tensor({3}, 111);
  const Tensor running_mean = random_tensor({3}, 112),
               running_var = random_tensor({3}, 113, 0.5, 2);
  expect_gradients_match("batch_norm",
                         [&](const Inputs& v) {
                           BatchNormState state{.running_mean = running_mean,
                                                .running_var = running_var};
                           return batch_norm(v[0], gamma, beta, state, false);
                         },
                         {random_tensor({2, 3, 2, 2}, 114)});
}

// x (2,2,1,2): channel 0 holds 1,3,5,7 (mean 4, biased var 5, unbiased 20/3),
// channel 1 holds 2,2,2,2 (mean 2, var 0).
Tensor hand_input(DType dtype = DType::f64) {
  return Tensor::from_vector({1, 3, 2, 2, 5, 7, 2, 2}, {2, 2, 1, 2}, dtype);
}

TEST(BatchNormForward, TrainingValuesAndRunningUpdate) {
  const double eps = 1e-5;
  const Tensor gamma = Tensor::from_vector({2, 1}, {2}, DType::f64);
  const Tensor beta = Tensor::from_vector({0.5, -1}, {2}, DType::f64);
  BatchNormState state = fresh_state(2);
  const Tensor y = batch_norm(hand_input(), gamma, beta, state, true);
  const double s = 2.0 / std::sqrt(5.0 + eps);
  const Tensor expected =
      Tensor::from_vector({-3 * s + 0.5, -1 * s + 0.5, -1, -1, 1 * s + 0.5, 3 * s + 0.5, -1, -1},
                          {2, 2, 1, 2}, DType::f64);
  EXPECT_TRUE(tensors_near(y, expected, 1e-12, 1e-12));
  // running = 0.9 * running + 0.1 * batch, with the unbiased variance.
  EXPECT_TRUE(tensors_near(state.running_mean, Tensor::from_vector({0.4, 0.2}, {2}, DType::f64),
                           1e-12, 1e-12));
  EXPECT_TRUE(tensors_near(state.running_var,
                           Tensor::from_vector({0.9 + 0.1 * 20.0 / 3.0, 0.9}, {2}, DType::f64),
                           1e-12, 1e-12));
}

TEST(BatchNormForward, EvalUsesRunningStatisticsAndLeavesThem) {
  const double eps = 1e-5;
  BatchNormState state{.running_mean = Tensor::from_vector({1, -2}, {2}, DType::f64),
                       .running_var = Tensor::from_vector({4, 0.25}, {2}, DType::f64)};
  const Tensor y = batch_norm(hand_input(), Tensor(), Tensor(), state, false);
  const double s0 = 1.0 / std::sqrt(4 + eps), s1 = 1.0 / std::sqrt(0.25 + eps);
  const Tensor expected = Tensor::from_vector(
      {0 * s0, 2 * s0, 4 * s1, 4 * s1, 4 * s0, 6 * s0, 4 * s1, 4 * s1}, {2, 2, 1, 2}, DType::f64);
  EXPECT_TRUE(tensors_near(y, expected, 1e-12, 1e-12));
  EXPECT_EQ(state.running_mean.to_vector(), (std::vector<double>{1, -2}));
  EXPECT_EQ(state.running_var.to_vector(), (std::vector<double>{4, 0.25}));
}

TEST(BatchNormForward, EvalGraphKeepsStatisticsOfItsForwardPass) {
  // dx = dy * gamma / sqrt(running_var + eps) with the running_var of the forward pass,
  // even when a training step changes the buffers before backward.
  const double eps = 1e-5;
  BatchNormState state{.running_mean = Tensor::zeros({2}, DType::f64),
                       .running_var = Tensor::from_vector({4, 1}, {2}, DType::f64),
                       .eps = eps};
  const Tensor x = hand_input();
  set_requires_grad(x, true);
  const Tensor gamma = Tensor::from_vector({3, 1}, {2}, DType::f64);
  const Tensor y = batch_norm(x, gamma, Tensor::zeros({2}, DType::f64), state, false);
  batch_norm(hand_input(), Tensor(), Tensor(), state, true);  // moves the buffers
  backward(sum(y));
  const double d0 = 3.0 / std::sqrt(4 + eps), d1 = 1.0 / std::sqrt(1 + eps);
  EXPECT_TRUE(tensors_near(
      grad(x), Tensor::from_vector({d0, d0, d1, d1, d0, d0, d1, d1}, {2, 2, 1, 2}, DType::f64),
      1e-12, 1e-12));
}

TEST(BatchNormForward, Float32MatchesFloat64) {
  const Tensor x = random_tensor({4, 3, 3, 3}, 109);
  const Tensor gamma = random_tensor({3}, 110, 0.5, 1.5), beta = random_tensor({3}, 111);
  BatchNormState state64 = fresh_state(3), state32 = fresh_state(3, DType::f32);
  const Tensor y64 = batch_norm(x, gamma, beta, state64, true);
  const Tensor y32 =
      batch_norm(x.to(DType::f32), gamma.to(DType::f32), beta.to(DType::f32), state32, true);
  EXPECT_TRUE(tensors_near(y32, y64, 1e-5, 1e-5));
  EXPECT_TRUE(tensors_near(state32.running_var, state64.running_var, 1e-6, 1e-6));
}

// The statistics take one pass over values shifted by the channel's first value: a mean far
// larger than the spread (1000 +- 0.01) keeps the variance to 1e-9 (E[x^2] - E[x]^2 without
// the shift would lose about 1e-5 of it).
TEST(BatchNormStats, LargeMeanSmallSpread) {
  const Tensor spread = random_tensor({8, 2, 5, 5}, 112, -0.01, 0.01);
  const Tensor x = add_scalar(spread, 1000.0);
  const BatchNormStats stats = backend_for(Device::cpu).batch_norm_stats(x);
  const std::vector<double> values = x.to_vector();
  for (int64_t c = 0; c < 2; ++c) {
    double sum = 0.0, squares = 0.0;
    std::vector<double> channel;
    for (int64_t n = 0; n < 8; ++n) {
      for (int64_t i = 0; i < 25; ++i) channel.push_back(values[(n * 2 + c) * 25 + i]);
    }
    for (const double v : channel) sum += v;
    const double mean = sum / static_cast<double>(channel.size());
    for (const double v : channel) squares += (v - mean) * (v - mean);
    const double variance = squares / static_cast<double>(channel.size());
    EXPECT_NEAR(stats.mean.to_vector()[c], mean, 1e-12);
    EXPECT_NEAR(stats.var.to_vector()[c], variance, 1e-9 * variance);
  }
}

TEST(BatchNormErrors, NameTheOpAndShapes) {
  const Tensor x = Tensor::zeros({2, 3, 4, 4});
  const Tensor gamma3 = Tensor::ones({3}), beta3 = Tensor::zeros({3});
  expect_error_containing("[batch_norm] gamma has shape (4) but input (2,3,4,4) has 3 channels",
                          [&] {
                            BatchNormState state = fresh_state(3, DType::f32);
                            batch_norm(x, Tensor::ones({4}), beta3, state, true);
                          });
  expect_error_containing("[batch_norm] input must be (N,C) or (N,C,H,W), got (2,3,4)", [&] {
    BatchNormState state = fresh_state(3, DType::f32);
    batch_norm(Tensor::zeros({2, 3, 4}), gamma3, beta3, state, true);
  });
  expect_error_containing("more than one value per channel, input (1,3)", [&] {
    BatchNormState state = fresh_state(3, DType::f32);
    batch_norm(Tensor::zeros({1, 3}), gamma3, beta3, state, true);
  });
  expect_error_containing("[batch_norm] gamma and beta must be both defined or both undefined",
                          [&] {
                            BatchNormState state = fresh_state(3, DType::f32);
                            batch_norm(x, gamma3, Tensor(), state, true);
                          });
  expect_error_containing(
      "[batch_norm] running_mean has shape (2) but input (2,3,4,4) has 3 channels", [&] {
        BatchNormState state = fresh_state(2, DType::f32);
        batch_norm(x, gamma3, beta3, state, false);
      });
  expect_error_containing("[batch_norm] tensors of different dtypes", [&] {
    BatchNormState state = fresh_state(3, DType::f64);
    batch_norm(x, gamma3, beta3, state, false);
  });
}

TEST(BatchNormReluGrad, TrainingAndEval) {
  const Inputs images = {random_tensor({3, 2, 2, 3}, 120), random_tensor({2}, 121, 0.5, 1.5),
                         random_tensor({2}, 122)};
  const Tensor running_mean = random_tensor({2}, 123),
               running_var = random_tensor({2}, 124, 0.5, 2);
  for (const bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    expect_gradients_match(
        "batch_norm_relu",
        [&](const Inputs& v) {
          BatchNormState state{.running_mean = running_mean.clone(),
                               .running_var = running_var.clone()};
          return batch_norm_relu(v[0], v[1], v[2], state, training);
        },
        images);
  }
  expect_gradients_match("batch_norm_relu",
                         [](const Inputs& v) {
                           BatchNormState state = fresh_state(3);
                           return batch_norm_relu(v[0], v[1], v[2], state, true);
                         },
                         {random_tensor({5, 3}, 125), Tensor(), Tensor()});
}

TEST(BatchNormReluGrad, EvalWithFrozenParameters) {
  const Tensor gamma = random_tensor({3}, 126, 0.5, 1.5), beta = random_tensor({3}, 127);
  const Tensor running_mean = random_tensor({3}, 128),
               running_var = random_tensor({3}, 129, 0.5, 2);
  expect_gradients_match("batch_norm_relu",
                         [&](const Inputs& v) {
                           BatchNormState state{.running_mean = running_mean,
                                                .running_var = running_var};
                           return batch_norm_relu(v[0], gamma, beta, state, false);
                         },
                         {random_tensor({2, 3, 2, 2}, 130)});
}

// The values, gradients and running statistics of relu(batch_norm(...)), in float64 and
// float32, training and eval (with trained and with frozen parameters).
TEST(BatchNormRelu, MatchesReluOfBatchNorm) {
  expect_fused_matches_composed(
      [](const Inputs& in, BatchNormState& state, bool training) {
        return batch_norm_relu(in[0], in[1], in[2], state, training);
      },
      [](const Inputs& in, BatchNormState& state, bool training) {
        return relu(batch_norm(in[0], in[1], in[2], state, training));
      },
      0);
}

// The Backend's defaults compose batch_norm_forward / batch_norm_backward with the ReLU (the
// CUDA backend runs them); the CPU backend overrides them with one pass. Both agree.
TEST(BatchNormRelu, BackendDefaultsMatchTheFusedCpuKernels) {
  const CpuBackend& cpu = cpu_backend();
  const Backend& composed = cpu;
  const Tensor x = random_tensor({3, 4, 6, 6}, 140).to(DType::f32);
  const Tensor dy = random_tensor({3, 4, 6, 6}, 141).to(DType::f32);
  const Tensor gamma = random_tensor({4}, 142, 0.5, 1.5).to(DType::f32);
  const Tensor beta = random_tensor({4}, 143).to(DType::f32);
  const BatchNormStats stats = cpu.batch_norm_stats(x);
  const Tensor y = cpu.batch_norm_relu_forward(x, stats.mean, stats.var, gamma, beta, 1e-5);
  EXPECT_TRUE(tensors_near(
      y, composed.Backend::batch_norm_relu_forward(x, stats.mean, stats.var, gamma, beta, 1e-5),
      0.0, 0.0));
  for (const bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    const BatchNormGrads fused =
        cpu.batch_norm_relu_backward(dy, y, x, stats.mean, stats.var, gamma, 1e-5, training);
    const BatchNormGrads reference = composed.Backend::batch_norm_relu_backward(
        dy, y, x, stats.mean, stats.var, gamma, 1e-5, training);
    EXPECT_TRUE(tensors_near(fused.dx, reference.dx, 1e-6, 1e-6));
    EXPECT_TRUE(tensors_near(fused.dgamma, reference.dgamma, 1e-6, 1e-6));
    EXPECT_TRUE(tensors_near(fused.dbeta, reference.dbeta, 1e-6, 1e-6));
  }
}

TEST(BatchNormRelu, ErrorsNameTheOp) {
  BatchNormState state = fresh_state(3, DType::f32);
  expect_error_containing("[batch_norm_relu] input must be (N,C) or (N,C,H,W), got (2,3,4)", [&] {
    batch_norm_relu(Tensor::zeros({2, 3, 4}), Tensor(), Tensor(), state, true);
  });
}

}  // namespace
}  // namespace fsa::testing
