// pgd.cpp: PGD and FGSM. Every step differentiates the summed per-sample loss with respect
// to a fresh leaf image; the update and projection run without recording.
#include "attack/pgd.h"

#include <cmath>
#include <limits>

#include "attack/rows.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tensor/backend.h"
#include "tensor/random.h"

namespace fsa {

std::string to_string(PgdNorm norm) { return norm == PgdNorm::linf ? "linf" : "l2"; }

PgdNorm parse_pgd_norm(const std::string& name) {
  if (name == "linf") return PgdNorm::linf;
  if (name == "l2") return PgdNorm::l2;
  fail("[pgd] unknown norm '", name, "': expected linf or l2");
}

std::string to_string(PgdLoss loss) { return loss == PgdLoss::cross_entropy ? "ce" : "cw"; }

PgdLoss parse_pgd_loss(const std::string& name) {
  if (name == "ce") return PgdLoss::cross_entropy;
  if (name == "cw") return PgdLoss::cw;
  fail("[pgd] unknown loss '", name, "': expected ce or cw");
}

PgdOptions fgsm_options(double epsilon) {
  return PgdOptions{.norm = PgdNorm::linf,
                    .epsilon = epsilon,
                    .step_size = epsilon,
                    .steps = 1,
                    .random_start = false,
                    .restarts = 1};
}

namespace {

// Random draws of restart r for records from first_record: disjoint Philox counters.
uint64_t random_offset(int64_t restart, int64_t first_record, int64_t per_image) {
  return (static_cast<uint64_t>(restart) << 40) + static_cast<uint64_t>(first_record * per_image);
}

// Per-sample L2 norm of x (N,...) shaped (N,1,1,1) for broadcasting.
Tensor sample_l2_norm(const Tensor& x) { return sqrt(sum(x * x, {1, 2, 3}, true)); }

// The loss each sample ascends: (N,K) logits -> (N).
Tensor ascent_loss(const Tensor& logits, const Tensor& goal, const PgdOptions& o) {
  if (o.loss == PgdLoss::cross_entropy) {
    const Tensor ce = softmax_cross_entropy(logits, goal);
    return o.targeted ? -ce : ce;
  }
  return -cw_margin(logits, goal, CwMarginParams{.kappa = o.kappa, .targeted = o.targeted});
}

Tensor project(const Tensor& x, const Tensor& clean, const PgdOptions& o) {
  if (o.norm == PgdNorm::linf) {
    return clamp(minimum(maximum(x, clean - o.epsilon), clean + o.epsilon), 0.0, 1.0);
  }
  const Tensor delta = x - clean;
  const Tensor norm = sample_l2_norm(delta);
  // factor = min(1, ε / ‖δ‖); the 1e-12 keeps δ = 0 finite.
  const Tensor factor = clamp(pow(norm + 1e-12, -1.0) * o.epsilon, 0.0, 1.0);
  return clamp(clean + delta * factor, 0.0, 1.0);
}

Tensor random_start(const Tensor& clean, const PgdOptions& o, int64_t restart,
                    int64_t first_record) {
  const int64_t n = clean.dim(0), per_image = clean.numel() / n;
  const uint64_t offset = random_offset(restart, first_record, per_image);
  Tensor noise = Tensor::empty(clean.shape(), clean.dtype(), clean.device());
  const Backend& backend = backend_for(clean.device());
  if (o.norm == PgdNorm::linf) {
    backend.fill_uniform(noise, -o.epsilon, o.epsilon, o.seed, offset);
    return clamp(clean + noise, 0.0, 1.0);
  }
  backend.fill_normal(noise, 0.0, 1.0, o.seed, offset);
  std::vector<double> radius(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    radius[i] = o.epsilon *
                philox_uniform(o.seed ^ 0x5bd1e995u, random_offset(restart, first_record + i, 1));
  }
  const Tensor r = Tensor::from_vector(radius, Shape{n, 1, 1, 1}, clean.dtype(), clean.device());
  return clamp(clean + noise * (r / (sample_l2_norm(noise) + 1e-12)), 0.0, 1.0);
}

Tensor ascent_step(const Tensor& x, const Tensor& gradient, const PgdOptions& o) {
  if (o.norm == PgdNorm::linf) return x + sign(gradient) * o.step_size;
  return x + gradient / (sample_l2_norm(gradient) + 1e-12) * o.step_size;
}

void check_pgd_inputs(const Tensor& images, const Tensor& labels, const PgdOptions& o,
                      const Tensor& targets) {
  FSA_CHECK(images.ndim() == 4, "[pgd] expects images (N,C,H,W), got ", images.shape());
  FSA_CHECK(labels.ndim() == 1 && labels.dim(0) == images.dim(0), "[pgd] labels ", labels.shape(),
            " do not match images ", images.shape());
  FSA_CHECK(!o.targeted || (targets.defined() && targets.shape() == labels.shape()),
            "[pgd] a targeted attack needs targets shaped like the labels ", labels.shape());
  FSA_CHECK(o.epsilon >= 0.0 && o.step_size >= 0.0, "[pgd] need epsilon >= 0 and step >= 0, got ",
            o.epsilon, " and ", o.step_size);
  FSA_CHECK(o.steps >= 0 && o.restarts >= 1, "[pgd] need steps >= 0 and restarts >= 1, got ",
            o.steps, " and ", o.restarts);
}

}  // namespace

PgdResult pgd_attack(Module& classifier, const Tensor& images, const Tensor& labels,
                     const PgdOptions& options, int64_t first_record, const Tensor& targets) {
  check_pgd_inputs(images, labels, options, targets);
  classifier.eval();
  classifier.requires_grad(false);
  const Tensor clean = detach(images);
  const Tensor& goal = options.targeted ? targets : labels;
  const std::vector<int32_t> truth = label_vector(labels);
  const std::vector<int32_t> wanted = label_vector(goal);
  const size_t n = truth.size();

  PgdResult result;
  result.adversarial = host_clone(clean);
  result.fooled.assign(n, 0);
  std::vector<double> best_loss(n, -std::numeric_limits<double>::infinity());

  for (int64_t restart = 0; restart < options.restarts; ++restart) {
    Tensor x = clean;
    if (options.random_start) {
      NoGradGuard no_grad;
      x = random_start(clean, options, restart, first_record);
    }
    for (int64_t step = 0; step < options.steps; ++step) {
      const Tensor leaf = detach(x).clone();
      set_requires_grad(leaf, true);
      backward(sum(ascent_loss(classifier(leaf), goal, options)));
      NoGradGuard no_grad;
      x = project(ascent_step(leaf, grad(leaf), options), clean, options);
    }
    NoGradGuard no_grad;
    const Tensor logits = classifier(x);
    const std::vector<double> loss = ascent_loss(logits, goal, options).to_vector();
    const std::vector<int32_t> predicted = predictions(logits);
    std::vector<uint8_t> replace(n, 0);
    bool all_fooled = true;
    for (size_t i = 0; i < n; ++i) {
      const bool fooled = options.targeted ? predicted[i] == wanted[i] : predicted[i] != truth[i];
      replace[i] = !result.fooled[i] && (fooled || loss[i] > best_loss[i]);
      if (replace[i]) {
        result.fooled[i] = fooled;
        best_loss[i] = loss[i];
      }
      all_fooled = all_fooled && result.fooled[i];
    }
    copy_rows(result.adversarial, x, replace);
    if (all_fooled) break;
  }
  if (images.device() != Device::cpu) result.adversarial = result.adversarial.to(images.device());
  return result;
}

}  // namespace fsa
