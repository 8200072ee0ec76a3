// reduction_test.cpp: sums, means, broadcast_to, per-channel statistics and top-k.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Inputs = std::vector<Tensor>;

TEST(SumGrad, AxesAndAll) {
  const Inputs in = {random_tensor({2, 3, 4}, 20)};
  expect_gradients_match("sum", [](const Inputs& x) { return sum(x[0]); }, in);
  expect_gradients_match("sum", [](const Inputs& x) { return sum(x[0], {1}); }, in);
  expect_gradients_match("sum", [](const Inputs& x) { return sum(x[0], {0, -1}, true); }, in);
  expect_gradients_match("mean", [](const Inputs& x) { return mean(x[0], {2}); }, in);
  expect_gradients_match("mean", [](const Inputs& x) { return mean(x[0]); }, in);
}

TEST(SumForward, ShapesAndValues) {
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sum(x, {1}).shape(), (Shape{2}));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_TRUE(tensors_near(sum(x, {0}), Tensor::from_vector({5, 7, 9}, {3}), 0, 0));
  EXPECT_DOUBLE_EQ(mean(x).item(), 3.5);
}

TEST(BroadcastToGrad, PerChannel) {
  const Inputs in = {random_tensor({2, 3, 1, 1}, 21)};
  expect_gradients_match("broadcast_to", [](const Inputs& x) { return broadcast_to(x[0], {2, 3, 4, 5}); }, in);
}

TEST(ChannelStats, GradientsAndValues) {
  const Inputs in = {random_tensor({2, 3, 4, 5}, 22)};
  expect_gradients_match("channel_mean", [](const Inputs& x) { return channel_mean(x[0]); }, in);
  expect_gradients_match("channel_std", [](const Inputs& x) { return channel_std(x[0]); }, in);
  // An AdaIN-style composite: normalise by the statistics then rescale.
  expect_gradients_match("adain", [](const Inputs& x) {
    return (x[0] - channel_mean(x[0])) / channel_std(x[0]) * 1.7 + 0.3;
  }, in);
  const Tensor x = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2}, DType::f64);
  EXPECT_NEAR(channel_std(x, 1e-5).item(), std::sqrt(1.25 + 1e-5), 1e-12);
  EXPECT_NEAR(channel_mean(x).item(), 2.5, 1e-12);
}

TEST(TopK, IndicesLargestFirstStableOnTies) {
  const Tensor x = Tensor::from_vector({0.1, 0.9, 0.5, 0.9, 0.2, 0.3}, {2, 3});
  EXPECT_EQ(topk_indices(x, 2).to_vector(), (std::vector<double>{1, 2, 0, 2}));
  EXPECT_EQ(argmax(x).to_vector(), (std::vector<double>{1, 0}));
}

}  // namespace
}  // namespace fsa::testing
