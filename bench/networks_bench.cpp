// networks_bench.cpp: whole-network steps with the engine's models and random weights, the
// rows of the reference table (docs in ../shared/docs/reference.md):
//   BM_vgg19_normalised_relu{2,3}_1_{forward,forward_backward}/cpu/<batch>x<size>
//       the AdaIN/WCT encoder (1x1 conv, reflection padding); backward to the input only
//   BM_wct_decoder_relu2_1_{forward,forward_backward}/cpu/8x32  (input: relu2_1 features)
//   BM_resnet20_train_step/cpu/128   forward, cross-entropy, backward, SGD with momentum
//   BM_fa_iteration/cpu/100x32       one feature-augmentation attack iteration: encoder,
//       perturbed embedding, decoder, ResNet-20, re-encoder, loss, backward to tau, Adam
// With a GPU (CUDA build), the issue-5 rows run on /cuda/ too: VGG-19 to relu2_1/3_1/4_1
// at 16x224, the ResNet-20 step at 128 and the FA iteration at 64 and 256; every
// iteration ends with a device synchronisation, so the time is the work's, not the launch's.
//   BM_fa_iteration_graph/cuda/<batch>x32  the same iteration as the attack runs it on a
//       GPU: forward and backward replayed from a recorded graph, then the Adam step
// scripts/bench_compare.py runs the same work in PyTorch. Registered at load time; main()
// is in kernels_bench.cpp.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/sgd.h"
#include "autograd/variable.h"
#include "models/registry.h"
#include "peak_memory.h"
#include "tensor/backend.h"
#include "tensor/device.h"
#include "tensor/device_graph.h"

namespace fsa {
namespace {

Tensor uniform(const Shape& shape, uint64_t seed, Device device, double lo = 0.0, double hi = 1.0) {
  Tensor x = Tensor::empty(shape);
  backend_for(Device::cpu).fill_uniform(x, lo, hi, seed, 0);
  return x.to(device);
}

Tensor labels_for(int64_t batch, Device device) {
  std::vector<int32_t> labels;
  for (int64_t i = 0; i < batch; ++i) labels.push_back(static_cast<int32_t>(i % 10));
  return Tensor::from_labels(labels, device);
}

// A model in evaluation mode whose parameters need no gradient (attack-time use).
std::shared_ptr<Module> frozen_model(const std::string& architecture, Device device) {
  std::shared_ptr<Module> model = make_model(architecture);
  model->eval();
  model->requires_grad(false);
  model->to(device);
  return model;
}

// Ends a timed iteration: the queued device work must be done before the clock stops.
void finish_iteration(Device device) { backend_for(device).synchronize(); }

// The host allocator's peaks since host_reset_peak, called before each row's loop so that
// its weights and inputs count, as in the resident memory (CPU rows; peak_memory.h).
void report_peak_memory(benchmark::State& state, Device device) {
  if (device == Device::cpu) report_host_peaks(state);
}

// Forward (and backward to the input) of a frozen model on uniform [0,1) input.
void model_step(benchmark::State& state, std::string architecture, Shape input, bool with_backward,
                Device device) {
  const std::shared_ptr<Module> model = frozen_model(architecture, device);
  const Tensor x = uniform(input, 1, device);
  if (with_backward) set_requires_grad(x, true);
  host_reset_peak();
  for (auto _ : state) {
    const Tensor y = model->forward(x);
    if (with_backward) {
      backward(sum(y));
      zero_grad(x);
    }
    finish_iteration(device);
    benchmark::DoNotOptimize(y);
  }
  report_peak_memory(state, device);
}

void resnet20_train_step(benchmark::State& state, int64_t batch, Device device) {
  const std::shared_ptr<Module> model = make_model("cifar_resnet20");
  model->train();
  model->requires_grad(true);
  model->to(device);
  Sgd optimizer(model->parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  const Tensor x = uniform({batch, 3, 32, 32}, 2, device), labels = labels_for(batch, device);
  host_reset_peak();
  for (auto _ : state) {
    optimizer.zero_grad();
    const Tensor loss = mean(softmax_cross_entropy(model->forward(x), labels));
    backward(loss);
    optimizer.step();
    finish_iteration(device);
  }
  report_peak_memory(state, device);
}

// The attack's inner loop at relu2_1 (reference.md, "Feature augmentation attack"):
// B = enc(x), mu/sigma its channel mean/std; B' = exp(tau_s) (B - mu) + exp(tau_m) mu;
// x' = dec(B'); loss = sum_c mean_hw (enc(x') - B')^2 + 32000 cw(cls(x')); Adam on tau.
struct FaIterationSetup {
  FaIterationSetup(int64_t batch, Device device)
      : batch(batch),
        encoder(frozen_model("vgg19_normalised_relu2_1", device)),
        decoder(frozen_model("wct_decoder_relu2_1", device)),
        classifier(frozen_model("cifar_resnet20", device)),
        x(uniform({batch, 3, 32, 32}, 3, device)),
        labels(labels_for(batch, device)),
        tau_s(Tensor::zeros({batch, 128, 1, 1}, DType::f32, device)),
        tau_m(Tensor::zeros({batch, 128, 1, 1}, DType::f32, device)) {
    set_requires_grad(tau_s, true);
    set_requires_grad(tau_m, true);
  }

  // Forward and backward: the gradients of tau_s and tau_m.
  void forward_backward() const {
    const Tensor b = encoder->forward(x);  // (N, 128, 16, 16)
    const Tensor mu = reshape(channel_mean(b), {batch, 128, 1, 1});
    const Tensor perturbed = add(mul(exp(tau_s), sub(b, mu)), mul(exp(tau_m), mu));
    const Tensor decoded = clamp(decoder->forward(perturbed), 0.0, 1.0);
    const Tensor content = sum(mean(pow(sub(encoder->forward(decoded), perturbed), 2.0), {2, 3}));
    const Tensor hinge = sum(cw_margin(classifier->forward(decoded), labels, {}));
    backward(add(content, mul_scalar(hinge, 32000.0)));
  }

  int64_t batch;
  std::shared_ptr<Module> encoder, decoder, classifier;
  Tensor x, labels, tau_s, tau_m;
};

void fa_iteration(benchmark::State& state, int64_t batch, Device device) {
  const FaIterationSetup fa(batch, device);
  Adam optimizer({fa.tau_s, fa.tau_m}, {.lr = 0.01, .beta1 = 0.5});
  host_reset_peak();
  for (auto _ : state) {
    optimizer.zero_grad();
    fa.forward_backward();
    optimizer.step();
    finish_iteration(device);
  }
  report_peak_memory(state, device);
}

// fa_iteration with its forward and backward recorded once and replayed (tensor/device_graph.h).
void fa_iteration_graph(benchmark::State& state, int64_t batch, Device device) {
  const FaIterationSetup fa(batch, device);
  Adam optimizer({fa.tau_s, fa.tau_m}, {.lr = 0.01, .beta1 = 0.5});
  fa.forward_backward();  // eager once: cuDNN's algorithm search happens outside the recording
  optimizer.zero_grad();
  const DeviceGraph graph(device, [&] { fa.forward_backward(); });
  const Tensor grad_s = grad(fa.tau_s), grad_m = grad(fa.tau_m);
  for (auto _ : state) {
    graph.replay();
    set_grad(fa.tau_s, grad_s);
    set_grad(fa.tau_m, grad_m);
    optimizer.step();
    finish_iteration(device);
  }
}

std::string shape_name(int64_t batch, int64_t size) {
  return std::to_string(batch) + "x" + std::to_string(size);
}

void register_encoder_rows(const char* cut, int64_t batch, int64_t size, Device device) {
  for (const bool with_backward : {false, true}) {
    const std::string name = std::string("BM_vgg19_normalised_") + cut +
                             (with_backward ? "_forward_backward/" : "_forward/") +
                             device_name(device) + "/" + shape_name(batch, size);
    benchmark::RegisterBenchmark(name.c_str(), model_step, std::string("vgg19_normalised_") + cut,
                                 Shape{batch, 3, size, size}, with_backward, device)
        ->Unit(benchmark::kMillisecond);
  }
}

void register_cpu_rows() {
  for (const char* cut : {"relu2_1", "relu3_1"}) {
    register_encoder_rows(cut, 8, 32, Device::cpu);
    register_encoder_rows(cut, 4, 224, Device::cpu);
  }
  for (const bool with_backward : {false, true}) {
    const std::string name = std::string("BM_wct_decoder_relu2_1") +
                             (with_backward ? "_forward_backward" : "_forward") + "/cpu/8x32";
    benchmark::RegisterBenchmark(name.c_str(), model_step, std::string("wct_decoder_relu2_1"),
                                 Shape{8, 128, 16, 16}, with_backward, Device::cpu)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("BM_resnet20_train_step/cpu/128", resnet20_train_step, 128,
                               Device::cpu)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_fa_iteration/cpu/100x32", fa_iteration, 100, Device::cpu)
      ->Unit(benchmark::kMillisecond);
}

void register_cuda_rows() {
  for (const char* cut : {"relu2_1", "relu3_1", "relu4_1"}) {
    register_encoder_rows(cut, 16, 224, Device::cuda);
  }
  benchmark::RegisterBenchmark("BM_resnet20_train_step/cuda/128", resnet20_train_step, 128,
                               Device::cuda)
      ->Unit(benchmark::kMillisecond);
  for (const int64_t batch : {64, 256}) {
    const std::string name = "BM_fa_iteration/cuda/" + shape_name(batch, 32);
    benchmark::RegisterBenchmark(name.c_str(), fa_iteration, batch, Device::cuda)
        ->Unit(benchmark::kMillisecond);
    const std::string graph_name = "BM_fa_iteration_graph/cuda/" + shape_name(batch, 32);
    benchmark::RegisterBenchmark(graph_name.c_str(), fa_iteration_graph, batch, Device::cuda)
        ->Unit(benchmark::kMillisecond);
  }
}

const bool registered = [] {
  register_cpu_rows();
  if (cuda_available()) register_cuda_rows();
  return true;
}();

}  // namespace
}  // namespace fsa
