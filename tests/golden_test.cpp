// golden_test.cpp: forward and backward of the engine against PyTorch 1.13, on the cases in
// tests/data/golden/*.json written by scripts/make_golden.py. Inputs are regenerated from
// their seeds with the engine's Philox stream (the script re-implements it), so the files
// hold only PyTorch's outputs and gradients. Tolerance: 1e-4 relative (float32).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/sgd.h"
#include "autograd/variable.h"
#include "tensor/backend.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using json = nlohmann::json;
using Inputs = std::vector<Tensor>;

json load_golden(const std::string& name) {
  const std::string path = std::string(FSA_TEST_DATA_DIR) + "/golden/" + name + ".json";
  std::ifstream file(path);
  if (!file) throw Error("cannot open golden file " + path + " (run scripts/make_golden.py)");
  return json::parse(file);
}

Shape shape_of(const json& j) { return Shape(j.at("shape").get<std::vector<int64_t>>()); }

Tensor from_spec(const json& spec) {
  Tensor x = Tensor::empty(shape_of(spec), DType::f32);
  backend_for(Device::cpu).fill_uniform(x, spec.at("lo").get<double>(), spec.at("hi").get<double>(),
                                        spec.at("seed").get<uint64_t>(), 0);
  return x;
}

Tensor from_values(const json& j) {
  return Tensor::from_vector(j.at("data").get<std::vector<double>>(), shape_of(j), DType::f32);
}

const json& find_case(const json& file, const std::string& name) {
  for (const json& c : file.at("cases")) {
    if (c.at("name") == name) return c;
  }
  throw Error("golden case " + name + " not found");
}

// Both sides are float32: relative 1e-4, with an absolute floor scaled to the data.
::testing::AssertionResult close_to_golden(const Tensor& actual, const json& expected) {
  const Tensor reference = from_values(expected);
  double largest = 0.0;
  for (double v : reference.to_vector()) largest = std::max(largest, std::abs(v));
  return tensors_near(actual, reference, 1e-4, 1e-5 * largest + 1e-7);
}

// Runs `fn` on the case's inputs and compares the output and every input gradient.
void check_case(const json& c, const std::function<Tensor(const Inputs&)>& fn) {
  SCOPED_TRACE(c.at("name").get<std::string>());
  Inputs inputs;
  for (const json& spec : c.at("inputs")) {
    inputs.push_back(from_spec(spec));
    set_requires_grad(inputs.back(), true);
  }
  const Tensor y = fn(inputs);
  EXPECT_TRUE(close_to_golden(y, c.at("output"))) << "output";
  const Tensor r = Tensor::empty(y.shape(), DType::f32);
  backend_for(Device::cpu).fill_uniform(r, -1.0, 1.0, c.at("cotangent_seed").get<uint64_t>(), 0);
  backward(y, r);
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_TRUE(close_to_golden(grad(inputs[i]), c.at("grads").at(i))) << "gradient of input " << i;
  }
}

TEST(GoldenPyTorch, Conv2d) {
  const json file = load_golden("conv2d");
  for (const json& c : file.at("cases")) {
    const Conv2dParams p{.stride = c["params"]["stride"], .padding = c["params"]["padding"]};
    check_case(c, [&](const Inputs& x) { return conv2d(x[0], x[1], x[2], p); });
  }
}

Pool2dParams pool_params(const json& p) {
  return {.kernel = p["kernel"], .stride = p["stride"], .padding = p["padding"], .ceil_mode = p["ceil_mode"]};
}

TEST(GoldenPyTorch, Pooling) {
  const json file = load_golden("spatial");
  for (const json& c : file.at("cases")) {
    const std::string name = c.at("name");
    if (name.starts_with("max_pool2d")) {
      check_case(c, [&](const Inputs& x) { return max_pool2d(x[0], pool_params(c["params"])); });
    } else if (name.starts_with("avg_pool2d")) {
      check_case(c, [&](const Inputs& x) { return avg_pool2d(x[0], pool_params(c["params"])); });
    }
  }
}

TEST(GoldenPyTorch, PaddingAndUpsampling) {
  const json file = load_golden("spatial");
  check_case(find_case(file, "reflection_pad2d_p1"), [](const Inputs& x) { return reflection_pad2d(x[0], 1); });
  check_case(find_case(file, "upsample_nearest_x2"), [](const Inputs& x) { return upsample_nearest(x[0], 2); });
}

ResizeMode resize_mode(const std::string& name) {
  if (name == "align_corners") return ResizeMode::align_corners;
  if (name == "half_pixel") return ResizeMode::half_pixel;
  return ResizeMode::legacy_tf;
}

TEST(GoldenPyTorch, ResizeBilinear) {
  int checked = 0;
  const json file = load_golden("spatial");
  for (const json& c : file.at("cases")) {
    if (!c.at("name").get<std::string>().starts_with("resize_bilinear")) continue;
    const json& p = c.at("params");
    check_case(c, [&](const Inputs& x) {
      return resize_bilinear(x[0], p["out_h"], p["out_w"], resize_mode(p["mode"]));
    });
    ++checked;
  }
  EXPECT_EQ(checked, 7);
}

TEST(GoldenPyTorch, AdaINStatistics) {
  const json file = load_golden("normalization");
  check_case(find_case(file, "channel_mean"), [](const Inputs& x) { return channel_mean(x[0]); });
  check_case(find_case(file, "channel_std"), [](const Inputs& x) { return channel_std(x[0], 1e-5); });
  check_case(find_case(file, "adain"), [](const Inputs& x) {
    const Tensor& c = x[0];
    const Tensor& s = x[1];
    return (c - channel_mean(c)) / channel_std(c, 1e-5) * channel_std(s, 1e-5) + channel_mean(s);
  });
}

TEST(GoldenPyTorch, BatchNorm) {
  const json file = load_golden("normalization");
  for (const char* name : {"batch_norm_train", "batch_norm_eval"}) {
    const json& c = find_case(file, name);
    const json& p = c.at("params");
    BatchNormState state{.running_mean = from_spec(p["running_mean"]),
                         .running_var = from_spec(p["running_var"]),
                         .momentum = p["momentum"],
                         .eps = p["eps"]};
    check_case(c, [&](const Inputs& x) { return batch_norm(x[0], x[1], x[2], state, p["training"]); });
    EXPECT_TRUE(close_to_golden(state.running_mean, c.at("running_mean_after"))) << name;
    EXPECT_TRUE(close_to_golden(state.running_var, c.at("running_var_after"))) << name;
  }
}

TEST(GoldenPyTorch, SoftmaxCrossEntropy) {
  const json c = find_case(load_golden("losses"), "softmax_cross_entropy");
  const Tensor labels = Tensor::from_labels(c.at("labels").get<std::vector<int32_t>>());
  check_case(c, [&](const Inputs& x) { return softmax_cross_entropy(x[0], labels); });
}

// Three optimizer steps with fixed gradients; the parameter after each step.
TEST(GoldenPyTorch, OptimizerSteps) {
  const json file = load_golden("optimizers");
  for (const json& c : file.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const json& p = c.at("params");
    const Tensor param = from_spec(c.at("param"));
    set_requires_grad(param, true);
    std::unique_ptr<Optimizer> optimizer;
    if (c.at("name").get<std::string>().starts_with("sgd")) {
      optimizer = std::make_unique<Sgd>(std::vector<Tensor>{param}, SgdParams{.lr = p["lr"],
                                                                            .momentum = p["momentum"],
                                                                            .weight_decay = p["weight_decay"],
                                                                            .nesterov = p["nesterov"]});
    } else {
      optimizer = std::make_unique<Adam>(std::vector<Tensor>{param}, AdamParams{.lr = p["lr"],
                                                                              .beta1 = p["beta1"],
                                                                              .beta2 = p["beta2"],
                                                                              .eps = p["eps"],
                                                                              .weight_decay = p["weight_decay"]});
    }
    for (size_t step = 0; step < 3; ++step) {
      const Tensor g = Tensor::empty(param.shape(), DType::f32);
      backend_for(Device::cpu).fill_uniform(g, -1.0, 1.0, c.at("grad_seeds").at(step).get<uint64_t>(), 0);
      optimizer->zero_grad();
      backward(sum(param * g));  // leaves exactly g in grad(param)
      optimizer->step();
      EXPECT_TRUE(close_to_golden(param, c.at("after_steps").at(step))) << "after step " << step + 1;
    }
  }
}

// torchvision VGG-19 features to relu4_1 (zero padding), random weights, batch 1 at 32x32.
TEST(GoldenPyTorch, Vgg19ToRelu4_1) {
  const json c = load_golden("vgg19").at("cases").at(0);
  Inputs inputs;
  for (const json& spec : c.at("inputs")) {
    inputs.push_back(from_spec(spec));
    set_requires_grad(inputs.back(), true);
  }
  Tensor x = inputs[0];
  const std::vector<int> pool_after = {1, 3, 7};  // conv indices followed by max-pool
  for (size_t i = 0; i < 9; ++i) {
    x = relu(conv2d(x, inputs[1 + 2 * i], inputs[2 + 2 * i], {.stride = 1, .padding = 1}));
    if (std::find(pool_after.begin(), pool_after.end(), static_cast<int>(i)) != pool_after.end()) {
      x = max_pool2d(x, {.kernel = 2, .stride = 2});
    }
  }
  EXPECT_TRUE(close_to_golden(x, c.at("output"))) << "relu4_1";
  const Tensor r = Tensor::empty(x.shape(), DType::f32);
  backend_for(Device::cpu).fill_uniform(r, -1.0, 1.0, c.at("cotangent_seed").get<uint64_t>(), 0);
  backward(x, r);
  EXPECT_TRUE(close_to_golden(grad(inputs[0]), c.at("input_grad"))) << "input gradient";
  EXPECT_TRUE(close_to_golden(grad(inputs[1]), c.at("conv1_1_weight_grad"))) << "conv1_1 weight gradient";
  const std::vector<double> sums = c.at("weight_grad_sums"), norms = c.at("weight_grad_norms");
  for (size_t i = 0; i < 9; ++i) {
    double total = 0.0, squares = 0.0;
    for (double v : grad(inputs[1 + 2 * i]).to_vector()) {
      total += v;
      squares += v * v;
    }
    EXPECT_NEAR(std::sqrt(squares), norms[i], 1e-4 * norms[i]) << "weight gradient norm of conv " << i;
    EXPECT_NEAR(total, sums[i], 1e-4 * norms[i]) << "weight gradient sum of conv " << i;
  }
}

}  // namespace
}  // namespace fsa::testing
