// pretrained_test.cpp: the real checkpoints of the assets, converted with `fsa convert` and
// run by the engine, against the tensors PyTorch computed on the same inputs
// (data/reference/pytorch_reference.h5): classifier logits, normalised VGG-19 encoder outputs
// and WCT decoder reconstructions. Skipped when the assets or Python (numpy, h5py) are absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "cli/evaluation.h"
#include "data/assets.h"
#include "models/vgg19.h"
#include "tests/cli_runner.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"
#include "weights/hdf5_file.h"

namespace fsa::testing {
namespace {

std::string reference_path() { return asset_path("data/reference/pytorch_reference.h5").string(); }

// A uint8 dataset of the reference, as float32 images in [0,1] (byte / 255 in float, as
// torchvision's ToTensor).
Tensor reference_images(const Hdf5File& reference, const std::string& dataset) {
  const Tensor bytes = reference.read_tensor(dataset);  // uint8 read as float32
  std::vector<double> values = bytes.to_vector();
  for (double& v : values) v = static_cast<float>(v) / 255.0f;
  return Tensor::from_vector(values, bytes.shape());
}

// Within 1e-4 relative, measured against the largest magnitude of the expected tensor (so
// that values near zero compare on the tensor's scale).
::testing::AssertionResult matches_reference(const Tensor& actual, const Tensor& expected) {
  double largest = 0.0;
  for (double v : expected.to_vector()) largest = std::max(largest, std::abs(v));
  return tensors_near(actual.to(DType::f64), expected.to(DType::f64), 1e-4, 1e-4 * largest);
}

class PretrainedReference : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(reference_path())) {
      GTEST_SKIP() << reference_path() << " is absent";
    }
  }
  // Converts a checkpoint of the assets into the test's folder; skips the test when that
  // cannot be done here.
  std::string converted(const std::string& checkpoint, const std::string& name) {
    const std::string path = dir_.file(name);
    const std::string why_not = convert_asset(checkpoint, path);
    if (!why_not.empty()) skip_reason_ = why_not;
    return path;
  }
  TempDir dir_;
  std::string skip_reason_;
};

TEST_F(PretrainedReference, ClassifierLogitsMatchPyTorch) {
  const Hdf5File reference = Hdf5File::open_read(reference_path());
  const Tensor images = reference_images(reference, "/cifar/x_u8");
  const std::vector<std::pair<std::string, std::string>> classifiers = {
      {"cifar10/resnet20-12fca82f.th", "resnet20"},
      {"cifar10/resnet32-d509ac18.th", "resnet32"},
      {"cifar10/resnet2b_adv2px.pth", "resnet2b"},
      {"cifar10/resnet4b_adv2px.pth", "resnet4b"}};
  NoGradGuard no_grad;
  for (const auto& [checkpoint, name] : classifiers) {
    const std::string path = converted(checkpoint, name + ".h5");
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    const cli::LoadedModel model = cli::load_model(path, ModelKind::classifier, "test");
    EXPECT_TRUE(
        matches_reference(model.module->forward(images), reference.read_tensor("/logits/" + name)))
        << name;
  }
}

// The encoder to relu{k}_1 and its WCT decoder: every tap, and decoder(encoder(x)) before
// clipping.
void expect_cut_matches_pytorch(const std::string& cut, const std::string& encoder_path,
                                const std::string& decoder_path) {
  const Hdf5File reference = Hdf5File::open_read(reference_path());
  const Tensor images = reference_images(reference, "/cifar/x_u8");
  NoGradGuard no_grad;
  const cli::LoadedModel encoder = cli::load_model(encoder_path, ModelKind::encoder, "test");
  const cli::LoadedModel decoder = cli::load_model(decoder_path, ModelKind::decoder, "test");
  auto& vgg = dynamic_cast<Vgg19Encoder&>(*encoder.module);
  for (const auto& [tap, features] : vgg.forward_taps(images)) {
    EXPECT_TRUE(matches_reference(features, reference.read_tensor("/enc/" + tap)))
        << cut << " encoder, tap " << tap;
  }
  EXPECT_TRUE(matches_reference(decoder.module->forward(encoder.module->forward(images)),
                                reference.read_tensor("/dec_raw/" + cut)))
      << cut << " decoder";
}

TEST_F(PretrainedReference, Relu1_1EncoderAndDecoderMatchPyTorch) {
  const std::string encoder = converted("vgg19-normalised/vgg_normalised_conv1_1.pth", "e.h5");
  const std::string decoder = converted("vgg19-normalised/feature_invertor_conv1_1.pth", "d.h5");
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  expect_cut_matches_pytorch("relu1_1", encoder, decoder);
}

TEST_F(PretrainedReference, Relu2_1EncoderAndDecoderMatchPyTorch) {
  const std::string encoder = converted("vgg19-normalised/vgg_normalised_conv2_1.pth", "e.h5");
  const std::string decoder = converted("vgg19-normalised/feature_invertor_conv2_1.pth", "d.h5");
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  expect_cut_matches_pytorch("relu2_1", encoder, decoder);

  // The ImageNet photo of the reference (shorter side 256 bicubic, centre crop 224).
  const Hdf5File reference = Hdf5File::open_read(reference_path());
  const Tensor photo = reference_images(reference, "/imagenet/x_u8");
  NoGradGuard no_grad;
  const cli::LoadedModel e = cli::load_model(encoder, ModelKind::encoder, "test");
  const cli::LoadedModel d = cli::load_model(decoder, ModelKind::decoder, "test");
  EXPECT_TRUE(matches_reference(d.module->forward(e.module->forward(photo)),
                                reference.read_tensor("/imagenet/dec_raw_relu2_1")));
}

TEST_F(PretrainedReference, Relu3_1EncoderAndDecoderMatchPyTorch) {
  const std::string encoder = converted("vgg19-normalised/vgg_normalised_conv3_1.pth", "e.h5");
  const std::string decoder = converted("vgg19-normalised/feature_invertor_conv3_1.pth", "d.h5");
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  expect_cut_matches_pytorch("relu3_1", encoder, decoder);
}

}  // namespace
}  // namespace fsa::testing
