// registry.cpp: architecture names to constructors.
#include "models/registry.h"

#include "models/decoder.h"
#include "models/vgg19.h"

namespace fsa {

namespace {

struct DecoderFamily {
  const char* prefix;  // "<prefix>reluK_1"
  DecoderLayout layout;
  int64_t width;
};

constexpr DecoderFamily kDecoderFamilies[] = {{"wct_decoder_", DecoderLayout::wct, 1},
                                              {"official_decoder_", DecoderLayout::official, 1},
                                              {"wide2_decoder_", DecoderLayout::wct, 2},
                                              {"wide4_decoder_", DecoderLayout::wct, 4}};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

std::string joined_names() {
  std::string text;
  for (const std::string& name : known_architectures()) text += (text.empty() ? "" : ", ") + name;
  return text;
}

std::shared_ptr<Module> make_classifier_network(const std::string& architecture) {
  if (architecture == "cifar_resnet2b") return std::make_shared<VnnResNet>("resnet2b");
  if (architecture == "cifar_resnet4b") return std::make_shared<VnnResNet>("resnet4b");
  for (int depth : {20, 32, 44, 56, 110, 18}) {
    if (architecture == "cifar_resnet" + std::to_string(depth))
      return std::make_shared<CifarResNet>(depth);
  }
  for (int depth : {18, 50}) {
    if (architecture == "imagenet_resnet" + std::to_string(depth))
      return std::make_shared<ImageNetResNet>(depth);
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> known_architectures() {
  std::vector<std::string> names = {"cifar_resnet20",   "cifar_resnet32",  "cifar_resnet44",
                                    "cifar_resnet56",   "cifar_resnet110", "cifar_resnet18",
                                    "cifar_resnet2b",   "cifar_resnet4b",  "imagenet_resnet18",
                                    "imagenet_resnet50"};
  std::vector<std::string> families = {"vgg19_normalised_", "vgg19_torchvision_"};
  for (const DecoderFamily& family : kDecoderFamilies) families.push_back(family.prefix);
  for (const std::string& family : families) {
    for (int k = 1; k <= 5; ++k) names.push_back(family + "relu" + std::to_string(k) + "_1");
  }
  return names;
}

ModelKind model_kind(const std::string& architecture) {
  if (starts_with(architecture, "vgg19_")) return ModelKind::encoder;
  for (const DecoderFamily& family : kDecoderFamilies) {
    if (starts_with(architecture, family.prefix)) return ModelKind::decoder;
  }
  if (make_classifier_network(architecture) != nullptr) return ModelKind::classifier;
  fail("[models] unknown architecture '", architecture, "'; known: ", joined_names());
}

std::shared_ptr<Module> make_model(const std::string& architecture,
                                   const Preprocessing& preprocessing) {
  const auto cut_of = [&](const std::string& prefix) { return architecture.substr(prefix.size()); };
  if (starts_with(architecture, "vgg19_normalised_")) {
    return std::make_shared<Vgg19Encoder>(VggLayout::normalised, cut_of("vgg19_normalised_"));
  }
  if (starts_with(architecture, "vgg19_torchvision_")) {
    return std::make_shared<Vgg19Encoder>(VggLayout::torchvision, cut_of("vgg19_torchvision_"));
  }
  for (const DecoderFamily& family : kDecoderFamilies) {
    if (starts_with(architecture, family.prefix))
      return std::make_shared<Decoder>(cut_of(family.prefix), family.layout, family.width);
  }
  if (auto network = make_classifier_network(architecture)) {
    return std::make_shared<NormalizedClassifier>(network, preprocessing);
  }
  fail("[models] unknown architecture '", architecture, "'; known: ", joined_names());
}

}  // namespace fsa
