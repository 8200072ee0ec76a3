// style.h: per-channel style statistics of an embedding and the feature-augmentation
// perturbation of them (algorithm.md §3, §5.1). Two parameterisations of the same feasible
// set, each with its variables as autograd leaves (N,C,1,1):
//   paper    — log-scale τσ, τμ with ‖τ‖∞ ≤ ε:  t = exp(τσ)(e − μ) + exp(τμ) μ
//              (the PyTorch reference's form; identity at τ = 0);
//   official — linear μ_S, σ_S (the official code): t = (e − μ_C) σ_S/σ_C + sign(μ_C) μ_S,
//              projected onto σ_S ∈ [σ_C/p, σ_C p], μ_S ∈ [|μ_C|/p, |μ_C| p] with p = e^ε.
// μ, σ are per-sample, per-channel spatial statistics of the clean embedding e (N,C,H,W),
// σ = sqrt(biased variance + 1e-5).
#pragma once

#include <string>
#include <vector>

#include "attack/style_transform.h"
#include "tensor/tensor.h"

namespace fsa {

inline constexpr double kStyleEps = 1e-5;

struct ChannelStats {
  Tensor mean;  // (N,C,1,1)
  Tensor std;   // (N,C,1,1), sqrt(var + eps)
};

// Statistics of x (N,C,H,W); differentiable through the autograd ops.
ChannelStats channel_stats(const Tensor& x, double eps = kStyleEps);
// h(x) = (x − μ(x)) / σ(x) per sample and channel (instance normalisation without affine).
Tensor instance_normalize(const Tensor& x, double eps = kStyleEps);

enum class StyleParameterisation { paper, official };
std::string to_string(StyleParameterisation kind);
// "paper" or "official"; anything else is an fsa::Error.
StyleParameterisation parse_style_parameterisation(const std::string& name);

class StylePerturbation : public StyleTransform {
 public:
  // epsilon = ln p > 0: the bound on the log-scale change of σ and |μ|.
  StylePerturbation(StyleParameterisation kind, double epsilon);

  // Starts a batch at the identity transform from the clean embedding (detached). Keeps the
  // variable tensors (same handles) when the shape is unchanged, so an optimizer built on
  // variables() can carry its state; returns true when they were re-created.
  bool begin(const Tensor& clean_features);
  bool begin(const Tensor& clean_features, const Tensor& /*labels*/) override {
    return begin(clean_features);
  }

  // The leaves to optimise: {τσ, τμ} (paper) or {μ_S, σ_S} (official), each (N,C,1,1).
  const std::vector<Tensor>& variables() const override { return variables_; }
  // The perturbed embedding t (N,C,H,W), recorded for autograd.
  Tensor perturbed() const override;
  // Projects the variables onto the feasible set, in place.
  void project() override;
  // The multiplicative changes σ'/σ_C and |μ'|/|μ_C| (1 where μ_C = 0), (N,C,1,1).
  Tensor sigma_factor() const override;
  Tensor mean_factor() const override;

  StyleParameterisation kind() const { return kind_; }
  double epsilon() const { return epsilon_; }
  const ChannelStats& clean_stats() const { return stats_; }

 private:
  StyleParameterisation kind_;
  double epsilon_;
  Tensor features_;     // clean embedding e (N,C,H,W), no history
  ChannelStats stats_;  // of e, no history
  Tensor centred_;      // e − μ_C
  Tensor abs_mean_;     // |μ_C|
  Tensor mean_sign_;    // sign(μ_C)
  std::vector<Tensor> variables_;
};

}  // namespace fsa
