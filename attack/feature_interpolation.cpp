// feature_interpolation.cpp: FI's presets and its attack, FeatureAttack on a
// StyleInterpolation.
#include "attack/feature_interpolation.h"

#include <memory>
#include <utility>

namespace fsa {

FiOptions fi_preset(const std::string& name) {
  FSA_CHECK(name == "paper" || name == "official", "[fi] unknown preset '", name,
            "': expected paper or official");
  FiOptions options;
  options.attack = fa_preset(name);
  if (name == "official") {
    options.interpolation.start = InterpolationStart::uniform;
    options.interpolation.shared_weights = true;
  }
  return options;
}

FeatureInterpolationAttack::FeatureInterpolationAttack(Module& encoder, Module& decoder,
                                                       Module& classifier, const FiOptions& options,
                                                       StylePrototypes prototypes)
    : FeatureAttack(
          encoder, decoder, classifier, options.attack,
          std::make_unique<StyleInterpolation>(std::move(prototypes), options.interpolation)),
      fi_options_(options) {
  FSA_CHECK(options.prototypes_per_class >= 1, "[fi] prototypes per class must be >= 1, got ",
            options.prototypes_per_class);
}

StyleInterpolation& FeatureInterpolationAttack::interpolation() {
  return static_cast<StyleInterpolation&>(transform());
}

}  // namespace fsa
