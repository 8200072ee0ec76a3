// spatial_test.cpp: reflection padding, max/avg/global pooling, nearest upsampling and
// bilinear resizing: gradient checks, hand-computed forward values, the TF-1 legacy resize
// facts of algorithm.md §1.3-1.4, and input validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tensor/backend.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Inputs = std::vector<Tensor>;

// Distinct values (a shuffled 0.1, 0.2, ...): max-pool windows have no ties.
Tensor distinct_values(const Shape& shape, uint32_t seed) {
  std::vector<double> values(static_cast<size_t>(shape.numel()));
  std::iota(values.begin(), values.end(), 1.0);
  std::shuffle(values.begin(), values.end(), std::mt19937(seed));
  for (double& v : values) v *= 0.1;
  return Tensor::from_vector(values, shape, DType::f64);
}

Tensor image(const std::vector<double>& values, int64_t h, int64_t w) {
  return Tensor::from_vector(values, {1, 1, h, w}, DType::f64);
}

// Gradient of sum(<seed, f(x)>) with respect to x, through the engine.
template <typename F>
Tensor input_gradient(const Tensor& x_values, const Tensor& seed, F&& f) {
  const Tensor x = x_values.clone();
  set_requires_grad(x, true);
  backward(f(x), seed);
  return grad(x);
}

// --- reflection_pad2d ---------------------------------------------------------------------

TEST(ReflectionPad2d, ForwardMirrorsWithoutRepeatingTheEdge) {
  const Tensor x = image({1, 2, 3, 4, 5, 6}, 2, 3);
  const Tensor expected = image({5, 4, 5, 6, 5,  //
                                 2, 1, 2, 3, 2,  //
                                 5, 4, 5, 6, 5,  //
                                 2, 1, 2, 3, 2},
                                4, 5);
  EXPECT_TRUE(tensors_near(reflection_pad2d(x, 1), expected, 0, 0));
}

TEST(ReflectionPad2d, Gradients) {
  const Inputs in = {random_tensor({2, 3, 4, 5}, 30)};
  expect_gradients_match(
      "reflection_pad2d", [](const Inputs& x) { return reflection_pad2d(x[0], 1); }, in);
  expect_gradients_match(
      "reflection_pad2d", [](const Inputs& x) { return reflection_pad2d(x[0], 3); }, in);
}

TEST(ReflectionPad2d, RejectsBadInputs) {
  expect_error_containing("[reflection_pad2d] input 'x' must have 4 dimensions, got (1,4,4)", [] {
    reflection_pad2d(Tensor::zeros({1, 4, 4}), 1);
  });
  expect_error_containing(
      "[reflection_pad2d] pad 3 must be smaller than H and W of input (1,1,3,5)", [] {
        reflection_pad2d(Tensor::zeros({1, 1, 3, 5}), 3);
      });
  expect_error_containing("[reflection_pad2d] pad must be non-negative", [] {
    reflection_pad2d(Tensor::zeros({1, 1, 3, 3}), -1);
  });
}

// --- max_pool2d -----------------------------------------------------------------------------

TEST(MaxPool2d, ForwardValues) {
  const Tensor x = image({1, 5, 2, 0,    //
                          3, 4, 8, 6,    //
                          7, 9, 10, 11,  //
                          12, 13, 15, 14},
                         4, 4);
  EXPECT_TRUE(
      tensors_near(max_pool2d(x, {.kernel = 2, .stride = 2}), image({5, 8, 13, 15}, 2, 2), 0, 0));
  // kernel 3, stride 2, padding 1: windows rows/cols [-1,2) and [1,4); padding never wins.
  const Tensor negative = image({-1, -5, -2, -9,    //
                                 -3, -4, -8, -6,    //
                                 -7, -9, -10, -11,  //
                                 -12, -13, -15, -14},
                                4, 4);
  EXPECT_TRUE(tensors_near(max_pool2d(negative, {.kernel = 3, .stride = 2, .padding = 1}),
                           image({-1, -2, -3, -4}, 2, 2), 0, 0));
}

// Kernel 2, stride 2 on even extents takes a fast path; it must choose as the general
// windows do, NaN included (a NaN anywhere in a window wins, as in PyTorch).
TEST(MaxPool2d, WholeBlocksMatchTheGeneralWindows) {
  for (const DType dtype : {DType::f32, DType::f64}) {
    Tensor x = random_tensor({2, 3, 6, 8}, 33, -1.0, 1.0, dtype);
    std::vector<double> values = x.to_vector();
    values[5] = std::nan("");    // plane 0, row 0, column 5: window (0, 2)
    values[48 + 9] = std::nan("");  // plane 1, row 1, column 1: window (0, 0)
    x = Tensor::from_vector(values, x.shape(), dtype);
    const Tensor y = max_pool2d(x, {.kernel = 2, .stride = 2});
    std::vector<double> expected;
    for (int64_t plane = 0; plane < 6; ++plane) {
      for (int64_t oh = 0; oh < 3; ++oh) {
        for (int64_t ow = 0; ow < 4; ++ow) {
          double best = values[plane * 48 + 2 * oh * 8 + 2 * ow];
          for (const int64_t offset : {1, 8, 9}) {
            const double v = values[plane * 48 + 2 * oh * 8 + 2 * ow + offset];
            if (v > best || std::isnan(v)) best = v;
          }
          expected.push_back(best);
        }
      }
    }
    const std::vector<double> got = y.to_vector();
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      if (std::isnan(expected[i])) {
        EXPECT_TRUE(std::isnan(got[i])) << i;
      } else {
        EXPECT_EQ(got[i], expected[i]) << i;
      }
    }
    EXPECT_TRUE(std::isnan(got[2]) && std::isnan(got[12]));
  }
}

// The gradient of 2x2 max pooling over `planes` planes of height x width values (row-major),
// by the general windows' rule: each window's dy at its first maximum in row-major order
// (ties included), or at its last NaN.
std::vector<double> max_pool_2x2_gradient(const std::vector<double>& values,
                                          const std::vector<double>& grads, int64_t planes,
                                          int64_t height, int64_t width) {
  std::vector<double> expected(values.size(), 0.0);
  const int64_t windows_per_row = width / 2, windows = height / 2 * windows_per_row;
  for (int64_t plane = 0; plane < planes; ++plane) {
    for (int64_t window = 0; window < windows; ++window) {
      const int64_t first = plane * height * width + window / windows_per_row * 2 * width +
                            window % windows_per_row * 2;
      int64_t best = first;
      for (const int64_t offset : {int64_t{1}, width, width + 1}) {
        const double v = values[first + offset];
        if (v > values[best] || std::isnan(v)) best = first + offset;
      }
      expected[best] = grads[plane * windows + window];
    }
  }
  return expected;
}

// The backward's 2x2 path routes each block's gradient where the general windows do: the
// first maximum in row-major order (ties included), or the NaN.
TEST(MaxPool2d, WholeBlocksBackwardMatchesTheGeneralWindows) {
  for (const DType dtype : {DType::f32, DType::f64}) {
    std::vector<double> values = random_tensor({2, 3, 6, 8}, 34, -1.0, 1.0).to_vector();
    values[5] = std::nan("");      // plane 0, window (0, 2)
    values[48 + 9] = std::nan("");  // plane 1, window (0, 0)
    values[96 + 2] = values[96 + 3] = values[96 + 10] = values[96 + 11] = 2.0;  // a 4-way tie
    values[144 + 4] = values[144 + 13] = 3.0;  // a tie between a block's first and last
    const Tensor x = Tensor::from_vector(values, {2, 3, 6, 8}, dtype);
    const Tensor dy = random_tensor({2, 3, 3, 4}, 35, 1.0, 2.0, dtype);
    const Tensor dx =
        backend_for(Device::cpu).max_pool2d_backward(x, dy, {.kernel = 2, .stride = 2});
    const std::vector<double> grads = dy.to_vector();
    const std::vector<double> expected = max_pool_2x2_gradient(values, grads, 6, 6, 8);
    EXPECT_TRUE(tensors_near(dx, Tensor::from_vector(expected, x.shape(), dtype), 0, 0));
    EXPECT_EQ(dx.to_vector()[96 + 2], grads[24 + 1]);   // the tie goes to the first
    EXPECT_EQ(dx.to_vector()[144 + 4], grads[36 + 2]);
  }
}

// Rows of 40 windows, long enough for the vectorised loop of the 2x2 path: windows cycle
// through a NaN at each of the four places, two NaNs, a 4-way tie and a tie of the last two.
TEST(MaxPool2d, WholeBlocksBackwardOnLongRowsMatchesTheGeneralWindows) {
  constexpr int64_t kWidth = 80;
  for (const DType dtype : {DType::f32, DType::f64}) {
    std::vector<double> values = random_tensor({1, 2, 2, kWidth}, 36, -1.0, 1.0).to_vector();
    for (int64_t plane = 0; plane < 2; ++plane) {
      for (int64_t window = 0; window < kWidth / 2; ++window) {
        const int64_t top = plane * 2 * kWidth + 2 * window, bottom = top + kWidth;
        const int64_t places[4] = {top, top + 1, bottom, bottom + 1};
        const int64_t pattern = (window + plane) % 8;
        if (pattern < 4) values[places[pattern]] = std::nan("");
        if (pattern == 4) values[places[1]] = values[places[3]] = std::nan("");
        if (pattern == 5) {
          for (const int64_t place : places) values[place] = 2.0;
        }
        if (pattern == 6) values[places[2]] = values[places[3]] = 3.0;
      }
    }
    const Tensor x = Tensor::from_vector(values, {1, 2, 2, kWidth}, dtype);
    const Tensor dy = random_tensor({1, 2, 1, kWidth / 2}, 37, 1.0, 2.0, dtype);
    const Tensor dx =
        backend_for(Device::cpu).max_pool2d_backward(x, dy, {.kernel = 2, .stride = 2});
    const std::vector<double> expected =
        max_pool_2x2_gradient(values, dy.to_vector(), 2, 2, kWidth);
    EXPECT_TRUE(tensors_near(dx, Tensor::from_vector(expected, x.shape(), dtype), 0, 0));
  }
}

TEST(MaxPool2d, CeilModeKeepsThePartialLastWindow) {
  std::vector<double> values(25);
  std::iota(values.begin(), values.end(), 1.0);  // 1..25 row-major in 5x5
  const Tensor x = image(values, 5, 5);
  EXPECT_EQ(max_pool2d(x, {.kernel = 2, .stride = 2}).shape(), (Shape{1, 1, 2, 2}));
  EXPECT_TRUE(tensors_near(max_pool2d(x, {.kernel = 2, .stride = 2, .ceil_mode = true}),
                           image({7, 9, 10, 17, 19, 20, 22, 24, 25}, 3, 3), 0, 0));
  // A last window that would start in the right padding is dropped (PyTorch rule):
  // H=3, k=2, s=2, p=1: rounding up gives 3 windows, but the third starts at input row 3.
  const Pool2dParams padded_ceil{.kernel = 2, .stride = 2, .padding = 1, .ceil_mode = true};
  EXPECT_EQ(max_pool2d(Tensor::zeros({1, 1, 3, 3}), padded_ceil).shape(), (Shape{1, 1, 2, 2}));
}

TEST(MaxPool2d, TiesSendTheGradientToTheFirstMaximum) {
  const Tensor x = image({2, 7, 7, 1,  //
                          7, 7, 3, 7,  //
                          0, 0, 4, 4,  //
                          0, 0, 4, 4},
                         4, 4);
  const Tensor dx = input_gradient(x, image({1, 2, 3, 4}, 2, 2), [](const Tensor& v) {
    return max_pool2d(v, {.kernel = 2, .stride = 2});
  });
  EXPECT_TRUE(tensors_near(dx,
                           image({0, 1, 2, 0,  //
                                  0, 0, 0, 0,  //
                                  3, 0, 4, 0,  //
                                  0, 0, 0, 0},
                                 4, 4),
                           0, 0));
}

TEST(MaxPool2d, Gradients) {
  const Inputs in = {distinct_values({2, 2, 5, 6}, 31)};
  expect_gradients_match(
      "max_pool2d", [](const Inputs& x) { return max_pool2d(x[0], {.kernel = 2, .stride = 2}); },
      in);
  expect_gradients_match(
      "max_pool2d",
      [](const Inputs& x) { return max_pool2d(x[0], {.kernel = 3, .stride = 2, .padding = 1}); },
      in);
  expect_gradients_match(
      "max_pool2d",
      [](const Inputs& x) {
        return max_pool2d(x[0], {.kernel = 2, .stride = 2, .ceil_mode = true});
      },
      in);
  expect_gradients_match(
      "max_pool2d", [](const Inputs& x) { return max_pool2d(x[0], {.kernel = 3, .stride = 1}); },
      in);
}

TEST(MaxPool2d, RejectsBadParameters) {
  const Tensor x = Tensor::zeros({1, 2, 4, 4});
  expect_error_containing("[max_pool2d] kernel 5 does not fit input (1,2,4,4)",
                          [&] { max_pool2d(x, {.kernel = 5, .stride = 1}); });
  expect_error_containing("[max_pool2d] padding 2 must be between 0 and half the kernel 2",
                          [&] { max_pool2d(x, {.kernel = 2, .stride = 2, .padding = 2}); });
  expect_error_containing("[max_pool2d] kernel 2 and stride 0 must be positive",
                          [&] { max_pool2d(x, {.kernel = 2, .stride = 0}); });
  expect_error_containing("[max_pool2d] input 'x' must have 4 dimensions, got (2,4,4)", [] {
    max_pool2d(Tensor::zeros({2, 4, 4}), {});
  });
  expect_error_containing("[max_pool2d] needs a float32 or float64 tensor", [] {
    max_pool2d(Tensor::zeros({1, 1, 2, 2}, DType::i32), {});
  });
}

// --- avg_pool2d and global_avg_pool2d -----------------------------------------------------

TEST(AvgPool2d, PaddingCountsInTheDivisor) {
  const Tensor x = image({1, 2, 3, 4}, 2, 2);
  const Tensor expected = image({0.25, 0.75, 0.5,  //
                                 1.0, 2.5, 1.5,    //
                                 0.75, 1.75, 1.0},
                                3, 3);
  EXPECT_TRUE(
      tensors_near(avg_pool2d(x, {.kernel = 2, .stride = 1, .padding = 1}), expected, 1e-15, 0));
}

TEST(AvgPool2d, CeilModeWindowPastThePaddingHasASmallerDivisor) {
  const Tensor x = image({1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3);
  EXPECT_TRUE(tensors_near(avg_pool2d(x, {.kernel = 2, .stride = 2, .ceil_mode = true}),
                           image({3, 4.5, 7.5, 9}, 2, 2), 1e-15, 0));
  EXPECT_TRUE(tensors_near(avg_pool2d(x, {.kernel = 2, .stride = 2}), image({3}, 1, 1), 1e-15, 0));
}

TEST(AvgPool2d, Gradients) {
  const Inputs in = {random_tensor({2, 2, 5, 6}, 32)};
  expect_gradients_match(
      "avg_pool2d", [](const Inputs& x) { return avg_pool2d(x[0], {.kernel = 2, .stride = 2}); },
      in);
  expect_gradients_match(
      "avg_pool2d",
      [](const Inputs& x) { return avg_pool2d(x[0], {.kernel = 3, .stride = 2, .padding = 1}); },
      in);
  expect_gradients_match(
      "avg_pool2d",
      [](const Inputs& x) {
        return avg_pool2d(x[0], {.kernel = 2, .stride = 2, .padding = 1, .ceil_mode = true});
      },
      in);
}

TEST(AvgPool2d, RejectsBadParameters) {
  expect_error_containing("[avg_pool2d] kernel 4 does not fit input (1,1,3,3)", [] {
    avg_pool2d(Tensor::zeros({1, 1, 3, 3}), {.kernel = 4, .stride = 1});
  });
}

TEST(GlobalAvgPool2d, MeanOverHeightAndWidth) {
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 10, 20, 30, 40}, {1, 2, 2, 2}, DType::f64);
  EXPECT_TRUE(tensors_near(global_avg_pool2d(x), Tensor::from_vector({2.5, 25}, {1, 2}), 1e-15, 0));
  const Inputs in = {random_tensor({2, 3, 4, 5}, 33)};
  expect_gradients_match(
      "global_avg_pool2d", [](const Inputs& v) { return global_avg_pool2d(v[0]); }, in);
  expect_error_containing("[global_avg_pool2d] input 'x' must have 4 dimensions, got (2,3)", [] {
    global_avg_pool2d(Tensor::zeros({2, 3}));
  });
}

// --- upsample_nearest ---------------------------------------------------------------------

TEST(UpsampleNearest, ForwardRepeatsBlocksAndBackwardSumsThem) {
  const Tensor x = image({1, 2, 3, 4}, 2, 2);
  const Tensor expected = image({1, 1, 2, 2,  //
                                 1, 1, 2, 2,  //
                                 3, 3, 4, 4,  //
                                 3, 3, 4, 4},
                                4, 4);
  EXPECT_TRUE(tensors_near(upsample_nearest(x, 2), expected, 0, 0));
  std::vector<double> seed_values(16);
  std::iota(seed_values.begin(), seed_values.end(), 0.0);
  const Tensor dx = input_gradient(x, image(seed_values, 4, 4),
                                   [](const Tensor& v) { return upsample_nearest(v, 2); });
  // Block sums of 0..15 laid out 4x4: {0+1+4+5, 2+3+6+7, 8+9+12+13, 10+11+14+15}.
  EXPECT_TRUE(tensors_near(dx, image({10, 18, 42, 50}, 2, 2), 0, 0));
}

TEST(UpsampleNearest, Gradients) {
  const Inputs in = {random_tensor({2, 3, 3, 4}, 34)};
  expect_gradients_match(
      "upsample_nearest", [](const Inputs& x) { return upsample_nearest(x[0], 2); }, in);
  expect_gradients_match(
      "upsample_nearest", [](const Inputs& x) { return upsample_nearest(x[0], 3); }, in);
  expect_error_containing("[upsample_nearest] scale must be a positive integer, got 0", [] {
    upsample_nearest(Tensor::zeros({1, 1, 2, 2}), 0);
  });
}

// --- resize_bilinear ----------------------------------------------------------------------

TEST(ResizeBilinear, AlignCornersByHand) {
  // Width 2 -> 4: s = d/3 -> {0, 1/3, 2/3, 1}.
  EXPECT_TRUE(tensors_near(resize_bilinear(image({0, 4}, 1, 2), 1, 4, ResizeMode::align_corners),
                           image({0, 4.0 / 3, 8.0 / 3, 4}, 1, 4), 1e-15, 0));
  // 2x2 -> 3x3: s = d/2 on both axes, out = 2 s_h + s_w.
  EXPECT_TRUE(
      tensors_near(resize_bilinear(image({0, 1, 2, 3}, 2, 2), 3, 3, ResizeMode::align_corners),
                   image({0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3}, 3, 3), 1e-15, 0));
  // A single output samples the first pixel.
  EXPECT_TRUE(tensors_near(resize_bilinear(image({5, 7, 9}, 1, 3), 1, 1, ResizeMode::align_corners),
                           image({5}, 1, 1), 0, 0));
}

TEST(ResizeBilinear, HalfPixelByHand) {
  // Width 2 -> 4: s = (d + 0.5)/2 - 0.5 -> {-0.25 -> 0, 0.25, 0.75, 1.25 -> upper clamped}.
  EXPECT_TRUE(tensors_near(resize_bilinear(image({0, 4}, 1, 2), 1, 4, ResizeMode::half_pixel),
                           image({0, 1, 3, 4}, 1, 4), 1e-15, 0));
  // Width 4 -> 2: s = 2d + 0.5, the mean of each pair.
  EXPECT_TRUE(tensors_near(resize_bilinear(image({0, 1, 2, 3}, 1, 4), 1, 2, ResizeMode::half_pixel),
                           image({0.5, 2.5}, 1, 2), 1e-15, 0));
  // 2x2 -> 3x3: s = (2d+1)/3 - 0.5 -> {0 (clamped), 0.5, 7/6 -> row 1}.
  EXPECT_TRUE(tensors_near(resize_bilinear(image({0, 1, 2, 3}, 2, 2), 3, 3, ResizeMode::half_pixel),
                           image({0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3}, 3, 3), 1e-15, 0));
}

TEST(ResizeBilinear, LegacyTfByHand) {
  // Width 2 -> 4: s = d/2 -> {0, 0.5, 1, 1.5 -> upper clamped}; no half-pixel shift.
  EXPECT_TRUE(tensors_near(resize_bilinear(image({0, 4}, 1, 2), 1, 4, ResizeMode::legacy_tf),
                           image({0, 2, 4, 4}, 1, 4), 0, 0));
  // Width 4 -> 2: s = 2d, plain sub-sampling.
  EXPECT_TRUE(tensors_near(resize_bilinear(image({0, 1, 2, 3}, 1, 4), 1, 2, ResizeMode::legacy_tf),
                           image({0, 2}, 1, 2), 0, 0));
}

TEST(ResizeBilinear, LegacyTfUpscale32To224PlacesSourceRowIAtRow7i) {
  const Tensor x = random_tensor({1, 2, 32, 32}, 35, 0.0, 255.0, DType::f32);
  const Tensor y = resize_bilinear(x, 224, 224, ResizeMode::legacy_tf);
  ASSERT_EQ(y.shape(), (Shape{1, 2, 224, 224}));
  const std::vector<double> xs = x.to_vector(), ys = y.to_vector();
  auto at_x = [&](int64_t c, int64_t h, int64_t w) {
    return xs[static_cast<size_t>((c * 32 + h) * 32 + w)];
  };
  auto at_y = [&](int64_t c, int64_t h, int64_t w) {
    return ys[static_cast<size_t>((c * 224 + h) * 224 + w)];
  };
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t i = 0; i < 32; ++i) {
      for (int64_t j = 0; j < 32; ++j)
        ASSERT_EQ(at_y(c, 7 * i, 7 * j), at_x(c, i, j)) << c << " " << i << " " << j;
    }
    // Rows 217..223 all equal row 217 (source row 31): the upper neighbour is clamped.
    for (int64_t r = 218; r < 224; ++r) {
      for (int64_t w = 0; w < 224; ++w) ASSERT_EQ(at_y(c, r, w), at_y(c, 217, w)) << r << " " << w;
    }
    // Between source rows: row 7i+3 is 4/7 of row i plus 3/7 of row i+1.
    EXPECT_NEAR(at_y(c, 7 * 5 + 3, 7 * 9), 4.0 / 7 * at_x(c, 5, 9) + 3.0 / 7 * at_x(c, 6, 9), 1e-3);
  }
}

TEST(ResizeBilinear, LegacyTfDownscale224To32IsExactSubsampling) {
  const Tensor x = random_tensor({1, 2, 224, 224}, 36, 0.0, 255.0, DType::f32);
  const Tensor y = resize_bilinear(x, 32, 32, ResizeMode::legacy_tf);
  ASSERT_EQ(y.shape(), (Shape{1, 2, 32, 32}));
  const std::vector<double> xs = x.to_vector(), ys = y.to_vector();
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t i = 0; i < 32; ++i) {
      for (int64_t j = 0; j < 32; ++j) {
        ASSERT_EQ(ys[static_cast<size_t>((c * 32 + i) * 32 + j)],
                  xs[static_cast<size_t>((c * 224 + 7 * i) * 224 + 7 * j)]);
      }
    }
  }
  // The up-then-down round trip is exact.
  const Tensor small = random_tensor({1, 2, 32, 32}, 37, 0.0, 255.0, DType::f32);
  const Tensor round_trip = resize_bilinear(resize_bilinear(small, 224, 224, ResizeMode::legacy_tf),
                                            32, 32, ResizeMode::legacy_tf);
  EXPECT_TRUE(tensors_near(round_trip, small, 0, 0));
}

TEST(ResizeBilinear, LegacyTfDownscaleGradientReachesOnlyTheSampledPixels) {
  const Tensor x = random_tensor({1, 1, 224, 224}, 38);
  const Tensor dx = input_gradient(
      x, Tensor::ones({1, 1, 32, 32}, DType::f64),
      [](const Tensor& v) { return resize_bilinear(v, 32, 32, ResizeMode::legacy_tf); });
  const std::vector<double> g = dx.to_vector();
  double total = 0.0;
  for (int64_t h = 0; h < 224; ++h) {
    for (int64_t w = 0; w < 224; ++w) {
      const double expected = (h % 7 == 0 && w % 7 == 0) ? 1.0 : 0.0;
      ASSERT_EQ(g[static_cast<size_t>(h * 224 + w)], expected) << h << " " << w;
      total += g[static_cast<size_t>(h * 224 + w)];
    }
  }
  EXPECT_EQ(total, 32.0 * 32.0);
}

TEST(ResizeBilinear, Gradients) {
  const Inputs in = {random_tensor({2, 2, 5, 4}, 39)};
  for (ResizeMode mode :
       {ResizeMode::align_corners, ResizeMode::half_pixel, ResizeMode::legacy_tf}) {
    expect_gradients_match(
        "resize_bilinear up", [mode](const Inputs& x) { return resize_bilinear(x[0], 7, 9, mode); },
        in);
    expect_gradients_match(
        "resize_bilinear down",
        [mode](const Inputs& x) { return resize_bilinear(x[0], 3, 3, mode); }, in);
    expect_gradients_match(
        "resize_bilinear one",
        [mode](const Inputs& x) { return resize_bilinear(x[0], 1, 6, mode); }, in);
  }
}

TEST(ResizeBilinear, RejectsBadSizes) {
  expect_error_containing(
      "[resize_bilinear] output size 0x3 must be positive, input (1,1,4,4)", [] {
        resize_bilinear(Tensor::zeros({1, 1, 4, 4}), 0, 3, ResizeMode::half_pixel);
      });
  expect_error_containing("[resize_bilinear] input 'x' must have 4 dimensions, got (4,4)", [] {
    resize_bilinear(Tensor::zeros({4, 4}), 2, 2, ResizeMode::legacy_tf);
  });
}

}  // namespace
}  // namespace fsa::testing
