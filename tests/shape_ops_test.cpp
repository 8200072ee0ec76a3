// shape_ops_test.cpp: permute, concat, slice, subsample2d, flip, reverse_channels and
// pad_channels: gradients, forward values on small hand-written cases, and errors.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Inputs = std::vector<Tensor>;

// 0, 1, 2, ... in the given shape.
Tensor iota(const Shape& shape, DType dtype = DType::f64) {
  std::vector<double> values(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
  return Tensor::from_vector(values, shape, dtype);
}

TEST(PermuteGrad, ThreeAndFourAxes) {
  const Inputs three = {random_tensor({2, 3, 4}, 200)};
  expect_gradients_match(
      "permute",
      [](const Inputs& x) {
        return permute(x[0], {2, 0, 1});
      },
      three);
  expect_gradients_match(
      "permute",
      [](const Inputs& x) {
        return permute(x[0], {1, -1, 0});
      },
      three);
  const Inputs four = {random_tensor({2, 3, 2, 4}, 201)};
  expect_gradients_match(
      "permute",
      [](const Inputs& x) {
        return permute(x[0], {0, 2, 3, 1});
      },
      four);
}

TEST(PermuteForward, Values) {
  const Tensor matrix = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor transposed = permute(matrix, {1, 0});
  EXPECT_EQ(transposed.shape(), (Shape{3, 2}));
  EXPECT_EQ(transposed.to_vector(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  // out[k][i][0] = x[i][0][k]
  const Tensor cube = permute(iota({2, 1, 3}), {2, 0, 1});
  EXPECT_EQ(cube.shape(), (Shape{3, 2, 1}));
  EXPECT_EQ(cube.to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  // NCHW -> NHWC of (1,2,2,2): channel planes 0..3 and 4..7 interleave.
  EXPECT_EQ(permute(iota({1, 2, 2, 2}, DType::f32), {0, 2, 3, 1}).to_vector(),
            (std::vector<double>{0, 4, 1, 5, 2, 6, 3, 7}));
}

TEST(PermuteErrors, NameTheOrderAndShape) {
  const Tensor x = Tensor::zeros({2, 3, 4});
  expect_error_containing("[permute] order (0,1) has 2 axes, input (2,3,4) has 3", [&] {
    permute(x, {0, 1});
  });
  expect_error_containing("[permute] order (0,1,1) repeats an axis of input (2,3,4)", [&] {
    permute(x, {0, 1, 1});
  });
  expect_error_containing("[permute] axis 3 is out of range for shape (2,3,4)", [&] {
    permute(x, {0, 1, 3});
  });
}

TEST(ConcatGrad, AlongEachAxis) {
  const Inputs middle = {random_tensor({2, 1, 3}, 202), random_tensor({2, 2, 3}, 203),
                         random_tensor({2, 3, 3}, 204)};
  expect_gradients_match(
      "concat", [](const Inputs& x) { return concat(x, 1); }, middle);
  const Inputs first = {random_tensor({1, 4}, 205), random_tensor({3, 4}, 206)};
  expect_gradients_match(
      "concat", [](const Inputs& x) { return concat(x, 0); }, first);
  const Inputs last = {random_tensor({2, 2}, 207), random_tensor({2, 3}, 208)};
  expect_gradients_match(
      "concat", [](const Inputs& x) { return concat(x, -1); }, last);
}

TEST(ConcatForward, Values) {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  const Tensor b = Tensor::from_vector({5, 6}, {2, 1});
  EXPECT_EQ(concat({a, b}, 1).to_vector(), (std::vector<double>{1, 2, 5, 3, 4, 6}));
  EXPECT_EQ(concat({a, b.reshape_view({1, 2})}, 0).to_vector(),
            (std::vector<double>{1, 2, 3, 4, 5, 6}));
  const Tensor labels = concat({Tensor::from_labels({3, 1}), Tensor::from_labels({7})}, 0);
  EXPECT_EQ(labels.dtype(), DType::i32);
  EXPECT_EQ(labels.to_vector(), (std::vector<double>{3, 1, 7}));
}

TEST(ConcatErrors, NameThePartsAndShapes) {
  const Tensor a = Tensor::zeros({2, 3});
  expect_error_containing("[concat] along axis 1 part 1 has shape (3,3), part 0 has (2,3)", [&] {
    concat({a, Tensor::zeros({3, 3})}, 1);
  });
  expect_error_containing("ranks differ", [&] { concat({a, Tensor::zeros({2, 3, 1})}, 0); });
  expect_error_containing("[concat] tensors of different dtypes", [&] {
    concat({a, Tensor::zeros({2, 3}, DType::f64)}, 0);
  });
  expect_error_containing("[concat] needs at least one part", [&] { concat({}, 0); });
}

TEST(SliceGrad, StepsAndAxes) {
  const Inputs in = {random_tensor({3, 7, 2}, 209)};
  expect_gradients_match(
      "slice", [](const Inputs& x) { return slice(x[0], 1, 1, 6, 2); }, in);
  expect_gradients_match(
      "slice", [](const Inputs& x) { return slice(x[0], 0, 1, 3); }, in);
  expect_gradients_match(
      "slice", [](const Inputs& x) { return slice(x[0], -1, 1, 2); }, in);
}

TEST(SliceForward, PythonSemantics) {
  const Tensor x = iota({2, 7});
  const Tensor stepped = slice(x, 1, 1, 6, 2);  // columns 1, 3, 5
  EXPECT_EQ(stepped.shape(), (Shape{2, 3}));
  EXPECT_EQ(stepped.to_vector(), (std::vector<double>{1, 3, 5, 8, 10, 12}));
  EXPECT_EQ(slice(x, 1, -2, 100).to_vector(), (std::vector<double>{5, 6, 12, 13}));
  EXPECT_EQ(slice(x, 1, 5, 2).shape(), (Shape{2, 0}));
  EXPECT_EQ(slice(Tensor::from_labels({0, 1, 2, 3, 4, 5}), 0, 1, 5, 2).to_vector(),
            (std::vector<double>{1, 3}));
  expect_error_containing("[slice] step must be positive, got 0 for input (2,7)",
                          [&] { slice(x, 1, 0, 7, 0); });
  expect_error_containing("[slice] axis 2 is out of range for shape (2,7)",
                          [&] { slice(x, 2, 0, 1); });
}

TEST(Subsample2d, GradientAndValues) {
  const Inputs in = {random_tensor({2, 2, 5, 5}, 210)};
  expect_gradients_match(
      "subsample2d", [](const Inputs& x) { return subsample2d(x[0], 2); }, in);
  const Tensor y = subsample2d(iota({1, 1, 4, 4}), 2);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{0, 2, 8, 10}));
  EXPECT_EQ(subsample2d(Tensor::zeros({1, 1, 5, 5}), 2).shape(), (Shape{1, 1, 3, 3}));
  expect_error_containing("[subsample2d] input must be (N,C,H,W), got (1,4,4)", [] {
    subsample2d(Tensor::zeros({1, 4, 4}), 2);
  });
}

TEST(FlipGrad, EachAxis) {
  const Inputs in = {random_tensor({2, 3, 4}, 211)};
  expect_gradients_match(
      "flip", [](const Inputs& x) { return flip(x[0], 0); }, in);
  expect_gradients_match(
      "flip", [](const Inputs& x) { return flip(x[0], 1); }, in);
  expect_gradients_match(
      "flip", [](const Inputs& x) { return flip(x[0], -1); }, in);
  const Inputs image = {random_tensor({2, 3, 2, 2}, 212)};
  expect_gradients_match(
      "reverse_channels", [](const Inputs& x) { return reverse_channels(x[0]); }, image);
}

TEST(FlipForward, ValuesAndChannels) {
  EXPECT_EQ(flip(iota({2, 3}), 1).to_vector(), (std::vector<double>{2, 1, 0, 5, 4, 3}));
  EXPECT_EQ(flip(iota({2, 3}), 0).to_vector(), (std::vector<double>{3, 4, 5, 0, 1, 2}));
  // RGB planes {0,1}, {2,3}, {4,5} become BGR.
  EXPECT_EQ(reverse_channels(iota({1, 3, 1, 2}, DType::f32)).to_vector(),
            (std::vector<double>{4, 5, 2, 3, 0, 1}));
  expect_error_containing("[reverse_channels] input must be (N,3,H,W), got (1,4,2,2)", [] {
    reverse_channels(Tensor::zeros({1, 4, 2, 2}));
  });
}

TEST(PadChannels, GradientAndValues) {
  const Inputs in = {random_tensor({2, 2, 3, 3}, 213)};
  expect_gradients_match(
      "pad_channels", [](const Inputs& x) { return pad_channels(x[0], 1, 2); }, in);
  expect_gradients_match(
      "pad_channels", [](const Inputs& x) { return pad_channels(x[0], 0, 3); }, in);
  const Tensor y = pad_channels(Tensor::from_vector({1, 2, 3, 4}, {2, 1, 1, 2}), 1, 1);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 1, 2}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{0, 0, 1, 2, 0, 0, 0, 0, 3, 4, 0, 0}));
  expect_error_containing("[pad_channels] padding must be non-negative, got before -1 and after 1",
                          [] {
                            pad_channels(Tensor::zeros({1, 2, 2, 2}), -1, 1);
                          });
}

TEST(LayoutLargeTensors, RoundTrips) {
  // Large enough for the parallel loops: each pair of ops must give back the input.
  const Tensor x = random_tensor({4, 16, 32, 32}, 214, -1, 1, DType::f32);
  const Tensor nhwc = permute(x, {0, 2, 3, 1});
  EXPECT_EQ(nhwc.shape(), (Shape{4, 32, 32, 16}));
  EXPECT_TRUE(tensors_near(permute(nhwc, {0, 3, 1, 2}), x, 0, 0));
  EXPECT_TRUE(tensors_near(flip(flip(x, 2), 2), x, 0, 0));
  const Tensor halves = concat({slice(x, 1, 0, 8), slice(x, 1, 8, 16)}, 1);
  EXPECT_TRUE(tensors_near(halves, x, 0, 0));
}

}  // namespace
}  // namespace fsa::testing
