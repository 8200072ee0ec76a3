// classifier_training.cpp: standard, Madry, TRADES and FA/FI-example training steps.
#include "train/classifier_training.h"

#include "attack/rows.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tensor/backend.h"

namespace fsa {

namespace {

constexpr double kTradesStartNoise = 0.001;  // std of the Gaussian start (TRADES reference)

// Philox offsets: step s uses [s << 32, (s + 1) << 32) of each seed's stream.
uint64_t step_offset(int64_t step) { return static_cast<uint64_t>(step) << 32; }

int64_t count_correct_top1(const Tensor& logits, const Tensor& labels) {
  const std::vector<int32_t> predicted = predictions(logits);
  const std::vector<int32_t> truth = label_vector(labels);
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i] ? 1 : 0;
  return correct;
}

}  // namespace

std::string to_string(Adversary adversary) {
  switch (adversary) {
    case Adversary::none:
      return "none";
    case Adversary::pgd:
      return "pgd";
    case Adversary::trades:
      return "trades";
    case Adversary::fa:
      return "fa";
    case Adversary::fi:
      return "fi";
  }
  return "?";
}

Adversary parse_adversary(const std::string& name) {
  for (Adversary a :
       {Adversary::none, Adversary::pgd, Adversary::trades, Adversary::fa, Adversary::fi}) {
    if (name == to_string(a)) return a;
  }
  fail("[train] unknown adversary '", name, "': expected none, pgd, trades, fa or fi");
}

ClassifierTrainer::ClassifierTrainer(Module& classifier, Optimizer& optimizer,
                                     const LrSchedule& schedule,
                                     const ClassifierTrainingOptions& options,
                                     FeatureAttack* feature_attack)
    : classifier_(classifier),
      optimizer_(optimizer),
      schedule_(schedule),
      options_(options),
      feature_attack_(feature_attack) {
  const bool uses_feature_attack =
      options.adversary == Adversary::fa || options.adversary == Adversary::fi;
  FSA_CHECK(!uses_feature_attack || feature_attack != nullptr, "[train] --adversary ",
            to_string(options.adversary),
            " needs the feature attack (an encoder and a decoder; fi: style prototypes)");
  FSA_CHECK(options.trades_beta >= 0.0, "[train] the TRADES beta must be >= 0, got ",
            options.trades_beta);
  const bool uses_pgd =
      options.adversary == Adversary::pgd || options.adversary == Adversary::trades;
  FSA_CHECK(!uses_pgd || (options.pgd.epsilon > 0.0 && options.pgd.step_size > 0.0 &&
                          options.pgd.steps >= 1),
            "[train] adversarial training needs epsilon > 0, a step size > 0 and >= 1 steps, "
            "got ",
            options.pgd.epsilon, ", ", options.pgd.step_size, " and ", options.pgd.steps);
}

void ClassifierTrainer::set_training(bool on) {
  classifier_.train(on);
  classifier_.requires_grad(on);
}

Tensor ClassifierTrainer::trades_examples(int64_t step, const Tensor& images) {
  const PgdOptions& o = options_.pgd;
  Tensor clean_logits, x;
  {
    NoGradGuard no_grad;
    clean_logits = classifier_(images);
    Tensor noise = Tensor::empty(images.shape(), images.dtype(), images.device());
    backend_for(images.device())
        .fill_normal(noise, 0.0, kTradesStartNoise, options_.seed, step_offset(step));
    x = images + noise;
  }
  for (int64_t k = 0; k < o.steps; ++k) {
    const Tensor leaf = detach(x).clone();
    set_requires_grad(leaf, true);
    backward(sum(kl_divergence_logits(clean_logits, classifier_(leaf))));
    NoGradGuard no_grad;
    const Tensor stepped = leaf + sign(grad(leaf)) * o.step_size;
    x = clamp(minimum(maximum(stepped, images - o.epsilon), images + o.epsilon), 0.0, 1.0);
  }
  return detach(x);
}

Tensor ClassifierTrainer::adversarial_examples(int64_t step, const Tensor& images,
                                               const Tensor& labels) {
  const int64_t first_sample = step * images.dim(0);
  set_training(false);
  switch (options_.adversary) {
    case Adversary::pgd: {
      PgdOptions o = options_.pgd;
      o.seed = options_.seed;
      o.random_start = true;
      o.restarts = 1;
      return pgd_attack(classifier_, images, labels, o, first_sample).adversarial;
    }
    case Adversary::trades:
      return trades_examples(step, images);
    case Adversary::fa:
    case Adversary::fi: {
      const Tensor adversarial = feature_attack_->run(images, labels, first_sample).adversarial;
      return adversarial.to(images.device());
    }
    case Adversary::none:
      break;
  }
  return images;
}

ClassifierStepValues ClassifierTrainer::train_step(int64_t step, const Tensor& images,
                                                   const Tensor& labels) {
  FSA_CHECK(images.ndim() == 4 && labels.ndim() == 1 && labels.dim(0) == images.dim(0),
            "[train] expects images (N,C,H,W) and labels (N), got ", images.shape(), " and ",
            labels.shape());
  ClassifierStepValues values;
  values.lr = schedule_.lr(step);
  const Tensor examples =
      options_.adversary == Adversary::none ? images : adversarial_examples(step, images, labels);
  set_training(true);
  optimizer_.set_lr(values.lr);
  optimizer_.zero_grad();
  Tensor loss;
  Tensor trained_logits;
  if (options_.adversary == Adversary::trades) {
    const Tensor clean_logits = classifier_(images);
    const Tensor adversarial_logits = classifier_(examples);
    const Tensor natural = mean(softmax_cross_entropy(clean_logits, labels));
    const Tensor robust = mean(kl_divergence_logits(clean_logits, adversarial_logits));
    loss = natural + robust * options_.trades_beta;
    values.natural_loss = natural.item();
    values.robust_loss = robust.item();
    trained_logits = clean_logits;
  } else {
    trained_logits = classifier_(examples);
    loss = mean(softmax_cross_entropy(trained_logits, labels));
    (options_.adversary == Adversary::none ? values.natural_loss : values.robust_loss) =
        loss.item();
  }
  backward(loss);
  optimizer_.step();
  values.loss = loss.item();
  values.correct = count_correct_top1(detach(trained_logits), labels);
  values.examples = images.dim(0);
  return values;
}

}  // namespace fsa
