// decoder.cpp: the mirrored layer list, built from the encoder's stage widths.
#include "models/decoder.h"

#include "layers/init.h"
#include "models/vgg19.h"

namespace fsa {

namespace {

// Convs of each encoder stage as (in, out) channels, stage 1..5.
const std::vector<std::vector<std::pair<int64_t, int64_t>>> kEncoderConvs = {
    {{3, 64}, {64, 64}},
    {{64, 128}, {128, 128}},
    {{128, 256}, {256, 256}, {256, 256}, {256, 256}},
    {{256, 512}, {512, 512}, {512, 512}, {512, 512}},
    {{512, 512}}};

struct MirroredConv {
  int64_t in, out;
  bool upsample_after;
};

// The decoder's convs in order: stage k's first conv inverted, then each earlier stage's
// convs inverted from last to first.
std::vector<MirroredConv> mirrored_convs(int stage, DecoderLayout layout) {
  std::vector<MirroredConv> convs;
  for (int s = stage; s >= 1; --s) {
    const auto& stage_convs = kEncoderConvs[static_cast<size_t>(s - 1)];
    const size_t count = s == stage ? 1 : stage_convs.size();
    for (size_t j = count; j-- > 0;) {
      const bool stage_first = j == 0;
      convs.push_back({stage_convs[j].second, stage_convs[j].first, stage_first && s > 1});
    }
  }
  if (layout == DecoderLayout::official && stage == 3) {
    // [conv3_1, conv2_2, conv2_1, conv1_2, conv1_1]: upsample after indices 1 and 3.
    for (size_t i = 0; i < convs.size(); ++i) convs[i].upsample_after = i == 1 || i == 3;
  }
  return convs;
}

}  // namespace

Decoder::Decoder(const std::string& cut, DecoderLayout layout, uint64_t seed) {
  body_ = register_module("", std::make_shared<Sequential>());
  const std::vector<MirroredConv> convs = mirrored_convs(vgg_cut_stage(cut), layout);
  input_channels_ = convs.front().in;
  for (size_t i = 0; i < convs.size(); ++i) {
    body_->append(std::make_shared<ReflectionPad2d>(1));
    body_->append(std::make_shared<Conv2d>(
        Conv2d::Options{.in_channels = convs[i].in, .out_channels = convs[i].out, .kernel = 3},
        seed + 2 * i));
    if (i + 1 < convs.size()) body_->append(std::make_shared<ReLU>());
    if (convs[i].upsample_after) body_->append(std::make_shared<UpsampleNearest>(2));
  }
}

Tensor Decoder::forward(const Tensor& x) {
  FSA_CHECK(x.ndim() == 4 && x.dim(1) == input_channels_, "[decoder] expects features (N,",
            input_channels_, ",H,W), got ", x.shape());
  return body_->forward(x);
}

void Decoder::init_official(uint64_t seed) {
  for (const auto& [name, p] : named_parameters()) {
    // kernel (K,C,3,3): fan_avg = 9 (C + K) / 2; bias (K): fan_avg = K.
    const double fan_avg = p.ndim() == 4 ? 9.0 * static_cast<double>(p.dim(0) + p.dim(1)) / 2.0
                                         : static_cast<double>(p.dim(0));
    init_xavier_truncated_normal(p, fan_avg, seed++);
  }
}

}  // namespace fsa
