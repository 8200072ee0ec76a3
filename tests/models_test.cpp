// models_test.cpp: the model architectures against PyTorch (torchvision) with deterministic
// random weights (tests/data/golden/models.json), plus parameter naming and shapes that
// must match the real checkpoints' state dicts.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/decoder.h"
#include "models/resnet.h"
#include "models/vgg19.h"
#include "tensor/backend.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using json = nlohmann::json;

json golden_case(const std::string& name) {
  std::ifstream file(std::string(FSA_TEST_DATA_DIR) + "/golden/models.json");
  const json golden = json::parse(file);  // named: a loop over a temporary's member dangles
  for (const json& c : golden.at("cases")) {
    if (c.at("name") == name) return c;
  }
  throw Error("golden case " + name + " not found");
}

Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi) {
  Tensor x = Tensor::empty(shape);
  backend_for(Device::cpu).fill_uniform(x, lo, hi, seed, 0);
  return x;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The rule of scripts/make_golden.py: parameter_values().
void assign_golden_parameters(Module& model) {
  std::vector<std::string> names;
  for (const auto& [name, t] : model.named_tensors()) names.push_back(name);
  std::sort(names.begin(), names.end());
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : model.named_tensors()) shapes[name] = t.shape();
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    const Shape& shape = shapes[name];
    const uint64_t seed = 1000 + i;
    Tensor value;
    if (ends_with(name, "running_var")) {
      value = uniform(shape, seed, 0.5, 1.5);
    } else if (ends_with(name, "running_mean") || (shape.ndim() == 1 && ends_with(name, "bias"))) {
      value = uniform(shape, seed, -0.1, 0.1);
    } else if (shape.ndim() == 1) {
      value = uniform(shape, seed, 0.5, 1.5);
    } else {
      const double bound = std::sqrt(3.0 / static_cast<double>(shape.numel() / shape[0]));
      value = uniform(shape, seed, -bound, bound);
    }
    model.assign(name, value);
  }
}

void expect_matches_golden(Module& model, const std::string& case_name) {
  const json c = golden_case(case_name);
  EXPECT_EQ(model.named_tensors().size(), c.at("parameter_count").get<size_t>());
  assign_golden_parameters(model);
  model.eval();
  const json& in = c.at("input");
  const Tensor x = uniform(Shape(in.at("shape").get<std::vector<int64_t>>()), in.at("seed"), 0.0, 1.0);
  const json& out = c.at("output");
  const Tensor expected =
      Tensor::from_vector(out.at("data").get<std::vector<double>>(), Shape(out.at("shape").get<std::vector<int64_t>>()));
  double largest = 0.0;
  for (double v : expected.to_vector()) largest = std::max(largest, std::abs(v));
  EXPECT_TRUE(tensors_near(model.forward(x), expected, 1e-4, 1e-5 * largest)) << case_name;
}

TEST(ModelsGolden, TorchvisionResNet50) {
  ImageNetResNet model(50);
  expect_matches_golden(model, "torchvision_resnet50");
}

TEST(ModelsGolden, TorchvisionResNet18) {
  ImageNetResNet model(18);
  expect_matches_golden(model, "torchvision_resnet18");
}

TEST(ModelsGolden, TorchvisionVgg19ToRelu4_1) {
  Vgg19Encoder model(VggLayout::torchvision, "relu4_1");
  expect_matches_golden(model, "torchvision_vgg19_features_to_relu4_1");
}

std::vector<std::string> names_of(const Module& m) {
  std::vector<std::string> names;
  for (const auto& [name, t] : m.named_tensors()) names.push_back(name + to_string(t.shape()));
  return names;
}

// The state-dict keys and shapes of the checkpoints in ../shared/weights.
TEST(ModelsNaming, NormalisedVggMatchesCheckpointKeys) {
  Vgg19Encoder vgg(VggLayout::normalised, "relu3_1");
  EXPECT_EQ(names_of(vgg), (std::vector<std::string>{
                               "0.weight(3,3,1,1)", "0.bias(3)", "2.weight(64,3,3,3)", "2.bias(64)",
                               "5.weight(64,64,3,3)", "5.bias(64)", "9.weight(128,64,3,3)", "9.bias(128)",
                               "12.weight(128,128,3,3)", "12.bias(128)", "16.weight(256,128,3,3)", "16.bias(256)"}));
  const auto taps = vgg.forward_taps(Tensor::zeros({1, 3, 16, 16}));
  EXPECT_EQ(taps.at("relu1_1").shape(), (Shape{1, 64, 16, 16}));
  EXPECT_EQ(taps.at("relu2_1").shape(), (Shape{1, 128, 8, 8}));
  EXPECT_EQ(taps.at("relu3_1").shape(), (Shape{1, 256, 4, 4}));
}

TEST(ModelsNaming, WctDecodersMatchCheckpointKeys) {
  EXPECT_EQ(names_of(Decoder("relu1_1")), (std::vector<std::string>{"1.weight(3,64,3,3)", "1.bias(3)"}));
  EXPECT_EQ(names_of(Decoder("relu2_1")),
            (std::vector<std::string>{"1.weight(64,128,3,3)", "1.bias(64)", "5.weight(64,64,3,3)", "5.bias(64)",
                                      "8.weight(3,64,3,3)", "8.bias(3)"}));
  const Decoder d3("relu3_1");
  EXPECT_EQ(names_of(d3)[0], "1.weight(128,256,3,3)");
  EXPECT_EQ(names_of(d3)[8], "15.weight(3,64,3,3)");
  Decoder d2("relu2_1");
  EXPECT_EQ(d2.forward(Tensor::zeros({2, 128, 8, 8})).shape(), (Shape{2, 3, 16, 16}));
}

// A wide decoder doubles the hidden channels; embedding a narrow one makes it compute the
// narrow one's function although its extra channels are live (random, not zero).
TEST(ModelsNaming, WideDecoderEmbedsANarrowOneExactly) {
  Decoder narrow("relu2_1", DecoderLayout::wct, 1, 11);
  Decoder wide("relu2_1", DecoderLayout::wct, 2, 12);
  EXPECT_EQ(names_of(wide), (std::vector<std::string>{"1.weight(128,128,3,3)", "1.bias(128)",
                                                      "5.weight(128,128,3,3)", "5.bias(128)",
                                                      "8.weight(3,128,3,3)", "8.bias(3)"}));
  const Tensor features = uniform({2, 128, 6, 6}, 5, 0.0, 1.0);
  const Tensor expected = narrow.forward(features);
  EXPECT_FALSE(tensors_near(wide.forward(features), expected, 1e-3, 1e-3));
  wide.embed(narrow);
  EXPECT_TRUE(tensors_near(wide.forward(features), expected, 1e-5, 1e-6));
  const double extra_bias = wide.named_parameters()[1].second.to_vector()[100];
  EXPECT_NE(extra_bias, 0.0);  // an extra channel's bias kept its value
  Decoder scaled("relu2_1", DecoderLayout::wct, 2, 12);
  scaled.embed(narrow, 0.25);
  EXPECT_TRUE(tensors_near(scaled.forward(features), expected, 1e-5, 1e-6));
  EXPECT_DOUBLE_EQ(scaled.named_parameters()[1].second.to_vector()[100], 0.25 * extra_bias);
  expect_error_containing("can only embed a decoder of the same cut and layout",
                          [&] { narrow.embed(wide); });
  expect_error_containing("can only embed", [&] { wide.embed(Decoder("relu3_1")); });
}

TEST(ModelsNaming, CifarResNetsMatchCheckpointKeys) {
  const CifarResNet r20(20);
  const auto names = names_of(r20);
  EXPECT_EQ(names.size(), 5u + 9 * 10 + 2);  // stem conv+bn, 9 blocks x (2 conv + 2 bn x 4), linear
  EXPECT_EQ(names.front(), "conv1.weight(16,3,3,3)");
  EXPECT_EQ(names.back(), "layer3.2.bn2.running_var(64)");
  const VnnResNet r2b("resnet2b");
  EXPECT_EQ(names_of(r2b), (std::vector<std::string>{
                               "conv1.weight(8,3,3,3)", "conv1.bias(8)", "layer1.0.conv1.weight(16,8,3,3)",
                               "layer1.0.conv1.bias(16)", "layer1.0.conv2.weight(16,16,3,3)", "layer1.0.conv2.bias(16)",
                               "layer1.0.shortcut.0.weight(16,8,1,1)", "layer1.0.shortcut.0.bias(16)",
                               "layer1.1.conv1.weight(16,16,3,3)", "layer1.1.conv1.bias(16)",
                               "layer1.1.conv2.weight(16,16,3,3)", "layer1.1.conv2.bias(16)",
                               "linear1.weight(100,1024)", "linear1.bias(100)", "linear2.weight(10,100)",
                               "linear2.bias(10)"}));
  NormalizedClassifier r4b(std::make_shared<VnnResNet>("resnet4b"), {});
  EXPECT_EQ(r4b.forward(Tensor::zeros({2, 3, 32, 32})).shape(), (Shape{2, 10}));
}

}  // namespace
}  // namespace fsa::testing
