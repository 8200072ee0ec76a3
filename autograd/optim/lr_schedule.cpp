// lr_schedule.cpp: the learning-rate schedules of lr_schedule.h.
#include "autograd/optim/lr_schedule.h"

#include <cmath>
#include <numbers>

#include "tensor/check.h"

namespace fsa {

namespace {
void check_schedule_step(const char* schedule, int64_t step) {
  FSA_CHECK(step >= 0, "[", schedule, "] step counts from 0, got ", step);
}
}  // namespace

ConstantLr::ConstantLr(double lr0) : lr0_(lr0) {
  FSA_CHECK(lr0 >= 0.0, "[constant_lr] lr0 must be non-negative, got ", lr0);
}

double ConstantLr::lr(int64_t step) const {
  check_schedule_step("constant_lr", step);
  return lr0_;
}

StepDecayLr::StepDecayLr(double lr0, int64_t step_size, double gamma)
    : lr0_(lr0), step_size_(step_size), gamma_(gamma) {
  FSA_CHECK(lr0 >= 0.0, "[step_decay_lr] lr0 must be non-negative, got ", lr0);
  FSA_CHECK(step_size > 0, "[step_decay_lr] step_size must be positive, got ", step_size);
}

double StepDecayLr::lr(int64_t step) const {
  check_schedule_step("step_decay_lr", step);
  return lr0_ * std::pow(gamma_, static_cast<double>(step / step_size_));
}

CosineAnnealingLr::CosineAnnealingLr(double lr0, int64_t t_max, double eta_min)
    : lr0_(lr0), t_max_(t_max), eta_min_(eta_min) {
  FSA_CHECK(lr0 >= 0.0, "[cosine_annealing_lr] lr0 must be non-negative, got ", lr0);
  FSA_CHECK(t_max > 0, "[cosine_annealing_lr] t_max must be positive, got ", t_max);
}

double CosineAnnealingLr::lr(int64_t step) const {
  check_schedule_step("cosine_annealing_lr", step);
  const double phase = std::numbers::pi * static_cast<double>(step) / static_cast<double>(t_max_);
  return eta_min_ + (lr0_ - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
}

InverseTimeDecayLr::InverseTimeDecayLr(double lr0, double decay_rate, double decay_steps)
    : lr0_(lr0), decay_rate_(decay_rate), decay_steps_(decay_steps) {
  FSA_CHECK(lr0 >= 0.0, "[inverse_time_decay_lr] lr0 must be non-negative, got ", lr0);
  FSA_CHECK(decay_rate >= 0.0, "[inverse_time_decay_lr] decay_rate must be non-negative, got ",
            decay_rate);
  FSA_CHECK(decay_steps > 0.0, "[inverse_time_decay_lr] decay_steps must be positive, got ",
            decay_steps);
}

double InverseTimeDecayLr::lr(int64_t step) const {
  check_schedule_step("inverse_time_decay_lr", step);
  return lr0_ / (1.0 + decay_rate_ * static_cast<double>(step) / decay_steps_);
}

}  // namespace fsa
