// decoder_training.cpp: the AdaIN decoder objective and its Adam step.
#include "train/decoder_training.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/variable.h"

namespace fsa {

namespace {

// The BGR mean the official decoder's output is relative to, in RGB order (algorithm.md §1.3).
constexpr double kRgbMean[3] = {123.68, 116.779, 103.939};

Tensor prepare(const Tensor& images, int64_t upscale) {
  if (upscale <= 0) return images;
  return resize_bilinear(images, upscale, upscale, ResizeMode::legacy_tf);
}

// Σ_b Σ_c mean_hw (a - b)^2 for (N,C,H,W) tensors.
Tensor summed_channel_mse(const Tensor& a, const Tensor& b) {
  const Tensor difference = a - b;
  return sum(mean(difference * difference, {2, 3}));
}

Tensor adain(const Tensor& content, const Tensor& style) {
  return (content - channel_mean(content)) * (channel_std(style) / channel_std(content)) +
         channel_mean(style);
}

Tensor style_loss(const std::map<std::string, Tensor>& generated,
                  const std::map<std::string, Tensor>& style) {
  Tensor total;
  for (const auto& [layer, g] : generated) {
    const Tensor& s = style.at(layer);
    const Tensor mean_gap = channel_mean(g) - channel_mean(s);
    const Tensor std_gap = channel_std(g) - channel_std(s);
    const Tensor term = sum(mean_gap * mean_gap) + sum(std_gap * std_gap);
    total = total.defined() ? total + term : term;
  }
  return total;
}

void check_batch(const Tensor& content, const Tensor& style) {
  FSA_CHECK(content.ndim() == 4 && content.dim(1) == 3, "[train_decoder] content images must be ",
            "(N,3,H,W), got ", content.shape());
  FSA_CHECK(style.shape() == content.shape(), "[train_decoder] style images ", style.shape(),
            " do not match the content images ", content.shape());
}

}  // namespace

void init_decoder_official(Decoder& decoder, uint64_t seed) {
  decoder.init_official(seed);
  const Module::NamedTensors parameters = decoder.named_parameters();
  FSA_CHECK(parameters.size() >= 2, "[train_decoder] the decoder has no output layer");
  const Tensor& kernel = parameters[parameters.size() - 2].second;  // (3,C,3,3)
  const Tensor& bias = parameters.back().second;                    // (3)
  FSA_CHECK(kernel.ndim() == 4 && kernel.dim(0) == 3 && bias.shape() == Shape({3}),
            "[train_decoder] the decoder's last layer is not an RGB output: ", kernel.shape(),
            " and ", bias.shape());
  NoGradGuard no_grad;
  kernel.copy_from(kernel / 255.0);
  const Tensor mean = Tensor::from_vector({kRgbMean[0], kRgbMean[1], kRgbMean[2]}, {3},
                                          bias.dtype(), bias.device());
  bias.copy_from((bias + mean) / 255.0);
}

DecoderLosses decoder_training_losses(Vgg19Encoder& encoder, Module& decoder, const Tensor& content,
                                      const Tensor& style, const DecoderLossOptions& options) {
  check_batch(content, style);
  const std::string& cut = encoder.cut();
  Tensor prepared_content, target;
  std::map<std::string, Tensor> style_taps;
  {
    NoGradGuard no_grad;
    prepared_content = prepare(content, options.upscale);
    const Tensor content_features = encoder.forward(prepared_content);  // (N,C,h,w)
    style_taps = encoder.forward_taps(prepare(style, options.upscale));
    target = adain(content_features, style_taps.at(cut));
  }
  DecoderLosses losses;
  losses.decoded = clamp(decoder.forward(target), 0.0, 1.0);  // (N,3,H',W')
  FSA_CHECK(losses.decoded.shape() == prepared_content.shape(), "[train_decoder] the decoder ",
            "gives ", losses.decoded.shape(), " for encoder features ", target.shape(),
            " of images ", prepared_content.shape());
  const std::map<std::string, Tensor> generated_taps = encoder.forward_taps(losses.decoded);
  losses.content = summed_channel_mse(generated_taps.at(cut), target);
  losses.style = style_loss(generated_taps, style_taps);
  losses.pixel = summed_channel_mse(losses.decoded, prepared_content);
  losses.total = losses.content + losses.style * options.style_weight;
  if (options.pixel_weight != 0.0)
    losses.total = losses.total + losses.pixel * options.pixel_weight;
  return losses;
}

DecoderTrainer::DecoderTrainer(Vgg19Encoder& encoder, Module& decoder,
                               const DecoderTrainingOptions& options)
    : encoder_(encoder),
      decoder_(decoder),
      options_(options),
      schedule_(options.lr, options.lr_decay) {
  FSA_CHECK(options.lr > 0.0 && options.lr_decay >= 0.0, "[train_decoder] need lr > 0 and ",
            "lr_decay >= 0, got ", options.lr, " and ", options.lr_decay);
  FSA_CHECK(options.loss.style_weight >= 0.0 && options.loss.pixel_weight >= 0.0,
            "[train_decoder] loss weights must be >= 0, got style ", options.loss.style_weight,
            " and pixel ", options.loss.pixel_weight);
  FSA_CHECK(options.loss.upscale >= 0, "[train_decoder] upscale must be >= 0, got ",
            options.loss.upscale);
  encoder_.eval();
  encoder_.requires_grad(false);
  decoder_.train();
  decoder_.requires_grad(true);
  optimizer_ = std::make_unique<Adam>(decoder_.parameters(), AdamParams{.lr = options.lr,
                                                                        .beta1 = options.beta1,
                                                                        .beta2 = options.beta2,
                                                                        .eps = options.adam_eps,
                                                                        .form = AdamForm::tf1});
}

DecoderStepValues DecoderTrainer::train_step(int64_t step, const Tensor& content,
                                             const Tensor& style) {
  DecoderStepValues values;
  values.lr = schedule_.lr(step);
  optimizer_->set_lr(values.lr);
  optimizer_->zero_grad();
  const DecoderLosses losses =
      decoder_training_losses(encoder_, decoder_, content, style, options_.loss);
  backward(losses.total);
  optimizer_->step();
  values.total = losses.total.item();
  values.content = losses.content.item();
  values.style = losses.style.item();
  values.pixel = losses.pixel.item();
  return values;
}

}  // namespace fsa
