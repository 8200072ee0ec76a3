// layers_test.cpp: module trees (PyTorch-style names, assignment, train/eval, dtype moves)
// and the forward of the basic layers against the ops they wrap.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/variable.h"
#include "layers/layers.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

std::shared_ptr<Sequential> small_net() {
  auto net = std::make_shared<Sequential>();
  net->append(std::make_shared<Conv2d>(Conv2d::Options{.in_channels = 3, .out_channels = 4, .kernel = 3, .padding = 1}, 1));
  net->append(std::make_shared<ReLU>());
  net->append(std::make_shared<BatchNorm>(4));
  return net;
}

TEST(Module, NamesFollowPyTorch) {
  const auto net = small_net();
  std::vector<std::string> names;
  for (const auto& [name, tensor] : net->named_tensors()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean",
                                             "2.running_var"}));
  EXPECT_EQ(net->parameters().size(), 4u);
}

TEST(Module, AssignChecksNameAndShape) {
  const auto net = small_net();
  net->assign("2.running_mean", Tensor::full({4}, 0.5));
  EXPECT_EQ(net->named_buffers()[0].second.to_vector(), std::vector<double>(4, 0.5));
  EXPECT_THROW(net->assign("2.running_mean", Tensor::zeros({5})), Error);
  EXPECT_THROW(net->assign("3.weight", Tensor::zeros({4})), Error);
}

TEST(Module, TrainEvalAndRequiresGrad) {
  const auto net = small_net();
  net->eval();
  EXPECT_FALSE(net->at(2).is_training());
  net->requires_grad(true);
  for (const Tensor& p : net->parameters()) EXPECT_TRUE(requires_grad(p));
  net->to(DType::f64);
  for (const Tensor& p : net->parameters()) {
    EXPECT_EQ(p.dtype(), DType::f64);
    EXPECT_TRUE(requires_grad(p));
  }
}

TEST(Module, SequentialForwardMatchesOps) {
  const auto net = small_net();
  net->eval();
  const Tensor x = random_tensor({2, 3, 5, 5}, 3, -1, 1, DType::f32);
  const Conv2d& conv = static_cast<Conv2d&>(net->at(0));
  const Tensor expected = relu(conv2d(x, conv.weight, conv.bias, {.stride = 1, .padding = 1})) / std::sqrt(1.0 + 1e-5);
  EXPECT_TRUE(tensors_near(net->forward(x), expected, 1e-5, 1e-6));
}

}  // namespace
}  // namespace fsa::testing
