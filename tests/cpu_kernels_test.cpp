// cpu_kernels_test.cpp: the optimised CPU paths against their references. Every GEMM
// micro-kernel this CPU supports (AVX-512, AVX2, portable) through the packed GEMM against
// gemm_reference, with transposes, grouped operand and output axes, bias and sizes past every
// cache block; the float32 convolutions (im2col and direct forward, backward data by both
// routes, backward weight) with every kernel against the float64 reference convolution;
// every Winograd filter transform and channels-last copy against its definition; the kernel
// and method choices; and the caching host allocator.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tensor/cpu/channels_last.h"
#include "tensor/cpu/conv_packed.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/gemm_packed.h"
#include "tensor/cpu/host_memory.h"
#include "tensor/cpu/winograd_filters.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

std::vector<float> random_floats(int64_t count, uint64_t seed) {
  const std::vector<double> values = random_tensor({count}, seed).to_vector();
  return std::vector<float>(values.begin(), values.end());
}

// ---- GEMM ----------------------------------------------------------------------------

struct GemmCase {
  int64_t M, N, K;
};

std::ostream& operator<<(std::ostream& out, const GemmCase& c) {
  return out << c.M << "x" << c.N << "x" << c.K;
}

// C = op(A) op(B) in double through gemm_reference, from the float operands.
std::vector<double> reference_gemm(const GemmCase& s, bool transpose_a, bool transpose_b,
                                   const std::vector<float>& a, const std::vector<float>& b) {
  const std::vector<double> a64(a.begin(), a.end()), b64(b.begin(), b.end());
  std::vector<double> c(static_cast<size_t>(s.M * s.N));
  gemm_reference(transpose_a, transpose_b, s.M, s.N, s.K, a64.data(), transpose_a ? s.M : s.K,
                 b64.data(), transpose_b ? s.K : s.N, c.data(), s.N);
  return c;
}

::testing::AssertionResult floats_near(const std::vector<float>& actual,
                                       const std::vector<double>& expected, double tolerance) {
  const std::vector<double> widened(actual.begin(), actual.end());
  const Shape shape{static_cast<int64_t>(actual.size())};
  return tensors_near(Tensor::from_vector(widened, shape, DType::f64),
                      Tensor::from_vector(expected, shape, DType::f64), tolerance, tolerance);
}

TEST(PackedGemm, EveryMicroKernelMatchesReferenceAllTransposes) {
  // Ragged edges in every dimension; the last case crosses the row (512), depth (256) and
  // column (1024) blocks and uses several threads (checked without transposes only, to
  // keep the test fast).
  const std::vector<GemmCase> cases = {
      {1, 1, 1}, {13, 37, 7}, {64, 70, 300}, {25, 33, 1}, {520, 1030, 260}};
  for (const GemmCase& s : cases) {
    for (const bool transpose_a : {false, true}) {
      for (const bool transpose_b : {false, true}) {
        if (s.M > 512 && (transpose_a || transpose_b)) continue;
        const std::vector<float> a = random_floats(s.M * s.K, 1 + s.M);
        const std::vector<float> b = random_floats(s.K * s.N, 2 + s.N);
        const std::vector<double> expected = reference_gemm(s, transpose_a, transpose_b, a, b);
        for (const MicroKernel& kernel : supported_micro_kernels()) {
          SCOPED_TRACE(::testing::Message() << kernel.name << " " << s << " ta " << transpose_a
                                            << " tb " << transpose_b);
          std::vector<float> c(static_cast<size_t>(s.M * s.N), -7.0f);
          gemm_packed(s.M, s.N, s.K, left_operand(a.data(), transpose_a ? s.M : s.K, transpose_a),
                      right_operand(b.data(), transpose_b ? s.K : s.N, transpose_b),
                      {.data = c.data(), .row_stride = s.N, .columns = {.stride = 1}}, &kernel);
          EXPECT_TRUE(floats_near(c, expected, 1e-4));
        }
      }
    }
  }
}

// B's columns and C's columns split into groups of 5 (images), stored `stride` apart, as
// the convolutions use them; plus a bias per row and A's depth axis grouped by 3.
TEST(PackedGemm, GroupedAxesAndBias) {
  const int64_t M = 19, N = 23, K = 11, group = 5, gap = 3;
  const int64_t groups = (N + group - 1) / group;
  const int64_t b_group_stride = K * group + gap, c_group_stride = M * group + gap;
  const std::vector<float> a = random_floats(M * K, 11), bias = random_floats(M, 13);
  std::vector<float> b(static_cast<size_t>(groups * b_group_stride), 0.0f);
  const std::vector<float> b_dense = random_floats(K * N, 12);  // (K, N)
  // B stored like a batch of images: column j = (g, w) at g * b_group_stride + k * group + w.
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t j = 0; j < N; ++j) {
      b[(j / group) * b_group_stride + k * group + j % group] = b_dense[k * N + j];
    }
  }
  // A stored with its depth grouped by 3: (i, p) at (p / 3) * (3 M) + i * 3 + p % 3.
  std::vector<float> a_grouped(static_cast<size_t>((K + 2) / 3 * 3 * M), 0.0f);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t p = 0; p < K; ++p) a_grouped[(p / 3) * (3 * M) + i * 3 + p % 3] = a[i * K + p];
  }
  for (const MicroKernel& kernel : supported_micro_kernels()) {
    SCOPED_TRACE(kernel.name);
    std::vector<float> c(static_cast<size_t>(groups * c_group_stride), 0.0f);
    const StridedOperand a_operand(a_grouped.data(), {.stride = 3},
                                   {.stride = 1, .group = 3, .group_stride = 3 * M});
    const StridedOperand b_operand(
        b.data(), {.stride = 1, .group = group, .group_stride = b_group_stride}, {.stride = group});
    gemm_packed(M, N, K, a_operand, b_operand,
                {.data = c.data(),
                 .row_stride = group,
                 .columns = {.stride = 1, .group = group, .group_stride = c_group_stride},
                 .row_bias = bias.data()},
                &kernel);
    std::vector<double> expected = reference_gemm({M, N, K}, false, false, a, b_dense);
    std::vector<float> actual(static_cast<size_t>(M * N));
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        expected[i * N + j] += bias[i];
        actual[i * N + j] = c[(j / group) * c_group_stride + i * group + j % group];
      }
    }
    EXPECT_TRUE(floats_near(actual, expected, 1e-5));
  }
}

// An A too large to pack whole (over 2^24 floats) runs in row bands; the bias follows them.
TEST(PackedGemm, LargeAInRowBands) {
  const int64_t M = 4099, N = 5, K = 4099;
  const std::vector<float> a = random_floats(M * K, 21), b = random_floats(K * N, 22);
  const std::vector<float> bias = random_floats(M, 23);
  std::vector<double> expected = reference_gemm({M, N, K}, false, false, a, b);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) expected[i * N + j] += bias[i];
  }
  std::vector<float> c(static_cast<size_t>(M * N), -7.0f);
  gemm_packed(
      M, N, K, left_operand(a.data(), K, false), right_operand(b.data(), N, false),
      {.data = c.data(), .row_stride = N, .columns = {.stride = 1}, .row_bias = bias.data()});
  EXPECT_TRUE(floats_near(c, expected, 1e-4));
}

TEST(PackedGemm, EmptyInnerDimensionWritesTheBias) {
  const std::vector<float> bias = {1.5f, -2.0f};
  std::vector<float> c(6, 9.0f);
  gemm_packed(
      2, 3, 0, left_operand(nullptr, 0, false), right_operand(nullptr, 3, false),
      {.data = c.data(), .row_stride = 3, .columns = {.stride = 1}, .row_bias = bias.data()});
  EXPECT_EQ(c, (std::vector<float>{1.5f, 1.5f, 1.5f, -2.0f, -2.0f, -2.0f}));
}

TEST(PackedGemm, KernelChoice) {
  const std::vector<MicroKernel>& kernels = supported_micro_kernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_STREQ(kernels.back().family, "portable");
  // Whatever the CPU, the choice comes from the fastest family and covers the rows well.
  for (const int64_t rows : {1, 8, 16, 27, 64, 100, 128, 256, 512}) {
    const MicroKernel& chosen = micro_kernel_for(rows);
    EXPECT_STREQ(chosen.family, kernels.front().family);
    for (const MicroKernel& other : kernels) {
      if (std::strcmp(other.family, chosen.family) != 0) continue;
      const int64_t chosen_rows = (rows + chosen.mr - 1) / chosen.mr * chosen.mr;
      const int64_t other_rows = (rows + other.mr - 1) / other.mr * other.mr;
      EXPECT_LE(16 * chosen_rows, 17 * other_rows) << rows << " rows";
    }
  }
  if (std::strcmp(kernels.front().family, "avx512") == 0) {
    EXPECT_EQ(micro_kernel_for(64).mr, 8);
    EXPECT_EQ(micro_kernel_for(256).mr, 12);
  }
}

// ---- packed convolution --------------------------------------------------------------

struct ConvCase {
  Shape x, w;
  Conv2dParams params;
};

std::ostream& operator<<(std::ostream& out, const ConvCase& c) {
  return out << "x " << c.x << " w " << c.w << " stride " << c.params.stride << " padding "
             << c.params.padding;
}

// Output rows that split micro-panels (Q = 5, 7, 13), images that end inside a panel,
// strides 1 to 3, paddings 0 to 2 (2 > R - 1 for a 2x2 kernel: the input gradient is no
// convolution of dy; 2 for a 3x3 kernel: Winograd's widest grid), non-square kernels, 1x1
// kernels, a kernel wider than the image and its padding on one side (3x7 on 3x1), one case
// large enough for two threads, more than 256 channels each way (products split along their
// depth), and two batches of 17 that the direct convolution cuts into chunks of 2 images
// (the last one short), with stride 1 and 2. Rows of 16 and 8 outputs run the direct
// convolution's panels as two segments of nr / 2 (16 for AVX-512, 8 for the others); 15
// or 7 rows per image give an odd number of segments, whose last panel has one (in the
// short last chunk too).
const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {{3, 5, 7, 5}, {9, 5, 3, 3}, {.stride = 1, .padding = 1}},
      {{2, 4, 9, 7}, {6, 4, 3, 3}, {.stride = 1, .padding = 0}},
      {{2, 3, 11, 13}, {5, 3, 3, 3}, {.stride = 2, .padding = 1}},
      {{2, 3, 6, 7}, {4, 3, 2, 2}, {.stride = 1, .padding = 2}},
      {{1, 3, 6, 5}, {4, 3, 2, 3}, {.stride = 1, .padding = 1}},
      {{3, 16, 5, 6}, {8, 16, 1, 1}, {.stride = 1, .padding = 0}},
      {{2, 6, 7, 7}, {5, 6, 1, 1}, {.stride = 2, .padding = 0}},
      {{4, 24, 16, 16}, {40, 24, 3, 3}, {.stride = 1, .padding = 1}},
      {{4, 16, 16, 16}, {20, 16, 3, 3}, {.stride = 2, .padding = 1}},
      {{3, 5, 7, 9}, {6, 5, 3, 3}, {.stride = 1, .padding = 2}},
      {{1, 270, 4, 5}, {260, 270, 3, 3}, {.stride = 1, .padding = 1}},
      {{2, 4, 10, 11}, {6, 4, 3, 3}, {.stride = 3, .padding = 1}},
      {{1, 2, 3, 1}, {3, 2, 3, 7}, {.stride = 1, .padding = 3}},
      {{17, 24, 32, 32}, {8, 24, 3, 3}, {.stride = 1, .padding = 1}},
      {{17, 24, 32, 32}, {8, 24, 3, 3}, {.stride = 2, .padding = 1}},
      {{3, 5, 15, 16}, {7, 5, 3, 3}, {.stride = 1, .padding = 1}},
      {{3, 5, 7, 8}, {7, 5, 3, 3}, {.stride = 1, .padding = 1}},
      {{17, 8, 15, 16}, {8, 8, 3, 3}, {.stride = 1, .padding = 1}},
  };
  return cases;
}

ConvGeometry geometry_of(const ConvCase& c) { return conv_geometry(c.x, c.w, c.params, "test"); }

// float32 results against float64: relative 1e-4, plus an absolute part that grows with the
// result's scale, as float32 rounding of its sums does (Winograd's transforms enlarge the
// summands, so an output that cancels to near zero carries a few 1e-6 of the scale).
bool near_float64(const Tensor& result, const Tensor& reference, double absolute) {
  double scale = 0.0;
  for (const double value : reference.to_vector()) scale = std::max(scale, std::abs(value));
  return tensors_near(result, reference, 1e-4, absolute + 1e-6 * scale);
}

TEST(PackedConv, EveryMicroKernelMatchesFloat64Reference) {
  const Backend& backend = cpu_backend();
  uint64_t seed = 500;
  for (const ConvCase& c : conv_cases()) {
    const ConvGeometry g = geometry_of(c);
    const Shape y_shape{g.N, g.K, g.P, g.Q};
    const Tensor x = random_tensor(c.x, seed += 4), w = random_tensor(c.w, seed + 1);
    const Tensor b = random_tensor({g.K}, seed + 2), dy = random_tensor(y_shape, seed + 3);
    const Tensor y64 = backend.conv2d_forward(x, w, b, c.params);
    const Tensor rectified64 = backend.conv2d_relu_forward(x, w, b, c.params);
    const Tensor dx64 = backend.conv2d_backward_data(dy, w, c.x, c.params);
    const Tensor dw64 = backend.conv2d_backward_weight(dy, x, c.w, c.params);
    const Tensor x32 = x.to(DType::f32), w32 = w.to(DType::f32), b32 = b.to(DType::f32);
    const Tensor dy32 = dy.to(DType::f32);
    for (const MicroKernel& kernel : supported_micro_kernels()) {
      for (const ConvMethod method :
           {ConvMethod::im2col, ConvMethod::direct, ConvMethod::winograd}) {
        if (method == ConvMethod::winograd && !winograd_applies(g)) continue;
        SCOPED_TRACE(::testing::Message()
                     << c << " " << kernel.name << " method " << static_cast<int>(method));
        const ConvOptions options{.kernel = &kernel, .method = method};
        Tensor y = Tensor::full(y_shape, 5.0), dx = Tensor::full(c.x, 5.0);
        Tensor dw = Tensor::full(c.w, 5.0), rectified = Tensor::full(y_shape, 5.0);
        conv2d_forward_f32(x32.data<float>(), w32.data<float>(), {.bias = b32.data<float>()}, g,
                           y.data<float>(), options);
        conv2d_forward_f32(x32.data<float>(), w32.data<float>(),
                           {.bias = b32.data<float>(), .relu = true}, g, rectified.data<float>(),
                           options);
        conv2d_backward_data_f32(dy32.data<float>(), w32.data<float>(), g, dx.data<float>(),
                                 options);
        conv2d_backward_weight_f32(dy32.data<float>(), x32.data<float>(), g, dw.data<float>(),
                                   options);
        EXPECT_TRUE(near_float64(y, y64, 1e-5));
        EXPECT_TRUE(near_float64(rectified, rectified64, 1e-5));
        EXPECT_TRUE(near_float64(dx, dx64, 1e-5));
        EXPECT_TRUE(near_float64(dw, dw64, 1e-4));
      }
    }
  }
}

TEST(PackedConv, MethodChoice) {
  const MicroKernel& kernel = micro_kernel_for(64);
  const auto method = [&](Shape x, Shape w, Conv2dParams p) {
    return choose_conv_method(conv_geometry(x, w, p, "test"), kernel);
  };
  // ResNet-20's stride-2 layers go direct (on phase planes), a 3-channel input with stride 2
  // (depth 27) packs; a stride-1 image with 16 or 32 channels goes direct (ResNet-20's first
  // two stages), and with 64 or more Winograd (its 8x8 stage, VGG-19's 4x4 maps at batch 8:
  // 40 tiles); one 2x2 image with 512 output channels (2 tiles, half of its direct grid
  // thrown away) packs.
  EXPECT_EQ(method({128, 16, 32, 32}, {32, 16, 3, 3}, {.stride = 2, .padding = 1}),
            ConvMethod::direct);
  EXPECT_EQ(method({128, 32, 16, 16}, {64, 32, 3, 3}, {.stride = 2, .padding = 1}),
            ConvMethod::direct);
  EXPECT_EQ(method({2, 3, 32, 32}, {16, 3, 3, 3}, {.stride = 2, .padding = 1}), ConvMethod::im2col);
  EXPECT_EQ(method({128, 16, 32, 32}, {16, 16, 3, 3}, {.stride = 1, .padding = 1}),
            ConvMethod::direct);
  EXPECT_EQ(method({128, 32, 16, 16}, {32, 32, 3, 3}, {.stride = 1, .padding = 1}),
            ConvMethod::direct);
  EXPECT_EQ(method({128, 64, 8, 8}, {64, 64, 3, 3}, {.stride = 1, .padding = 1}),
            ConvMethod::winograd);
  EXPECT_EQ(method({8, 256, 4, 4}, {512, 256, 3, 3}, {.stride = 1, .padding = 1}),
            ConvMethod::winograd);
  EXPECT_EQ(method({1, 256, 2, 2}, {512, 256, 3, 3}, {.stride = 1, .padding = 1}),
            ConvMethod::im2col);
}

TEST(PackedConv, WeightGradientMethodChoice) {
  const auto method = [](Shape x, Shape w, Conv2dParams p) {
    const ConvGeometry g = conv_geometry(x, w, p, "test");
    return choose_weight_gradient_method(g, micro_kernel_for(g.K));
  };
  // ResNet-20's 16-channel layer and its stride-2 layers go direct; a 1-channel input (its 3
  // columns fill a tenth of a panel) and two 4x4 images (32 positions: short depth blocks)
  // pack im2col.
  EXPECT_EQ(method({2, 16, 32, 32}, {16, 16, 3, 3}, {.stride = 1, .padding = 1}),
            ConvMethod::direct);
  EXPECT_EQ(method({2, 16, 32, 32}, {32, 16, 3, 3}, {.stride = 2, .padding = 1}),
            ConvMethod::direct);
  EXPECT_EQ(method({2, 1, 32, 32}, {64, 1, 3, 3}, {.stride = 1, .padding = 1}), ConvMethod::im2col);
  EXPECT_EQ(method({2, 256, 4, 4}, {512, 256, 3, 3}, {.stride = 1, .padding = 1}),
            ConvMethod::im2col);
}

TEST(PackedConv, BackwardDataMethodChoice) {
  const auto method = [](Shape x, Shape w, Conv2dParams p) {
    return choose_backward_data_method(conv_geometry(x, w, p, "test"));
  };
  // Direct (a convolution of dy for stride 1, one per phase for stride 2), except into 3
  // colour channels.
  EXPECT_EQ(method({2, 64, 32, 32}, {64, 64, 3, 3}, {.stride = 1, .padding = 1}),
            ConvMethod::direct);
  EXPECT_EQ(method({2, 3, 32, 32}, {64, 3, 3, 3}, {.stride = 1, .padding = 1}), ConvMethod::im2col);
  EXPECT_EQ(method({2, 16, 32, 32}, {32, 16, 3, 3}, {.stride = 2, .padding = 1}),
            ConvMethod::direct);
  EXPECT_EQ(method({2, 3, 32, 32}, {64, 3, 3, 3}, {.stride = 2, .padding = 1}), ConvMethod::im2col);
}

// The backend's float32 entry points run the packed path and agree with float64.
TEST(PackedConv, BackendFloat32MatchesFloat64) {
  const Backend& backend = cpu_backend();
  const ConvCase c = conv_cases()[0];
  const Tensor x = random_tensor(c.x, 600), w = random_tensor(c.w, 601);
  const Tensor y64 = backend.conv2d_forward(x, w, Tensor(), c.params);
  const Tensor y32 = backend.conv2d_forward(x.to(DType::f32), w.to(DType::f32), Tensor(), c.params);
  EXPECT_EQ(y32.dtype(), DType::f32);
  EXPECT_TRUE(tensors_near(y32, y64, 1e-4, 1e-5));
}

// ---- Winograd filter transforms ------------------------------------------------------

// U = G w G^T in float64 for one 3x3 filter (taps row-major).
std::vector<double> winograd_filter_transform(const std::vector<double>& taps) {
  const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  std::vector<double> u(16, 0.0);
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) {
      for (int r = 0; r < 3; ++r) {
        for (int s = 0; s < 3; ++s) u[4 * a + b] += G[a][r] * taps[3 * r + s] * G[b][s];
      }
    }
  }
  return u;
}

TEST(WinogradFilters, EveryVersionMatchesTheDefinition) {
  // Panels of 8, 12 and 16 filters; channel counts whose C mr pairs end in a partial group of
  // 16; a last panel with one filter (K = 13 and mr 12) and one past K; both weight layouts:
  // the forward's w (K, C, 3, 3) and the input gradient's, which reads w (C, K, 3, 3) with
  // each filter rotated by 180 degrees.
  constexpr float kUntouched = -7.0f;
  uint64_t seed = 900;
  for (const FilterPanelTransform& version : supported_filter_panel_transforms()) {
    for (const int64_t mr : {8, 12, 16}) {
      for (const int64_t C : {1, 3, 5, 16, 37}) {
        for (const bool flipped : {false, true}) {
          const int64_t K = 13;
          ConvGeometry g{};
          g.K = K;
          g.C = C;
          const FilterLayout layout =
              flipped ? FilterLayout{.output_stride = 9, .input_stride = K * 9, .flipped = true}
                      : FilterLayout{.output_stride = C * 9, .input_stride = 9};
          const std::vector<float> w = random_floats(K * C * 9, seed++);
          const int64_t stride = C * mr + 16;  // a gap after each position's slice
          for (const int64_t k0 : {int64_t{0}, mr, 2 * mr}) {
            SCOPED_TRACE(::testing::Message() << version.name << " mr " << mr << " C " << C
                                              << " flipped " << flipped << " k0 " << k0);
            std::vector<float> u(16 * stride, kUntouched);
            version.run(w.data(), layout, g, mr, k0, stride, u.data());
            for (int64_t c = 0; c < C; ++c) {
              for (int64_t i = 0; i < mr; ++i) {
                std::vector<double> taps(9, 0.0);
                for (int64_t t = 0; t < 9 && k0 + i < K; ++t) {
                  const int64_t tap = flipped ? 8 - t : t;
                  taps[t] = w[(k0 + i) * layout.output_stride + c * layout.input_stride + tap];
                }
                const std::vector<double> expected = winograd_filter_transform(taps);
                for (int64_t xi = 0; xi < 16; ++xi) {
                  ASSERT_NEAR(u[xi * stride + c * mr + i], expected[xi], 1e-5)
                      << "position " << xi << " channel " << c << " filter " << k0 + i;
                }
              }
            }
            for (int64_t xi = 0; xi < 16; ++xi) {
              for (int64_t gap = C * mr; gap < stride; ++gap) {
                ASSERT_EQ(u[xi * stride + gap], kUntouched) << "position " << xi;
              }
            }
          }
        }
      }
    }
  }
}

// ---- channels-last copy ----------------------------------------------------------------

TEST(ChannelsLast, EveryVersionMatchesTheDefinition) {
  // Whole blocks of 16 channels and 16 pixels (16 x 32 x 32, 64 x 2 x 8), a partial channel
  // group (3, 20, 37), pixel counts that end in a partial block (5 x 7, 1 x 17, 2 x 2), and
  // rows further apart than W C, whose gaps must stay untouched.
  constexpr float kUntouched = -7.0f;
  const std::vector<PlaneExtent> extents = {{16, 32, 32}, {64, 2, 8}, {3, 5, 7},
                                            {20, 8, 8},   {37, 1, 17}, {32, 2, 2}};
  uint64_t seed = 950;
  for (const ChannelsLastCopy& version : supported_channels_last_copies()) {
    for (const PlaneExtent& e : extents) {
      SCOPED_TRACE(::testing::Message() << version.name << " C " << e.channels << " H "
                                        << e.height << " W " << e.width);
      const std::vector<float> planes = random_floats(e.channels * e.height * e.width, seed++);
      const int64_t row_stride = (e.width + 2) * e.channels + 5;
      std::vector<float> out(e.height * row_stride, kUntouched);
      version.run(planes.data(), e, row_stride, out.data());
      std::vector<float> expected(out.size(), kUntouched);
      for (int64_t c = 0; c < e.channels; ++c) {
        for (int64_t h = 0; h < e.height; ++h) {
          for (int64_t w = 0; w < e.width; ++w) {
            expected[h * row_stride + w * e.channels + c] =
                planes[(c * e.height + h) * e.width + w];
          }
        }
      }
      for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], expected[i]) << "at " << i;
    }
  }
}

// ---- host allocator --------------------------------------------------------------------

TEST(HostMemory, LargeBlocksAreReusedAndReleased) {
  host_release_cached();
  const HostMemoryStats base = host_memory_stats();
  const size_t bytes = size_t{3} << 20;
  void* first = host_allocate(bytes);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
  std::memset(first, 1, bytes);
  host_free(first, bytes);
  EXPECT_EQ(host_cached_bytes(), base.cached + bytes);
  void* second = host_allocate(bytes - 100);  // the same size class
  EXPECT_EQ(second, first);
  EXPECT_EQ(host_cached_bytes(), base.cached);
  host_free(second, bytes - 100);
  host_release_cached();
  EXPECT_EQ(host_cached_bytes(), base.cached);
  EXPECT_EQ(host_memory_stats().held, base.held);
}

// Each HostMemory test below starts from a cache with no entirely free segment, and checks
// that what it allocated is all returned: in use and held back to where they were.
void expect_counters_back_to(const HostMemoryStats& base) {
  const HostMemoryStats now = host_memory_stats();
  EXPECT_EQ(now.in_use, base.in_use);
  EXPECT_EQ(now.held, base.held);
  EXPECT_EQ(now.cached, base.cached);
}

// A free segment of `bytes` (a size class), for the tests to cut up.
char* free_segment(size_t bytes) {
  void* segment = host_allocate(bytes);
  host_free(segment, bytes);
  return static_cast<char*>(segment);
}

TEST(HostMemory, AFreedBlockServesTwoSmallerRequests) {
  host_release_cached();
  const HostMemoryStats base = host_memory_stats();
  const size_t whole = size_t{4} << 20;
  const size_t first_bytes = size_t{1} << 20, second_bytes = size_t{2} << 20;
  char* segment = free_segment(whole);
  host_reset_peak();
  const HostMemoryStats before = host_memory_stats();
  void* first = host_allocate(first_bytes);
  void* second = host_allocate(second_bytes);
  EXPECT_EQ(first, segment);  // the front of the free range, then the front of the rest
  EXPECT_EQ(second, segment + first_bytes);
  const HostMemoryStats during = host_memory_stats();
  EXPECT_EQ(during.held, before.held) << "no new memory taken";
  EXPECT_EQ(during.peak_held, before.held);
  EXPECT_EQ(during.in_use, before.in_use + first_bytes + second_bytes);
  EXPECT_EQ(during.cached, before.cached - first_bytes - second_bytes);
  host_free(first, first_bytes);
  host_free(second, second_bytes);
  host_release_cached();
  expect_counters_back_to(base);
}

TEST(HostMemory, FreedNeighboursMergeIntoOneRange) {
  host_release_cached();
  const HostMemoryStats base = host_memory_stats();
  const size_t whole = size_t{4} << 20, quarter = size_t{1} << 20, half = size_t{2} << 20;
  char* segment = free_segment(whole);
  const size_t held = host_memory_stats().held;
  void* front = host_allocate(quarter);
  void* middle = host_allocate(quarter);
  void* back = host_allocate(half);
  ASSERT_EQ(back, segment + 2 * quarter);
  // The middle piece is freed last: it merges with the free ranges on both sides.
  host_free(front, quarter);
  host_free(back, half);
  host_free(middle, quarter);
  EXPECT_EQ(host_cached_bytes(), base.cached + whole);
  void* all = host_allocate(whole);
  EXPECT_EQ(all, segment) << "the pieces merged back into the whole segment";
  EXPECT_EQ(host_memory_stats().held, held);
  host_free(all, whole);
  host_release_cached();
  expect_counters_back_to(base);
}

TEST(HostMemory, ASmallRemainderIsHandedOutWithTheRange) {
  host_release_cached();
  const HostMemoryStats base = host_memory_stats();
  const size_t range = size_t{72} << 10, request = size_t{64} << 10;  // both size classes
  char* segment = free_segment(range);
  // The 8 KiB left would be too small a free range: the request gets, and counts, all 72 KiB.
  void* block = host_allocate(request);
  EXPECT_EQ(block, segment);
  EXPECT_EQ(host_memory_stats().in_use, base.in_use + range);
  EXPECT_EQ(host_cached_bytes(), base.cached);
  host_free(block, request);  // freed with the request's size, it comes back whole
  EXPECT_EQ(host_memory_stats().in_use, base.in_use);
  EXPECT_EQ(host_cached_bytes(), base.cached + range);
  host_release_cached();
  expect_counters_back_to(base);
}

TEST(HostMemory, ReleaseGivesBackOnlyEntirelyFreeSegments) {
  host_release_cached();
  const HostMemoryStats base = host_memory_stats();
  const size_t used_segment = size_t{4} << 20, in_use = size_t{1} << 20;
  const size_t free_segment_bytes = size_t{6} << 20;
  free_segment(used_segment);
  void* block = host_allocate(in_use);  // the front of the first segment; 3 MiB of it free
  free_segment(free_segment_bytes);     // a segment of its own: larger than the free 3 MiB
  EXPECT_EQ(host_memory_stats().held, base.held + used_segment + free_segment_bytes);
  host_release_cached();
  const HostMemoryStats released = host_memory_stats();
  EXPECT_EQ(released.held, base.held + used_segment) << "the segment in use stays";
  EXPECT_EQ(released.cached, base.cached + used_segment - in_use);
  host_free(block, in_use);
  host_release_cached();
  expect_counters_back_to(base);
}

TEST(HostMemory, ANewSegmentReplacesTheFreeSegmentsTooSmall) {
  host_release_cached();
  const HostMemoryStats base = host_memory_stats();
  const size_t small = size_t{1} << 20, large = size_t{2} << 20;
  free_segment(small);
  EXPECT_EQ(host_memory_stats().held, base.held + small);
  // No free range fits: the free 1 MiB segment, too small, is given back for the new one.
  void* block = host_allocate(large);
  EXPECT_EQ(host_memory_stats().held, base.held + large);
  EXPECT_EQ(host_cached_bytes(), base.cached);
  host_free(block, large);
  host_release_cached();
  expect_counters_back_to(base);
}

TEST(HostMemory, CountsBytesInUseAndTheirPeak) {
  const size_t base = host_memory_stats().in_use;
  host_reset_peak();
  const size_t bytes = size_t{1} << 20;  // exactly one size class
  void* first = host_allocate(bytes);
  void* second = host_allocate(bytes);
  EXPECT_EQ(host_memory_stats().in_use, base + 2 * bytes);
  host_free(first, bytes);
  host_free(second, bytes);
  const HostMemoryStats after = host_memory_stats();
  EXPECT_EQ(after.in_use, base);
  EXPECT_EQ(after.peak_in_use, base + 2 * bytes);
  EXPECT_GE(after.cached, 2 * bytes);
  host_reset_peak();
  EXPECT_EQ(host_memory_stats().peak_in_use, base);
  host_release_cached();
}

TEST(HostMemory, SmallBlocksAreNotCachedAndAligned) {
  host_release_cached();
  for (const size_t bytes : {size_t{1}, size_t{100}, size_t{4096}, size_t{60000}}) {
    void* data = host_allocate(bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % 64, 0u);
    std::memset(data, 0, bytes);
    host_free(data, bytes);
  }
  EXPECT_EQ(host_cached_bytes(), 0u);
}

TEST(HostMemory, TensorsOfTheSameShapeReuseStorage) {
  host_release_cached();
  const void* first = nullptr;
  {
    const Tensor a = Tensor::empty({256, 1024});
    first = a.raw_data();
  }
  const Tensor b = Tensor::empty({256, 1024});
  EXPECT_EQ(b.raw_data(), first);
}

// The layout kernels take negative axes, counted from the end, as the CUDA backend does
// (the CUDA parity suite calls both with -1).
TEST(LayoutKernels, NegativeAxesCountFromTheEnd) {
  const Backend& cpu = backend_for(Device::cpu);
  const Tensor x = random_tensor({2, 3, 4}, 7, -1.0, 1.0, DType::f32);
  EXPECT_TRUE(tensors_near(cpu.flip(x, -1), cpu.flip(x, 2), 0.0, 0.0));
  EXPECT_TRUE(tensors_near(cpu.concat({x, x}, -1), cpu.concat({x, x}, 2), 0.0, 0.0));
  const Tensor part = cpu.slice(x, -2, 1, 1, 2);
  EXPECT_TRUE(tensors_near(part, cpu.slice(x, 1, 1, 1, 2), 0.0, 0.0));
  EXPECT_TRUE(tensors_near(cpu.slice_backward(part, x.shape(), -2, 1, 1),
                           cpu.slice_backward(part, x.shape(), 1, 1, 1), 0.0, 0.0));
  EXPECT_THROW(cpu.flip(x, 3), Error);
}

}  // namespace
}  // namespace fsa::testing
