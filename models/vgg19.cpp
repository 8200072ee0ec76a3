// vgg19.cpp: builds the VGG-19 layer list in the checkpoint's index order, so that
// Sequential's index names equal the original state-dict keys.
#include "models/vgg19.h"

namespace fsa {

namespace {

// Output channels of the convs of each stage; the cut relu{k}_1 ends after the first conv
// of stage k.
const std::vector<std::vector<int64_t>> kStages = {
    {64, 64}, {128, 128}, {256, 256, 256, 256}, {512, 512, 512, 512}, {512}};

}  // namespace

int vgg_cut_stage(const std::string& cut) {
  for (int k = 1; k <= 5; ++k) {
    if (cut == "relu" + std::to_string(k) + "_1") return k;
  }
  fail("[vgg19] unknown cut '", cut, "': expected relu1_1, relu2_1, relu3_1, relu4_1 or relu5_1");
}

Vgg19Encoder::Vgg19Encoder(VggLayout layout, const std::string& cut, uint64_t seed) : cut_(cut) {
  const int last_stage = vgg_cut_stage(cut);
  const bool normalised = layout == VggLayout::normalised;
  body_ = register_module(normalised ? "" : "features", std::make_shared<Sequential>());
  if (normalised)
    body_->append(std::make_shared<Conv2d>(
        Conv2d::Options{.in_channels = 3, .out_channels = 3, .kernel = 1}, seed++));
  int64_t channels = 3;
  for (int stage = 1; stage <= last_stage; ++stage) {
    if (stage > 1)
      body_->append(
          std::make_shared<MaxPool2d>(Pool2dParams{.kernel = 2, .stride = 2, .ceil_mode = true}));
    const auto& widths = kStages[static_cast<size_t>(stage - 1)];
    const size_t convs = stage == last_stage ? 1 : widths.size();
    for (size_t i = 0; i < convs; ++i) {
      if (normalised) body_->append(std::make_shared<ReflectionPad2d>(1));
      body_->append(std::make_shared<Conv2d>(Conv2d::Options{.in_channels = channels,
                                                             .out_channels = widths[i],
                                                             .kernel = 3,
                                                             .padding = normalised ? 0 : 1},
                                             seed++));
      body_->append(std::make_shared<ReLU>());
      channels = widths[i];
      if (i == 0) taps_.emplace_back(body_->size() - 1, "relu" + std::to_string(stage) + "_1");
    }
  }
  output_channels_ = channels;
}

Tensor Vgg19Encoder::forward(const Tensor& x) {
  FSA_CHECK(x.ndim() == 4 && x.dim(1) == 3, "[vgg19] expects RGB images (N,3,H,W), got ",
            x.shape());
  return body_->forward(x);
}

std::map<std::string, Tensor> Vgg19Encoder::forward_taps(const Tensor& x) {
  FSA_CHECK(x.ndim() == 4 && x.dim(1) == 3, "[vgg19] expects RGB images (N,3,H,W), got ",
            x.shape());
  std::map<std::string, Tensor> taps;
  Tensor y = x;
  size_t next_tap = 0;
  for (size_t i = 0; i < body_->size(); ++i) {
    y = body_->forward_step(i, y);
    if (next_tap < taps_.size() && taps_[next_tap].first == i) taps[taps_[next_tap++].second] = y;
  }
  return taps;
}

}  // namespace fsa
