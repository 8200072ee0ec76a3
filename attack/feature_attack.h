// feature_attack.h: the feature augmentation attack (FA, paper Eq. 9; algorithm.md §5).
// Per image, the per-channel style of the encoder embedding e = f(x) is perturbed (style.h),
// decoded to x' = clip(g(t), 0, 1) and classified. Per sample the loss is
//   content(x') + w · adversarial(x'),  content = Σ_c mean_hw (f(x') − t)²  (t not detached),
//   adversarial = CW hinge (κ; top-1 or top-k untargeted, or targeted), or cross-entropy
//   (−CE(y) untargeted, CE(target) targeted);
// minimised by Adam (β1 = 0.5, TF-1 form) with lr = lr0 / (1 + decay · step) (step from 0 in
// every batch), gradients clipped element-wise to ±c (c = D^{1/4}/√10 for D channels, 1.064
// for 128), and the variables projected onto the feasible set after each step. Per sample
// the kept iterate is the best one: a success beats a failure, then lower content loss.
// Images are RGB in [0,1] (N,3,H,W); the encoder takes them, the decoder returns them.
// The loop works on any StyleTransform (style_transform.h): FA's perturbation by default;
// the feature interpolation attack (feature_interpolation.h) plugs in its own.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attack/style.h"
#include "attack/style_transform.h"
#include "autograd/optim/adam.h"
#include "layers/module.h"

namespace fsa {

enum class AdversarialLoss { cw, cross_entropy };
// none: untargeted. random: uniform over the other classes, (y + 1 + U{0..K−2}) mod K, drawn
// from (seed, record index); least_likely: the class with the lowest clean logit; given: one
// label for every image.
enum class TargetPolicy { none, random, least_likely, given };

std::string to_string(AdversarialLoss loss);
AdversarialLoss parse_adversarial_loss(const std::string& name);  // "cw" | "ce"
std::string to_string(TargetPolicy policy);
TargetPolicy parse_target_policy(const std::string& name);  // none|random|least-likely|given

struct FaOptions {
  std::string preset = "paper";
  StyleParameterisation parameterisation = StyleParameterisation::paper;
  double epsilon = std::log(1.5);  // ln p; the paper's targeted attack uses ln 2
  int64_t iterations = 200;
  AdversarialLoss loss = AdversarialLoss::cw;
  double kappa = 1.0;
  int64_t top_k = 1;  // untargeted CW: push the label out of the top k
  TargetPolicy target_policy = TargetPolicy::none;
  int32_t target_label = -1;  // for TargetPolicy::given
  // Per-sample weight w of the adversarial term. With adv_weight_times_batch (the official
  // code's Σ_b B·adv_weight·ℓ_adv) the effective weight is adv_weight · B.
  double adv_weight = 32000.0;
  bool adv_weight_times_batch = false;
  double lr = 1e-2;
  double lr_decay = 1e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  AdamForm adam_form = AdamForm::tf1;
  double grad_clip = -1.0;  // < 0: D^{1/4}/√10; 0: no clipping
  // The official code never resets Adam's moments between batches; a clean port does.
  bool reset_optimizer_per_batch = true;
  // Freeze a sample at its first success; a batch ends when every sample is frozen.
  bool early_stop = false;
  uint64_t seed = 0;
  // On a GPU, record each batch's step (evaluation and backward) once as a device graph and
  // replay it (tensor/device_graph.h); the results are the same as launching it eagerly.
  bool record_graph = true;
};

// "paper": the defaults above (the PyTorch reference of docs/reference.md: log-scale τ,
//   w = 32000, Adam reset per batch, 200 iterations).
// "official": the official code (algorithm.md §9): linear μ_S, σ_S with box projection,
//   w = 500 · B (32,000 at its batch of 64), Adam state kept across batches, 2000 iterations.
FaOptions fa_preset(const std::string& name);

// One evaluation of the attack at the current variables.
struct FaEvaluation {
  Tensor total;             // () Σ_b content + w · adversarial, recorded when grad mode is on
  Tensor content_loss;      // (N)
  Tensor adversarial_loss;  // (N) hinge or cross-entropy term, before the weight
  Tensor logits;            // (N,K)
  Tensor image;             // (N,3,H,W) the clipped decoder output x'
};

struct FaBatchResult {
  Tensor adversarial;                  // (N,3,H,W) the kept iterate, in [0,1] (host)
  Tensor decoded;                      // (N,3,H,W) the identity transform's reconstruction (host)
  Tensor targets;                      // int32 (N): the label attacked (true label when untargeted)
  std::vector<uint8_t> success;        // the kept iterate fools the classifier
  std::vector<int64_t> first_success;  // iteration of the first success (0: identity); −1
  std::vector<double> content_loss;    // of the kept iterate
  std::vector<double> initial_content_loss;  // of the identity transform
  Tensor sigma_factor, mean_factor;  // (N,C,1,1) σ'/σ_C and |μ'|/|μ_C| of the kept iterate
  int64_t iterations_run = 0;
};

// Called after each iteration with (iteration, successes so far in the batch).
using FaProgress = std::function<void(int64_t, int64_t)>;

class FeatureAttack {
 public:
  // The modules are switched to eval mode and frozen (no parameter gradients).
  FeatureAttack(Module& encoder, Module& decoder, Module& classifier, const FaOptions& options);
  // The same loop on another style transform; options.parameterisation and options.epsilon
  // (FA's own) are then unused.
  FeatureAttack(Module& encoder, Module& decoder, Module& classifier, const FaOptions& options,
                std::unique_ptr<StyleTransform> transform);
  virtual ~FeatureAttack() = default;

  // The whole attack on one batch; first_record numbers the images for the random targets.
  FaBatchResult run(const Tensor& images, const Tensor& labels, int64_t first_record = 0,
                    const FaProgress& progress = {});

  // Step-level access, in run()'s order: begin, then (evaluate, backward, update) per step.
  void begin(const Tensor& images, const Tensor& labels, int64_t first_record = 0);
  FaEvaluation evaluate();
  void backward(const FaEvaluation& evaluation);  // fills grad() of the variables
  void update();  // transform's gradient step, clip, Adam step at the scheduled rate, projection

  // FA's perturbation (an fsa::Error for an attack built on another transform).
  StylePerturbation& perturbation();
  StyleTransform& transform() { return *transform_; }
  const Tensor& targets() const { return targets_; }
  // The per-sample success test of the attack's objective on logits (N,K).
  std::vector<uint8_t> successes(const Tensor& logits) const;
  double effective_adv_weight() const;
  double gradient_clip() const;
  const FaOptions& options() const { return options_; }

 private:
  Tensor choose_targets(const Tensor& images, const Tensor& labels, int64_t first_record);

  Module& encoder_;
  Module& decoder_;
  Module& classifier_;
  FaOptions options_;
  std::unique_ptr<StyleTransform> transform_;
  std::unique_ptr<Adam> optimizer_;
  Tensor labels_, targets_;
  int64_t batch_size_ = 0;
  int64_t step_ = 0;
};

}  // namespace fsa
