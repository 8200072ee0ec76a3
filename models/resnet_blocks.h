// resnet_blocks.h: the residual blocks shared by the ResNet families (internal to models/).
#pragma once

#include <memory>

#include "layers/layers.h"

namespace fsa {

// A square conv with padding kernel/2 (same size at stride 1).
std::shared_ptr<Conv2d> make_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                  bool bias, uint64_t seed);

enum class Shortcut { identity, option_a, conv_bn, conv_bias };

// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); without batch norm (VNN) the convs
// carry biases instead. Names: conv1, bn1, conv2, bn2, and the shortcut as
// "shortcut.0"/"shortcut.1" (CIFAR, VNN) or "downsample.0"/"downsample.1" (torchvision).
class BasicBlock : public Module {
 public:
  BasicBlock(int64_t in, int64_t out, int64_t stride, bool batch_norm, Shortcut shortcut,
             const std::string& shortcut_name, uint64_t seed);
  Tensor forward(const Tensor& x) override;

 private:
  Tensor shortcut(const Tensor& x);  // what is added before the last ReLU
  std::shared_ptr<Conv2d> conv1_, conv2_;
  std::shared_ptr<BatchNorm> bn1_, bn2_;
  std::shared_ptr<Sequential> projection_;
  Shortcut shortcut_;
  int64_t pad_channels_ = 0;
};

// torchvision Bottleneck: 1x1 -> 3x3 (stride) -> 1x1 (x4 channels), BN after each.
class Bottleneck : public Module {
 public:
  Bottleneck(int64_t in, int64_t width, int64_t stride, uint64_t seed);
  Tensor forward(const Tensor& x) override;
  static constexpr int64_t kExpansion = 4;

 private:
  std::shared_ptr<Conv2d> conv1_, conv2_, conv3_;
  std::shared_ptr<BatchNorm> bn1_, bn2_, bn3_;
  std::shared_ptr<Sequential> downsample_;
};

}  // namespace fsa
