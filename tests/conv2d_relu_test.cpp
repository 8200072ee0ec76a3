// conv2d_relu_test.cpp: a convolution and the ReLU after it as one op: its gradients against
// finite differences, the same values and gradients as the two ops for each convolution
// method (im2col, direct, Winograd), the Backend's composed default (what CUDA runs) against
// the CPU's fused kernels, its errors, and Sequential running a Conv2d and a ReLU as this op.
#include <gtest/gtest.h>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
#include "layers/layers.h"
#include "tensor/backend.h"
#include "tensor/cpu/cpu_backend.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Inputs = std::vector<Tensor>;

struct Case {
  Shape x, w;
  Conv2dParams params;
  bool bias;
};

// x, w and (if the case has one) b.
Inputs inputs_of(const Case& c, uint64_t seed, DType dtype) {
  return {random_tensor(c.x, seed, -1.0, 1.0, dtype),
          random_tensor(c.w, seed + 1, -1.0, 1.0, dtype),
          c.bias ? random_tensor({c.w[0]}, seed + 2, -1.0, 1.0, dtype) : Tensor()};
}

TEST(Conv2dReluGrad, FiniteDifferences) {
  const std::vector<Case> cases = {
      {{2, 3, 5, 6}, {4, 3, 3, 3}, {.stride = 1, .padding = 1}, true},
      {{2, 3, 6, 5}, {4, 3, 3, 3}, {.stride = 2, .padding = 1}, false},
      {{1, 2, 4, 5}, {3, 2, 1, 1}, {.stride = 1, .padding = 0}, true},
  };
  uint64_t seed = 600;
  for (const Case& c : cases) {
    expect_gradients_match(
        "conv2d_relu", [&](const Inputs& in) { return conv2d_relu(in[0], in[1], in[2], c.params); },
        inputs_of(c, seed += 3, DType::f64));
  }
}

// Values exactly, and gradients, of relu(conv2d(...)) in float64 and float32; the float32
// shapes are chosen so that the CPU runs each of its methods: im2col (3 input channels),
// direct (16) and Winograd (64 channels, 64 tiles), with the ReLU applied as each stores.
TEST(Conv2dRelu, MatchesReluOfConv2d) {
  const std::vector<Case> cases = {
      {{2, 3, 8, 8}, {8, 3, 3, 3}, {.stride = 1, .padding = 1}, true},
      {{2, 16, 8, 8}, {16, 16, 3, 3}, {.stride = 1, .padding = 1}, true},
      {{2, 16, 9, 8}, {16, 16, 3, 3}, {.stride = 2, .padding = 1}, false},
      {{4, 64, 8, 8}, {64, 64, 3, 3}, {.stride = 1, .padding = 1}, true},
  };
  uint64_t seed = 620;
  for (const DType dtype : {DType::f64, DType::f32}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dtype) << " x " << c.x << " w " << c.w);
      const Inputs values = inputs_of(c, seed += 3, dtype);
      std::vector<Tensor> outputs;
      std::vector<Inputs> grads;
      for (const bool fused : {false, true}) {
        Inputs in;
        for (const Tensor& t : values) in.push_back(t.defined() ? t.clone() : Tensor());
        for (const Tensor& t : in) {
          if (t.defined()) set_requires_grad(t, true);
        }
        const Tensor y = fused ? conv2d_relu(in[0], in[1], in[2], c.params)
                               : relu(conv2d(in[0], in[1], in[2], c.params));
        backward(sum(mul(y, random_tensor(y.shape(), seed + 9, -1.0, 1.0, dtype))));
        outputs.push_back(y);
        grads.push_back({grad(in[0]), grad(in[1]), c.bias ? grad(in[2]) : Tensor()});
      }
      EXPECT_TRUE(tensors_near(outputs[1], outputs[0], 0.0, 0.0));
      for (size_t i = 0; i < 3; ++i) {
        if (grads[0][i].defined()) {
          EXPECT_TRUE(tensors_near(grads[1][i], grads[0][i], 0.0, 0.0)) << "input " << i;
        }
      }
    }
  }
}

// The Backend's default composes conv2d_forward with the ReLU (the CUDA backend runs it); the
// CPU backend overrides it with the ReLU in the convolution's output write.
TEST(Conv2dRelu, BackendDefaultMatchesTheFusedCpuKernels) {
  const CpuBackend& cpu = cpu_backend();
  const Backend& composed = cpu;
  const Case c{{4, 64, 8, 8}, {64, 64, 3, 3}, {.stride = 1, .padding = 1}, true};
  const Inputs in = inputs_of(c, 640, DType::f32);
  EXPECT_TRUE(tensors_near(cpu.conv2d_relu_forward(in[0], in[1], in[2], c.params),
                           composed.Backend::conv2d_relu_forward(in[0], in[1], in[2], c.params),
                           0.0, 0.0));
}

TEST(Conv2dRelu, ErrorsNameTheOpAndTheShapes) {
  expect_error_containing(
      "[conv2d_relu] weight (4,3,3,3) expects 3 input channels, input (1,2,5,5) has 2", [] {
        conv2d_relu(Tensor::zeros({1, 2, 5, 5}), Tensor::zeros({4, 3, 3, 3}), Tensor(), {});
      });
  expect_error_containing("[conv2d_relu] bias (3) should have 4 entries", [] {
    conv2d_relu(Tensor::zeros({1, 3, 5, 5}), Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({3}), {});
  });
}

// A Conv2d followed by a ReLU runs as conv2d_relu inside a Sequential; other layers as before.
TEST(Conv2dRelu, SequentialRunsAConvolutionAndItsReluAsOneOp) {
  auto net = std::make_shared<Sequential>();
  auto conv = std::make_shared<Conv2d>(
      Conv2d::Options{.in_channels = 3, .out_channels = 4, .kernel = 3, .padding = 1}, 1);
  net->append(conv);
  net->append(std::make_shared<ReLU>());
  net->append(std::make_shared<MaxPool2d>(Pool2dParams{.kernel = 2, .stride = 2}));
  net->append(std::make_shared<ReLU>());
  Tensor x = random_tensor({2, 3, 6, 6}, 650, -1.0, 1.0, DType::f32);
  set_requires_grad(x, true);
  size_t i = 0;
  const Tensor first = net->forward_step(i, x);
  EXPECT_EQ(i, 1u);  // the ReLU ran with the convolution
  EXPECT_STREQ(first.autograd_meta()->grad_fn->name(), "conv2d_relu");
  EXPECT_TRUE(
      tensors_near(first, relu(conv2d(x, conv->weight, conv->bias, {.padding = 1})), 0.0, 0.0));
  EXPECT_TRUE(
      tensors_near(net->forward(x), relu(max_pool2d(first, {.kernel = 2, .stride = 2})), 0.0, 0.0));
}

}  // namespace
}  // namespace fsa::testing
