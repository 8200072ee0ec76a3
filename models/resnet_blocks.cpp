// resnet_blocks.cpp: BasicBlock and Bottleneck.
#include "models/resnet_blocks.h"

namespace fsa {

std::shared_ptr<Conv2d> make_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                  bool bias, uint64_t seed) {
  return std::make_shared<Conv2d>(Conv2d::Options{.in_channels = in,
                                                  .out_channels = out,
                                                  .kernel = kernel,
                                                  .stride = stride,
                                                  .padding = kernel / 2,
                                                  .bias = bias},
                                  seed);
}

BasicBlock::BasicBlock(int64_t in, int64_t out, int64_t stride, bool batch_norm, Shortcut shortcut,
                       const std::string& shortcut_name, uint64_t seed)
    : shortcut_(shortcut) {
  conv1_ = register_module("conv1", make_conv(in, out, 3, stride, !batch_norm, seed));
  if (batch_norm) bn1_ = register_module("bn1", std::make_shared<BatchNorm>(out));
  conv2_ = register_module("conv2", make_conv(out, out, 3, 1, !batch_norm, seed + 2));
  if (batch_norm) bn2_ = register_module("bn2", std::make_shared<BatchNorm>(out));
  if (shortcut == Shortcut::option_a) pad_channels_ = out / 4;
  if (shortcut == Shortcut::conv_bn || shortcut == Shortcut::conv_bias) {
    projection_ = register_module(shortcut_name, std::make_shared<Sequential>());
    projection_->append(make_conv(in, out, 1, stride, shortcut == Shortcut::conv_bias, seed + 4));
    if (shortcut == Shortcut::conv_bn) projection_->append(std::make_shared<BatchNorm>(out));
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor h = bn1_ ? bn1_->forward_relu(conv1_->forward(x)) : conv1_->forward_relu(x);
  h = conv2_->forward(h);
  const Tensor s = shortcut(x);
  return bn2_ ? bn2_->forward_add_relu(h, s) : relu(h + s);
}

Tensor BasicBlock::shortcut(const Tensor& x) {
  switch (shortcut_) {
    case Shortcut::identity:
      return x;
    case Shortcut::option_a:
      return pad_channels(subsample2d(x, 2), pad_channels_, pad_channels_);
    case Shortcut::conv_bn:
    case Shortcut::conv_bias:
      return projection_->forward(x);
  }
  return x;
}

Bottleneck::Bottleneck(int64_t in, int64_t width, int64_t stride, uint64_t seed) {
  const int64_t out = width * kExpansion;
  conv1_ = register_module("conv1", make_conv(in, width, 1, 1, false, seed));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm>(width));
  conv2_ = register_module("conv2", make_conv(width, width, 3, stride, false, seed + 1));
  bn2_ = register_module("bn2", std::make_shared<BatchNorm>(width));
  conv3_ = register_module("conv3", make_conv(width, out, 1, 1, false, seed + 2));
  bn3_ = register_module("bn3", std::make_shared<BatchNorm>(out));
  if (stride != 1 || in != out) {
    downsample_ = register_module("downsample", std::make_shared<Sequential>());
    downsample_->append(make_conv(in, out, 1, stride, false, seed + 3));
    downsample_->append(std::make_shared<BatchNorm>(out));
  }
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor h = bn1_->forward_relu(conv1_->forward(x));
  h = bn2_->forward_relu(conv2_->forward(h));
  return bn3_->forward_add_relu(conv3_->forward(h), downsample_ ? downsample_->forward(x) : x);
}

}  // namespace fsa
