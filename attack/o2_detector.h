// o2_detector.h: the noise-averaged alignments of the "Odds are Odd" detector
// (shared/docs/o2-detector.md §1, §2, §7). With φ the penultimate features and W the final
// layer of a LinearHeadClassifier (models/resnet.h), y the prediction for x and η a noise draw,
//   a_{y,z}(x, η) = ⟨w_y − w_z, φ(x) − φ(x+η)⟩ = [f_y(x) − f_z(x)] − [f_y(x+η) − f_z(x+η)]
// (the bias cancels), averaged over M draws per noise spec. Since a is linear in φ(x+η),
//   ā_{y,z,e} = ⟨w_y − w_z, φ(x) − mean_m φ(x+η_m)⟩,
// so the batched path runs many noisy copies per forward pass (of several images and specs
// at once) and keeps only the mean feature per (image, spec); the projection onto W is done
// on the host in double. Noise: n = N(0, ε²), u = U[−ε, ε], s = ±ε per pixel, then x+η is
// clipped to [0,1]. Draw m of spec e for an image is element block m of a Philox stream
// seeded by (seed, the image's noise key, the spec's name), so the draws do not depend on the
// batching, the device or the order of the specs. Calibration, scores and rules:
// attack/o2_statistics.h. Images are RGB in [0,1] (N,3,H,W).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attack/o2_statistics.h"
#include "layers/module.h"
#include "models/resnet.h"

namespace fsa {

enum class NoiseKind { gaussian, uniform, sign };  // 'n', 'u', 's'

struct NoiseSpec {
  NoiseKind kind = NoiseKind::gaussian;
  double epsilon = 0.0;  // on [0,1] pixels
};

// "n0.003", "u0.01", "s0.008" (the reference code's names); parse accepts the same.
std::string to_string(const NoiseSpec& spec);
NoiseSpec parse_noise_spec(const std::string& text);
// A comma-separated list of specs; "" or "none" gives no specs.
std::vector<NoiseSpec> parse_noise_specs(const std::string& text);
std::string to_string(const std::vector<NoiseSpec>& specs);  // comma-separated
// The PyTorch example's sets on [0,1]: detection {n,s,u} x {0.003,0.005,0.008} and
// correction {n,s,u} x {0.01,0.02,0.03}, in the example's order.
std::vector<NoiseSpec> o2_detection_specs();
std::vector<NoiseSpec> o2_correction_specs();

struct O2AlignmentOptions {
  std::vector<NoiseSpec> specs;
  int64_t samples = 256;            // M draws per spec
  uint64_t seed = 0;                // noise seed
  int64_t rows_per_forward = 4096;  // noisy images per forward pass (batched path)
};

// The classifier's linear head, or an fsa::Error naming what is missing.
LinearHeadClassifier& linear_head(Module& classifier);

// Alignments of images (N,3,H,W) on the model's device, noise_keys[n] numbering image n's
// noise stream (e.g. its record). predicted: the classes y the alignments are taken against
// (N); empty: the classifier's own predictions. Batched: each forward pass evaluates up to
// rows_per_forward noisy copies.
O2Alignments o2_alignments(Module& classifier, const Tensor& images,
                           const std::vector<uint64_t>& noise_keys,
                           const O2AlignmentOptions& options,
                           const std::vector<int32_t>& predicted = {});

// The reference form, for tests: one noise draw per forward pass, the alignment of every draw
// formed as the reference code does, (φ(x) − φ(x+η)) · (w_y − w_z), then averaged over the
// draws. The same draws as o2_alignments; the classes y are the classifier's predictions.
O2Alignments o2_alignments_unbatched(Module& classifier, const Tensor& images,
                                     const std::vector<uint64_t>& noise_keys,
                                     const O2AlignmentOptions& options);

// x + η clipped to [0,1] for draws [first_draw, first_draw + count) of one image x (1,C,H,W)
// or (C,H,W) under `spec`: (count,C,H,W) on x's device.
Tensor o2_noisy_copies(const Tensor& image, const NoiseSpec& spec, uint64_t seed,
                       uint64_t noise_key, int64_t first_draw, int64_t count);

}  // namespace fsa
