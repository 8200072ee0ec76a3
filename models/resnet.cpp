// resnet.cpp: the three ResNet families and the normalising wrapper.
#include "models/resnet.h"

#include "models/resnet_blocks.h"

namespace fsa {

NormalizedClassifier::NormalizedClassifier(std::shared_ptr<Module> network,
                                           const Preprocessing& preprocessing)
    : network_(register_module("", std::move(network))), preprocessing_(preprocessing) {}

Tensor NormalizedClassifier::normalize(const Tensor& x) {
  FSA_CHECK(x.ndim() == 4 && x.dim(1) == 3,
            "[classifier] expects RGB images (N,3,H,W) in [0,1], got ", x.shape());
  prepare_constants(x);
  return (x - mean_) * inv_std_;
}

void NormalizedClassifier::prepare_constants(const Tensor& x) {
  if (mean_.defined() && mean_.device() == x.device() && mean_.dtype() == x.dtype()) return;
  const auto& p = preprocessing_;
  mean_ =
      Tensor::from_vector({p.mean[0], p.mean[1], p.mean[2]}, {1, 3, 1, 1}, x.dtype(), x.device());
  inv_std_ = Tensor::from_vector({1.0 / p.std[0], 1.0 / p.std[1], 1.0 / p.std[2]}, {1, 3, 1, 1},
                                 x.dtype(), x.device());
}

Tensor NormalizedClassifier::forward(const Tensor& x) { return network_->forward(normalize(x)); }

LinearHeadClassifier& NormalizedClassifier::head() {
  auto* head = dynamic_cast<LinearHeadClassifier*>(network_.get());
  FSA_CHECK(head != nullptr,
            "[classifier] the wrapped network does not end in a linear layer on features");
  return *head;
}

Tensor NormalizedClassifier::penultimate(const Tensor& x) {
  return head().penultimate(normalize(x));
}

Linear& NormalizedClassifier::final_layer() { return head().final_layer(); }

namespace {

// A stage of `blocks` basic blocks, the first with `stride`.
std::shared_ptr<Sequential> basic_stage(int64_t in, int64_t out, int blocks, int64_t stride,
                                        bool batch_norm, Shortcut projection,
                                        const std::string& shortcut_name, uint64_t seed) {
  auto stage = std::make_shared<Sequential>();
  for (int b = 0; b < blocks; ++b) {
    const int64_t block_in = b == 0 ? in : out;
    const int64_t block_stride = b == 0 ? stride : 1;
    const bool projects = block_stride != 1 || block_in != out;
    stage->append(std::make_shared<BasicBlock>(
        block_in, out, block_stride, batch_norm, projects ? projection : Shortcut::identity,
        shortcut_name, seed + 10 * static_cast<uint64_t>(b)));
  }
  return stage;
}

}  // namespace

CifarResNet::CifarResNet(int depth, int64_t classes, uint64_t seed) {
  const bool resnet18 = depth == 18;
  FSA_CHECK(resnet18 || (depth >= 8 && (depth - 2) % 6 == 0),
            "[cifar_resnet] depth must be 6n+2 or 18, got ", depth);
  const std::vector<int64_t> widths =
      resnet18 ? std::vector<int64_t>{64, 128, 256, 512} : std::vector<int64_t>{16, 32, 64};
  const int blocks = resnet18 ? 2 : (depth - 2) / 6;
  const Shortcut projection = resnet18 ? Shortcut::conv_bn : Shortcut::option_a;
  conv1_ = register_module("conv1", make_conv(3, widths[0], 3, 1, false, seed));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm>(widths[0]));
  int64_t in = widths[0];
  for (size_t s = 0; s < widths.size(); ++s) {
    stages_.push_back(register_module("layer" + std::to_string(s + 1),
                                      basic_stage(in, widths[s], blocks, s == 0 ? 1 : 2, true,
                                                  projection, "shortcut", seed + 100 * (s + 1))));
    in = widths[s];
  }
  linear_ = register_module("linear", std::make_shared<Linear>(in, classes, seed + 1000));
}

Tensor CifarResNet::penultimate(const Tensor& x) {
  Tensor h = bn1_->forward_relu(conv1_->forward(x));
  for (const auto& stage : stages_) h = stage->forward(h);
  return global_avg_pool2d(h);
}

Tensor CifarResNet::forward(const Tensor& x) { return linear_->forward(penultimate(x)); }

VnnResNet::VnnResNet(const std::string& variant, uint64_t seed) {
  FSA_CHECK(variant == "resnet2b" || variant == "resnet4b", "[vnn_resnet] unknown variant '",
            variant, "': expected resnet2b or resnet4b");
  const bool two_b = variant == "resnet2b";
  const int64_t stem = two_b ? 8 : 16, width = two_b ? 16 : 32;
  conv1_ = register_module("conv1", make_conv(3, stem, 3, 2, true, seed));
  stages_.push_back(register_module(
      "layer1",
      basic_stage(stem, width, 2, 2, false, Shortcut::conv_bias, "shortcut", seed + 100)));
  if (!two_b) {
    stages_.push_back(register_module(
        "layer2",
        basic_stage(width, width, 2, 2, false, Shortcut::conv_bias, "shortcut", seed + 200)));
  }
  const int64_t side = two_b ? 8 : 4;  // 32 -> 16 (stem) -> 8 (-> 4)
  linear1_ =
      register_module("linear1", std::make_shared<Linear>(width * side * side, 100, seed + 1000));
  linear2_ = register_module("linear2", std::make_shared<Linear>(100, 10, seed + 1002));
}

Tensor VnnResNet::penultimate(const Tensor& x) {
  Tensor h = conv1_->forward_relu(x);
  for (const auto& stage : stages_) h = stage->forward(h);
  return relu(linear1_->forward(flatten(h)));
}

Tensor VnnResNet::forward(const Tensor& x) { return linear2_->forward(penultimate(x)); }

ImageNetResNet::ImageNetResNet(int depth, int64_t classes, uint64_t seed) {
  FSA_CHECK(depth == 18 || depth == 50, "[imagenet_resnet] depth must be 18 or 50, got ", depth);
  conv1_ = register_module("conv1", make_conv(3, 64, 7, 2, false, seed));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm>(64));
  const std::vector<int64_t> widths = {64, 128, 256, 512};
  const std::vector<int> blocks =
      depth == 18 ? std::vector<int>{2, 2, 2, 2} : std::vector<int>{3, 4, 6, 3};
  int64_t in = 64;
  for (size_t s = 0; s < widths.size(); ++s) {
    const int64_t stride = s == 0 ? 1 : 2;
    const uint64_t stage_seed = seed + 100 * (s + 1);
    std::shared_ptr<Sequential> stage;
    if (depth == 18) {
      stage = basic_stage(in, widths[s], blocks[s], stride, true, Shortcut::conv_bn, "downsample",
                          stage_seed);
      in = widths[s];
    } else {
      stage = std::make_shared<Sequential>();
      for (int b = 0; b < blocks[s]; ++b) {
        stage->append(
            std::make_shared<Bottleneck>(in, widths[s], b == 0 ? stride : 1, stage_seed + 10 * b));
        in = widths[s] * Bottleneck::kExpansion;
      }
    }
    stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  fc_ = register_module("fc", std::make_shared<Linear>(in, classes, seed + 1000));
}

Tensor ImageNetResNet::penultimate(const Tensor& x) {
  Tensor h = bn1_->forward_relu(conv1_->forward(x));
  h = max_pool2d(h, {.kernel = 3, .stride = 2, .padding = 1});
  for (const auto& stage : stages_) h = stage->forward(h);
  return global_avg_pool2d(h);
}

Tensor ImageNetResNet::forward(const Tensor& x) { return fc_->forward(penultimate(x)); }

}  // namespace fsa
