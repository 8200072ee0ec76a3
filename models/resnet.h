// resnet.h: the residual classifiers, with PyTorch-compatible parameter names.
//   CifarResNet    — He et al.'s 6n+2 CIFAR family (ResNet-20/32/44/56/110, akamaster
//                    layout): BatchNorm, option-A shortcuts (x[:, :, ::2, ::2] + zero channels);
//                    also the CIFAR ResNet-18 (option-B 1x1-conv shortcuts, kuangliu layout).
//   VnnResNet      — VNN-COMP 2021 ResNet-2B/4B: no BatchNorm, conv biases, 1x1-conv shortcuts,
//                    two linear layers.
//   ImageNetResNet — torchvision ResNet-18/50 (BasicBlock / Bottleneck, stride on the 3x3).
// Networks take normalised input; wrap them in NormalizedClassifier to feed RGB in [0,1].
// Each network ends in one linear layer on a feature vector, f(x) = W φ(x) + b, and exposes
// the split (LinearHeadClassifier) for detectors that read φ and W (attack/o2_detector.h).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "layers/layers.h"

namespace fsa {

// x -> (x - mean) / std per RGB channel, then the wrapped network (registered under the
// empty name, so the network's parameter names are unchanged).
struct Preprocessing {
  std::array<double, 3> mean{0.0, 0.0, 0.0};
  std::array<double, 3> std{1.0, 1.0, 1.0};
};

// A classifier whose logits are one linear layer on a feature vector: f(x) = W φ(x) + b,
// so forward(x) == linear(penultimate(x), final_layer().weight, final_layer().bias).
class LinearHeadClassifier {
 public:
  virtual ~LinearHeadClassifier() = default;
  // φ(x): the flattened input of the final linear layer, (N,d).
  virtual Tensor penultimate(const Tensor& x) = 0;
  // The final layer: weight (K,d), bias (K).
  virtual Linear& final_layer() = 0;
};

// The split is that of the wrapped network, with the normalisation applied first; a network
// without a linear head makes both calls an fsa::Error.
class NormalizedClassifier : public Module, public LinearHeadClassifier {
 public:
  NormalizedClassifier(std::shared_ptr<Module> network, const Preprocessing& preprocessing);
  Tensor forward(const Tensor& x) override;
  Tensor penultimate(const Tensor& x) override;
  Linear& final_layer() override;
  const Preprocessing& preprocessing() const { return preprocessing_; }
  Module& network() { return *network_; }

 private:
  Tensor normalize(const Tensor& x);
  LinearHeadClassifier& head();
  // Makes mean_ and inv_std_ ((1,3,1,1)) on x's device and dtype when they are not yet
  // there: later forwards copy nothing from the host (a graph recording could not).
  void prepare_constants(const Tensor& x);

  std::shared_ptr<Module> network_;
  Preprocessing preprocessing_;
  Tensor mean_, inv_std_;  // not weights: derived from preprocessing_
};

class CifarResNet : public Module, public LinearHeadClassifier {
 public:
  // depth = 6n + 2 with option-A shortcuts, or 18 for the option-B ResNet-18.
  explicit CifarResNet(int depth, int64_t classes = 10, uint64_t seed = 1);
  Tensor forward(const Tensor& x) override;
  Tensor penultimate(const Tensor& x) override;  // global average pool of the last stage
  Linear& final_layer() override { return *linear_; }

 private:
  std::shared_ptr<Conv2d> conv1_;
  std::shared_ptr<BatchNorm> bn1_;
  std::vector<std::shared_ptr<Sequential>> stages_;
  std::shared_ptr<Linear> linear_;
};

class VnnResNet : public Module, public LinearHeadClassifier {
 public:
  // "resnet2b" or "resnet4b".
  explicit VnnResNet(const std::string& variant, uint64_t seed = 1);
  Tensor forward(const Tensor& x) override;
  Tensor penultimate(const Tensor& x) override;  // relu(linear1(...)), 100 features
  Linear& final_layer() override { return *linear2_; }

 private:
  std::shared_ptr<Conv2d> conv1_;
  std::vector<std::shared_ptr<Sequential>> stages_;
  std::shared_ptr<Linear> linear1_, linear2_;
};

class ImageNetResNet : public Module, public LinearHeadClassifier {
 public:
  // depth 18 (BasicBlock) or 50 (Bottleneck).
  explicit ImageNetResNet(int depth, int64_t classes = 1000, uint64_t seed = 1);
  Tensor forward(const Tensor& x) override;
  Tensor penultimate(const Tensor& x) override;  // global average pool of the last stage
  Linear& final_layer() override { return *fc_; }

 private:
  std::shared_ptr<Conv2d> conv1_;
  std::shared_ptr<BatchNorm> bn1_;
  std::vector<std::shared_ptr<Sequential>> stages_;
  std::shared_ptr<Linear> fc_;
};

}  // namespace fsa
