// decoder.cpp: the mirrored layer list, built from the encoder's stage widths.
#include "models/decoder.h"

#include "autograd/grad_mode.h"
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
// convs inverted from last to first. Hidden channels are multiplied by `width`.
std::vector<MirroredConv> mirrored_convs(int stage, DecoderLayout layout, int64_t width) {
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
  for (size_t i = 0; i < convs.size(); ++i) {
    if (i > 0) convs[i].in *= width;
    if (i + 1 < convs.size()) convs[i].out *= width;
  }
  return convs;
}

// Copies `narrow` (K,C,...) or (K) into the leading block of `wide` (K',C',...) or (K'): in
// the first K rows, the columns from C on become zero; the other rows are multiplied by
// `extra_scale`.
void embed_parameter(const std::string& name, const Tensor& narrow, const Tensor& wide,
                     double extra_scale) {
  const Shape& n = narrow.shape();
  const Shape& w = wide.shape();
  const bool kernels = n.ndim() == 4 && w.ndim() == 4 && n[2] == w[2] && n[3] == w[3];
  FSA_CHECK(
      (kernels || (n.ndim() == 1 && w.ndim() == 1)) && n[0] <= w[0] && (!kernels || n[1] <= w[1]),
      "[decoder] cannot embed parameter '", name, "' ", n, " into ", w);
  const int64_t columns = kernels ? w[1] : 1;
  const int64_t narrow_columns = kernels ? n[1] : 1;
  const int64_t taps = kernels ? w[2] * w[3] : 1;
  const std::vector<double> from = narrow.to_vector();
  std::vector<double> to = wide.to_vector();
  for (int64_t k = 0; k < n[0]; ++k) {
    for (int64_t c = 0; c < columns; ++c) {
      for (int64_t t = 0; t < taps; ++t) {
        const bool copied = c < narrow_columns;
        to[static_cast<size_t>((k * columns + c) * taps + t)] =
            copied ? from[static_cast<size_t>((k * narrow_columns + c) * taps + t)] : 0.0;
      }
    }
  }
  for (size_t i = static_cast<size_t>(n[0] * columns * taps); i < to.size(); ++i) {
    to[i] *= extra_scale;
  }
  NoGradGuard no_grad;
  wide.copy_from(Tensor::from_vector(to, w, wide.dtype(), wide.device()));
}

}  // namespace

Decoder::Decoder(const std::string& cut, DecoderLayout layout, int64_t width, uint64_t seed)
    : stage_(vgg_cut_stage(cut)), layout_(layout), width_(width) {
  FSA_CHECK(width >= 1, "[decoder] width must be >= 1, got ", width);
  body_ = register_module("", std::make_shared<Sequential>());
  const std::vector<MirroredConv> convs = mirrored_convs(stage_, layout, width);
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

void Decoder::embed(const Decoder& narrower, double extra_scale) {
  FSA_CHECK(narrower.stage_ == stage_ && narrower.layout_ == layout_ && narrower.width_ <= width_,
            "[decoder] can only embed a decoder of the same cut and layout and of width at most ",
            width_, ", got stage ", narrower.stage_, " width ", narrower.width_, " into stage ",
            stage_, " width ", width_);
  const NamedTensors from = narrower.named_parameters();
  const NamedTensors to = named_parameters();
  for (size_t i = 0; i < to.size(); ++i) {
    embed_parameter(to[i].first, from[i].second, to[i].second, extra_scale);
  }
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
