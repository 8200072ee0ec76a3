// style.cpp: channel statistics, instance normalisation and the two parameterisations of
// the style perturbation. The clean statistics are constants: only the variables carry
// gradients.
#include "attack/style.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/variable.h"

namespace fsa {

ChannelStats channel_stats(const Tensor& x, double eps) {
  return {channel_mean(x), channel_std(x, eps)};
}

Tensor instance_normalize(const Tensor& x, double eps) {
  const ChannelStats stats = channel_stats(x, eps);
  return (x - stats.mean) / stats.std;
}

std::string to_string(StyleParameterisation kind) {
  return kind == StyleParameterisation::paper ? "paper" : "official";
}

StyleParameterisation parse_style_parameterisation(const std::string& name) {
  if (name == "paper") return StyleParameterisation::paper;
  if (name == "official") return StyleParameterisation::official;
  fail("[style] unknown parameterisation '", name, "': expected paper or official");
}

StylePerturbation::StylePerturbation(StyleParameterisation kind, double epsilon)
    : kind_(kind), epsilon_(epsilon) {
  FSA_CHECK(std::isfinite(epsilon) && epsilon > 0.0,
            "[style] the bound epsilon = ln p must be positive, got ", epsilon);
}

bool StylePerturbation::begin(const Tensor& clean_features) {
  FSA_CHECK(clean_features.ndim() == 4, "[style] expects an embedding (N,C,H,W), got ",
            clean_features.shape());
  NoGradGuard no_grad;
  features_ = detach(clean_features);
  stats_ = channel_stats(features_);
  centred_ = features_ - stats_.mean;
  abs_mean_ = abs(stats_.mean);
  mean_sign_ = sign(stats_.mean);

  std::vector<Tensor> identity;
  if (kind_ == StyleParameterisation::paper) {
    identity = {Tensor::zeros(stats_.std.shape(), features_.dtype(), features_.device()),
                Tensor::zeros(stats_.std.shape(), features_.dtype(), features_.device())};
  } else {
    identity = {abs_mean_.clone(), stats_.std.clone()};  // {μ_S, σ_S}: the code's order
  }
  const bool reuse = !variables_.empty() && variables_[0].shape() == identity[0].shape() &&
                     variables_[0].dtype() == identity[0].dtype() &&
                     variables_[0].device() == identity[0].device();
  if (reuse) {
    for (size_t i = 0; i < variables_.size(); ++i) {
      variables_[i].copy_from(identity[i]);
      zero_grad(variables_[i]);
    }
    return false;
  }
  variables_ = identity;
  for (const Tensor& v : variables_) set_requires_grad(v, true);
  return true;
}

Tensor StylePerturbation::perturbed() const {
  FSA_CHECK(!variables_.empty(), "[style] perturbed() before begin()");
  if (kind_ == StyleParameterisation::paper) {
    const Tensor& tau_sigma = variables_[0];
    const Tensor& tau_mu = variables_[1];
    return exp(tau_sigma) * centred_ + exp(tau_mu) * stats_.mean;  // (N,C,H,W)
  }
  const Tensor& mean_s = variables_[0];
  const Tensor& sigma_s = variables_[1];
  return centred_ * (sigma_s / stats_.std) + mean_sign_ * mean_s;  // (N,C,H,W)
}

void StylePerturbation::project() {
  FSA_CHECK(!variables_.empty(), "[style] project() before begin()");
  NoGradGuard no_grad;
  if (kind_ == StyleParameterisation::paper) {
    for (const Tensor& tau : variables_) tau.copy_from(clamp(tau, -epsilon_, epsilon_));
    return;
  }
  const double p = std::exp(epsilon_);
  const auto clip_box = [p](const Tensor& v, const Tensor& centre) {
    v.copy_from(minimum(maximum(v, centre / p), centre * p));
  };
  clip_box(variables_[0], abs_mean_);
  clip_box(variables_[1], stats_.std);
}

Tensor StylePerturbation::sigma_factor() const {
  FSA_CHECK(!variables_.empty(), "[style] sigma_factor() before begin()");
  NoGradGuard no_grad;
  if (kind_ == StyleParameterisation::paper) return exp(variables_[0]);
  return variables_[1] / stats_.std;
}

Tensor StylePerturbation::mean_factor() const {
  FSA_CHECK(!variables_.empty(), "[style] mean_factor() before begin()");
  NoGradGuard no_grad;
  if (kind_ == StyleParameterisation::paper) return exp(variables_[1]);
  const std::vector<double> mean_s = variables_[0].to_vector();
  const std::vector<double> centre = abs_mean_.to_vector();
  std::vector<double> factor(mean_s.size(), 1.0);
  for (size_t i = 0; i < factor.size(); ++i) {
    if (centre[i] > 0.0) factor[i] = mean_s[i] / centre[i];
  }
  return Tensor::from_vector(factor, abs_mean_.shape(), abs_mean_.dtype(), abs_mean_.device());
}

}  // namespace fsa
