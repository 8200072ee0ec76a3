// layers.h: the basic layers. Each holds its parameters and calls autograd ops in
// forward(); the math lives in autograd/ops. Parameter names follow PyTorch ("weight",
// "bias", "running_mean", "running_var") so checkpoints map one-to-one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "layers/module.h"

namespace fsa {

// 2-D convolution (zero padding); weight (K,C,R,S), optional bias (K).
class Conv2d : public Module {
 public:
  struct Options {
    int64_t in_channels, out_channels, kernel;
    int64_t stride = 1;
    int64_t padding = 0;
    bool bias = true;
  };
  Conv2d(const Options& options, uint64_t seed);
  Tensor forward(const Tensor& x) override;
  // relu(forward(x)) as one op (conv2d_relu): the ReLU applied as each output is stored.
  Tensor forward_relu(const Tensor& x);
  const Options& options() const { return options_; }
  Tensor weight, bias;

 private:
  Options options_;
};

// y = x w^T + b; weight (O,I), bias (O).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, uint64_t seed, bool bias = true);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
};

// Batch normalisation over channels (N,C,H,W) or features (N,C); affine, running statistics.
class BatchNorm : public Module {
 public:
  explicit BatchNorm(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override;
  // relu(forward(x)) as one op (batch_norm_relu): fewer passes over the activation.
  Tensor forward_relu(const Tensor& x);
  // relu(forward(x) + residual) as one op (batch_norm_add_relu): the end of a ResNet block.
  Tensor forward_add_relu(const Tensor& x, const Tensor& residual);
  Tensor weight, bias;

 private:
  BatchNormState state_;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope) : slope_(negative_slope) {}
  Tensor forward(const Tensor& x) override { return leaky_relu(x, slope_); }

 private:
  double slope_;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const Pool2dParams& p) : params_(p) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(x, params_); }

 private:
  Pool2dParams params_;
};

class ReflectionPad2d : public Module {
 public:
  explicit ReflectionPad2d(int64_t pad) : pad_(pad) {}
  Tensor forward(const Tensor& x) override { return reflection_pad2d(x, pad_); }

 private:
  int64_t pad_;
};

class UpsampleNearest : public Module {
 public:
  explicit UpsampleNearest(int64_t scale) : scale_(scale) {}
  Tensor forward(const Tensor& x) override { return upsample_nearest(x, scale_); }

 private:
  int64_t scale_;
};

// Children run in order; named by their index ("0", "1", ...) unless given a name. A Conv2d
// followed by a ReLU runs as one op (Conv2d::forward_relu), with the same values and gradients.
class Sequential : public Module {
 public:
  void append(std::shared_ptr<Module> child, std::string name = "");
  Tensor forward(const Tensor& x) override;
  // Runs layer i on x, or layers i and i + 1 when they are a Conv2d and a ReLU; leaves i at
  // the last layer run, so that a caller stepping through the layers (taps) sees the ReLU's
  // output at the ReLU's index.
  Tensor forward_step(size_t& i, const Tensor& x);
  size_t size() const { return layers_.size(); }
  Module& at(size_t i) { return *layers_[i]; }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace fsa
