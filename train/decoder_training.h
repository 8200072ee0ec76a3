// decoder_training.h: the decoder's training objective and step (paper §3.2.1, algorithm.md
// §4). For content images x_c and same-class style images x_s (RGB in [0,1], (N,3,H,W)):
//   prepare(x)  = x, or resized to S x S (legacy TF bilinear) when upscale = S > 0;
//   e_c = f(prepare(x_c)), taps_s = f_L(prepare(x_s)) for the style layers L (relu1_1 .. cut);
//   t   = AdaIN(e_c, e_s) = (e_c - μ(e_c)) σ(e_s)/σ(e_c) + μ(e_s)   (a constant);
//   x_g = clip(g(t), 0, 1); taps_g = f_L(x_g) (the S x S image itself when upscaled);
//   content = Σ_b Σ_c mean_hw (f(x_g) - t)^2;
//   style   = Σ_L Σ_b Σ_c (μ_L(x_g) - μ_L(x_s))^2 + (σ_L(x_g) - σ_L(x_s))^2,  σ = sqrt(var + 1e-5);
//   pixel   = Σ_b Σ_c mean_hw (x_g - prepare(x_c))^2   (not in the paper; weight 0 by default);
//   total   = content + style_weight · style + pixel_weight · pixel.
// Only the decoder is trained: Adam (TF-1 form, β = 0.9, 0.999, ε = 1e-8) at
// lr(step) = lr0 / (1 + decay · step). The decoder here outputs RGB in [0,1] where the official
// one outputs mean-subtracted BGR on 0-255; the clip and the losses are the same.
#pragma once

#include <memory>

#include "autograd/optim/adam.h"
#include "autograd/optim/lr_schedule.h"
#include "models/decoder.h"
#include "models/vgg19.h"

namespace fsa {

// The official initialisation (TF-1 xavier, truncated normal, for kernels and biases;
// algorithm.md §2.4) carried over to this decoder's output scale. The official last layer
// outputs mean-subtracted BGR on 0-255, this one RGB on [0,1]; so its kernel is divided by 255
// and its bias becomes (bias + RGB mean) / 255, the same function of the features. (Plain
// xavier on a [0,1] output would put the bias alone at ±0.66, clipping whole channels.)
void init_decoder_official(Decoder& decoder, uint64_t seed);

struct DecoderLossOptions {
  double style_weight = 1.0;
  double pixel_weight = 0.0;
  int64_t upscale = 0;  // S > 0: encode S x S upscaled images (official cifar10_shallow: 224)
};

struct DecoderLosses {
  Tensor total;    // () recorded for autograd when grad mode is on
  Tensor content;  // ()
  Tensor style;    // ()
  Tensor pixel;    // ()
  Tensor decoded;  // (N,3,H',W') x_g, clipped
};

// The objective above for one batch; the encoder is used as given (frozen by the caller).
DecoderLosses decoder_training_losses(Vgg19Encoder& encoder, Module& decoder, const Tensor& content,
                                      const Tensor& style, const DecoderLossOptions& options);

struct DecoderTrainingOptions {
  DecoderLossOptions loss;
  double lr = 1e-4;
  double lr_decay = 2e-5;  // lr(step) = lr / (1 + lr_decay · step)
  double beta1 = 0.9;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
};

struct DecoderStepValues {
  double total = 0.0, content = 0.0, style = 0.0, pixel = 0.0;
  double lr = 0.0;
};

class DecoderTrainer {
 public:
  // Freezes the encoder (eval, no parameter gradients) and trains every decoder parameter;
  // both must already be on the device the batches will be on.
  DecoderTrainer(Vgg19Encoder& encoder, Module& decoder, const DecoderTrainingOptions& options);
  // One update at lr(step) from the batch (content, style) on the modules' device.
  DecoderStepValues train_step(int64_t step, const Tensor& content, const Tensor& style);
  Optimizer& optimizer() { return *optimizer_; }
  const DecoderTrainingOptions& options() const { return options_; }

 private:
  Vgg19Encoder& encoder_;
  Module& decoder_;
  DecoderTrainingOptions options_;
  InverseTimeDecayLr schedule_;
  std::unique_ptr<Adam> optimizer_;
};

}  // namespace fsa
