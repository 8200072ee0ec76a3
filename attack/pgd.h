// pgd.h: projected gradient descent in pixel space (Madry et al.), the baseline of the
// feature-space attack (algorithm.md §7), and FGSM as its one-step special case.
//   L∞: x ← Π(x + α sign(∇ℓ)),       Π = clip to [x0 − ε, x0 + ε], then to [0,1];
//   L2: x ← Π(x + α ∇ℓ / ‖∇ℓ‖₂),     Π = scale δ = x − x0 to ‖δ‖₂ ≤ ε, then clip to [0,1]
//       (clipping to [0,1] only shrinks |δ| per pixel, so both constraints hold after Π).
// ℓ is ascended: cross-entropy of the label, or the CW margin max_{j≠y} z_j − z_y capped at
// κ (−cw_margin); targeted attacks descend the same losses of the target. Random start:
// uniform in the L∞ ball, or for L2 a Gaussian direction scaled to radius ε·u, u ~ U[0,1].
// With restarts, each sample keeps its first fooling iterate, else its highest-loss one.
// Images are RGB in [0,1] (N,3,H,W).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "layers/module.h"

namespace fsa {

enum class PgdNorm { linf, l2 };
enum class PgdLoss { cross_entropy, cw };
std::string to_string(PgdNorm norm);
PgdNorm parse_pgd_norm(const std::string& name);  // "linf" | "l2"
std::string to_string(PgdLoss loss);
PgdLoss parse_pgd_loss(const std::string& name);  // "ce" | "cw"

struct PgdOptions {
  PgdNorm norm = PgdNorm::linf;
  double epsilon = 8.0 / 255.0;
  double step_size = 2.0 / 255.0;
  int64_t steps = 10;
  bool random_start = true;
  int64_t restarts = 1;
  PgdLoss loss = PgdLoss::cross_entropy;
  double kappa = 50.0;  // CW confidence cap
  bool targeted = false;
  uint64_t seed = 0;
};

// FGSM: one L∞ step of size ε from the clean image, no random start.
PgdOptions fgsm_options(double epsilon);

struct PgdResult {
  Tensor adversarial;           // (N,3,H,W) in [0,1], on the images' device
  std::vector<uint8_t> fooled;  // misclassified (untargeted) or classified as the target
};

// labels: int32 (N) true labels; targets: int32 (N), needed only when options.targeted.
// first_record numbers the images so that random starts depend on (seed, record), not on
// the batching.
PgdResult pgd_attack(Module& classifier, const Tensor& images, const Tensor& labels,
                     const PgdOptions& options, int64_t first_record = 0,
                     const Tensor& targets = Tensor());

}  // namespace fsa
