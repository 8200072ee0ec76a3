// metrics.h: what the paper measures about an attack (algorithm.md §6.1), per sample and
// summarised:
//   - top-1 / top-5 correctness on the clean, decoded (identity transform) and adversarial
//     images; success = the adversarial image fools the classifier (misclassified, or the
//     target when targeted), rated over the initially correct images;
//   - pixel distances of x' − x per image: L∞ = max |·|, L2 = sqrt(Σ ·²), on [0,1]
//     (×255 for the 0–255 scale);
//   - feature-space distances of h(f(x)) − h(f(x')) with h the per-channel instance
//     normalisation (eps 1e-5) at the attack's encoder cut;
//   - all adversarial figures again after 8-bit quantisation of x' (what a PNG stores).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "layers/module.h"

namespace fsa {

struct AdversarialMetrics {
  bool top1 = false;    // still classified correctly (label in top-1)
  bool top5 = false;    // label among the top 5
  bool fooled = false;  // misclassified (untargeted) or classified as the target
  double pixel_linf = 0.0, pixel_l2 = 0.0;      // on [0,1]
  double feature_linf = 0.0, feature_l2 = 0.0;  // NaN without an encoder
};

struct SampleMetrics {
  int64_t record = 0;
  int32_t label = 0;
  int32_t target = -1;  // −1: untargeted
  int32_t clean_prediction = 0;
  int32_t adversarial_prediction = 0;
  bool clean_top1 = false, clean_top5 = false;
  bool has_decoded = false, decoded_top1 = false, decoded_top5 = false;
  AdversarialMetrics adversarial, quantised;
  int64_t first_success = -1;  // FA: iteration of the first success, −1 never / not recorded
  double content_loss = std::numeric_limits<double>::quiet_NaN();
};

struct MetricInputs {
  Tensor clean;        // (N,3,H,W) in [0,1]
  Tensor labels;       // int32 (N)
  Tensor adversarial;  // (N,3,H,W) in [0,1]
  Tensor decoded;      // optional (N,3,H,W)
  Tensor targets;      // optional int32 (N): targeted attack
  int64_t first_record = 0;
};

// round(255 clamp(x, 0, 1)) / 255.
Tensor quantize_8bit(const Tensor& x);

// Per-sample metrics of a batch. encoder may be null (feature distances become NaN).
std::vector<SampleMetrics> measure_batch(Module& classifier, Module* encoder,
                                         const MetricInputs& inputs);

// Named summary values in a fixed order (fractions in [0,1], distances on [0,1] and 0–255):
// images, clean_correct, clean_top1/5, decoded_top1/5, adversarial_top1/5, robust_top1
// (correct on clean and adversarial), success_rate (among clean-correct), median_first_success;
// pixel_/feature_ linf/l2 means over the successful clean-correct images, and *_all over all
// images; then quantised_* for every adversarial figure.
using MetricSummary = std::vector<std::pair<std::string, double>>;
MetricSummary summarize(const std::vector<SampleMetrics>& samples);
// The value named `name` (an fsa::Error if absent).
double summary_value(const MetricSummary& summary, const std::string& name);

}  // namespace fsa
