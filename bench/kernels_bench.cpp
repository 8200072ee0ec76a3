// kernels_bench.cpp: GEMM and conv2d forward/backward at the shapes of VGG-19 (relu1_1 to
// relu4_1, at 32x32 batch 8 and 224x224 batch 4) and ResNet-20 (batch 128), batch norm in
// training at ResNet-20's shapes, plus whole VGG-19 stacks to relu4_1 (torchvision layout).
// For GEMM and convolutions items processed = FLOPs, so Google Benchmark prints GFLOP/s as
// items_per_second.
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>

#include "autograd/ops.h"
#include "autograd/variable.h"
#include "peak_memory.h"
#include "tensor/backend.h"
#include "tensor/cpu/conv_packed.h"

namespace fsa {
namespace {

Tensor random_input(const Shape& shape, uint64_t seed) {
  Tensor x = Tensor::empty(shape);
  backend_for(Device::cpu).fill_uniform(x, -1.0, 1.0, seed, 0);
  return x;
}

void BM_gemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor a = random_input({n, n}, 1), b = random_input({n, n}, 2);
  for (auto _ : state) benchmark::DoNotOptimize(backend_for(Device::cpu).gemm(a, false, b, false));
  state.SetItemsProcessed(state.iterations() * 2 * n * n * n);
}
BENCHMARK(BM_gemm)
    ->Name("BM_gemm/cpu")
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond);

struct ConvShape {
  const char* name;
  int64_t n, c, k, h;  // batch, input and output channels, input size
  int64_t stride = 1;
  int64_t out() const { return h / stride; }  // output size (padding 1)
};

// The distinct 3x3 convolutions of VGG-19 up to relu4_1 and of ResNet-20 (with its two
// stride-2 ones).
const ConvShape kConvShapes[] = {
    {"vgg_conv1_1_32", 8, 3, 64, 32},          {"vgg_conv1_2_32", 8, 64, 64, 32},
    {"vgg_conv2_1_32", 8, 64, 128, 16},        {"vgg_conv2_2_32", 8, 128, 128, 16},
    {"vgg_conv3_1_32", 8, 128, 256, 8},        {"vgg_conv3_2_32", 8, 256, 256, 8},
    {"vgg_conv4_1_32", 8, 256, 512, 4},        {"vgg_conv1_1_224", 4, 3, 64, 224},
    {"vgg_conv1_2_224", 4, 64, 64, 224},       {"vgg_conv2_1_224", 4, 64, 128, 112},
    {"vgg_conv2_2_224", 4, 128, 128, 112},     {"vgg_conv3_1_224", 4, 128, 256, 56},
    {"vgg_conv3_2_224", 4, 256, 256, 56},      {"vgg_conv4_1_224", 4, 256, 512, 28},
    {"resnet20_16_32", 128, 16, 16, 32},       {"resnet20_32_16", 128, 32, 32, 16},
    {"resnet20_64_8", 128, 64, 64, 8},         {"resnet20_16_32_s2", 128, 16, 32, 32, 2},
    {"resnet20_32_16_s2", 128, 32, 64, 16, 2},
};

double conv_flops(const ConvShape& s) { return 2.0 * s.n * s.k * s.out() * s.out() * s.c * 9; }

Conv2dParams conv_params(const ConvShape& s) { return {.stride = s.stride, .padding = 1}; }

void conv_forward(benchmark::State& state, ConvShape s) {
  const Tensor x = random_input({s.n, s.c, s.h, s.h}, 1), w = random_input({s.k, s.c, 3, 3}, 2);
  const Tensor b = random_input({s.k}, 3);
  for (auto _ : state) benchmark::DoNotOptimize(conv2d(x, w, b, conv_params(s)));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * conv_flops(s)));
}

// The float32 forward alone, with a given method.
void conv_forward_method(benchmark::State& state, ConvShape s, ConvMethod method) {
  const Tensor x = random_input({s.n, s.c, s.h, s.h}, 1), w = random_input({s.k, s.c, 3, 3}, 2);
  Tensor y = Tensor::empty({s.n, s.k, s.out(), s.out()});
  const ConvGeometry g = conv_geometry(x.shape(), w.shape(), conv_params(s), "bench");
  for (auto _ : state) {
    conv2d_forward_f32(x.data<float>(), w.data<float>(), {}, g, y.data<float>(),
                       {.method = method});
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * conv_flops(s)));
}

// Forward plus the backward of data, weight and bias (3x the forward FLOPs).
void conv_forward_backward(benchmark::State& state, ConvShape s) {
  const Tensor x = random_input({s.n, s.c, s.h, s.h}, 1), w = random_input({s.k, s.c, 3, 3}, 2);
  const Tensor b = random_input({s.k}, 3);
  for (const Tensor& t : {x, w, b}) set_requires_grad(t, true);
  const Tensor r = random_input({s.n, s.k, s.out(), s.out()}, 4);
  for (auto _ : state) {
    backward(conv2d(x, w, b, conv_params(s)), r);
    for (const Tensor& t : {x, w, b}) zero_grad(t);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 3 * conv_flops(s)));
}

// The float32 weight gradient alone, with a given method (im2col or direct).
void conv_backward_weight(benchmark::State& state, ConvShape s, ConvMethod method) {
  const Tensor x = random_input({s.n, s.c, s.h, s.h}, 1);
  const Tensor dy = random_input({s.n, s.k, s.out(), s.out()}, 4);
  Tensor dw = Tensor::empty({s.k, s.c, 3, 3});
  const ConvGeometry g = conv_geometry(x.shape(), {s.k, s.c, 3, 3}, conv_params(s), "bench");
  for (auto _ : state) {
    conv2d_backward_weight_f32(dy.data<float>(), x.data<float>(), g, dw.data<float>(),
                               {.method = method});
    benchmark::DoNotOptimize(dw.data<float>());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * conv_flops(s)));
}

// One batch-norm layer in training, as a ResNet step runs it: the batch statistics, the
// normalisation, and the backward to x, gamma and beta.
void batch_norm_training(benchmark::State& state, Shape shape) {
  const Backend& cpu = backend_for(Device::cpu);
  const Tensor x = random_input(shape, 1), dy = random_input(shape, 2);
  const Tensor gamma = random_input({shape[1]}, 3), beta = random_input({shape[1]}, 4);
  for (auto _ : state) {
    const BatchNormStats stats = cpu.batch_norm_stats(x);
    const Tensor y = cpu.batch_norm_forward(x, stats.mean, stats.var, gamma, beta, 1e-5);
    const BatchNormGrads grads =
        cpu.batch_norm_backward(dy, x, stats.mean, stats.var, gamma, 1e-5, /*training=*/true);
    benchmark::DoNotOptimize(y.data<float>());
    benchmark::DoNotOptimize(grads.dx.data<float>());
  }
}

// torchvision VGG-19 features to relu4_1 with random weights; each convolution and its ReLU
// as one op, as Vgg19Encoder runs them (its Sequential fuses them).
struct Vgg19Stack {
  std::vector<Tensor> weights, biases;
  Vgg19Stack() {
    const int64_t plan[][2] = {{3, 64},    {64, 64},   {64, 128},  {128, 128}, {128, 256},
                               {256, 256}, {256, 256}, {256, 256}, {256, 512}};
    uint64_t seed = 10;
    for (const auto& [cin, cout] : plan) {
      weights.push_back(random_input({cout, cin, 3, 3}, seed++) * std::sqrt(3.0 / (9.0 * cin)));
      biases.push_back(random_input({cout}, seed++) * 0.1);
    }
  }
  Tensor forward(Tensor x) const {
    for (size_t i = 0; i < weights.size(); ++i) {
      x = conv2d_relu(x, weights[i], biases[i], {.stride = 1, .padding = 1});
      if (i == 1 || i == 3 || i == 7) x = max_pool2d(x, {.kernel = 2, .stride = 2});
    }
    return x;
  }
};

// The weights, made once per process, as a program loads its model once. Made again for each
// of Google Benchmark's runs of a row, their temporaries split the previous run's free 49 MiB
// ranges (4x224), and the next run mapped a fourth (held 226 MiB against 173 in use).
const Vgg19Stack& vgg19_stack() {
  static const Vgg19Stack stack;
  return stack;
}

void vgg19_relu4_1(benchmark::State& state, int64_t batch, int64_t size, bool with_backward) {
  const Vgg19Stack& vgg = vgg19_stack();
  const Tensor x = random_input({batch, 3, size, size}, 1);
  if (with_backward) set_requires_grad(x, true);
  host_reset_peak();
  for (auto _ : state) {
    const Tensor y = vgg.forward(x);
    if (with_backward) {
      backward(sum(y));
      zero_grad(x);
    }
    benchmark::DoNotOptimize(y);
  }
  report_host_peaks(state);
}

void register_benchmarks() {
  for (const Shape& shape :
       {Shape{128, 16, 32, 32}, Shape{128, 32, 16, 16}, Shape{128, 64, 8, 8}}) {
    const std::string name = "BM_batch_norm_training/cpu/" + std::to_string(shape[0]) + "x" +
                             std::to_string(shape[1]) + "x" + std::to_string(shape[2]);
    benchmark::RegisterBenchmark(name.c_str(), batch_norm_training, shape)
        ->Unit(benchmark::kMillisecond);
  }
  for (const ConvShape& s : kConvShapes) {
    benchmark::RegisterBenchmark((std::string("BM_conv2d_forward/cpu/") + s.name).c_str(),
                                 conv_forward, s)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("BM_conv2d_forward_backward/cpu/") + s.name).c_str(),
                                 conv_forward_backward, s)
        ->Unit(benchmark::kMillisecond);
    for (const auto& [method, name] : {std::pair{ConvMethod::im2col, "im2col"},
                                       {ConvMethod::direct, "direct"},
                                       {ConvMethod::winograd, "winograd"}}) {
      if (s.stride != 1 && method != ConvMethod::im2col) continue;  // stride 2: im2col only
      benchmark::RegisterBenchmark(
          (std::string("BM_conv2d_forward/cpu/") + s.name + "/" + name).c_str(),
          conv_forward_method, s, method)
          ->Unit(benchmark::kMillisecond);
    }
    for (const auto& [method, name] :
         {std::pair{ConvMethod::im2col, "im2col"}, {ConvMethod::direct, "direct"}}) {
      benchmark::RegisterBenchmark(
          (std::string("BM_conv2d_backward_weight/cpu/") + s.name + "/" + name).c_str(),
          conv_backward_weight, s, method)
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (const auto& [batch, size] : {std::pair<int64_t, int64_t>{8, 32}, {4, 224}}) {
    const std::string shape = std::to_string(batch) + "x" + std::to_string(size);
    benchmark::RegisterBenchmark(("BM_vgg19_relu4_1_forward/cpu/" + shape).c_str(), vgg19_relu4_1,
                                 batch, size, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_vgg19_relu4_1_forward_backward/cpu/" + shape).c_str(),
                                 vgg19_relu4_1, batch, size, true)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace
}  // namespace fsa

int main(int argc, char** argv) {
  fsa::register_benchmarks();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
