// classifier_training.h: one training step of a classifier (RGB in [0,1] in, logits out) on a
// batch, standard or adversarial (issue 7; the paper's Table 4 trains on FA/FI examples):
//   none   — mean_b CE(f(x), y);
//   pgd    — Madry et al.: mean_b CE(f(x'), y), x' = L∞ PGD from a random start (attack/pgd.h,
//            made with the classifier in eval mode);
//   trades — Zhang et al.: mean_b CE(f(x), y) + β mean_b KL(f(x) ‖ f(x')), where x' ascends
//            KL(f(x) ‖ f(x')) by signed L∞ steps from x + 0.001·N(0,1), projected on the ε-ball
//            and [0,1] (inner loop in eval mode, as the reference code);
//   fa     — mean_b CE(f(x'), y), x' = the feature augmentation attack's output
//            (attack/feature_attack.h) against the current classifier;
//   fi     — mean_b CE(f(x'), y), x' = the feature interpolation attack's output
//            (attack/feature_interpolation.h, a FeatureAttack on fixed style prototypes).
// Every random draw (PGD starts, TRADES noise, FA/FI targets) is a function of (seed, step),
// so a resumed run repeats an uninterrupted one exactly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "attack/feature_attack.h"
#include "attack/pgd.h"
#include "autograd/optim/lr_schedule.h"
#include "autograd/optim/optimizer.h"

namespace fsa {

enum class Adversary { none, pgd, trades, fa, fi };
std::string to_string(Adversary adversary);
Adversary parse_adversary(const std::string& name);  // none|pgd|trades|fa|fi

struct ClassifierTrainingOptions {
  Adversary adversary = Adversary::none;
  // PGD for Madry training and the TRADES inner loop (epsilon, step_size, steps); the seed
  // and random start are set per step from `seed`.
  PgdOptions pgd;
  double trades_beta = 6.0;
  uint64_t seed = 0;
};

struct ClassifierStepValues {
  double loss = 0.0;          // the minimised objective
  double natural_loss = 0.0;  // mean CE on the clean batch (none, trades)
  double robust_loss = 0.0;   // mean CE on x' (pgd, fa, fi) or mean KL (trades)
  int64_t correct = 0;        // correct predictions on the examples trained on (train mode)
  int64_t examples = 0;
  double lr = 0.0;
};

class ClassifierTrainer {
 public:
  // The classifier, optimizer and schedule must outlive the trainer; `feature_attack` (built
  // on the same classifier) is needed for Adversary::fa (a FeatureAttack) and Adversary::fi
  // (a FeatureInterpolationAttack) only.
  ClassifierTrainer(Module& classifier, Optimizer& optimizer, const LrSchedule& schedule,
                    const ClassifierTrainingOptions& options,
                    FeatureAttack* feature_attack = nullptr);
  // One update at schedule.lr(step) from images (N,3,H,W) in [0,1] and int32 labels (N),
  // on the classifier's device. Leaves the classifier in train mode.
  ClassifierStepValues train_step(int64_t step, const Tensor& images, const Tensor& labels);

 private:
  Tensor adversarial_examples(int64_t step, const Tensor& images, const Tensor& labels);
  Tensor trades_examples(int64_t step, const Tensor& images);
  void set_training(bool on);

  Module& classifier_;
  Optimizer& optimizer_;
  const LrSchedule& schedule_;
  ClassifierTrainingOptions options_;
  FeatureAttack* feature_attack_;
};

}  // namespace fsa
