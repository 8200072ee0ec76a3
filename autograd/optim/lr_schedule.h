// lr_schedule.h: learning rate as a function of the step (counting from 0), to feed
// Optimizer::set_lr(schedule.lr(step)) before each update:
//   constant:           lr0
//   step decay:         lr0 * gamma^floor(step / step_size)               (PyTorch StepLR)
//   cosine annealing:   eta_min + (lr0 - eta_min) (1 + cos(pi step / t_max)) / 2
//                                                  (PyTorch CosineAnnealingLR, closed form)
//   inverse-time decay: lr0 / (1 + decay_rate * step / decay_steps)
//                                       (TF-1 inverse_time_decay, staircase=False)
#pragma once

#include <cstdint>

namespace fsa {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  virtual double lr(int64_t step) const = 0;
};

class ConstantLr final : public LrSchedule {
 public:
  explicit ConstantLr(double lr0);
  double lr(int64_t step) const override;

 private:
  double lr0_;
};

class StepDecayLr final : public LrSchedule {
 public:
  StepDecayLr(double lr0, int64_t step_size, double gamma);
  double lr(int64_t step) const override;

 private:
  double lr0_;
  int64_t step_size_;
  double gamma_;
};

class CosineAnnealingLr final : public LrSchedule {
 public:
  CosineAnnealingLr(double lr0, int64_t t_max, double eta_min = 0.0);
  double lr(int64_t step) const override;

 private:
  double lr0_;
  int64_t t_max_;
  double eta_min_;
};

class InverseTimeDecayLr final : public LrSchedule {
 public:
  InverseTimeDecayLr(double lr0, double decay_rate, double decay_steps = 1.0);
  double lr(int64_t step) const override;

 private:
  double lr0_;
  double decay_rate_;
  double decay_steps_;
};

}  // namespace fsa
