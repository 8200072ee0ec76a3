// linear_algebra_test.cpp: matmul, linear and conv2d. Finite-difference gradients in
// float64; forward values on hand-computed cases; float32 GEMM (the build's and the
// built-in blocked kernel) against gemm_reference; float32 convolution against a direct
// convolution loop and against the float64 kernels; shape errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/gemm.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Inputs = std::vector<Tensor>;

// ---- oracles -------------------------------------------------------------------------

// The direct definition: y[n][k][p][q] = b[k] + sum over c, r, s of
// x[n][c][p stride - pad + r][q stride - pad + s] w[k][c][r][s], zero outside x.
Tensor naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t K = w.dim(0), R = w.dim(2), S = w.dim(3);
  const int64_t P = (H + 2 * p.padding - R) / p.stride + 1;
  const int64_t Q = (W + 2 * p.padding - S) / p.stride + 1;
  const std::vector<double> xs = x.to_vector(), ws = w.to_vector();
  const std::vector<double> bs = b.defined() ? b.to_vector() : std::vector<double>(K, 0.0);
  std::vector<double> y;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < P; ++i)
        for (int64_t j = 0; j < Q; ++j) {
          double total = bs[k];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                const int64_t h = i * p.stride - p.padding + r, v = j * p.stride - p.padding + s;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                total += xs[((n * C + c) * H + h) * W + v] * ws[((k * C + c) * R + r) * S + s];
              }
          y.push_back(total);
        }
  return Tensor::from_vector(y, {N, K, P, Q}, x.dtype());
}

// gemm_reference on float64 copies of the stored operands: the oracle for float32 GEMMs.
Tensor reference_product(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b) {
  const Tensor a64 = a.to(DType::f64), b64 = b.to(DType::f64);
  const int64_t M = transpose_a ? a.dim(1) : a.dim(0), K = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t N = transpose_b ? b.dim(0) : b.dim(1);
  Tensor c = Tensor::empty({M, N}, DType::f64);
  gemm_reference(transpose_a, transpose_b, M, N, K, a64.data<double>(), a.dim(1),
                 b64.data<double>(), b.dim(1), c.data<double>(), N);
  return c;
}

// The built-in blocked kernel on whole tensors, whatever GEMM the build uses.
Tensor blocked_product(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b) {
  const int64_t M = transpose_a ? a.dim(1) : a.dim(0), K = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t N = transpose_b ? b.dim(0) : b.dim(1);
  Tensor c = Tensor::empty({M, N}, DType::f32);
  gemm_f32_blocked(transpose_a, transpose_b, M, N, K, a.data<float>(), a.dim(1), b.data<float>(),
                   b.dim(1), c.data<float>(), N);
  return c;
}

// Operands of op(A) (M,K) op(B) (K,N), stored transposed where asked.
Inputs gemm_operands(int64_t M, int64_t N, int64_t K, bool transpose_a, bool transpose_b,
                     uint64_t seed) {
  const Shape a_shape = transpose_a ? Shape{K, M} : Shape{M, K};
  const Shape b_shape = transpose_b ? Shape{N, K} : Shape{K, N};
  return {random_tensor(a_shape, seed, -1.0, 1.0, DType::f32),
          random_tensor(b_shape, seed + 1, -1.0, 1.0, DType::f32)};
}

// ---- matmul and linear ---------------------------------------------------------------

TEST(MatmulGrad, FiniteDifferences) {
  const Inputs in = {random_tensor({3, 4}, 101), random_tensor({4, 5}, 102)};
  expect_gradients_match(
      "matmul", [](const Inputs& x) { return matmul(x[0], x[1]); }, in);
  const Inputs column = {random_tensor({5, 1}, 103), random_tensor({1, 2}, 104)};
  expect_gradients_match(
      "matmul", [](const Inputs& x) { return matmul(x[0], x[1]); }, column);
}

TEST(MatmulForward, HandComputed) {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  const Tensor b = Tensor::from_vector({5, 6, 7, 8}, {2, 2});
  EXPECT_TRUE(tensors_near(matmul(a, b), Tensor::from_vector({19, 22, 43, 50}, {2, 2}), 0, 0));
  const Tensor row = Tensor::from_vector({1, 2, 3}, {1, 3}, DType::f64);
  const Tensor col = Tensor::from_vector({4, 5, 6}, {3, 1}, DType::f64);
  EXPECT_DOUBLE_EQ(matmul(row, col).item(), 32.0);
}

TEST(LinearGrad, WithAndWithoutBias) {
  const Inputs in = {random_tensor({3, 4}, 111), random_tensor({5, 4}, 112),
                     random_tensor({5}, 113)};
  expect_gradients_match(
      "linear", [](const Inputs& x) { return linear(x[0], x[1], x[2]); }, in);
  const Inputs no_bias = {in[0], in[1], Tensor()};
  expect_gradients_match(
      "linear", [](const Inputs& x) { return linear(x[0], x[1], x[2]); }, no_bias);
}

TEST(LinearForward, HandComputed) {
  const Tensor x = Tensor::from_vector({1, 2}, {1, 2});
  const Tensor w = Tensor::from_vector({1, 0, 0, 1, 1, 1}, {3, 2});
  const Tensor b = Tensor::from_vector({0.5, 0, -1}, {3});
  EXPECT_TRUE(tensors_near(linear(x, w, b), Tensor::from_vector({1.5, 2, 2}, {1, 3}), 0, 0));
  EXPECT_TRUE(tensors_near(linear(x, w, Tensor()), Tensor::from_vector({1, 2, 3}, {1, 3}), 0, 0));
}

// ---- GEMM kernels --------------------------------------------------------------------

TEST(Gemm, ReferenceHandComputedWithTransposes) {
  const std::vector<double> a = {1, 2, 3, 4}, b = {5, 6, 7, 8};  // both 2x2
  std::vector<double> c(4);
  gemm_reference(false, false, 2, 2, 2, a.data(), 2, b.data(), 2, c.data(), 2);
  EXPECT_EQ(c, (std::vector<double>{19, 22, 43, 50}));
  gemm_reference(true, false, 2, 2, 2, a.data(), 2, b.data(), 2, c.data(), 2);  // a^T b
  EXPECT_EQ(c, (std::vector<double>{26, 30, 38, 44}));
  gemm_reference(false, true, 2, 2, 2, a.data(), 2, b.data(), 2, c.data(), 2);  // a b^T
  EXPECT_EQ(c, (std::vector<double>{17, 23, 39, 53}));
  gemm_reference(true, true, 2, 2, 2, a.data(), 2, b.data(), 2, c.data(), 2);  // a^T b^T
  EXPECT_EQ(c, (std::vector<double>{23, 31, 34, 46}));
}

struct GemmSize {
  int64_t M, N, K;
};

// Both float32 paths (the backend's and the blocked kernel) for all four transpose
// combinations, odd sizes and sizes that use several threads.
TEST(Gemm, Float32MatchesReferenceAllTransposes) {
  const Backend& backend = cpu_backend();
  for (const GemmSize size : {GemmSize{37, 53, 29}, GemmSize{256, 300, 200}, GemmSize{1, 1, 1},
                              GemmSize{7, 1, 300}, GemmSize{1, 70, 5}}) {
    for (const bool transpose_a : {false, true}) {
      for (const bool transpose_b : {false, true}) {
        SCOPED_TRACE(::testing::Message() << size.M << "x" << size.N << "x" << size.K << " ta "
                                          << transpose_a << " tb " << transpose_b);
        const Inputs ab = gemm_operands(size.M, size.N, size.K, transpose_a, transpose_b,
                                        static_cast<uint64_t>(size.M * 7 + size.N));
        const Tensor expected = reference_product(ab[0], transpose_a, ab[1], transpose_b);
        EXPECT_TRUE(tensors_near(backend.gemm(ab[0], transpose_a, ab[1], transpose_b), expected,
                                 1e-4, 1e-4));
        EXPECT_TRUE(tensors_near(blocked_product(ab[0], transpose_a, ab[1], transpose_b), expected,
                                 1e-4, 1e-4));
      }
    }
  }
}

// Sizes past every block of the blocked kernel: several row blocks, column blocks and
// inner slices, with ragged edges.
TEST(Gemm, BlockedMatchesReferenceAcrossBlocks) {
  for (const bool transpose_b : {false, true}) {
    const Inputs ab = gemm_operands(145, 4100, 257, false, transpose_b, 120);
    EXPECT_TRUE(tensors_near(blocked_product(ab[0], false, ab[1], transpose_b),
                             reference_product(ab[0], false, ab[1], transpose_b), 1e-4, 1e-4));
  }
}

// Leading dimensions wider than the matrices: the kernel reads and writes sub-matrices and
// leaves the rest of C untouched.
TEST(Gemm, BlockedHonoursLeadingDimensions) {
  const int64_t M = 13, N = 21, K = 17, lda = 20, ldb = 30, ldc = 25;
  const Tensor a = random_tensor({M, lda}, 130, -1.0, 1.0, DType::f32);
  const Tensor b = random_tensor({K, ldb}, 131, -1.0, 1.0, DType::f32);
  Tensor c = Tensor::full({M, ldc}, 7.0, DType::f32);
  gemm_f32_blocked(false, false, M, N, K, a.data<float>(), lda, b.data<float>(), ldb,
                   c.data<float>(), ldc);
  std::vector<double> expected(M * ldc, 7.0);
  const std::vector<double> as = a.to_vector(), bs = b.to_vector();
  gemm_reference(false, false, M, N, K, as.data(), lda, bs.data(), ldb, expected.data(), ldc);
  EXPECT_TRUE(tensors_near(c, Tensor::from_vector(expected, {M, ldc}), 1e-5, 1e-5));
}

TEST(Gemm, EmptyInnerDimensionGivesZeros) {
  const Tensor a = Tensor::empty({3, 0}), b = Tensor::empty({0, 4});
  EXPECT_TRUE(tensors_near(cpu_backend().gemm(a, false, b, false), Tensor::zeros({3, 4}), 0, 0));
  Tensor c = Tensor::full({3, 4}, 5.0);
  gemm_f32_blocked(false, false, 3, 4, 0, a.data<float>(), 0, b.data<float>(), 4, c.data<float>(),
                   4);
  EXPECT_TRUE(tensors_near(c, Tensor::zeros({3, 4}), 0, 0));
}

// ---- conv2d --------------------------------------------------------------------------

struct ConvCase {
  Shape x, w;
  Conv2dParams params;
  bool bias;
};

std::ostream& operator<<(std::ostream& out, const ConvCase& c) {
  return out << "x " << c.x << " w " << c.w << " stride " << c.params.stride << " padding "
             << c.params.padding << (c.bias ? " with bias" : " without bias");
}

// Every combination the brief asks for: stride 1 and 2, padding 0 and 1, 1x1 and 3x3
// (and non-square) kernels, with and without bias, non-square inputs.
const std::vector<ConvCase>& small_conv_cases() {
  static const std::vector<ConvCase> cases = {
      {{2, 3, 5, 7}, {4, 3, 3, 3}, {.stride = 1, .padding = 0}, true},
      {{2, 3, 5, 7}, {4, 3, 3, 3}, {.stride = 1, .padding = 1}, false},
      {{2, 3, 6, 5}, {4, 3, 3, 3}, {.stride = 2, .padding = 1}, true},
      {{2, 3, 7, 6}, {2, 3, 3, 3}, {.stride = 2, .padding = 0}, false},
      {{2, 3, 4, 5}, {4, 3, 1, 1}, {.stride = 1, .padding = 0}, true},   // pointwise
      {{1, 3, 5, 4}, {2, 3, 1, 1}, {.stride = 2, .padding = 0}, false},  // 1x1 strided
      {{1, 2, 5, 6}, {3, 2, 1, 1}, {.stride = 1, .padding = 1}, true},   // 1x1 padded
      {{1, 2, 6, 5}, {3, 2, 2, 3}, {.stride = 1, .padding = 1}, true},   // 2x3 kernel
      {{1, 2, 2, 3}, {2, 2, 3, 3}, {.stride = 2, .padding = 1}, false},  // kernel > input
  };
  return cases;
}

Inputs conv_inputs(const ConvCase& c, uint64_t seed, DType dtype = DType::f64) {
  return {random_tensor(c.x, seed, -1.0, 1.0, dtype),
          random_tensor(c.w, seed + 1, -1.0, 1.0, dtype),
          c.bias ? random_tensor({c.w[0]}, seed + 2, -1.0, 1.0, dtype) : Tensor()};
}

TEST(Conv2dGrad, FiniteDifferences) {
  uint64_t seed = 200;
  for (const ConvCase& c : small_conv_cases()) {
    SCOPED_TRACE(::testing::Message() << c);
    const Conv2dParams params = c.params;
    expect_gradients_match(
        "conv2d", [params](const Inputs& x) { return conv2d(x[0], x[1], x[2], params); },
        conv_inputs(c, seed += 3));
  }
}

TEST(Conv2dForward, HandComputed) {
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  const Tensor w = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
  const Tensor b = Tensor::from_vector({0.5}, {1});
  EXPECT_TRUE(tensors_near(conv2d(x, w, b, {}),
                           Tensor::from_vector({37.5, 47.5, 67.5, 77.5}, {1, 1, 2, 2}), 0, 0));
  // A 1x1 kernel with stride 2 and padding 1 samples input rows/columns -1, 1, 3: only the
  // centre pixel lies inside the image.
  const Tensor two = Tensor::from_vector({2}, {1, 1, 1, 1});
  EXPECT_TRUE(tensors_near(conv2d(x, two, Tensor(), {.stride = 2, .padding = 1}),
                           Tensor::from_vector({0, 0, 0, 0, 10, 0, 0, 0, 0}, {1, 1, 3, 3}), 0, 0));
}

TEST(Conv2dForward, Float32MatchesDirectConvolution) {
  std::vector<ConvCase> cases = small_conv_cases();
  cases.push_back({{2, 16, 17, 19}, {8, 16, 3, 3}, {.stride = 1, .padding = 1}, true});
  cases.push_back({{2, 16, 17, 19}, {8, 16, 3, 3}, {.stride = 2, .padding = 1}, false});
  cases.push_back({{2, 32, 9, 11}, {16, 32, 1, 1}, {.stride = 1, .padding = 0}, true});
  uint64_t seed = 300;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << c);
    const Inputs in = conv_inputs(c, seed += 3, DType::f32);
    EXPECT_TRUE(tensors_near(conv2d(in[0], in[1], in[2], c.params),
                             naive_conv2d(in[0], in[1], in[2], c.params), 1e-4, 1e-5));
  }
}

// The float64 backward kernels are checked by finite differences above; the float32 ones
// (which run the float32 GEMM) must agree with them.
TEST(Conv2dBackward, Float32MatchesFloat64) {
  std::vector<ConvCase> cases = small_conv_cases();
  cases.push_back({{3, 8, 12, 10}, {6, 8, 3, 3}, {.stride = 2, .padding = 1}, false});
  const Backend& backend = cpu_backend();
  uint64_t seed = 400;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << c);
    const Inputs in = conv_inputs(c, seed += 3);
    const Shape y_shape = naive_conv2d(in[0], in[1], Tensor(), c.params).shape();
    const Tensor dy = random_tensor(y_shape, seed + 10);
    const Tensor x32 = in[0].to(DType::f32), w32 = in[1].to(DType::f32), dy32 = dy.to(DType::f32);
    EXPECT_TRUE(tensors_near(backend.conv2d_backward_data(dy32, w32, c.x, c.params),
                             backend.conv2d_backward_data(dy, in[1], c.x, c.params), 1e-4, 1e-5));
    EXPECT_TRUE(tensors_near(backend.conv2d_backward_weight(dy32, x32, c.w, c.params),
                             backend.conv2d_backward_weight(dy, in[0], c.w, c.params), 1e-4, 1e-5));
  }
}

// ---- shape errors --------------------------------------------------------------------

TEST(LinearAlgebraErrors, NameTheOpAndShapes) {
  const Tensor m23 = Tensor::zeros({2, 3}), m45 = Tensor::zeros({4, 5});
  expect_error_containing("[matmul] inner dimensions differ: a (2,3) has 3 columns, b (4,5)",
                          [&] { matmul(m23, m45); });
  expect_error_containing("[matmul] input 'a' must have 2 dimensions, got (2,3,4)", [&] {
    matmul(Tensor::zeros({2, 3, 4}), m45);
  });
  expect_error_containing("[matmul]", [&] { matmul(m23, Tensor::zeros({3, 2}, DType::f64)); });
  expect_error_containing("[gemm] inner dimensions differ",
                          [&] { cpu_backend().gemm(m23, false, m45, false); });

  expect_error_containing("[linear] weight (4,5) expects 5 input features, input (2,3) has 3",
                          [&] { linear(m23, m45, Tensor()); });
  expect_error_containing("[linear] bias (3) should have 4 entries", [&] {
    linear(m23, Tensor::zeros({4, 3}), Tensor::zeros({3}));
  });

  const Tensor x = Tensor::zeros({2, 3, 32, 32});
  expect_error_containing(
      "[conv2d] weight (8,4,3,3) expects 4 input channels, "
      "input (2,3,32,32) has 3",
      [&] {
        conv2d(x, Tensor::zeros({8, 4, 3, 3}), Tensor(), {});
      });
  const Tensor w = Tensor::zeros({8, 3, 3, 3});
  expect_error_containing("[conv2d] bias (5) should have 8 entries",
                          [&] { conv2d(x, w, Tensor::zeros({5}), {}); });
  expect_error_containing("[conv2d] input 'x' must have 4 dimensions, got (3,32,32)", [&] {
    conv2d(Tensor::zeros({3, 32, 32}), w, Tensor(), {});
  });
  expect_error_containing("[conv2d] stride must be at least 1, got 0",
                          [&] { conv2d(x, w, Tensor(), {.stride = 0}); });
  expect_error_containing("[conv2d] padding must be non-negative",
                          [&] { conv2d(x, w, Tensor(), {.padding = -1}); });
  expect_error_containing(
      "[conv2d] kernel 5x5 of weight (1,3,5,5) is larger than the padded input 2x2", [&] {
        conv2d(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({1, 3, 5, 5}), Tensor(), {});
      });
}

}  // namespace
}  // namespace fsa::testing
