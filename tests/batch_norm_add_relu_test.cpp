// batch_norm_add_relu_test.cpp: batch norm, a residual add and a ReLU as one op (the end of a
// ResNet block): its gradients against finite differences, the same values, gradients and
// running statistics as the three ops, the Backend's composed default (what CUDA runs)
// against the CPU's one-pass kernel, and its errors.
#include <gtest/gtest.h>

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

BatchNormState random_state(int64_t channels, uint64_t seed, DType dtype = DType::f64) {
  return BatchNormState{.running_mean = random_tensor({channels}, seed).to(dtype),
                        .running_var = random_tensor({channels}, seed + 1, 0.5, 2).to(dtype)};
}

TEST(BatchNormAddReluGrad, TrainingAndEval) {
  // Inputs: x, residual, gamma, beta.
  const Inputs images = {random_tensor({3, 2, 2, 3}, 200), random_tensor({3, 2, 2, 3}, 201),
                         random_tensor({2}, 202, 0.5, 1.5), random_tensor({2}, 203)};
  for (const bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    expect_gradients_match(
        "batch_norm_add_relu",
        [&](const Inputs& v) {
          BatchNormState state = random_state(2, 204);
          return batch_norm_add_relu(v[0], v[1], v[2], v[3], state, training);
        },
        images);
  }
  expect_gradients_match(
      "batch_norm_add_relu",
      [](const Inputs& v) {
        BatchNormState state = random_state(3, 206);
        return batch_norm_add_relu(v[0], v[1], v[2], v[3], state, true);
      },
      {random_tensor({5, 3}, 208), random_tensor({5, 3}, 209), Tensor(), Tensor()});
}

TEST(BatchNormAddReluGrad, EvalWithFrozenParameters) {
  const Tensor gamma = random_tensor({3}, 210, 0.5, 1.5), beta = random_tensor({3}, 211);
  expect_gradients_match("batch_norm_add_relu",
                         [&](const Inputs& v) {
                           BatchNormState state = random_state(3, 212);
                           return batch_norm_add_relu(v[0], v[1], gamma, beta, state, false);
                         },
                         {random_tensor({2, 3, 2, 2}, 214), random_tensor({2, 3, 2, 2}, 215)});
}

// The values, gradients and running statistics of relu(batch_norm(...) + residual), in float64
// and float32, training and eval (with trained and with frozen parameters).
TEST(BatchNormAddRelu, MatchesReluOfBatchNormPlusResidual) {
  expect_fused_matches_composed(
      [](const Inputs& in, BatchNormState& state, bool training) {
        return batch_norm_add_relu(in[0], in[3], in[1], in[2], state, training);
      },
      [](const Inputs& in, BatchNormState& state, bool training) {
        return relu(add(batch_norm(in[0], in[1], in[2], state, training), in[3]));
      },
      1);
}

// The Backend's default composes batch_norm_forward, the add and the ReLU (the CUDA backend
// runs it); the CPU backend overrides it with one pass. Both give the same values.
TEST(BatchNormAddRelu, BackendDefaultMatchesTheFusedCpuKernel) {
  const CpuBackend& cpu = cpu_backend();
  const Backend& composed = cpu;
  const Tensor x = random_tensor({3, 4, 6, 6}, 230).to(DType::f32);
  const Tensor residual = random_tensor({3, 4, 6, 6}, 231).to(DType::f32);
  const Tensor gamma = random_tensor({4}, 232, 0.5, 1.5).to(DType::f32);
  const Tensor beta = random_tensor({4}, 233).to(DType::f32);
  const BatchNormStats stats = cpu.batch_norm_stats(x);
  EXPECT_TRUE(tensors_near(
      cpu.batch_norm_add_relu_forward(x, residual, stats.mean, stats.var, gamma, beta, 1e-5),
      composed.Backend::batch_norm_add_relu_forward(x, residual, stats.mean, stats.var, gamma, beta,
                                                    1e-5),
      0.0, 0.0));
}

TEST(BatchNormAddRelu, ErrorsNameTheOpAndTheShapes) {
  const Tensor x = Tensor::zeros({2, 3, 4, 4});
  BatchNormState state = random_state(3, 240, DType::f32);
  expect_error_containing(
      "[batch_norm_add_relu] residual has shape (2,3,2,2) but input has shape (2,3,4,4)", [&] {
        batch_norm_add_relu(x, Tensor::zeros({2, 3, 2, 2}), Tensor(), Tensor(), state, true);
      });
  expect_error_containing("[batch_norm_add_relu] tensors of different dtypes", [&] {
    batch_norm_add_relu(x, Tensor::zeros({2, 3, 4, 4}, DType::f64), Tensor(), Tensor(), state,
                        true);
  });
  expect_error_containing("[batch_norm_add_relu] input 'residual' is undefined", [&] {
    batch_norm_add_relu(x, Tensor(), Tensor(), Tensor(), state, true);
  });
  expect_error_containing("[batch_norm_add_relu] input must be (N,C) or (N,C,H,W), got (2,3,4)",
                          [&] {
                            batch_norm_add_relu(Tensor::zeros({2, 3, 4}), Tensor::zeros({2, 3, 4}),
                                                Tensor(), Tensor(), state, true);
                          });
}

}  // namespace
}  // namespace fsa::testing
