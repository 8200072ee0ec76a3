// device_graph_test.cpp: recording work once and replaying it (tensor/device_graph.h), and
// the allocator pool that keeps a recording's memory reserved. The CUDA cases skip without
// a GPU; the CPU cases check that the CPU refuses clearly.
#include <gtest/gtest.h>

#include "attack/feature_attack.h"
#include "autograd/ops.h"
#include "models/registry.h"
#include "tensor/backend.h"
#include "tensor/device_graph.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

TEST(DeviceGraph, CpuCannotRecord) {
  EXPECT_FALSE(DeviceGraph::supported(Device::cpu));
  try {
    DeviceGraph graph(Device::cpu, [] {});
    FAIL() << "recording on the CPU should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[graph]"), std::string::npos) << e.what();
  }
}

TEST(DeviceGraph, ReplayRecomputesFromUpdatedInputs) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or machine";
  const Tensor x = random_tensor({64, 33}, 1, -1.0, 1.0, DType::f32).to(Device::cuda);
  Tensor y;
  DeviceGraph graph(Device::cuda, [&] { y = exp(x) * 2.0; });
  for (uint64_t round = 0; round < 3; ++round) {
    const Tensor fresh = random_tensor({64, 33}, 10 + round, -1.0, 1.0, DType::f32);
    x.copy_from(fresh);  // in place: the recording reads this storage
    graph.replay();
    EXPECT_TRUE(tensors_near(y.to(Device::cpu), exp(fresh) * 2.0, 1e-6, 1e-6)) << "round " << round;
  }
}

TEST(DeviceGraph, RecordedMemoryIsNotHandedOutAgain) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or machine";
  const Tensor x = Tensor::full({1000}, 1.0, DType::f32, Device::cuda);
  Tensor kept;
  const void* scratch = nullptr;
  {
    DeviceGraph graph(Device::cuda, [&] {
      const Tensor temporary = x * 3.0;  // freed inside the recording
      scratch = temporary.raw_data();
      kept = temporary + 1.0;
    });
    // Same size as the freed temporary: must come from elsewhere while the graph lives.
    const Tensor outside = Tensor::empty({1000}, DType::f32, Device::cuda);
    EXPECT_NE(outside.raw_data(), scratch);
    graph.replay();
    EXPECT_EQ(kept.to_vector(), std::vector<double>(1000, 4.0));
  }
}

TEST(DeviceGraph, FeatureAttackReplayMatchesEagerSteps) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or machine";
  const auto encoder = make_model("vgg19_normalised_relu2_1");
  const auto decoder = make_model("wct_decoder_relu2_1");
  const auto classifier = make_model("cifar_resnet20");
  for (const auto& m : {encoder, decoder, classifier}) m->to(Device::cuda);
  const Tensor images = random_tensor({6, 3, 32, 32}, 3, 0.0, 1.0, DType::f32).to(Device::cuda);
  const Tensor labels = Tensor::from_labels({0, 1, 2, 3, 4, 5}, Device::cuda);
  FaOptions options = fa_preset("paper");
  options.iterations = 6;

  options.record_graph = false;
  FeatureAttack eager(*encoder, *decoder, *classifier, options);
  const FaBatchResult expected = eager.run(images, labels);
  options.record_graph = true;
  FeatureAttack replayed(*encoder, *decoder, *classifier, options);
  const FaBatchResult actual = replayed.run(images, labels);

  EXPECT_EQ(actual.first_success, expected.first_success);
  EXPECT_TRUE(tensors_near(actual.adversarial, expected.adversarial, 1e-5, 1e-6));
  for (size_t i = 0; i < expected.content_loss.size(); ++i) {
    EXPECT_NEAR(actual.content_loss[i], expected.content_loss[i],
                1e-5 * std::abs(expected.content_loss[i]) + 1e-7)
        << "image " << i;
  }
}

}  // namespace
}  // namespace fsa::testing
