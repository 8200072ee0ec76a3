// elementwise_test.cpp: gradient checks for the unary and binary ops, broadcasting, and
// their forward values on a few hand-computed cases.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Inputs = std::vector<Tensor>;

TEST(BinaryGrad, SameShape) {
  const Inputs in = {random_tensor({2, 3, 4}, 1), random_tensor({2, 3, 4}, 2, 0.5, 1.5)};
  expect_gradients_match("add", [](const Inputs& x) { return add(x[0], x[1]); }, in);
  expect_gradients_match("sub", [](const Inputs& x) { return sub(x[0], x[1]); }, in);
  expect_gradients_match("mul", [](const Inputs& x) { return mul(x[0], x[1]); }, in);
  expect_gradients_match("div", [](const Inputs& x) { return div(x[0], x[1]); }, in);
}

TEST(BinaryGrad, BroadcastPerChannel) {
  const Inputs in = {random_tensor({2, 3, 4, 5}, 3), random_tensor({2, 3, 1, 1}, 4, 0.5, 1.5)};
  expect_gradients_match("mul", [](const Inputs& x) { return mul(x[0], x[1]); }, in);
  expect_gradients_match("div", [](const Inputs& x) { return div(x[0], x[1]); }, in);
  expect_gradients_match("sub", [](const Inputs& x) { return sub(x[1], x[0]); }, in);
}

TEST(BinaryGrad, BroadcastLeadingAxes) {
  const Inputs in = {random_tensor({3, 1, 4}, 5), random_tensor({5, 1}, 6)};
  expect_gradients_match("add", [](const Inputs& x) { return add(x[0], x[1]); }, in);
}

TEST(BinaryGrad, MinimumMaximumAwayFromTies) {
  const Inputs in = {random_tensor({4, 5}, 7, -1.0, 0.0), random_tensor({4, 5}, 8, 0.1, 1.0)};
  const Inputs mixed = {in[0], mul(in[1], random_away_from_zero({4, 5}, 9))};
  expect_gradients_match("minimum", [](const Inputs& x) { return minimum(x[0], x[1]); }, mixed);
  expect_gradients_match("maximum", [](const Inputs& x) { return maximum(x[0], x[1]); }, mixed);
}

TEST(BinaryForward, BroadcastValues) {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f32);
  const Tensor b = Tensor::from_vector({10, 20}, {2, 1}, DType::f32);
  EXPECT_TRUE(tensors_near(a + b, Tensor::from_vector({11, 12, 13, 24, 25, 26}, {2, 3}), 0, 0));
}

TEST(BinaryForward, ShapeClashNamesOpAndShapes) {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
  try {
    add(a, b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[add] shapes (2,3) and (4)"), std::string::npos) << e.what();
  }
}

TEST(UnaryGrad, SmoothFunctions) {
  const Inputs any = {random_tensor({3, 4}, 10)};
  const Inputs positive = {random_tensor({3, 4}, 11, 0.2, 2.0)};
  expect_gradients_match("neg", [](const Inputs& x) { return neg(x[0]); }, any);
  expect_gradients_match("exp", [](const Inputs& x) { return exp(x[0]); }, any);
  expect_gradients_match("tanh", [](const Inputs& x) { return tanh(x[0]); }, any);
  expect_gradients_match("sigmoid", [](const Inputs& x) { return sigmoid(x[0]); }, any);
  expect_gradients_match("add_scalar", [](const Inputs& x) { return add_scalar(x[0], 0.7); }, any);
  expect_gradients_match("mul_scalar", [](const Inputs& x) { return mul_scalar(x[0], -1.3); }, any);
  expect_gradients_match("log", [](const Inputs& x) { return log(x[0]); }, positive);
  expect_gradients_match("sqrt", [](const Inputs& x) { return sqrt(x[0]); }, positive);
  expect_gradients_match("pow", [](const Inputs& x) { return pow(x[0], 2.5); }, positive);
  expect_gradients_match("pow", [](const Inputs& x) { return pow(x[0], -1.0); }, positive);
}

TEST(UnaryGrad, KinkedFunctionsAwayFromKinks) {
  const Inputs in = {random_away_from_zero({3, 5}, 12)};
  expect_gradients_match("abs", [](const Inputs& x) { return abs(x[0]); }, in);
  expect_gradients_match("sign", [](const Inputs& x) { return sign(x[0]); }, in);
  expect_gradients_match("relu", [](const Inputs& x) { return relu(x[0]); }, in);
  expect_gradients_match("leaky_relu", [](const Inputs& x) { return leaky_relu(x[0], 0.1); }, in);
  // Clamp bounds sit between the grid of values; gradient passes only inside.
  expect_gradients_match("clamp", [](const Inputs& x) { return clamp(x[0], -0.55, 0.45); }, in);
}

TEST(UnaryForward, ClampAndRelu) {
  const Tensor x = Tensor::from_vector({-2, -0.5, 0, 0.5, 2}, {5}, DType::f32);
  EXPECT_TRUE(tensors_near(clamp(x, -1, 1), Tensor::from_vector({-1, -0.5, 0, 0.5, 1}, {5}), 0, 0));
  EXPECT_TRUE(tensors_near(relu(x), Tensor::from_vector({0, 0, 0, 0.5, 2}, {5}), 0, 0));
}

}  // namespace
}  // namespace fsa::testing
