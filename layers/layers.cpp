// layers.cpp: constructors (parameter registration and default initialisation) and
// forward passes of the basic layers.
#include "layers/layers.h"

#include "layers/init.h"

namespace fsa {

Conv2d::Conv2d(const Options& options, uint64_t seed) : options_(options) {
  FSA_CHECK(options.in_channels > 0 && options.out_channels > 0 && options.kernel > 0,
            "[Conv2d] channels and kernel must be positive, got ", options.in_channels, "->",
            options.out_channels, " kernel ", options.kernel);
  const int64_t fan_in = options.in_channels * options.kernel * options.kernel;
  weight =
      Tensor::empty({options.out_channels, options.in_channels, options.kernel, options.kernel});
  init_uniform_fan_in(weight, fan_in, seed);
  register_parameter("weight", &weight);
  if (options.bias) {
    bias = Tensor::empty({options.out_channels});
    init_uniform_fan_in(bias, fan_in, seed + 1);
    register_parameter("bias", &bias);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias, {.stride = options_.stride, .padding = options_.padding});
}

Tensor Conv2d::forward_relu(const Tensor& x) {
  return conv2d_relu(x, weight, bias, {.stride = options_.stride, .padding = options_.padding});
}

Linear::Linear(int64_t in_features, int64_t out_features, uint64_t seed, bool has_bias) {
  weight = Tensor::empty({out_features, in_features});
  init_uniform_fan_in(weight, in_features, seed);
  register_parameter("weight", &weight);
  if (has_bias) {
    bias = Tensor::empty({out_features});
    init_uniform_fan_in(bias, in_features, seed + 1);
    register_parameter("bias", &bias);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

BatchNorm::BatchNorm(int64_t channels, double eps, double momentum) {
  weight = Tensor::ones({channels});
  bias = Tensor::zeros({channels});
  state_.running_mean = Tensor::zeros({channels});
  state_.running_var = Tensor::ones({channels});
  state_.eps = eps;
  state_.momentum = momentum;
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("running_mean", &state_.running_mean);
  register_buffer("running_var", &state_.running_var);
}

Tensor BatchNorm::forward(const Tensor& x) {
  return batch_norm(x, weight, bias, state_, is_training());
}

Tensor BatchNorm::forward_relu(const Tensor& x) {
  return batch_norm_relu(x, weight, bias, state_, is_training());
}

Tensor BatchNorm::forward_add_relu(const Tensor& x, const Tensor& residual) {
  return batch_norm_add_relu(x, residual, weight, bias, state_, is_training());
}

void Sequential::append(std::shared_ptr<Module> child, std::string name) {
  if (name.empty()) name = std::to_string(layers_.size());
  layers_.push_back(register_module(name, std::move(child)));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (size_t i = 0; i < layers_.size(); ++i) y = forward_step(i, y);
  return y;
}

Tensor Sequential::forward_step(size_t& i, const Tensor& x) {
  auto* conv = dynamic_cast<Conv2d*>(layers_[i].get());
  if (conv != nullptr && i + 1 < layers_.size() && dynamic_cast<ReLU*>(layers_[i + 1].get())) {
    ++i;
    return conv->forward_relu(x);
  }
  return layers_[i]->forward(x);
}

}  // namespace fsa
