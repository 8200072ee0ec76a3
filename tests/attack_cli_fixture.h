// attack_cli_fixture.h: what the `fsa attack` CLI tests share: weight files of random
// networks, small synthetic CIFAR-10 files, and reading a JSON result. Used by
// attack_cli_test.cpp, interpolation_test.cpp and attack_scale_test.cpp.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "data/cifar10.h"
#include "models/registry.h"
#include "tests/temp_dir.h"
#include "weights/module_weights.h"

namespace fsa::testing {

inline std::string random_weights(const TempDir& dir, const std::string& architecture) {
  const std::string path = dir.file(architecture + ".h5");
  WeightAttributes attributes{.architecture = architecture,
                              .source = "",
                              .input_range = "0-1",
                              .mean = {0, 0, 0},
                              .stddev = {1, 1, 1},
                              .channel_order = "RGB"};
  if (model_kind(architecture) == ModelKind::classifier) {
    attributes.mean = {0.5, 0.5, 0.5};
    attributes.stddev = {0.25, 0.25, 0.25};
  }
  save_module_weights(*make_model(architecture), path, attributes);
  return path;
}

// A CIFAR-10 binary file of `count` records: labels n mod 10, pixels a function of
// (n + salt, byte).
inline std::string cifar_file(const TempDir& dir, int count,
                              const std::string& name = "test_batch.bin", int salt = 0) {
  const std::string path = dir.file(name);
  std::ofstream out(path, std::ios::binary);
  for (int n = 0; n < count; ++n) {
    out.put(static_cast<char>(n % 10));
    for (int i = 0; i < kCifarPixelBytes; ++i) {
      out.put(static_cast<char>((11 * (n + salt) + 3 * i) % 256));
    }
  }
  return path;
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

struct AttackCliFixture {
  TempDir dir;
  std::string classifier = random_weights(dir, "cifar_resnet20");
  std::string encoder = random_weights(dir, "vgg19_normalised_relu2_1");
  std::string decoder = random_weights(dir, "wct_decoder_relu2_1");
  std::string data = cifar_file(dir, 5);
};

}  // namespace fsa::testing
