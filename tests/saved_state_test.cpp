// saved_state_test.cpp: what a recorded graph keeps alive. Each op saves only what its
// backward reads, so an intermediate that no backward reads is freed as soon as the caller
// drops it (PyTorch's rule). Measured with the host allocator's in-use count; every test
// case runs in its own process (ctest), so nothing else allocates meanwhile.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tensor/cpu/host_memory.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

// 256 KiB per tensor: a whole size class of the allocator.
const Shape kActivation{1, 16, 64, 64};
constexpr size_t kActivationBytes = 16 * 64 * 64 * sizeof(float);

// How many activations' worth of host memory stays in use after `record` returns, beyond
// what was in use before it. The allocator may lend a cached block up to twice as large as
// a request, so n activations kept count n to n + 1 (n > 0).
template <typename Record>
double activations_kept(Record record) {
  const size_t before = host_memory_stats().in_use;
  const Tensor kept = record();
  return static_cast<double>(host_memory_stats().in_use - before) / kActivationBytes;
}

// Expects `kept` (from activations_kept) to be n activations.
void expect_activations(double kept, int n) {
  EXPECT_GE(kept, n);
  EXPECT_LT(kept, n + 1);
}

Tensor leaf(const Shape& shape, uint64_t seed) {
  Tensor x = random_tensor(shape, seed, -1.0, 1.0, DType::f32);
  set_requires_grad(x, true);
  return x;
}

Tensor frozen(const Shape& shape, uint64_t seed) {
  return random_tensor(shape, seed, -1.0, 1.0, DType::f32);
}

TEST(SavedState, ReluKeepsItsOutputNotItsInput) {
  const Tensor x = leaf(kActivation, 1);
  // mul_scalar saves nothing, relu saves its output: the product is freed.
  expect_activations(activations_kept([&] { return relu(mul_scalar(x, 2.0)); }), 1);
}

TEST(SavedState, AddAndSubKeepNoInputs) {
  const Tensor x = leaf(kActivation, 2);
  // Only the output of each recipe stays: add and sub read neither input in backward.
  expect_activations(activations_kept([&] { return add(mul_scalar(x, 2.0), mul_scalar(x, 3.0)); }),
                     1);
  expect_activations(activations_kept([&] { return sub(mul_scalar(x, 2.0), mul_scalar(x, 3.0)); }),
                     1);
}

TEST(SavedState, MulKeepsBothInputs) {
  const Tensor x = leaf(kActivation, 3);
  expect_activations(activations_kept([&] { return mul(mul_scalar(x, 2.0), mul_scalar(x, 3.0)); }),
                     3);
}

TEST(SavedState, FrozenConvolutionKeepsNotItsInput) {
  const Tensor x = leaf(kActivation, 4);
  const Tensor w = frozen({16, 16, 3, 3}, 5);
  const Conv2dParams same{.stride = 1, .padding = 1};
  // The input of the second convolution is needed only for its weight gradient: frozen
  // weights free it, trained weights keep it.
  expect_activations(
      activations_kept([&] { return conv2d(conv2d(x, w, Tensor(), same), w, Tensor(), same); }), 1);
  const Tensor trained = leaf({16, 16, 3, 3}, 6);
  expect_activations(activations_kept([&] {
                       return conv2d(conv2d(x, w, Tensor(), same), trained, Tensor(), same);
                     }),
                     2);
}

TEST(SavedState, Conv2dReluKeepsWhatTheTwoOpsKept) {
  const Tensor x = leaf(kActivation, 26);
  const Tensor w = frozen({16, 16, 3, 3}, 27);
  const Conv2dParams same{.stride = 1, .padding = 1};
  // Frozen weights: the output (the ReLU's mask) only.
  expect_activations(
      activations_kept([&] { return conv2d_relu(mul_scalar(x, 2.0), w, Tensor(), same); }), 1);
  // Trained weights: the input too, for the weight gradient.
  const Tensor trained = leaf({16, 16, 3, 3}, 28);
  expect_activations(
      activations_kept([&] { return conv2d_relu(mul_scalar(x, 2.0), trained, Tensor(), same); }),
      2);
}

// A fused op's node frees its output gradient once it has used it, as the engine does between
// two ops: its backward's peak is that of the ops it fuses, give or take the allocator's
// rounding of a block (less than half an activation), not one activation more.
TEST(SavedState, FusedBackwardPeaksNoHigherThanTheOpsItFuses) {
  const Tensor w = frozen({16, 16, 3, 3}, 29);
  const Conv2dParams same{.stride = 1, .padding = 1};
  const auto backward_peak = [&](bool fused) {
    const Tensor x = leaf(kActivation, 30);
    const Tensor y = fused ? conv2d_relu(x, w, Tensor(), same) : relu(conv2d(x, w, Tensor(), same));
    const Tensor loss = sum(y);
    const size_t before = host_memory_stats().in_use;
    host_reset_peak();
    backward(loss);
    return host_memory_stats().peak_in_use - before;
  };
  const size_t separate = backward_peak(false);
  EXPECT_LT(backward_peak(true), separate + kActivationBytes / 2);
}

TEST(SavedState, EvalBatchNormWithFrozenParametersKeepsNotItsInput) {
  const Tensor x = leaf(kActivation, 7);
  BatchNormState state{.running_mean = frozen({16}, 8),
                       .running_var = add_scalar(abs(frozen({16}, 9)), 0.1)};
  const Tensor gamma = frozen({16}, 10), beta = frozen({16}, 11);
  // The node keeps the statistics' copies (two 64-byte blocks) and not the product.
  expect_activations(activations_kept([&] {
                       return relu(batch_norm(mul_scalar(x, 2.0), gamma, beta, state, false));
                     }),
                     1);
  // Training reads x in backward, so the product stays.
  expect_activations(activations_kept([&] {
                       return relu(batch_norm(mul_scalar(x, 2.0), gamma, beta, state, true));
                     }),
                     2);
}

TEST(SavedState, BatchNormReluKeepsWhatTheTwoOpsKept) {
  const Tensor x = leaf(kActivation, 16);
  BatchNormState state{.running_mean = frozen({16}, 17),
                       .running_var = add_scalar(abs(frozen({16}, 18)), 0.1)};
  const Tensor gamma = frozen({16}, 19), beta = frozen({16}, 20);
  // Eval with frozen parameters: the output (the ReLU's mask) only.
  expect_activations(activations_kept([&] {
                       return batch_norm_relu(mul_scalar(x, 2.0), gamma, beta, state, false);
                     }),
                     1);
  // Training: the product too, which batch norm's backward reads.
  expect_activations(activations_kept([&] {
                       return batch_norm_relu(mul_scalar(x, 2.0), gamma, beta, state, true);
                     }),
                     2);
}

TEST(SavedState, BatchNormAddReluKeepsWhatTheThreeOpsKept) {
  const Tensor x = leaf(kActivation, 21);
  BatchNormState state{.running_mean = frozen({16}, 22),
                       .running_var = add_scalar(abs(frozen({16}, 23)), 0.1)};
  const Tensor gamma = frozen({16}, 24), beta = frozen({16}, 25);
  // Eval with frozen parameters: the output (the ReLU's mask) only.
  expect_activations(activations_kept([&] {
                       return batch_norm_add_relu(mul_scalar(x, 2.0), mul_scalar(x, 3.0), gamma,
                                                  beta, state, false);
                     }),
                     1);
  // Training: the product that batch norm's backward reads too.
  expect_activations(activations_kept([&] {
                       return batch_norm_add_relu(mul_scalar(x, 2.0), mul_scalar(x, 3.0), gamma,
                                                  beta, state, true);
                     }),
                     2);
}

TEST(SavedState, GradientsAreUnchanged) {
  // The ops above still give the finite-difference gradients (their own suites check each);
  // here, one chain through all of them against float64.
  Tensor x64 = random_tensor({1, 2, 5, 5}, 12, -1.0, 1.0, DType::f64);
  Tensor x = x64.to(DType::f32);
  set_requires_grad(x, true);
  set_requires_grad(x64, true);
  const Tensor w = frozen({2, 2, 3, 3}, 13);
  BatchNormState state{.running_mean = frozen({2}, 14),
                       .running_var = add_scalar(abs(frozen({2}, 15)), 0.1)};
  auto chain = [&](const Tensor& input, const Tensor& weight, BatchNormState& s) {
    const Tensor h = relu(conv2d(input, weight, Tensor(), {.stride = 1, .padding = 1}));
    const Tensor g = batch_norm(h, Tensor(), Tensor(), s, /*training=*/false);
    return sum(mul(sub(g, mul_scalar(h, 0.5)), add(g, h)));
  };
  backward(chain(x, w, state));
  BatchNormState state64{.running_mean = state.running_mean.to(DType::f64),
                         .running_var = state.running_var.to(DType::f64)};
  backward(chain(x64, w.to(DType::f64), state64));
  EXPECT_TRUE(tensors_near(grad(x), grad(x64).to(DType::f32), 1e-4, 1e-5));
}

}  // namespace
}  // namespace fsa::testing
