// test_util.h: seeded random tensors and tensor comparisons for the tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>

#include "tensor/tensor.h"

namespace fsa::testing {

// Uniform values in [lo, hi) from the engine's Philox stream for `seed`.
Tensor random_tensor(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0,
                     DType dtype = DType::f64);

// Like random_tensor, but every |value| is at least `gap`: inputs away from the kinks of
// relu, abs, clamp and from ties.
Tensor random_away_from_zero(const Shape& shape, uint64_t seed, double gap = 0.1,
                             DType dtype = DType::f64);

// Passes when shapes match and |actual - expected| <= atol + rtol |expected| everywhere;
// otherwise reports the worst element and the first few mismatches.
::testing::AssertionResult tensors_near(const Tensor& actual, const Tensor& expected, double rtol,
                                        double atol);

// Runs `run` and expects an fsa::Error whose message contains `needle`.
void expect_error_containing(const std::string& needle, const std::function<void()>& run);

// The message of the fsa::Error that `run` throws; fails the test (and returns "") if none.
std::string error_message(const std::function<void()>& run);

}  // namespace fsa::testing
