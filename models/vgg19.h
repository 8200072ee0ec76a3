// vgg19.h: the VGG-19 feature extractor up to a relu{k}_1 cut, with named taps for the style
// loss. Two layouts with PyTorch-compatible parameter names:
//   normalised  — AdaIN/WCT "vgg_normalised": a 1x1 conv "0" (RGB [0,1] -> mean-subtracted
//                 BGR x255), reflection padding, then the 3x3 convs at indices 2, 5, 9, ...;
//   torchvision — "features.N": zero padding inside the convs, indices 0, 2, 5, 7, ...
// Input: RGB in [0,1], (N,3,H,W). Max-pooling 2x2 (ceil mode, as Huang's Torch model).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "layers/layers.h"

namespace fsa {

enum class VggLayout { normalised, torchvision };

class Vgg19Encoder : public Module {
 public:
  // cut: "relu1_1", "relu2_1", "relu3_1", "relu4_1" or "relu5_1".
  Vgg19Encoder(VggLayout layout, const std::string& cut, uint64_t seed = 1);
  Tensor forward(const Tensor& x) override;
  // Outputs of every relu{k}_1 up to the cut, by name ("relu1_1", "relu2_1", ...).
  std::map<std::string, Tensor> forward_taps(const Tensor& x);
  int64_t output_channels() const { return output_channels_; }
  const std::string& cut() const { return cut_; }

 private:
  std::shared_ptr<Sequential> body_;
  std::vector<std::pair<size_t, std::string>> taps_;  // (index of the relu in body_, name)
  std::string cut_;
  int64_t output_channels_ = 0;
};

// Parses "relu3_1" -> 3; throws for anything else.
int vgg_cut_stage(const std::string& cut);

}  // namespace fsa
