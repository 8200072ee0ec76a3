// batch_norm_fusion.h: the check that a fused batch norm op (batch_norm_relu,
// batch_norm_add_relu) gives the values, gradients and running statistics of the ops it
// fuses. Used by normalization_test.cpp and batch_norm_add_relu_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tests/test_util.h"

namespace fsa::testing {

// Makes the output from its inputs: x, gamma, beta, then `extra` tensors of x's shape.
using BatchNormRecipe =
    std::function<Tensor(const std::vector<Tensor>& in, BatchNormState& state, bool training)>;

// Runs both recipes on the same inputs in float64 and float32, training and eval (with trained
// and with frozen gamma and beta), and expects the same outputs and running statistics
// exactly, and the same gradients of every input that needs one.
inline void expect_fused_matches_composed(const BatchNormRecipe& fused,
                                          const BatchNormRecipe& composed, int extra) {
  const Shape shape{4, 3, 5, 5};
  for (const DType dtype : {DType::f64, DType::f32}) {
    for (const bool training : {true, false}) {
      for (const bool frozen : {false, true}) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dtype) << (training ? " training" : " eval")
                                          << (frozen ? " frozen" : ""));
        const double tolerance = dtype == DType::f64 ? 1e-12 : 1e-6;
        const Tensor weights = random_tensor(shape, 132).to(dtype);
        std::vector<std::vector<Tensor>> grads(2);
        std::vector<Tensor> outputs;
        std::vector<BatchNormState> states;
        for (const BatchNormRecipe* recipe : {&composed, &fused}) {
          std::vector<Tensor> in = {random_tensor(shape, 131).to(dtype),
                                    random_tensor({3}, 133, 0.5, 1.5).to(dtype),
                                    random_tensor({3}, 134).to(dtype)};
          for (int i = 0; i < extra; ++i) in.push_back(random_tensor(shape, 137 + i).to(dtype));
          // Frozen: gamma and beta (inputs 1 and 2) need no gradient.
          const auto trained = [&](size_t i) { return !frozen || (i != 1 && i != 2); };
          for (size_t i = 0; i < in.size(); ++i) set_requires_grad(in[i], trained(i));
          BatchNormState state{.running_mean = random_tensor({3}, 135).to(dtype),
                               .running_var = random_tensor({3}, 136, 0.5, 2).to(dtype)};
          const Tensor y = (*recipe)(in, state, training);
          backward(sum(mul(y, weights)));
          outputs.push_back(y);
          states.push_back(state);
          for (size_t i = 0; i < in.size(); ++i) {
            grads[outputs.size() - 1].push_back(trained(i) ? grad(in[i]) : Tensor());
          }
        }
        EXPECT_TRUE(tensors_near(outputs[1], outputs[0], 0.0, 0.0));
        for (size_t i = 0; i < grads[0].size(); ++i) {
          if (!grads[0][i].defined()) continue;
          EXPECT_TRUE(tensors_near(grads[1][i], grads[0][i], tolerance, tolerance))
              << "input " << i;
        }
        EXPECT_TRUE(tensors_near(states[1].running_mean, states[0].running_mean, 0.0, 0.0));
        EXPECT_TRUE(tensors_near(states[1].running_var, states[0].running_var, 0.0, 0.0));
      }
    }
  }
}

}  // namespace fsa::testing
