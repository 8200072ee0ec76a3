// feature_interpolation.h: the feature interpolation attack (FI, paper Eq. 10; algorithm.md
// §5.9): FA's loop (feature_attack.h: loss, Adam with clipping, projection, best iterate)
// on the interpolation transform of style_interpolation.h instead of FA's bounded scaling.
// The official code never finished FI; its scaffolding fixes the prototypes (50 per class,
// plus the input's own style, one shared weight vector starting uniform), and reusing the
// FA machinery is algorithm.md's "natural choice". The gradient clip c = K^{1/4}/√10 then
// counts the K vertices where FA counts channels.
#pragma once

#include <cstdint>
#include <string>

#include "attack/feature_attack.h"
#include "attack/style_interpolation.h"

namespace fsa {

struct FiOptions {
  // Loss, optimiser, iterations, targets, early stop; FA's parameterisation and epsilon are
  // unused (the simplex is FI's feasible set).
  FaOptions attack;
  int64_t prototypes_per_class = 50;  // k training images of each class
  InterpolationOptions interpolation;
};

// "paper": FA's paper preset (200 iterations, w = 32000, Adam reset per batch), 50
//   prototypes + the own style, separate weights for σ and μ (Eq. 10's two simplices),
//   starting at the own style (the identity transform, as FA starts).
// "official": FA's official preset (2000 iterations, w = 500 · B, Adam kept across batches)
//   with the scaffolding's vertex set: 50 prototypes + the own style, one shared weight
//   vector starting uniform.
FiOptions fi_preset(const std::string& name);

class FeatureInterpolationAttack : public FeatureAttack {
 public:
  FeatureInterpolationAttack(Module& encoder, Module& decoder, Module& classifier,
                             const FiOptions& options, StylePrototypes prototypes);

  StyleInterpolation& interpolation();
  const FiOptions& fi_options() const { return fi_options_; }

 private:
  FiOptions fi_options_;
};

}  // namespace fsa
