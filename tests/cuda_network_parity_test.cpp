// cuda_network_parity_test.cpp: whole-network work run on the CPU (the reference) and on
// CUDA from the same weights and inputs: a ResNet-20 training step (loss, parameter
// gradients, updated weights) and feature-augmentation attack iterations (losses, the
// gradient of the style variables, the kept image). Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "attack/feature_attack.h"
#include "autograd/ops.h"
#include "autograd/optim/sgd.h"
#include "autograd/variable.h"
#include "models/registry.h"
#include "tensor/backend.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

// Reductions over thousands of terms run in another order on the GPU: compare whole
// tensors by relative norm, not element by element.
::testing::AssertionResult relative_norm_below(const Tensor& actual, const Tensor& expected,
                                               double tolerance) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shapes " << actual.shape() << " vs " << expected.shape();
  }
  const std::vector<double> a = actual.to_vector(), e = expected.to_vector();
  double difference = 0.0, reference = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - e[i]) * (a[i] - e[i]);
    reference += e[i] * e[i];
  }
  const double relative = std::sqrt(difference) / std::max(std::sqrt(reference), 1e-30);
  if (relative <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "relative L2 difference " << relative << " > " << tolerance;
}

// A second instance of `architecture` on CUDA holding `source`'s weights.
std::shared_ptr<Module> cuda_copy_of(const Module& source, const std::string& architecture) {
  std::shared_ptr<Module> copy = make_model(architecture);
  for (const auto& [name, tensor] : source.named_tensors()) copy->assign(name, tensor);
  copy->to(Device::cuda);
  return copy;
}

Tensor labels_for(int64_t batch) {
  std::vector<int32_t> labels;
  for (int64_t i = 0; i < batch; ++i) labels.push_back(static_cast<int32_t>((3 * i) % 10));
  return Tensor::from_labels(labels);
}

struct TrainStepResult {
  double loss = 0.0;
  Module::NamedTensors gradients, weights;
};

TrainStepResult resnet20_train_step(Module& model, const Tensor& x, const Tensor& labels) {
  model.train();
  model.requires_grad(true);
  Sgd optimizer(model.parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  optimizer.zero_grad();
  const Tensor loss = mean(softmax_cross_entropy(model.forward(x), labels));
  backward(loss);
  TrainStepResult result;
  result.loss = loss.item();
  for (const auto& [name, p] : model.named_parameters()) {
    result.gradients.emplace_back(name, grad(p).to(Device::cpu));
  }
  optimizer.step();
  for (const auto& [name, t] : model.named_tensors()) {
    result.weights.emplace_back(name, t.to(Device::cpu));
  }
  return result;
}

TEST(CudaNetworkParity, ResNet20TrainingStep) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or machine";
  const std::shared_ptr<Module> cpu_model = make_model("cifar_resnet20");
  const std::shared_ptr<Module> cuda_model = cuda_copy_of(*cpu_model, "cifar_resnet20");
  const Tensor x = random_tensor({16, 3, 32, 32}, 11, 0.0, 1.0, DType::f32);
  const Tensor labels = labels_for(16);

  const TrainStepResult expected = resnet20_train_step(*cpu_model, x, labels);
  const TrainStepResult actual =
      resnet20_train_step(*cuda_model, x.to(Device::cuda), labels.to(Device::cuda));
  EXPECT_NEAR(actual.loss, expected.loss, 1e-4 * std::abs(expected.loss));
  ASSERT_EQ(actual.gradients.size(), expected.gradients.size());
  for (size_t i = 0; i < expected.gradients.size(); ++i) {
    EXPECT_TRUE(relative_norm_below(actual.gradients[i].second, expected.gradients[i].second, 1e-3))
        << "gradient of " << expected.gradients[i].first;
  }
  for (size_t i = 0; i < expected.weights.size(); ++i) {  // running statistics included
    EXPECT_TRUE(relative_norm_below(actual.weights[i].second, expected.weights[i].second, 1e-4))
        << "after the step: " << expected.weights[i].first;
  }
}

struct AttackNetworks {
  std::shared_ptr<Module> encoder, decoder, classifier;
};

AttackNetworks cpu_attack_networks() {
  return {make_model("vgg19_normalised_relu2_1"), make_model("wct_decoder_relu2_1"),
          make_model("cifar_resnet20")};
}

AttackNetworks cuda_copies(const AttackNetworks& cpu) {
  return {cuda_copy_of(*cpu.encoder, "vgg19_normalised_relu2_1"),
          cuda_copy_of(*cpu.decoder, "wct_decoder_relu2_1"),
          cuda_copy_of(*cpu.classifier, "cifar_resnet20")};
}

struct FaStep {
  FaEvaluation evaluation;
  std::vector<Tensor> variable_gradients;
};

// begin, one evaluation and its backward on `images` (moved to the networks' device).
FaStep first_fa_step(AttackNetworks& nets, const Tensor& images, const Tensor& labels,
                     Device device) {
  FeatureAttack attack(*nets.encoder, *nets.decoder, *nets.classifier, fa_preset("paper"));
  attack.begin(images.to(device), labels.to(device));
  FaStep step{attack.evaluate(), {}};
  attack.backward(step.evaluation);
  for (const Tensor& v : attack.perturbation().variables()) {
    step.variable_gradients.push_back(grad(v).to(Device::cpu));
  }
  return step;
}

TEST(CudaNetworkParity, FeatureAttackIterationGradients) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or machine";
  AttackNetworks cpu = cpu_attack_networks();
  AttackNetworks gpu = cuda_copies(cpu);
  const Tensor images = random_tensor({4, 3, 32, 32}, 12, 0.0, 1.0, DType::f32);
  const Tensor labels = labels_for(4);

  const FaStep expected = first_fa_step(cpu, images, labels, Device::cpu);
  const FaStep actual = first_fa_step(gpu, images, labels, Device::cuda);
  EXPECT_TRUE(relative_norm_below(actual.evaluation.image, expected.evaluation.image, 1e-5));
  EXPECT_TRUE(relative_norm_below(actual.evaluation.logits, expected.evaluation.logits, 1e-4));
  EXPECT_TRUE(relative_norm_below(actual.evaluation.content_loss,
                                  expected.evaluation.content_loss, 1e-4));
  ASSERT_EQ(actual.variable_gradients.size(), expected.variable_gradients.size());
  for (size_t i = 0; i < expected.variable_gradients.size(); ++i) {
    EXPECT_TRUE(relative_norm_below(actual.variable_gradients[i], expected.variable_gradients[i],
                                    1e-3))
        << "gradient of style variable " << i;
  }
}

TEST(CudaNetworkParity, FeatureAttackRunKeepsTheSameImages) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or machine";
  AttackNetworks cpu = cpu_attack_networks();
  AttackNetworks gpu = cuda_copies(cpu);
  const Tensor images = random_tensor({4, 3, 32, 32}, 13, 0.0, 1.0, DType::f32);
  const Tensor labels = labels_for(4);
  FaOptions options = fa_preset("paper");
  options.iterations = 5;

  FeatureAttack cpu_attack(*cpu.encoder, *cpu.decoder, *cpu.classifier, options);
  FeatureAttack gpu_attack(*gpu.encoder, *gpu.decoder, *gpu.classifier, options);
  const FaBatchResult expected = cpu_attack.run(images, labels);
  const FaBatchResult actual =
      gpu_attack.run(images.to(Device::cuda), labels.to(Device::cuda));
  EXPECT_EQ(actual.iterations_run, expected.iterations_run);
  EXPECT_TRUE(relative_norm_below(actual.decoded, expected.decoded, 1e-5));
  EXPECT_TRUE(relative_norm_below(actual.adversarial, expected.adversarial, 1e-3));
  for (size_t i = 0; i < expected.content_loss.size(); ++i) {
    EXPECT_NEAR(actual.content_loss[i], expected.content_loss[i],
                1e-3 * std::abs(expected.content_loss[i]) + 1e-6)
        << "image " << i;
  }
}

}  // namespace
}  // namespace fsa::testing
