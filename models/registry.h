// registry.h: every architecture by the name weight files record in their "architecture"
// attribute. Classifiers come wrapped with their preprocessing (they take RGB in [0,1]).
//   classifiers: cifar_resnet{20,32,44,56,110}, cifar_resnet18, cifar_resnet2b, cifar_resnet4b,
//                imagenet_resnet18, imagenet_resnet50
//   encoders:    vgg19_normalised_relu{1..5}_1, vgg19_torchvision_relu{1..5}_1
//   decoders:    wct_decoder_relu{1..5}_1, official_decoder_relu{1..5}_1,
//                wide{2,4}_decoder_relu{1..5}_1 (the WCT layout, hidden channels x2 or x4)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/resnet.h"

namespace fsa {

enum class ModelKind { classifier, encoder, decoder };

ModelKind model_kind(const std::string& architecture);
// A freshly initialised model; classifiers wrapped in NormalizedClassifier(preprocessing).
std::shared_ptr<Module> make_model(const std::string& architecture,
                                   const Preprocessing& preprocessing = {});
// The names accepted above, for --help texts and error messages.
std::vector<std::string> known_architectures();

}  // namespace fsa
