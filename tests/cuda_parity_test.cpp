// cuda_parity_test.cpp: every Backend kernel run on the CPU (the reference) and on CUDA
// with the same random float32 inputs, outputs compared element by element. One
// parameterised case per kernel (forward and backward together); every case skips
// without a GPU, so this file builds and passes in CPU-only builds too.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "tensor/backend.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Tensors = std::vector<Tensor>;
// Runs the kernels under test on `backend`, whose device holds `in`; returns the outputs.
using KernelCall = std::function<Tensors(const Backend& backend, const Tensors& in)>;

struct ParityCase {
  std::string name;
  std::function<Tensors()> make_inputs;  // on the CPU, float32 (labels int32)
  KernelCall call;
  double rtol = 1e-5;
  double atol = 1e-6;
};

void PrintTo(const ParityCase& c, std::ostream* out) { *out << c.name; }

Tensor uniform(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  return random_tensor(shape, seed, lo, hi, DType::f32);
}

Tensor labels(const std::vector<int32_t>& values) { return Tensor::from_labels(values); }

// A fresh float32 tensor on the device of `like`.
Tensor empty_like_device(const Shape& shape, const Tensor& like, DType dtype = DType::f32) {
  return Tensor::empty(shape, dtype, like.device());
}

// --- memory --------------------------------------------------------------------------

void add_memory_cases(std::vector<ParityCase>& cases) {
  cases.push_back({"CastAndClone",
                   [] {
                     return Tensors{uniform({3, 7}, 1, -20.0, 20.0)};
                   },
                   [](const Backend& be, const Tensors& in) {
                     const Tensor as_int = be.cast(in[0], DType::i32);
                     return Tensors{as_int, be.cast(as_int, DType::f32), be.cast(in[0], DType::f64),
                                    in[0].clone()};
                   }});
  cases.push_back({"Fill", [] { return Tensors{uniform({2}, 2)}; },
                   [](const Backend& be, const Tensors& in) {
                     const Tensor f = empty_like_device({5, 3}, in[0]);
                     const Tensor i = empty_like_device({4}, in[0], DType::i32);
                     const Tensor zero = empty_like_device({6}, in[0]);
                     be.fill(f, 2.5);
                     be.fill(i, -3);
                     be.fill(zero, 0.0);
                     return Tensors{f, i, zero};
                   }});
  cases.push_back({"FillUniformAndNormal", [] { return Tensors{uniform({2}, 3)}; },
                   [](const Backend& be, const Tensors& in) {
                     const Tensor u = empty_like_device({1000}, in[0]);
                     const Tensor n = empty_like_device({999}, in[0]);
                     be.fill_uniform(u, -2.0, 3.0, 42, 17);
                     be.fill_normal(n, 1.0, 0.5, 43, 1u << 20);
                     return Tensors{u, n};
                   }});
}

// --- elementwise -----------------------------------------------------------------------

void add_unary_case(std::vector<ParityCase>& cases, const char* name, UnaryOp op, double lo,
                    double hi, UnaryArgs args = {}) {
  cases.push_back({std::string("Unary_") + name,
                   [lo, hi] {  // 120 elements, and 107 (groups of four and three left)
                     return Tensors{uniform({4, 5, 6}, 10, lo, hi), uniform({4, 5, 6}, 11),
                                    uniform({107}, 12, lo, hi), uniform({107}, 13)};
                   },
                   [op, args](const Backend& be, const Tensors& in) {
                     const Tensor y = be.unary_forward(op, in[0], args);
                     const Tensor odd = be.unary_forward(op, in[2], args);
                     return Tensors{y, be.unary_backward(op, in[0], y, in[1], args), odd,
                                    be.unary_backward(op, in[2], odd, in[3], args)};
                   }});
}

void add_binary_case(std::vector<ParityCase>& cases, const char* name, BinaryOp op, const Shape& a,
                     const Shape& b) {
  const Shape out = broadcast_shapes(a, b, "parity");
  cases.push_back({std::string("Binary_") + name,
                   [a, b, out] {
                     return Tensors{uniform(a, 20), uniform(b, 21, 0.5, 1.5), uniform(out, 22)};
                   },
                   [op](const Backend& be, const Tensors& in) {
                     const BinaryGrads grads = be.binary_backward(op, in[0], in[1], in[2]);
                     return Tensors{be.binary_forward(op, in[0], in[1]), grads.da, grads.db};
                   }});
}

void add_elementwise_cases(std::vector<ParityCase>& cases) {
  add_unary_case(cases, "neg", UnaryOp::neg, -2, 2);
  add_unary_case(cases, "exp", UnaryOp::exp, -2, 2);
  add_unary_case(cases, "log", UnaryOp::log, 0.1, 3);
  add_unary_case(cases, "sqrt", UnaryOp::sqrt, 0.1, 3);
  add_unary_case(cases, "abs", UnaryOp::abs, -2, 2);
  add_unary_case(cases, "sign", UnaryOp::sign, -2, 2);
  add_unary_case(cases, "relu", UnaryOp::relu, -2, 2);
  add_unary_case(cases, "leaky_relu", UnaryOp::leaky_relu, -2, 2, {.scalar = 0.2});
  add_unary_case(cases, "tanh", UnaryOp::tanh, -3, 3);
  add_unary_case(cases, "sigmoid", UnaryOp::sigmoid, -3, 3);
  add_unary_case(cases, "pow", UnaryOp::pow, 0.1, 2, {.scalar = 2.5});
  add_unary_case(cases, "add_scalar", UnaryOp::add_scalar, -2, 2, {.scalar = 0.75});
  add_unary_case(cases, "mul_scalar", UnaryOp::mul_scalar, -2, 2, {.scalar = -1.5});
  add_unary_case(cases, "clamp", UnaryOp::clamp, -2, 2, {.lo = -0.5, .hi = 0.8});
  add_binary_case(cases, "add", BinaryOp::add, {2, 3, 4, 5}, {2, 3, 4, 5});
  add_binary_case(cases, "sub_per_channel", BinaryOp::sub, {2, 3, 4, 5}, {1, 3, 1, 1});
  add_binary_case(cases, "mul_leading", BinaryOp::mul, {3, 1, 4}, {5, 1});
  add_binary_case(cases, "div", BinaryOp::div, {6, 7}, {7});
  add_binary_case(cases, "minimum", BinaryOp::minimum, {4, 9}, {4, 9});
  add_binary_case(cases, "maximum", BinaryOp::maximum, {4, 9}, {4, 1});
}

// --- reductions and per-channel statistics --------------------------------------------

void add_sum_case(std::vector<ParityCase>& cases, const char* name, const Shape& shape,
                  std::vector<int64_t> axes) {
  cases.push_back(
      {std::string("SumAxes_") + name, [shape] { return Tensors{uniform(shape, 30)}; },
       [axes](const Backend& be, const Tensors& in) { return Tensors{be.sum_axes(in[0], axes)}; }});
}

void add_reduce_cases(std::vector<ParityCase>& cases) {
  add_sum_case(cases, "all", {3, 4, 5, 6}, {0, 1, 2, 3});
  add_sum_case(cases, "bias_grad", {8, 5, 7, 9}, {0, 2, 3});
  add_sum_case(cases, "middle", {3, 4, 5}, {1});
  add_sum_case(cases, "last_negative_axis", {6, 70}, {-1});
  add_sum_case(cases, "rows_of_many_terms", {300, 3}, {0});
  cases.push_back({"BroadcastTo",
                   [] {
                     return Tensors{uniform({3, 1, 5}, 31)};
                   },
                   [](const Backend& be, const Tensors& in) {
                     return Tensors{be.broadcast_to(in[0], {2, 3, 4, 5})};
                   }});
  cases.push_back({"TopkIndices",
                   [] {
                     return Tensors{uniform({5, 1000}, 32), uniform({3, 10}, 33)};
                   },
                   [](const Backend& be, const Tensors& in) {
                     return Tensors{be.topk_indices(in[0], 1), be.topk_indices(in[0], 7),
                                    be.topk_indices(in[1], 10)};
                   },
                   0.0, 0.0});
  cases.push_back({"ChannelStd",
                   [] {
                     return Tensors{uniform({2, 3, 9, 11}, 34, -2, 3), uniform({2, 3, 1, 1}, 35)};
                   },
                   [](const Backend& be, const Tensors& in) {
                     const Tensor std = be.channel_std_forward(in[0], 1e-5);
                     return Tensors{std, be.channel_std_backward(in[0], std, in[1])};
                   }});
}

// --- linear algebra and convolution ------------------------------------------------------

void add_gemm_case(std::vector<ParityCase>& cases, const char* name, bool ta, bool tb) {
  const Shape a = ta ? Shape{33, 17} : Shape{17, 33};
  const Shape b = tb ? Shape{9, 33} : Shape{33, 9};
  cases.push_back({std::string("Gemm_") + name,
                   [a, b] {
                     return Tensors{uniform(a, 40), uniform(b, 41)};
                   },
                   [ta, tb](const Backend& be, const Tensors& in) {
                     return Tensors{be.gemm(in[0], ta, in[1], tb)};
                   },
                   1e-4, 1e-5});
}

void add_conv_case(std::vector<ParityCase>& cases, const char* name, const Shape& x, const Shape& w,
                   Conv2dParams p) {
  cases.push_back({std::string("Conv2d_") + name,
                   [x, w] {
                     return Tensors{uniform(x, 50), uniform(w, 51), uniform({w[0]}, 52)};
                   },
                   [p](const Backend& be, const Tensors& in) {
                     const Tensor y = be.conv2d_forward(in[0], in[1], in[2], p);
                     const Tensor y_no_bias = be.conv2d_forward(in[0], in[1], Tensor(), p);
                     return Tensors{y, y_no_bias,
                                    be.conv2d_backward_data(y, in[1], in[0].shape(), p),
                                    be.conv2d_backward_weight(y, in[0], in[1].shape(), p)};
                   },
                   1e-4, 1e-4});
}

void add_linear_algebra_cases(std::vector<ParityCase>& cases) {
  add_gemm_case(cases, "nn", false, false);
  add_gemm_case(cases, "tn", true, false);
  add_gemm_case(cases, "nt", false, true);
  add_gemm_case(cases, "tt", true, true);
  add_conv_case(cases, "3x3_pad1", {2, 3, 8, 8}, {4, 3, 3, 3}, {.stride = 1, .padding = 1});
  add_conv_case(cases, "3x3_stride2", {2, 5, 9, 7}, {6, 5, 3, 3}, {.stride = 2, .padding = 1});
  add_conv_case(cases, "1x1", {3, 8, 5, 5}, {4, 8, 1, 1}, {});
}

// --- spatial ------------------------------------------------------------------------------

// Uniform values, or with `distinct_values` > 0 only that many (0, 1, ...), so that windows
// hold ties and the first maximum must win.
Tensor pool_input(const Shape& shape, int distinct_values) {
  if (distinct_values == 0) return uniform(shape, 60);
  Tensor x = uniform(shape, 60, 0.0, distinct_values);
  float* values = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) values[i] = std::floor(values[i]);
  return x;
}

void add_pool_case(std::vector<ParityCase>& cases, const char* name, const Shape& x, Pool2dParams p,
                   int distinct_values = 0) {
  cases.push_back({std::string("Pool2d_") + name,
                   [x, distinct_values] { return Tensors{pool_input(x, distinct_values)}; },
                   [p](const Backend& be, const Tensors& in) {
                     const Tensor max = be.max_pool2d_forward(in[0], p);
                     const Tensor avg = be.avg_pool2d_forward(in[0], p);
                     return Tensors{max, be.max_pool2d_backward(in[0], max, p), avg,
                                    be.avg_pool2d_backward(avg, in[0].shape(), p)};
                   }});
}

void add_resize_case(std::vector<ParityCase>& cases, const char* name, ResizeMode mode,
                     int64_t in_size, int64_t out_h, int64_t out_w) {
  cases.push_back({std::string("ResizeBilinear_") + name,
                   [in_size, out_h, out_w] {
                     return Tensors{uniform({2, 3, in_size, in_size + 1}, 70),
                                    uniform({2, 3, out_h, out_w}, 71)};
                   },
                   [mode, out_h, out_w](const Backend& be, const Tensors& in) {
                     return Tensors{be.resize_bilinear_forward(in[0], out_h, out_w, mode),
                                    be.resize_bilinear_backward(in[1], in[0].shape(), mode)};
                   }});
}

void add_spatial_cases(std::vector<ParityCase>& cases) {
  cases.push_back({"ReflectionPad2d",
                   [] {
                     return Tensors{uniform({2, 3, 5, 6}, 61), uniform({2, 33000, 3, 2}, 63)};
                   },
                   [](const Backend& be, const Tensors& in) {
                     const Tensor y = be.reflection_pad2d_forward(in[0], 2);  // (2,3,9,10)
                     const Tensor many_planes = be.reflection_pad2d_forward(in[1], 1);
                     return Tensors{
                         y, be.reflection_pad2d_backward(y, 2),
                         be.reflection_pad2d_backward(be.reflection_pad2d_forward(in[0], 4), 4),
                         many_planes, be.reflection_pad2d_backward(many_planes, 1)};
                   }});
  add_pool_case(cases, "k2s2", {2, 3, 8, 10}, {});  // windows tile the input
  add_pool_case(cases, "k2s2_ceil", {1, 2, 7, 9}, {.ceil_mode = true});
  add_pool_case(cases, "k2s2_many_planes", {2, 33000, 2, 4}, {});  // past the grid's y limit
  add_pool_case(cases, "k2s2_ties", {2, 3, 6, 8}, {}, /*distinct_values=*/3);
  add_pool_case(cases, "k2s2_ties_ceil", {1, 3, 5, 7}, {.ceil_mode = true}, 3);
  add_pool_case(cases, "k3s2p1", {2, 3, 9, 8}, {.kernel = 3, .stride = 2, .padding = 1});
  add_pool_case(cases, "k3s2_ceil", {1, 2, 8, 11}, {.kernel = 3, .stride = 2, .ceil_mode = true});
  add_pool_case(cases, "k3s1p1", {1, 2, 6, 7}, {.kernel = 3, .stride = 1, .padding = 1});
  cases.push_back({"UpsampleNearest",
                   [] {
                     return Tensors{uniform({2, 3, 4, 5}, 62)};
                   },
                   [](const Backend& be, const Tensors& in) {
                     const Tensor y = be.upsample_nearest_forward(in[0], 2);
                     return Tensors{
                         y, be.upsample_nearest_backward(y, 2),
                         be.upsample_nearest_backward(be.upsample_nearest_forward(in[0], 3), 3)};
                   }});
  add_resize_case(cases, "align_corners_up", ResizeMode::align_corners, 5, 9, 13);
  add_resize_case(cases, "align_corners_down", ResizeMode::align_corners, 12, 5, 4);
  add_resize_case(cases, "half_pixel_up", ResizeMode::half_pixel, 5, 11, 8);
  add_resize_case(cases, "half_pixel_down", ResizeMode::half_pixel, 13, 4, 6);
  add_resize_case(cases, "legacy_tf_up_x7", ResizeMode::legacy_tf, 4, 28, 35);
  add_resize_case(cases, "legacy_tf_down", ResizeMode::legacy_tf, 14, 2, 3);
}

// --- normalisation ------------------------------------------------------------------------

void add_batch_norm_case(std::vector<ParityCase>& cases, const char* name, const Shape& x,
                         bool training) {
  cases.push_back({std::string("BatchNorm_") + name,
                   [x] {
                     return Tensors{uniform(x, 80, -1, 2), uniform({x[1]}, 81, 0.5, 1.5),
                                    uniform({x[1]}, 82), uniform(x, 83)};
                   },
                   [training](const Backend& be, const Tensors& in) {
                     const double eps = 1e-5;
                     const BatchNormStats stats = be.batch_norm_stats(in[0]);
                     const Tensor y =
                         be.batch_norm_forward(in[0], stats.mean, stats.var, in[1], in[2], eps);
                     const BatchNormGrads g = be.batch_norm_backward(
                         in[3], in[0], stats.mean, stats.var, in[1], eps, training);
                     return Tensors{stats.mean, stats.var, y, g.dx, g.dgamma, g.dbeta};
                   },
                   1e-4, 1e-5});
}

void add_norm_cases(std::vector<ParityCase>& cases) {
  add_batch_norm_case(cases, "nchw_training", {4, 3, 5, 6}, true);
  add_batch_norm_case(cases, "nchw_eval", {4, 3, 5, 6}, false);
  add_batch_norm_case(cases, "nc_training", {16, 7}, true);
}

// --- layout -------------------------------------------------------------------------------

void add_layout_cases(std::vector<ParityCase>& cases) {
  cases.push_back(
      {"Permute",
       [] {
         return Tensors{uniform({2, 3, 4, 5}, 90)};
       },
       [](const Backend& be, const Tensors& in) {
         return Tensors{be.permute(in[0], {0, 2, 3, 1}), be.permute(in[0], {3, 1, 0, 2})};
       }});
  cases.push_back({"Flip",
                   [] {
                     return Tensors{uniform({2, 3, 4, 5}, 91)};
                   },
                   [](const Backend& be, const Tensors& in) {
                     return Tensors{be.flip(in[0], 1), be.flip(in[0], -1), be.flip(in[0], 0)};
                   }});
  cases.push_back(
      {"Concat",
       [] {
         return Tensors{uniform({2, 3, 4}, 92), uniform({2, 1, 4}, 93), uniform({2, 5, 4}, 94)};
       },
       [](const Backend& be, const Tensors& in) {
         return Tensors{be.concat(in, 1), be.concat({in[0], in[0]}, 0),
                        be.concat({in[0], in[0]}, -1)};
       }});
  cases.push_back({"SliceAndBackward",
                   [] {
                     return Tensors{uniform({3, 10, 4}, 95)};
                   },
                   [](const Backend& be, const Tensors& in) {
                     const Tensor y = be.slice(in[0], 1, 1, 3, 3);  // rows 1, 4, 7
                     return Tensors{y, be.slice_backward(y, in[0].shape(), 1, 1, 3),
                                    be.slice(in[0], -1, 2, 1, 2)};
                   }});
}

// --- losses ---------------------------------------------------------------------------------

void add_cw_case(std::vector<ParityCase>& cases, const char* name, CwMarginParams p) {
  cases.push_back({std::string("CwMargin_") + name,
                   [] {
                     return Tensors{uniform({6, 10}, 100, -3, 3), labels({0, 3, 9, 4, 4, 7}),
                                    uniform({6}, 101)};
                   },
                   [p](const Backend& be, const Tensors& in) {
                     return Tensors{be.cw_margin_forward(in[0], in[1], p),
                                    be.cw_margin_backward(in[0], in[1], in[2], p)};
                   }});
}

void add_loss_cases(std::vector<ParityCase>& cases) {
  cases.push_back({"SoftmaxCrossEntropy",
                   [] {
                     return Tensors{uniform({5, 1000}, 102, -8, 8), labels({0, 999, 17, 500, 3}),
                                    uniform({5}, 103)};
                   },
                   [](const Backend& be, const Tensors& in) {
                     return Tensors{be.softmax_cross_entropy_forward(in[0], in[1]),
                                    be.softmax_cross_entropy_backward(in[0], in[1], in[2])};
                   },
                   1e-5, 1e-6});
  add_cw_case(cases, "untargeted_top1", {.kappa = 0.5, .top_k = 1});
  add_cw_case(cases, "untargeted_top3", {.kappa = 1.0, .top_k = 3});
  add_cw_case(cases, "targeted", {.kappa = 2.0, .top_k = 1, .targeted = true});
}

// --- optimizer updates ------------------------------------------------------------------------

void add_sgd_case(std::vector<ParityCase>& cases, const char* name, SgdParams p) {
  cases.push_back(
      {std::string("Sgd_") + name,
       [] {
         return Tensors{uniform({7, 9}, 110), uniform({7, 9}, 111), uniform({7, 9}, 112)};
       },
       [p](const Backend& be, const Tensors& in) {
         const Tensor param = in[0].clone(), velocity = in[2].clone();
         be.sgd_update(param, in[1], velocity, p);
         be.sgd_update(param, in[1], velocity, p);
         return Tensors{param, velocity};
       }});
}

void add_adam_case(std::vector<ParityCase>& cases, const char* name, AdamParams p) {
  cases.push_back({std::string("Adam_") + name,
                   [] {
                     return Tensors{uniform({7, 9}, 120), uniform({7, 9}, 121),
                                    uniform({7, 9}, 122, -0.1, 0.1),
                                    uniform({7, 9}, 123, 0.0, 0.01)};
                   },
                   [p](const Backend& be, const Tensors& in) {
                     const Tensor param = in[0].clone(), m = in[2].clone(), v = in[3].clone();
                     be.adam_update(param, in[1], m, v, p);
                     return Tensors{param, m, v};
                   }});
}

void add_optim_cases(std::vector<ParityCase>& cases) {
  add_sgd_case(cases, "plain", {.lr = 0.1});
  add_sgd_case(cases, "momentum_decay", {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-2});
  add_sgd_case(cases, "nesterov", {.lr = 0.05, .momentum = 0.9, .nesterov = true});
  add_adam_case(cases, "pytorch", {.lr = 1e-2, .weight_decay = 1e-3, .step = 3});
  add_adam_case(cases, "tf1", {.lr = 1e-2, .form = AdamForm::tf1, .step = 5});
}

std::vector<ParityCase> all_cases() {
  std::vector<ParityCase> cases;
  add_memory_cases(cases);
  add_elementwise_cases(cases);
  add_reduce_cases(cases);
  add_linear_algebra_cases(cases);
  add_spatial_cases(cases);
  add_norm_cases(cases);
  add_layout_cases(cases);
  add_loss_cases(cases);
  add_optim_cases(cases);
  return cases;
}

class CudaParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(CudaParity, MatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or machine";
  const ParityCase& c = GetParam();
  const Tensors cpu_inputs = c.make_inputs();
  Tensors cuda_inputs;
  for (const Tensor& x : cpu_inputs) cuda_inputs.push_back(x.to(Device::cuda));

  const Tensors expected = c.call(backend_for(Device::cpu), cpu_inputs);
  const Tensors actual = c.call(backend_for(Device::cuda), cuda_inputs);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].device(), Device::cuda) << c.name << " output " << i;
    EXPECT_EQ(actual[i].dtype(), expected[i].dtype()) << c.name << " output " << i;
    EXPECT_TRUE(tensors_near(actual[i], expected[i], c.rtol, c.atol)) << c.name << " output " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(AllKernels, CudaParity, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<ParityCase>& info) {
                           return info.param.name;
                         });

TEST(CudaBackend, Float64IsCpuOnly) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or machine";
  const Tensor x = Tensor::zeros({2, 2}, DType::f64, Device::cuda);  // memory ops take f64
  EXPECT_THROW(backend_for(Device::cuda).unary_forward(UnaryOp::exp, x, {}), Error);
  EXPECT_EQ(x.to(DType::f32).to_vector(), std::vector<double>(4, 0.0));
}

TEST(CudaBackend, ErrorsNameTheOp) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or machine";
  const Tensor a = Tensor::zeros({2, 3}, DType::f32, Device::cuda);
  try {
    backend_for(Device::cuda).gemm(a, false, a, false);
    FAIL() << "gemm of (2,3) x (2,3) should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[gemm]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fsa::testing
