// decoder.h: the decoder that mirrors the VGG-19 encoder from a relu{k}_1 cut back to an
// RGB image in [0,1] (the encoder's input scale; clipping is the caller's job). Each layer
// is reflection pad 1 + 3x3 conv, ReLU after all but the last, nearest x2 upsampling where
// the encoder pooled. Parameter names are the Sequential indices of the WCT checkpoints
// ("1.weight", "5.weight", ...). Layouts (algorithm.md §2.2):
//   wct      — upsample right after each stage's channel-reducing conv (all WCT decoders;
//              the official code's deep and shallowest decoders are the same);
//   official — the official relu3_1 ("shallow") decoder upsamples after conv2_2 and conv1_2.
// `width` multiplies every hidden layer's channels (1: the WCT and official decoders; 2 and 4:
// the wide decoders of models/registry.h, WCT layout), for reconstruction beyond the WCT one's.
#pragma once

#include <string>

#include "layers/layers.h"

namespace fsa {

enum class DecoderLayout { wct, official };

class Decoder : public Module {
 public:
  Decoder(const std::string& cut, DecoderLayout layout = DecoderLayout::wct, int64_t width = 1,
          uint64_t seed = 1);
  Tensor forward(const Tensor& x) override;
  // TF-1 xavier (truncated normal) for kernels and biases, as the official code.
  void init_official(uint64_t seed);
  int64_t input_channels() const { return input_channels_; }
  // Makes this decoder compute the same function as `narrower` (same cut and layout, width
  // at most this one's): its weights fill each layer's leading channels, the weights from the
  // extra input channels into them become zero, and the extra channels keep their values
  // times `extra_scale` (so that training can grow them apart). Net2Net-style widening; the
  // result is exact.
  void embed(const Decoder& narrower, double extra_scale = 1.0);

 private:
  std::shared_ptr<Sequential> body_;
  int stage_;
  DecoderLayout layout_;
  int64_t width_;
  int64_t input_channels_ = 0;
};

}  // namespace fsa
