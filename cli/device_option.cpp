// device_option.cpp: parsing and checking `--device`.
#include "cli/device_option.h"

#include "tensor/check.h"

namespace fsa::cli {

void add_device_option(CLI::App* command, std::string& name) {
  command->add_option("--device", name, "where to compute: cpu | cuda (needs a CUDA build)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
}

Device resolve_device(const std::string& name, const char* command) {
  const Device device = parse_device(name.c_str());
  FSA_CHECK(device != Device::cuda || cuda_available(), "[", command,
            "] --device cuda: this build has no CUDA backend or no GPU is visible "
            "(configure with -DFSA_WITH_CUDA=ON and check nvidia-smi)");
  return device;
}

}  // namespace fsa::cli
